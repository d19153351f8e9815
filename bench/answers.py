"""Dump the bot's answers to every labeled question, to prove an optimisation changes none.

``python bench/answers.py OUT.jsonl`` runs ``tupoksi ask --jsonl`` over the questions of
``../shared/eval/dev.yaml`` and every ``tests/data/*.yaml`` with ``questions:`` and writes one
line per question (set name + the CLI's JSON).  ``--scale N`` instead matches the dev and
holdout questions in process against the synthetic KB of N offices (``bench/synthetic.py``)
and writes each ``MatchResult`` as JSON: the large-index path (numpy) is checked that way.
``python bench/answers.py --compare A B`` prints the lines that differ (exit 1 if any).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEV = ROOT.parent / "shared" / "eval" / "dev.yaml"


def labeled_sets() -> list[Path]:
    """dev.yaml and every test data file that holds labeled questions."""
    sets = [DEV] if DEV.exists() else []
    for path in sorted((ROOT / "tests" / "data").glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("questions"):
            sets.append(path)
    return sets


def questions_of(path: Path) -> list[str]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [str(entry["q"]) for entry in data["questions"]]


def dump_cli(out: Path) -> int:
    lines: list[str] = []
    for path in labeled_sets():
        questions = questions_of(path)
        done = subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--jsonl"],
            input="\n".join(q.replace("\n", " ") for q in questions) + "\n",
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        answers = done.stdout.splitlines()
        if len(answers) != len(questions):
            raise SystemExit(f"{path.name}: {len(questions)} questions, {len(answers)} answers")
        lines += [f"{path.name}\t{answer}" for answer in answers]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} answers from {len(labeled_sets())} sets -> {out}")
    return 0


def dump_scale(out: Path, offices: int) -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from synthetic import scaled_kb

    from bot.core.matcher import Matcher
    from bot.knowledge.loader import load_kb

    kb = scaled_kb(load_kb(), offices)
    matcher = Matcher(kb)
    lines = []
    for path in labeled_sets():
        if not (path.name in {"dev.yaml", "holdout.yaml", "holdout2.yaml"} or path.name.endswith("1.yaml")):
            continue
        for question in questions_of(path):
            result = dataclasses.asdict(matcher.match(question))
            lines.append(f"{path.name}\t{json.dumps(result, ensure_ascii=False, default=str)}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} results at {offices} offices ({len(kb.units)} units) -> {out}")
    return 0


def compare(a: Path, b: Path) -> int:
    left = a.read_text(encoding="utf-8").splitlines()
    right = b.read_text(encoding="utf-8").splitlines()
    if len(left) != len(right):
        print(f"{len(left)} lines vs {len(right)}")
        return 1
    differ = [(x, y) for x, y in zip(left, right, strict=True) if x != y]
    for x, y in differ[:20]:
        print(f"- {x}\n+ {y}")
    print(f"{len(differ)} of {len(left)} answers differ")
    return 1 if differ else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path)
    parser.add_argument("--scale", type=int, default=0, help="offices of a synthetic KB (in process)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"))
    args = parser.parse_args()
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("OUT is required")
    return dump_scale(args.out, args.scale) if args.scale else dump_cli(args.out)


if __name__ == "__main__":
    sys.exit(main())
