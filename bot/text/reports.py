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
from bot.storage import Coverage, DeclinedGroup, LearnedPhrase, QueryRecord, Stats, UnansweredGroup


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


REASON_LABEL: dict[str, str] = {
    "chitchat": "sapaan atau basa-basi",
    "fact_question": "fakta, angka atau tanggal",
    "definition": "arti istilah",
    "other_agency": "instansi lain",
    "other_office": "kantor KPU lain",
    "bot_task": "permintaan tugas untuk bot",
    "empty": "pesan kosong",
}
"""Why a question was declined on purpose, as an admin reads it (the matcher's ``Reason``)."""
DAILY_LINES_UP_TO = 14  # a longer window lists weeks, the chart shows the days
MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")


def reason_label(reason: str) -> str:
    """``fakta, angka atau tanggal`` for ``fact_question``; an unknown reason as it is."""
    return REASON_LABEL.get(reason, reason)


def short_date(day: str) -> str:
    """``2026-11-20`` as ``20 Nov``."""
    _, month, number = (int(part) for part in day.split("-"))
    return f"{number} {MONTHS[month - 1]}"


def stats_lines(kb: KnowledgeBase, stats: Stats) -> list[str]:
    """The /stats report as lines of text."""
    lines = [
        f"Statistik {window(stats.days)}",
        f"Pertanyaan: {stats.total}: terjawab {stats.answered}, ditolak sengaja {stats.declined_total}, "
        f"belum bisa dijawab {stats.missed}",
        f"Tingkat terjawab (tanpa yang ditolak sengaja): {stats.in_scope_rate:.0%}",
        f"Umpan balik: 👍 {stats.thumbs_up}  👎 {stats.thumbs_down}",
    ]
    if stats.declined:
        lines.append(
            "Ditolak sengaja karena di luar cakupan: "
            + ", ".join(f"{reason_label(r)} ({n})" for r, n in stats.declined)
        )
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
            "Kata tersering di pertanyaan yang belum bisa dijawab: "
            + ", ".join(f"{t} ({n})" for t, n in stats.unanswered_terms[:10])
        )
    if stats.per_week and len(stats.per_day) > DAILY_LINES_UP_TO:
        lines.append("Per minggu (mulai Senin): pertanyaan, terjawab, 👍/👎")
        lines += [
            f"  {short_date(w.start)}: {w.questions}, "
            f"{f'{w.answer_rate:.0%}' if w.questions > w.declined else '-'}, "
            f"👍 {w.thumbs_up} 👎 {w.thumbs_down}"
            for w in stats.per_week
        ]
    elif stats.per_day:
        lines.append("Per hari: pertanyaan / terjawab / ditolak sengaja")
        lines += [
            f"  {short_date(d.day)}: {d.questions} / {d.answered} / {d.declined}" for d in stats.per_day
        ]
    return lines


OUT_OF_SCOPE_PER_REASON = 8  # question groups listed under each reason


def out_of_scope_lines(
    groups: Sequence[DeclinedGroup], *, tz: tzinfo, per_reason: int = OUT_OF_SCOPE_PER_REASON
) -> list[str]:
    """What the bot declined on purpose and why: per reason (most first), the most asked questions."""
    by_reason: dict[str, list[DeclinedGroup]] = {}
    for group in groups:
        by_reason.setdefault(group.reason, []).append(group)
    lines: list[str] = []
    for reason, items in by_reason.items():
        label = reason_label(reason)
        lines.append(f"{label[:1].upper()}{label[1:]} ({sum(g.count for g in items)} pertanyaan):")
        lines += [
            f"  • {g.count}× {g.example} (terakhir {local_time(g.last_asked, tz)})"
            for g in items[:per_reason]
        ]
        if len(items) > per_reason:
            lines.append(f"  … dan {len(items) - per_reason} pertanyaan lain")
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


def duty_name(kb: KnowledgeBase, ref: str, limit: int | None = None) -> str:
    """``Subbag Keuangan #8 Melaksanakan pembayaran gaji`` for ``subbag-keuangan#8``."""
    unit_id, _, number = ref.partition("#")
    unit = kb.get(unit_id)
    duty = unit.duty(int(number)) if unit and number.isdigit() else None
    text = duty.text if duty else ""
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return f"{_name(kb, unit_id)} #{number} {text}".rstrip()


def coverage_lines(kb: KnowledgeBase, report: CoverageReport) -> list[str]:
    """The coverage report as lines of text (every duty in full: the command line)."""
    lines = ["Cakupan jawaban per unit (Divisi dan Sub Bagian, setiap kali ditampilkan):"]
    lines += [f"  {_name(kb, unit_id)}: {count}" for unit_id, count in report.unit_counts]
    if report.duty_counts:
        lines.append("Tugas yang paling sering ditampilkan di jawaban:")
        lines += [f"  {duty_name(kb, ref)}: {count}" for ref, count in report.duty_counts[:15]]
    if report.units_never:
        lines.append(
            "Unit yang belum pernah ditanyakan: " + ", ".join(_name(kb, u) for u in report.units_never)
        )
    lines.append(f"Tugas yang belum pernah menjadi jawaban ({len(report.duties_never)}):")
    lines += [f"  {duty_name(kb, ref)}" for ref in report.duties_never]
    return lines


def coverage_summary_lines(kb: KnowledgeBase, report: CoverageReport, *, top: int = 10) -> list[str]:
    """The coverage report short enough for one chat message: counts by name, duties never shown
    as numbers per unit."""
    counts = dict(report.unit_counts)
    lines = []
    for level, label in ((Level.DIVISI, "Divisi"), (Level.SUBBAG, "Sub Bagian")):
        units = sorted(
            (u for u in kb.units if u.level == level and u.id in counts),
            key=lambda u: (-counts[u.id], u.short_name),
        )
        lines.append(f"{label}: " + " · ".join(f"{u.short_name} {counts[u.id]}" for u in units))
    if report.duty_counts:
        lines.append("Tugas yang paling sering ditampilkan di jawaban:")
        lines += [f"  {count}× {duty_name(kb, ref, 60)}" for ref, count in report.duty_counts[:top]]
    total = len(report.duties_never) + len(report.duty_counts)
    lines.append(f"Tugas yang belum pernah ditampilkan ({len(report.duties_never)} dari {total}):")
    never: dict[str, list[str]] = {}
    for ref in report.duties_never:
        unit_id, _, number = ref.partition("#")
        never.setdefault(unit_id, []).append(f"#{number}")
    lines += [f"  {_name(kb, unit_id)}: {', '.join(numbers)}" for unit_id, numbers in never.items()]
    return lines


def coverage_chart_png(kb: KnowledgeBase, report: CoverageReport, days: int | None) -> bytes:
    """The organisation as a picture: a row per Divisi and Sub Bagian, a cell per duty, coloured by
    how often it was shown in an answer (grey: never); the unit's total beside its name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.colors import LinearSegmentedColormap
    from matplotlib.patches import Rectangle

    counts = dict(report.duty_counts)
    unit_counts = dict(report.unit_counts)
    units = [u for level in (Level.DIVISI, Level.SUBBAG) for u in kb.units if u.level == level]
    width = max((len(u.duties) for u in units), default=1)
    top = max(counts.values(), default=1)
    colours = LinearSegmentedColormap.from_list("cakupan", ["#fde9c9", "#e8833a", "#8c2d04"])
    figure, axis = plt.subplots(figsize=(11, 0.45 * len(units) + 1.6), dpi=100)
    try:
        for row, unit in enumerate(units):
            for duty in unit.duties:
                count = counts.get(str(duty.ref), 0)
                colour = "#e6e6e6" if not count else colours(min(1.0, 0.15 + 0.85 * count / top))
                hatch = "//" if duty.generic else None
                axis.add_patch(
                    Rectangle(
                        (duty.number - 1, row), 0.92, 0.85, facecolor=colour, hatch=hatch, edgecolor="white"
                    )
                )
                if count:
                    axis.text(
                        duty.number - 0.54, row + 0.45, str(count), ha="center", va="center", fontsize=7
                    )
        axis.set_xlim(0, width)
        axis.set_ylim(len(units), 0)
        axis.set_yticks(
            [row + 0.45 for row in range(len(units))],
            [f"{u.short_name} ({unit_counts.get(u.id, 0)})" for u in units],
            fontsize=8,
        )
        axis.set_xticks(
            [n - 0.54 for n in range(1, width + 1)], [f"#{n}" for n in range(1, width + 1)], fontsize=7
        )
        axis.tick_params(length=0)
        for side in axis.spines.values():
            side.set_visible(False)
        axis.set_title(
            f"Cakupan jawaban ({window(days)}): tiap kotak satu tugas, angka = berapa kali ditampilkan; "
            "abu-abu = belum pernah; arsir = tugas umum (tidak dihitung)",
            fontsize=9,
        )
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)


def learned_yaml(kb: KnowledgeBase, phrases: Iterable[LearnedPhrase]) -> str:
    """Learned phrases as YAML, grouped by unit, to merge into the units' ``aliases``/``terms``."""
    by_duty: dict[tuple[str, int], list[str]] = {}
    for phrase in phrases:
        by_duty.setdefault((phrase.unit_id, phrase.duty or 0), []).append(phrase.phrase)
    entries: list[dict[str, object]] = []
    for (unit_id, number), items in sorted(by_duty.items()):
        entry: dict[str, object] = {"unit": unit_id, "name": _name(kb, unit_id)}
        if number:
            entry["duty"] = number
            entry["duty_text"] = duty_name(kb, f"{unit_id}#{number}").split(f"#{number} ", 1)[-1]
        else:
            entry["duty"] = None  # no duty picked when it was taught: choose one when merging
        entry["phrases"] = sorted(set(items))
        entries.append(entry)
    document = {"learned_phrases": entries}
    header = (
        "# Phrases admins taught Tupoksi Bot. Merge each into the `terms` of the duty it means\n"
        "# (knowledge/units/<unit>.yaml), then run `tupoksi check-kb`.\n"
    )
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def stats_chart_png(stats: Stats) -> bytes:
    """Questions per calendar day (stacked: answered, declined on purpose, not placed), every day
    of the window including empty ones, with a legend; below, the answer rate and 👍/👎 per week."""
    import matplotlib

    matplotlib.use("Agg")
    from datetime import date

    from matplotlib import dates as mdates
    from matplotlib import pyplot as plt

    days = [date.fromisoformat(d.day) for d in stats.per_day] or [date(2000, 1, 1)]
    answered = [d.answered for d in stats.per_day] or [0]
    declined = [d.declined for d in stats.per_day] or [0]
    missed = [d.missed for d in stats.per_day] or [0]
    figure, (axis, week_axis) = plt.subplots(
        2, 1, figsize=(9, 6), dpi=100, gridspec_kw={"height_ratios": [3, 2]}
    )
    try:
        width = 0.8
        axis.bar(days, answered, width, color="#3b8f5a", label="Terjawab")
        axis.bar(
            days, declined, width, bottom=answered, color="#9aa3ad", label="Ditolak sengaja (di luar cakupan)"
        )
        bottom = [a + d for a, d in zip(answered, declined, strict=True)]
        axis.bar(days, missed, width, bottom=bottom, color="#d9822b", label="Belum bisa dijawab")
        first_day, last_day = (float(mdates.date2num(day)) for day in (days[0], days[-1]))  # type: ignore[no-untyped-call]
        axis.set_xlim(first_day - 0.6, last_day + 0.6)
        if len(days) <= DAILY_LINES_UP_TO:
            axis.xaxis.set_major_locator(mdates.DayLocator())  # type: ignore[no-untyped-call]
        else:
            axis.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))  # type: ignore[no-untyped-call]
        axis.xaxis.set_major_formatter(mdates.DateFormatter("%d/%m"))  # type: ignore[no-untyped-call]
        axis.yaxis.get_major_locator().set_params(integer=True)
        axis.set_ylabel("Pertanyaan per hari")
        axis.set_title(f"Tupoksi Bot: {window(stats.days)} (per hari, WIB)")
        axis.legend(loc="upper left", fontsize=8, frameon=False)
        axis.grid(axis="y", alpha=0.3)

        weeks = stats.per_week
        labels = [short_date(w.start) for w in weeks] or ["-"]
        positions = list(range(len(labels)))
        rate_axis = week_axis.twinx()
        week_axis.bar(
            [p - 0.2 for p in positions],
            [w.thumbs_up for w in weeks] or [0],
            0.4,
            color="#4a7bb7",
            label="👍",
        )
        week_axis.bar(
            [p + 0.2 for p in positions],
            [w.thumbs_down for w in weeks] or [0],
            0.4,
            color="#c0504d",
            label="👎",
        )
        week_axis.set_ylabel("Suara per minggu")
        most_votes = max([w.thumbs_up for w in weeks] + [w.thumbs_down for w in weeks] + [0])
        week_axis.set_ylim(0, max(1, most_votes) * 1.6)  # room for the legend
        week_axis.yaxis.get_major_locator().set_params(integer=True)
        week_axis.set_xticks(positions, labels, fontsize=8, rotation=45 if len(labels) > 8 else 0)
        rates = [w.answer_rate * 100 if w.questions > w.declined else float("nan") for w in weeks]
        rate_axis.plot(positions, rates or [float("nan")], color="#3b8f5a", marker="o", label="Terjawab (%)")
        rate_axis.set_ylim(0, 110)
        rate_axis.set_ylabel("Terjawab (%)")
        handles = week_axis.get_legend_handles_labels()
        rate_handles = rate_axis.get_legend_handles_labels()
        week_axis.legend(
            handles[0] + rate_handles[0],
            ["Suara baik", "Suara buruk", "Terjawab (% tanpa yang ditolak sengaja)"],
            loc="upper left",
            fontsize=8,
            frameon=False,
        )
        week_axis.set_title("Per minggu (tanggal = Senin awal minggu)", fontsize=10)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()
    finally:
        plt.close(figure)
