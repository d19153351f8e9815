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
    evidence: Tally = field(default_factory=Tally)
    """Cited duty acceptable, where the set lists acceptable duties and the unit is right."""
    bands: dict[str, Tally] = field(default_factory=dict)
    """Answered in-scope questions per confidence band ("0.8" = 0.8-0.9), right = every level."""
    declined_by_reason: dict[str, int] = field(default_factory=dict)
    """Out-of-scope questions declined, by the reason given."""
    misses: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """The headline line, in score.py's format."""
        line = (
            f"divisi@1 {self.top1['divisi'].rate:.3f} subbag@1 {self.top1['subbag'].rate:.3f} "
            f"oos_declined {self.out_of_scope_declined.rate:.3f} "
            f"false_decline {self.wrongly_declined.rate:.3f}"
        )
        return line + (f" evidence {self.evidence.rate:.3f}" if self.evidence.total else "")

    def lines(self) -> list[str]:
        """Misses, then per-level figures, calibration and evidence, then the summary."""
        out = [f"  {m}" for m in self.misses]
        for lv in LEVELS:
            out.append(f"{lv}: top-1 {self.top1[lv]}, top-3 {self.top3[lv].rate:.1%}")
        out.append(f"out-of-scope declined: {self.out_of_scope_declined}")
        if self.declined_by_reason:
            reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.declined_by_reason.items()))
            out.append(f"  by reason: {reasons}")
        out.append(f"in-scope wrongly declined: {self.wrongly_declined}")
        if self.bands:
            out.append("calibration (answered in-scope questions; right = every labeled level right):")
            for band in sorted(self.bands, reverse=True):
                top = "1.0" if band == "0.9" else f"{float(band) + 0.1:.1f}"
                out.append(f"  confidence {band}-{top}: {self.bands[band]}")
        if self.evidence.total:
            out.append(f"evidence: cited duty acceptable {self.evidence}")
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
                reason = str(got.reason)
                report.declined_by_reason[reason] = report.declined_by_reason.get(reason, 0) + 1
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
            acceptable = (entry.get("duties") or {}).get(lv)
            if acceptable and ids[:1] and ids[0] in gold:
                report.evidence.total += 1
                cited = getattr(got, lv)[0].duty
                if cited is not None and str(cited) in acceptable:
                    report.evidence.hits += 1
                else:
                    report.misses.append(f"EVIDENCE {lv}: {q!r} cites {cited} (want one of {acceptable})")
        if got.answered:
            band = f"{min(int(got.confidence * 10), 9) / 10:.1f}"
            right = all(
                getattr(got, lv) and getattr(got, lv)[0].unit_id in set(entry.get(lv) or [])
                for lv in LEVELS
                if entry.get(lv)
            )
            tally = report.bands.setdefault(band, Tally())
            tally.hits += right
            tally.total += 1
    return report


def evaluate(matcher: Matcher, path: Path) -> EvalReport:
    """Run every question of the set at ``path`` through ``matcher`` and score it."""
    questions = load_labeled(path)
    return score(questions, [matcher.match(e["q"].replace("\n", " ")) for e in questions])
