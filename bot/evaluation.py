"""Score the matcher on a labeled question set (same rules as ../shared/eval/score.py).

Built in so KB maintainers can check an edit with ``tupoksi eval FILE.yaml``
without the external harness.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.core.matcher import Matcher, MatchResult

LEVELS = ("divisi", "subbag")


@dataclass
class Tally:
    """hits / total."""

    hits: int = 0
    total: int = 0

    @property
    def rate(self) -> float:
        return self.hits / self.total if self.total else float("nan")

    def __str__(self) -> str:
        return f"{self.hits}/{self.total} ({self.rate:.1%})"


@dataclass
class EvalReport:
    """Accuracy figures on a labeled set."""

    top1: dict[str, Tally] = field(default_factory=lambda: {lv: Tally() for lv in LEVELS})
    top3: dict[str, Tally] = field(default_factory=lambda: {lv: Tally() for lv in LEVELS})
    out_of_scope_declined: Tally = field(default_factory=Tally)
    wrongly_declined: Tally = field(default_factory=Tally)
    misses: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The headline line, in score.py's format."""
        return (
            f"divisi@1 {self.top1['divisi'].rate:.3f} subbag@1 {self.top1['subbag'].rate:.3f} "
            f"oos_declined {self.out_of_scope_declined.rate:.3f} "
            f"false_decline {self.wrongly_declined.rate:.3f}"
        )

    def lines(self) -> list[str]:
        """Misses, then per-level figures, then the summary."""
        out = [f"  {m}" for m in self.misses]
        for lv in LEVELS:
            out.append(f"{lv}: top-1 {self.top1[lv]}, top-3 {self.top3[lv].rate:.1%}")
        out.append(f"out-of-scope declined: {self.out_of_scope_declined}")
        out.append(f"in-scope wrongly declined: {self.wrongly_declined}")
        out.append(self.summary())
        return out


def load_labeled(path: Path) -> list[dict]:
    """Questions of a labeled YAML set (``questions: [{q, divisi, subbag, out_of_scope}]``)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise ValueError(f"{path}: expected a mapping with a 'questions' list")
    return data["questions"]


def score(questions: list[dict], results: list[MatchResult]) -> EvalReport:
    """Compare results with labels, exactly as score.py does."""
    report = EvalReport()
    for entry, got in zip(questions, results, strict=True):
        q = entry["q"]
        if entry.get("out_of_scope"):
            report.out_of_scope_declined.total += 1
            if not got.answered:
                report.out_of_scope_declined.hits += 1
            else:
                report.misses.append(f"ANSWERED out-of-scope: {q!r}")
            continue
        report.wrongly_declined.total += 1
        if not got.answered:
            report.wrongly_declined.hits += 1
            report.misses.append(f"DECLINED: {q!r} ({got.reason}, {got.confidence:.2f})")
        for lv in LEVELS:
            gold = set(entry.get(lv) or [])
            if not gold:
                continue
            ids = [c.unit_id for c in getattr(got, lv)] if got.answered else []
            report.top1[lv].total += 1
            report.top3[lv].total += 1
            if ids[:1] and ids[0] in gold:
                report.top1[lv].hits += 1
            elif got.answered:
                report.misses.append(f"{lv}: {q!r} -> {ids[:3]} (want {sorted(gold)})")
            if gold & set(ids[:3]):
                report.top3[lv].hits += 1
    return report


def evaluate(matcher: Matcher, path: Path) -> EvalReport:
    """Run every question of the set at ``path`` through ``matcher`` and score it."""
    questions = load_labeled(path)
    return score(questions, [matcher.match(e["q"].replace("\n", " ")) for e in questions])
