"""Command line: ``python -m bot`` / ``tupoksi``.

Everything the bot knows is usable without Telegram: ask questions, score a
labeled set, validate the knowledge base, read the query-log reports.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.answer import build_answer
from bot.core.matcher import Candidate, Matcher, MatchResult
from bot.core.model import KnowledgeBase
from bot.knowledge.loader import DEFAULT_KB_DIR, KnowledgeBaseError, load_kb
from bot.text.plain import render_plain

if TYPE_CHECKING:
    from bot.storage import Database

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INVALID = 2


def _candidates_json(candidates: Sequence[Candidate]) -> list[dict]:
    return [{"id": c.unit_id, "score": c.score, "duty": str(c.duty) if c.duty else None} for c in candidates]


def result_json(result: MatchResult) -> dict:
    """The JSON contract of ``ask --jsonl`` (see ../shared/eval/score.py)."""
    return {
        "answered": result.answered,
        "reason": str(result.reason),
        "confidence": round(result.confidence, 4),
        "divisi": _candidates_json(result.divisi),
        "subbag": _candidates_json(result.subbag),
        "bagian": _candidates_json(result.bagian),
        "normalized": result.normalized,
    }


def _load(kb_dir: Path) -> Matcher:
    return Matcher(load_kb(kb_dir))


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question, or one per stdin line with --jsonl."""
    matcher = _load(args.kb)
    if args.jsonl:
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(encoding="utf-8", errors="replace")
        for line in stdin:
            print(json.dumps(result_json(matcher.match(line.rstrip("\r\n"))), ensure_ascii=False), flush=True)
        return EXIT_OK
    question = " ".join(args.question)
    if not question.strip():
        print('Tulis pertanyaannya, misalnya: tupoksi ask "siapa yang mengurus arsip?"', file=sys.stderr)
        return EXIT_INVALID
    result = matcher.match(question)
    print(render_plain(build_answer(result, matcher.kb, matcher.config.ambiguity_margin)))
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    """Score the matcher on a labeled YAML set."""
    from bot.evaluation import evaluate

    try:
        report = evaluate(_load(args.kb), args.file)
    except (OSError, ValueError, KeyError) as exc:
        print(f"cannot evaluate {args.file}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    lines = report.lines()
    print("\n".join(lines if args.verbose else lines[len(report.misses) :]))
    return EXIT_OK


def cmd_check_kb(args: argparse.Namespace) -> int:
    """Validate a KB folder; exit 2 listing every problem."""
    kb = load_kb(args.path)
    print(
        f"OK: {args.path}: {len(kb.units)} units, {kb.duty_count} duties, "
        f"version {kb.version} ({kb.content_hash})"
    )
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    """Start the Telegram bot with settings from the environment and .env."""
    from bot.config import ConfigError, load_settings

    try:
        settings = load_settings(dotenv_path=args.env_file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"tupoksi: {problem}", file=sys.stderr)
        return EXIT_INVALID
    # Opt in to python-telegram-bot's timedelta durations now, so a 429 does not print a
    # deprecation warning on every flood-control retry (we never read retry_after ourselves).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    from bot.telegram.app import run_bot  # imports telegram: only when the bot runs

    # An explicit --kb wins over KB_DIR.
    return run_bot(settings, kb_dir=args.kb if args.kb != DEFAULT_KB_DIR else settings.kb_dir)


def _database_path(args: argparse.Namespace) -> Path:
    """--db, else DATABASE_PATH from the environment or .env, else the default."""
    from bot.config import DEFAULT_DATABASE_PATH, parse_dotenv

    if args.db:
        return args.db
    values: dict[str, str] = {}
    dotenv = Path(".env")
    if dotenv.is_file():
        values.update(parse_dotenv(dotenv.read_text(encoding="utf-8"), ".env"))
    values.update({k: v for k, v in os.environ.items() if v.strip()})
    return Path(values.get("DATABASE_PATH") or DEFAULT_DATABASE_PATH)


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


async def _report_text(args: argparse.Namespace, kb: KnowledgeBase, log: Database) -> str:
    from bot.text import reports

    if args.report == "unanswered":
        groups = await log.unanswered(args.days, limit=args.limit, offset=0)
        if args.csv:
            rows = [(g.normalized, g.count, g.last_asked.isoformat(), g.example, g.downvoted) for g in groups]
            return _csv(("normalized", "count", "last_asked", "example", "downvoted"), rows)
        lines = reports.unanswered_lines(groups)
        return "\n".join(lines) + "\n" if lines else "Tidak ada pertanyaan yang belum terjawab.\n"
    if args.report == "stats":
        stats = await log.report(args.days)
        if args.csv:
            return _csv(("day", "questions", "answered"), [tuple(d) for d in stats.per_day])
        return "\n".join(reports.stats_lines(kb, stats)) + "\n"
    coverage = reports.coverage_report(kb, await log.coverage(args.days))
    if args.csv:
        counts = [*coverage.unit_counts, *((ref, 0) for ref in coverage.duties_never), *coverage.duty_counts]
        return _csv(("unit_or_duty", "count"), counts)
    return "\n".join(reports.coverage_lines(kb, coverage)) + "\n"


async def _learned_text(args: argparse.Namespace, kb: KnowledgeBase, log: Database) -> str:
    from bot.text.reports import learned_yaml

    return learned_yaml(kb, await log.learned_phrases())


def _print_from_log(args: argparse.Namespace, produce: Callable[..., Awaitable[str]]) -> int:
    """Open the query log read for a report, print what ``produce`` makes of it."""
    from bot.storage import StorageError, open_database

    path = _database_path(args)
    if not path.exists():
        print(f"no query log at {path} yet (set DATABASE_PATH or --db)", file=sys.stderr)
        return EXIT_INVALID
    kb = load_kb(args.kb)

    async def run() -> str:
        log = await open_database(path)
        try:
            return await produce(args, kb, log)
        finally:
            await log.close()

    try:
        print(asyncio.run(run()), end="")
    except StorageError as exc:
        print(f"cannot read the query log: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    """Query-log reports without Telegram."""
    return _print_from_log(args, _report_text)


def cmd_export_learned(args: argparse.Namespace) -> int:
    """Print the phrases admins taught, as YAML to merge into the KB."""
    return _print_from_log(args, _learned_text)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="tupoksi", description="Tupoksi Bot: siapa yang mengurus apa di KPU Provinsi Banten."
    )
    parser.add_argument(
        "--kb", type=Path, default=DEFAULT_KB_DIR, help="knowledge base folder (default: %(default)s)"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="answer a question")
    ask.add_argument("question", nargs="*", help="the question (omit with --jsonl)")
    ask.add_argument(
        "--jsonl", action="store_true", help="read questions from stdin, print one JSON object per line"
    )
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="score the matcher on a labeled YAML set")
    ev.add_argument("file", type=Path)
    ev.add_argument("-v", "--verbose", action="store_true", help="also list every miss")
    ev.set_defaults(func=cmd_eval)

    check = sub.add_parser("check-kb", help="validate a knowledge base")
    check.add_argument("path", nargs="?", type=Path, default=DEFAULT_KB_DIR)
    check.set_defaults(func=cmd_check_kb)

    run = sub.add_parser("run", help="start the Telegram bot (settings: environment and .env)")
    run.add_argument(
        "--env-file", type=Path, default=Path(".env"), help="settings file (default: %(default)s)"
    )
    run.set_defaults(func=cmd_run)
    report = sub.add_parser("report", help="query-log reports: unanswered, stats, coverage")
    report.add_argument("report", choices=("unanswered", "stats", "coverage"))
    report.add_argument("--days", type=_positive_int, default=None, help="only the last N days")
    report.add_argument("--limit", type=_positive_int, default=50, help="unanswered groups to list")
    report.add_argument("--csv", action="store_true", help="CSV instead of text")
    report.add_argument("--db", type=Path, default=None, help="database file (default: DATABASE_PATH)")
    report.set_defaults(func=cmd_report)

    learned = sub.add_parser("export-learned", help="print the phrases admins taught, as YAML")
    learned.add_argument("--db", type=Path, default=None, help="database file (default: DATABASE_PATH)")
    learned.set_defaults(func=cmd_export_learned)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more: {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``tupoksi`` and ``python -m bot``."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KnowledgeBaseError as exc:
        print(f"The knowledge base is invalid ({len(exc.problems)} problem(s)):", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
