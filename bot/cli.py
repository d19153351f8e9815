"""Command line: ``python -m bot`` / ``tupoksi``.

Everything the bot knows is usable without Telegram: ask questions, score a
labeled set, validate the knowledge base, read the query-log reports.

Every subcommand reads the same settings (environment over ``.env``, see
:func:`bot.config.load_settings`), and every fatal start-up problem (a bad setting,
an invalid knowledge base, an unusable database, a rejected token, no network) is
one line on stderr and an :class:`~bot.config.ExitCode`, never a traceback.
The help is English; what the bot answers stays Indonesian.
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
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING

from bot import __version__
from bot.config import DISCOVER, EXIT_CODE_MEANINGS, ExitCode, Settings, StartupError, load_settings
from bot.core.answer import build_answer
from bot.core.matcher import Candidate, Matcher, MatchResult
from bot.core.model import KnowledgeBase
from bot.knowledge.loader import DEFAULT_KB_DIR, KnowledgeBaseError, load_kb
from bot.knowledge.stems import build_matcher
from bot.text.plain import render_plain

if TYPE_CHECKING:
    from bot.storage import Database


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


def _kb_dir(args: argparse.Namespace, settings: Settings) -> Path:
    """--kb, else KB_DIR (environment or .env), else the knowledge base installed with the bot."""
    return args.kb or settings.kb_dir


def _load(args: argparse.Namespace, settings: Settings) -> Matcher:
    return build_matcher(load_kb(_kb_dir(args, settings)))


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer one question, or one per stdin line with --jsonl."""
    matcher = _load(args, settings)
    if args.jsonl:
        stdin = sys.stdin
        if hasattr(stdin, "reconfigure"):
            stdin.reconfigure(encoding="utf-8", errors="replace")
        for line in stdin:
            print(json.dumps(result_json(matcher.match(line.rstrip("\r\n"))), ensure_ascii=False), flush=True)
        return ExitCode.OK
    question = " ".join(args.question)
    if not question.strip():
        print('tupoksi: no question given: tupoksi ask "siapa yang mengurus arsip?"', file=sys.stderr)
        return ExitCode.CONFIG
    result = matcher.match(question)
    print(render_plain(build_answer(result, matcher.kb, matcher.config.ambiguity_margin)))
    return ExitCode.OK


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Score the matcher on a labeled YAML set."""
    from bot.evaluation import evaluate

    matcher = _load(args, settings)
    try:
        report = evaluate(matcher, args.file)
    except (OSError, ValueError, KeyError) as exc:
        print(f"tupoksi: cannot evaluate {args.file}: {exc}", file=sys.stderr)
        return ExitCode.CONFIG
    lines = report.lines()
    print("\n".join(lines if args.verbose else lines[len(report.misses) :]))
    return ExitCode.OK


def cmd_check_kb(args: argparse.Namespace, settings: Settings) -> int:
    """Validate a KB folder; exit 3 listing every problem."""
    path = args.path or _kb_dir(args, settings)
    kb = load_kb(path)
    print(
        f"OK: {path}: {len(kb.units)} units, {kb.duty_count} duties, version {kb.version} ({kb.content_hash})"
    )
    return ExitCode.OK


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Start the Telegram bot with settings from the environment and .env."""
    # Opt in to python-telegram-bot's timedelta durations now, so a 429 does not print a
    # deprecation warning on every flood-control retry (we never read retry_after ourselves).
    os.environ.setdefault("PTB_TIMEDELTA", "1")
    from bot.telegram.app import run_bot  # imports telegram: only when the bot runs

    return run_bot(settings, kb_dir=_kb_dir(args, settings))


def _csv(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


async def _report_text(args: argparse.Namespace, kb: KnowledgeBase, log: Database, tz: tzinfo) -> str:
    from bot.text import reports

    if args.report == "unanswered":
        groups = await log.unanswered(args.days, limit=args.limit, offset=0)
        if args.csv:
            rows = [
                (g.normalized, g.count, g.last_asked.astimezone(tz).isoformat(), g.example, g.downvoted)
                for g in groups
            ]
            return _csv(("normalized", "count", "last_asked", "example", "downvoted"), rows)
        lines = reports.unanswered_lines(groups, kb=kb, tz=tz)
        return "\n".join(lines) + "\n" if lines else "Tidak ada pertanyaan yang belum terjawab.\n"
    if args.report == "out-of-scope":
        declined = await log.declined(args.days)
        if args.csv:
            declined_rows = [
                (g.reason, g.normalized, g.count, g.last_asked.astimezone(tz).isoformat(), g.example)
                for g in declined
            ]
            return _csv(("reason", "normalized", "count", "last_asked", "example"), declined_rows)
        lines = reports.out_of_scope_lines(declined, tz=tz, per_reason=args.limit)
        return "\n".join(lines) + "\n" if lines else "Tidak ada pertanyaan di luar cakupan.\n"
    if args.report == "stats":
        stats = await log.report(args.days, utc_offset=datetime.now(tz).utcoffset() or timedelta(0))
        if args.csv:
            return _csv(("day", "questions", "answered", "declined"), [tuple(d) for d in stats.per_day])
        return "\n".join(reports.stats_lines(kb, stats)) + "\n"
    coverage = reports.coverage_report(kb, await log.coverage(args.days))
    if args.csv:
        counts = [*coverage.unit_counts, *((ref, 0) for ref in coverage.duties_never), *coverage.duty_counts]
        return _csv(("unit_or_duty", "count"), counts)
    return "\n".join(reports.coverage_lines(kb, coverage)) + "\n"


async def _export_text(args: argparse.Namespace, kb: KnowledgeBase, log: Database, tz: tzinfo) -> str:
    from bot.text.exports import rows_to_csv, rows_to_xlsx

    rows = await log.export_rows(args.days)
    if args.xlsx is not None:
        args.xlsx.write_bytes(rows_to_xlsx(rows, kb, tz))
        return f"{len(rows)} rows written to {args.xlsx}\n"
    return rows_to_csv(rows, tz=tz)


async def _learned_text(args: argparse.Namespace, kb: KnowledgeBase, log: Database, tz: tzinfo) -> str:
    from bot.text.reports import learned_yaml

    return learned_yaml(kb, await log.learned_phrases())


def _print_from_log(
    args: argparse.Namespace, settings: Settings, produce: Callable[..., Awaitable[str]]
) -> int:
    """Open the query log read for a report, print what ``produce`` makes of it."""
    from bot.storage import StorageError, open_database

    path = args.db or settings.database_path  # --db, else DATABASE_PATH, else the default
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist (yet)"
        problem = f"cannot use the database {path}: it {what}; set DATABASE_PATH or pass --db"
        raise StartupError(ExitCode.DATABASE, [problem])
    kb = load_kb(_kb_dir(args, settings))

    async def run() -> str:
        log = await open_database(path)
        try:
            return await produce(args, kb, log, settings.tz)
        finally:
            await log.close()

    try:
        text = asyncio.run(run())
    except StorageError as exc:
        raise StartupError(ExitCode.DATABASE, [f"cannot use the database {path}: {exc}"]) from exc
    print(text, end="")
    return ExitCode.OK


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    """Query-log reports without Telegram."""
    return _print_from_log(args, settings, _report_text)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """The question log as CSV on stdout, or as an Excel workbook (--xlsx FILE)."""
    return _print_from_log(args, settings, _export_text)


def cmd_export_learned(args: argparse.Namespace, settings: Settings) -> int:
    """Print the phrases admins taught, as YAML to merge into the KB."""
    return _print_from_log(args, settings, _learned_text)


EXIT_CODES_HELP = (
    "settings: environment variables over a .env file (./.env, else the checkout's .env);\n"
    "every setting is explained in .env.example.\n\n"
    "exit codes:\n" + "".join(f"  {int(code)}  {meaning}\n" for code, meaning in EXIT_CODE_MEANINGS.items())
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand; all help is English."""
    parser = argparse.ArgumentParser(
        prog="tupoksi",
        description=(
            "Tupoksi Bot: tells staff of KPU Provinsi Banten which Divisi and Sub Bagian handle\n"
            "a matter, from the duty lists of the office's SOP. It runs as a Telegram bot\n"
            "(tupoksi run) and from the command line."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--kb",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"knowledge base folder (default: KB_DIR, else {DEFAULT_KB_DIR})",
    )
    env_file_help = "settings file to read instead of looking for .env"
    parser.add_argument("--env-file", type=Path, default=None, metavar="FILE", help=env_file_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer a question (printed in Indonesian, as the bot says it)")
    ask.add_argument(
        "question", nargs="*", help="the question, in quotes or as separate words (omit with --jsonl)"
    )
    ask.add_argument(
        "--jsonl", action="store_true", help="read questions from stdin, print one JSON object per line"
    )
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="score the matcher on a labeled YAML set")
    ev.add_argument("file", type=Path, help="labeled questions, in the format of ../shared/eval/dev.yaml")
    ev.add_argument("-v", "--verbose", action="store_true", help="also list every miss")
    ev.set_defaults(func=cmd_eval)

    check = sub.add_parser("check-kb", help="validate a knowledge base")
    check.add_argument(
        "path", nargs="?", type=Path, default=None, help="knowledge base folder (default: as --kb)"
    )
    check.set_defaults(func=cmd_check_kb)

    run = sub.add_parser("run", help="start the Telegram bot (settings: environment and .env)")
    # Also accepted after "run"; SUPPRESS keeps a --env-file given before "run".
    run.add_argument("--env-file", type=Path, default=argparse.SUPPRESS, metavar="FILE", help=env_file_help)
    run.set_defaults(func=cmd_run)

    report = sub.add_parser("report", help="query-log reports: unanswered, stats, coverage, out-of-scope")
    report.add_argument(
        "report",
        choices=("unanswered", "stats", "coverage", "out-of-scope"),
        help="unanswered: questions to review; stats: numbers per day; coverage: units and duties asked; "
        "out-of-scope: questions declined on purpose, by reason",
    )
    report.add_argument("--days", type=_positive_int, default=None, metavar="N", help="only the last N days")
    report.add_argument(
        "--limit", type=_positive_int, default=50, metavar="N", help="unanswered groups to list (default: 50)"
    )
    report.add_argument("--csv", action="store_true", help="CSV instead of text")
    db_help = "database file (default: DATABASE_PATH)"
    report.add_argument("--db", type=Path, default=None, metavar="FILE", help=db_help)
    report.set_defaults(func=cmd_report)

    export = sub.add_parser(
        "export", help="the question log as CSV on stdout (times in TZ), or as an Excel workbook"
    )
    export.add_argument("--days", type=_positive_int, default=None, metavar="N", help="only the last N days")
    export.add_argument(
        "--xlsx",
        type=Path,
        default=None,
        metavar="FILE",
        help="write an .xlsx workbook to FILE instead of CSV",
    )
    export.add_argument("--db", type=Path, default=None, metavar="FILE", help=db_help)
    export.set_defaults(func=cmd_export)

    learned = sub.add_parser("export-learned", help="print the phrases admins taught, as YAML")
    learned.add_argument("--db", type=Path, default=None, metavar="FILE", help=db_help)
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
        # Only "run" talks to Telegram: the others neither need nor check the token.
        settings = load_settings(dotenv_path=args.env_file or DISCOVER, require_token=args.command == "run")
        return args.func(args, settings)
    except StartupError as exc:
        return exc.report()
    except KnowledgeBaseError as exc:
        return StartupError(ExitCode.KB, [f"invalid knowledge base: {p}" for p in exc.problems]).report()
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # "tupoksi ... | head": the reader left, nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
