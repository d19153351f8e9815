"""Admin reports as plain data and text: shared by the CLI and the Telegram admin commands.

No ``telegram`` import: the bot wraps these strings in HTML (escaped) itself.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

import yaml

from bot.core.model import KnowledgeBase, Level
from bot.storage import Coverage, LearnedPhrase, QueryRecord, Stats, UnansweredGroup


def _name(kb: KnowledgeBase, unit_id: str | None) -> str:
    unit = kb.get(unit_id) if unit_id else None
    return unit.short_name if unit else (unit_id or "-")


def window(days: int | None) -> str:
    """``30 hari terakhir`` or ``semua waktu``."""
    return f"{days} hari terakhir" if days else "semua waktu"


def local_time(moment: datetime, tz: tzinfo) -> str:
    """A stored (UTC) moment on the office's clock: ``2026-11-27 10:17 WIB``."""
    local = moment.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"


def local_date(moment: datetime, tz: tzinfo) -> str:
    """The office's calendar day of a stored (UTC) moment: ``2026-11-27``."""
    return f"{moment.astimezone(tz):%Y-%m-%d}"


def _duty_label(unit_id: str | None, *refs: str | None) -> str:
    """`` (Tugas #8)`` for the first of ``refs`` that is a duty of ``unit_id``."""
    for ref in refs:
        ref_unit, _, number = (ref or "").partition("#")
        if unit_id and ref_unit == unit_id and number:
            return f" (Tugas #{number})"
    return ""


def given_answer(kb: KnowledgeBase, record: QueryRecord) -> str:
    """What the bot answered (for a 👎): ``Divisi X (Tugas #5) · Subbag Y (Tugas #8)``."""
    parts = [
        _name(kb, unit_id) + _duty_label(unit_id, duty, record.duty_ref)
        for unit_id, duty in ((record.divisi_id, record.divisi_duty), (record.subbag_id, record.subbag_duty))
        if unit_id
    ]
    return " · ".join(parts) or "-"


def unanswered_lines(
    groups: Sequence[UnansweredGroup], *, kb: KnowledgeBase, tz: tzinfo, offset: int = 0
) -> list[str]:
    """One line per group: number, count, when (office time), the question; for 👎 the answer given."""
    lines = []
    for number, group in enumerate(groups, start=offset + 1):
        flag = " 👎" if group.downvoted else ""
        when = local_time(group.last_asked, tz)
        lines.append(f"{number}. ({group.count}×, terakhir {when}{flag}) {group.example}")
        if group.answer is not None:
            lines.append(f"    ↳ dijawab: {given_answer(kb, group.answer)}")
    return lines


def stats_lines(kb: KnowledgeBase, stats: Stats) -> list[str]:
    """The /stats report as lines of text."""
    lines = [
        f"Statistik {window(stats.days)}",
        f"Pertanyaan: {stats.total}, terjawab: {stats.answered} ({stats.answer_rate:.0%})",
        f"Umpan balik: 👍 {stats.thumbs_up}  👎 {stats.thumbs_down}",
    ]
    if stats.top_divisi:
        lines.append(
            "Divisi terbanyak: " + ", ".join(f"{_name(kb, u)} ({n})" for u, n in stats.top_divisi[:5])
        )
    if stats.top_subbag:
        lines.append(
            "Sub Bagian terbanyak: " + ", ".join(f"{_name(kb, u)} ({n})" for u, n in stats.top_subbag[:5])
        )
    if stats.unanswered_terms:
        lines.append(
            "Kata tersering di pertanyaan tak terjawab: "
            + ", ".join(f"{t} ({n})" for t, n in stats.unanswered_terms[:10])
        )
    if stats.per_day:
        lines.append("Per hari (tanggal: pertanyaan / terjawab):")
        lines += [f"  {d.day}: {d.questions} / {d.answered}" for d in stats.per_day[-14:]]
    return lines


@dataclass(frozen=True)
class CoverageReport:
    """How often each unit and duty was the answer, and what was never asked."""

    unit_counts: list[tuple[str, int]]
    duty_counts: list[tuple[str, int]]
    units_never: list[str]
    duties_never: list[str]


def coverage_report(kb: KnowledgeBase, coverage: Coverage) -> CoverageReport:
    """Combine logged answers with the KB to list what was never asked."""
    units = [u for u in kb.units if u.level in (Level.DIVISI, Level.SUBBAG)]
    duties = [d for u in units for d in u.duties if not d.generic]
    return CoverageReport(
        unit_counts=[(u.id, coverage.units.get(u.id, 0)) for u in units],
        duty_counts=sorted(
            (
                (str(d.ref), coverage.duties.get(str(d.ref), 0))
                for d in duties
                if coverage.duties.get(str(d.ref))
            ),
            key=lambda item: (-item[1], item[0]),
        ),
        units_never=[u.id for u in units if not coverage.units.get(u.id)],
        duties_never=[str(d.ref) for d in duties if not coverage.duties.get(str(d.ref))],
    )


def coverage_lines(kb: KnowledgeBase, report: CoverageReport) -> list[str]:
    """The /coverage report as lines of text."""
    lines = ["Cakupan jawaban per unit:"]
    lines += [f"  {_name(kb, unit_id)}: {count}" for unit_id, count in report.unit_counts]
    if report.duty_counts:
        lines.append("Tugas yang paling sering menjadi jawaban:")
        lines += [f"  {ref}: {count}" for ref, count in report.duty_counts[:15]]
    if report.units_never:
        lines.append(
            "Unit yang belum pernah ditanyakan: " + ", ".join(_name(kb, u) for u in report.units_never)
        )
    lines.append(f"Tugas yang belum pernah menjadi jawaban ({len(report.duties_never)}):")
    for ref in report.duties_never:
        unit_id, _, number = ref.partition("#")
        duty = kb.unit(unit_id).duty(int(number))
        lines.append(f"  {_name(kb, unit_id)} #{number}: {duty.text if duty else ''}")
    return lines


def learned_yaml(kb: KnowledgeBase, phrases: Iterable[LearnedPhrase]) -> str:
    """Learned phrases as YAML, grouped by unit, to merge into the units' ``aliases``/``terms``."""
    by_unit: dict[str, list[str]] = {}
    for phrase in phrases:
        by_unit.setdefault(phrase.unit_id, []).append(phrase.phrase)
    document = {
        "learned_phrases": [
            {"unit": unit_id, "name": _name(kb, unit_id), "phrases": sorted(set(items))}
            for unit_id, items in sorted(by_unit.items())
        ]
    }
    header = (
        "# Phrases admins taught Tupoksi Bot. Merge each into the `terms` of the duty it means\n"
        "# (knowledge/units/<unit>.yaml), then run `tupoksi check-kb`.\n"
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def stats_chart_png(stats: Stats) -> bytes:
    """Questions per day (bars) and answer rate (line) as a PNG image."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    days = [d.day for d in stats.per_day] or ["-"]
    questions = [d.questions for d in stats.per_day] or [0]
    rates = [d.answered / d.questions if d.questions else 0.0 for d in stats.per_day] or [0.0]
    figure, axis = plt.subplots(figsize=(8, 4), dpi=100)
    try:
        axis.bar(days, questions, color="#4a7bb7", label="Pertanyaan")
        axis.set_ylabel("Pertanyaan per hari")
        axis.tick_params(axis="x", rotation=45, labelsize=8)
        rate_axis = axis.twinx()
        rate_axis.plot(days, [r * 100 for r in rates], color="#d9822b", marker="o", label="Terjawab (%)")
        rate_axis.set_ylim(0, 105)
        rate_axis.set_ylabel("Terjawab (%)")
        axis.set_title(f"Tupoksi Bot: {window(stats.days)}")
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
