"""What admins read in Telegram: the review list, the teach menu, the reports, as HTML and buttons.

Like :mod:`bot.text.answers` this module has no ``telegram`` import: texts are strings and
keyboards are :data:`~bot.text.answers.Keyboard` tuples. The report wording itself comes from
:mod:`bot.text.reports` (shared with the CLI); here it is only escaped and framed. Every string
from users, the database or the KB goes through :func:`~bot.text.html.esc`. Admins read
Indonesian.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import date, tzinfo

from bot.core.model import KnowledgeBase, Level, Unit
from bot.knowledge.loader import Problem
from bot.storage import DeclinedGroup, LearnedPhrase, Stats, UnansweredGroup
from bot.text import html, reports
from bot.text.answers import Button, Keyboard, listable_units
from bot.text.callback_data import TEACH_DONE, dismiss_data, review_page_data, teach_data
from bot.text.html import esc
from bot.text.problems import problem_text
from bot.text.words import LEVEL_LABEL

PAGE_SIZE = 5  # question groups per /unanswered page
STATS_DEFAULT_DAYS = 30
EXAMPLE_LENGTH = 160  # characters of a question shown in lists and menus
MAX_PROBLEMS_SHOWN = 40  # of an invalid KB, in the /reload reply
LEARNED_SHOWN = 20  # learned phrases listed under the /lupakan usage
TEACH_LEVELS = (Level.DIVISI, Level.SUBBAG)

REFUSAL_TEXT = "Maaf, perintah ini khusus admin."
PRIVATE_ONLY_TEXT = "Perintah admin hanya bisa dipakai di chat pribadi dengan saya."
NO_STORAGE_TEXT = "Log pertanyaan tidak aktif (tidak ada database), jadi data ini belum tersedia."
STORAGE_ERROR_TEXT = "Maaf, database sedang bermasalah. Coba lagi sebentar lagi; rinciannya ada di log bot."
STALE_REVIEW_TEXT = "Pertanyaan ini sudah tidak ada di log (mungkin sudah dihapus). Buka /tinjau lagi."

USAGE: dict[str, str] = {
    "tinjau": (
        "<code>/tinjau [hari]</code>: pertanyaan yang belum terjawab atau diberi 👎, "
        "misalnya <code>/tinjau 30</code>. Tanpa angka: semua yang masih tersimpan."
    ),
    "statistik": (
        f"<code>/statistik [hari]</code>: statistik dan grafik, misalnya <code>/statistik 7</code>. "
        f"Tanpa angka: {STATS_DEFAULT_DAYS} hari terakhir."
    ),
    "cakupan": (
        "<code>/cakupan [hari]</code>: seberapa sering tiap unit dan tugas menjadi jawaban. "
        "Tanpa angka: semua waktu."
    ),
    "ekspor": (
        "<code>/ekspor [hari]</code>: log pertanyaan sebagai berkas Excel, misalnya "
        "<code>/ekspor 30</code>. Tanpa angka: semuanya."
    ),
    "diluarcakupan": (
        "<code>/diluarcakupan [hari]</code>: pertanyaan yang sengaja tidak dijawab karena di luar "
        f"cakupan, dikelompokkan menurut alasannya, misalnya <code>/diluarcakupan 7</code>. "
        f"Tanpa angka: {STATS_DEFAULT_DAYS} hari terakhir."
    ),
    "lupakan": (
        "<code>/lupakan &lt;id&gt;</code>: hapus frasa yang pernah diajarkan, misalnya "
        "<code>/lupakan 12</code> (nomornya ada di pesan konfirmasi saat mengajarkan)."
    ),
    "muatulang": "<code>/muatulang</code> (tanpa argumen): muat ulang basis pengetahuan dari folder KB.",
}


def usage_html(command: str) -> str:
    """How to use ``command``, after odd arguments."""
    return f"Cara pakai: {USAGE[command]}"


def lupakan_usage_html(kb: KnowledgeBase, phrases: Sequence[LearnedPhrase], tz: tzinfo) -> str:
    """/lupakan without an id: how to use it, then the phrases that can be forgotten."""
    return usage_html("lupakan") + "\n\n" + learned_list_html(kb, phrases, tz)


def taught_html(unit: Unit) -> str:
    """The toast after teaching ``unit``."""
    return f"✅ Diajarkan ke {unit.short_name}"


def shorten(text: str, limit: int = EXAMPLE_LENGTH) -> str:
    """``text`` on one line, cut to ``limit`` characters (a question in lists and menus)."""
    return html.shorten(text, limit)


def _unit_name(kb: KnowledgeBase, unit_id: str) -> str:
    unit = kb.get(unit_id)
    return esc(unit.name) if unit else f"<code>{esc(unit_id)}</code> (tidak ada di KB)"


# -- /unanswered -----------------------------------------------------------------------------


def page_count(total: int) -> int:
    """Pages needed for ``total`` groups (at least one)."""
    return max(1, -(-total // PAGE_SIZE))


def review_html(
    kb: KnowledgeBase,
    groups: Sequence[UnansweredGroup],
    *,
    total: int,
    page: int,
    days: int | None,
    tz: tzinfo,
) -> str:
    """One page of questions needing review, numbered across pages."""
    if not groups:
        return f"🎉 Tidak ada pertanyaan yang perlu ditinjau ({reports.window(days)})."
    short = [replace(g, example=shorten(g.example)) for g in groups]
    lines = reports.unanswered_lines(short, kb=kb, tz=tz, offset=page * PAGE_SIZE)
    head = (
        f"📝 <b>Perlu ditinjau</b> ({reports.window(days)}): {total} kelompok pertanyaan yang belum "
        f"terjawab atau diberi 👎 · halaman {page + 1}/{page_count(total)}"
    )
    tail = (
        "Ketuk 🎓 untuk menetapkan unit yang menangani pertanyaan itu, atau 🙈 untuk mengabaikannya "
        "(pertanyaan yang sama tidak akan muncul lagi di sini)."
    )
    return "\n\n".join([head, "\n".join(esc(line) for line in lines), tail])


def review_buttons(groups: Sequence[UnansweredGroup], *, total: int, page: int, days: int | None) -> Keyboard:
    """🎓 teach and 🙈 dismiss per group (short labels: two fit a phone's row), then « » for pages."""
    rows: list[tuple[Button, ...]] = [
        (
            Button(f"🎓 Ajarkan {number}", teach_data(group.ids[0])),
            Button(f"🙈 Abaikan {number}", dismiss_data(group.ids[0], days, page)),
        )
        for number, group in enumerate(groups, start=page * PAGE_SIZE + 1)
        if group.ids
    ]
    nav = []
    if page > 0:
        nav.append(Button("« Sebelumnya", review_page_data(days, page - 1)))
    if page + 1 < page_count(total):
        nav.append(Button("Berikutnya »", review_page_data(days, page + 1)))
    if nav:
        rows.append(tuple(nav))
    return tuple(rows)


# -- teaching --------------------------------------------------------------------------------


def teach_html(
    kb: KnowledgeBase,
    question: str,
    taught: Sequence[LearnedPhrase],
    *,
    note: str = "",
    done: bool = False,
    asking_duty: bool = False,
) -> str:
    """The teach menu: the question, what it was taught so far, what to do."""
    blocks = [f"🎓 <b>Ajarkan jawaban</b>\n❓ <i>{esc(shorten(question))}</i>"]
    if taught:
        blocks.append(
            "\n".join(
                f"✅ {_unit_name(kb, p.unit_id)}{f' tugas #{p.duty}' if p.duty else ''} "
                f"(frasa #{p.id}; batalkan: /lupakan {p.id})"
                for p in taught
            )
        )
    if note:
        blocks.append(note)
    if done:
        blocks.append("Selesai." if taught else "Selesai, tidak ada yang diajarkan.")
    elif not asking_duty:
        blocks.append(
            "Pilih Divisi dan/atau Sub Bagian yang menangani pertanyaan ini. Pertanyaan yang sama "
            "berikutnya langsung dijawab dengan unit itu."
        )
    return "\n\n".join(blocks)


def teach_buttons(kb: KnowledgeBase, query_id: str, taught_unit_ids: Iterable[str]) -> Keyboard:
    """The 7 Divisi and 6 Sub Bagian (✅ on the taught ones), one per row so a phone shows the
    whole name, then Selesai."""
    taught = set(taught_unit_ids)
    rows: list[tuple[Button, ...]] = []
    for level in TEACH_LEVELS:
        buttons = []
        for unit in listable_units(kb, level):
            try:
                data = teach_data(query_id, unit.id)
            except ValueError:  # an id too long for Telegram's 64 bytes (KB ids are short slugs)
                continue
            buttons.append(Button(("✅ " if unit.id in taught else "") + unit.short_name, data))
        rows += [(button,) for button in buttons]
    rows.append((Button("Selesai", teach_data(query_id, TEACH_DONE)),))
    return tuple(rows)


DUTY_LABEL_LENGTH = 30  # characters of a duty button: one per row, whole on a phone


def duty_buttons(unit: Unit, query_id: str, learned_id: int) -> Keyboard:
    """After teaching ``unit``: one button per duty (``#11 Melaksanakan pengumpulan…``), then Selesai."""
    rows: list[tuple[Button, ...]] = []
    for duty in unit.duties:
        if duty.generic:
            continue
        label = f"#{duty.number} {duty.text}"
        if len(label) > DUTY_LABEL_LENGTH:
            label = label[: DUTY_LABEL_LENGTH - 1].rstrip() + "…"
        rows.append((Button(label, teach_data(query_id, f"#{learned_id}:{duty.number}")),))
    rows.append((Button("Lewati", teach_data(query_id, TEACH_DONE)),))
    return tuple(rows)


def duty_prompt(unit: Unit) -> str:
    """Asked after teaching ``unit``: which of its duties the question is about."""
    return (
        f"Tugas {esc(unit.short_name)} yang mana? Frasa ini akan menjadi istilah tugas itu "
        "(untuk digabung ke basis pengetahuan lewat <code>tupoksi export-learned</code>)."
    )


def duty_picked_text(unit: Unit, number: int) -> str:
    """Toast after picking the duty of a taught phrase."""
    return f"✅ {unit.short_name} tugas #{number}"


def taught_note(unit: Unit, resolved: int, still_unanswered: bool) -> str:
    """Said after teaching: how many questions were resolved, and any caveat."""
    lines = [f"Diajarkan ke {esc(unit.name)}; {resolved} pertanyaan ditandai selesai."]
    if still_unanswered:
        lines.append(
            "⚠️ Catatan: pertanyaan ini belum juga dijawab dengan unit itu (misalnya karena "
            "menanyakan angka atau fakta, bukan siapa yang menangani). Frasa tetap tersimpan; "
            "/lupakan untuk menghapusnya."
        )
    return "\n".join(lines)


def already_taught_text(unit: Unit, phrase: LearnedPhrase) -> str:
    """Callback answer when the level already has a unit for this question (max 200 chars)."""
    level = LEVEL_LABEL[unit.level]
    return (
        f"{level} sudah diajarkan (frasa #{phrase.id}). Pakai /lupakan {phrase.id} dulu untuk menggantinya."
    )


NOT_TEACHABLE_TEXT = "Pertanyaan ini tidak punya kata kunci yang bisa diajarkan."
DISMISSED_TEXT = "🙈 Diabaikan: pertanyaan yang sama tidak akan muncul lagi di /tinjau."
ALREADY_DISMISSED_TEXT = "Pertanyaan ini sudah diabaikan sebelumnya."


# -- /lupakan --------------------------------------------------------------------------------


def forgotten_html(kb: KnowledgeBase, phrase: LearnedPhrase) -> str:
    """Confirmation of /lupakan."""
    return (
        f"🗑 Frasa #{phrase.id} dihapus: “{esc(shorten(phrase.phrase))}” → {_unit_name(kb, phrase.unit_id)}.\n"
        "Pertanyaan yang diselesaikan dengan frasa ini kembali ke /tinjau."
    )


def not_learned_html(learned_id: int) -> str:
    """/lupakan of an unknown or already removed id."""
    return f"Frasa #{learned_id} tidak ditemukan atau sudah dihapus."


def learned_list_html(kb: KnowledgeBase, phrases: Sequence[LearnedPhrase], tz: tzinfo) -> str:
    """The newest learned phrases (under the /lupakan usage)."""
    if not phrases:
        return "Belum ada frasa yang diajarkan."
    newest = list(reversed(phrases))[:LEARNED_SHOWN]
    lines = [
        f"#{p.id} “{esc(shorten(p.phrase, 80))}” → {_unit_name(kb, p.unit_id)} "
        f"({reports.local_date(p.created_at, tz)}, admin {p.created_by})"
        for p in newest
    ]
    more = len(phrases) - len(newest)
    if more:
        lines.append(f"… dan {more} frasa lebih lama.")
    return "<b>Frasa yang diajarkan</b> (terbaru dulu):\n" + "\n".join(lines)


# -- reports ---------------------------------------------------------------------------------


def report_html(title_icon: str, lines: Sequence[str]) -> str:
    """Report lines from :mod:`bot.text.reports`, escaped, the first one as a bold title."""
    if not lines:
        return ""
    return f"{title_icon} <b>{esc(lines[0])}</b>\n" + "\n".join(esc(line) for line in lines[1:])


def stats_html(kb: KnowledgeBase, stats: Stats) -> str:
    """/stats as text."""
    html = report_html("📊", reports.stats_lines(kb, stats))
    if not stats.total:
        html += "\n\nBelum ada pertanyaan pada rentang ini."
    return html


STATS_CHART_CAPTION = (
    "📈 Atas: pertanyaan per hari (terjawab, ditolak sengaja, belum bisa dijawab). "
    "Bawah: per minggu, persentase terjawab dan 👍/👎."
)
NO_CHART_TEXT = "(Grafik tidak tersedia: matplotlib belum terpasang di server bot.)"


MESSAGE_BUDGET = 3800  # characters: a message holds 4096 UTF-16 units, emoji count double


def out_of_scope_html(groups: Sequence[DeclinedGroup], days: int | None, tz: tzinfo) -> str:
    """/diluarcakupan: what was declined on purpose and why, as much as fits one message."""
    total = sum(g.count for g in groups)
    head = f"🚫 <b>Di luar cakupan</b> ({reports.window(days)}): {total} pertanyaan sengaja tidak dijawab"
    if not groups:
        return head + "."
    short = [replace(g, example=shorten(g.example, 70)) for g in groups]
    tail = (
        "Pertanyaan ini tidak masuk /tinjau: bot menolaknya karena bukan soal siapa yang menangani "
        "suatu urusan di KPU Provinsi Banten. Jika ada yang sering ditanyakan, pertimbangkan "
        "menambahkannya ke basis pengetahuan."
    )
    for per_reason in (reports.OUT_OF_SCOPE_PER_REASON, 5, 3, 2, 1):
        lines = reports.out_of_scope_lines(short, tz=tz, per_reason=per_reason)
        text = "\n\n".join([head + ":", "\n".join(esc(line) for line in lines), tail])
        if len(text) <= MESSAGE_BUDGET:
            break
    return text


def coverage_html(kb: KnowledgeBase, report: reports.CoverageReport, days: int | None) -> str:
    """/cakupan as one message: counts by name at both levels, the duties never shown per unit."""
    head = f"🧭 <b>Cakupan ({reports.window(days)})</b>: unit dan tugas yang ditampilkan di jawaban"
    for top in (10, 5, 0):
        lines = reports.coverage_summary_lines(kb, report, top=top)
        text = head + "\n" + "\n".join(esc(line) for line in lines)
        if len(text) <= MESSAGE_BUDGET:
            break
    return text


COVERAGE_CHART_CAPTION = "🗺 Struktur organisasi menurut seberapa sering tiap tugas menjadi jawaban."


def export_filename(day: date) -> str:
    """``tupoksi-log-20260120.xlsx``."""
    return f"tupoksi-log-{day:%Y%m%d}.xlsx"


def export_caption(rows: int, days: int | None, zone: str = "WIB") -> str:
    """The caption of the CSV document."""
    return (
        f"📄 Log pertanyaan ({reports.window(days)}): {rows} baris, dengan waktu {esc(zone)}, nama unit, "
        "dan tugas yang dikutip untuk Divisi dan Sub Bagian. CSV tersedia lewat "
        "<code>tupoksi export --csv</code>."
    )


def nothing_to_export_html(days: int | None) -> str:
    """/export of an empty window."""
    return f"Tidak ada pertanyaan tersimpan ({reports.window(days)})."


# -- /reload ---------------------------------------------------------------------------------


def reload_ok_html(
    old: KnowledgeBase, new: KnowledgeBase, applied: int, skipped: Sequence[LearnedPhrase]
) -> str:
    """The KB was swapped."""
    version = esc(new.version)
    if old.version != new.version:
        version = f"{esc(old.version)} → {version}"
    if old.content_hash == new.content_hash:
        content = f"isinya sama seperti sebelumnya (<code>{esc(new.content_hash)}</code>)"
    else:
        content = f"isi <code>{esc(old.content_hash)}</code> → <code>{esc(new.content_hash)}</code>"
    lines = [
        "✅ <b>Basis pengetahuan dimuat ulang.</b>",
        f"Versi {version}, {content}.",
        f"{len(new.units)} unit, {new.duty_count} tugas; frasa ajaran yang diterapkan: {applied}.",
    ]
    if skipped:
        ids = ", ".join(f"#{p.id} ({esc(p.unit_id)})" for p in skipped)
        lines.append(f"⚠️ Frasa yang unitnya tidak ada lagi di KB (tidak diterapkan): {ids}")
    return "\n".join(lines)


def reload_failed_html(current: KnowledgeBase, problems: Sequence[Problem | str]) -> str:
    """The new KB is invalid: the old one stays; list the file:line problems."""
    shown = [f"• {esc(problem_text(p))}" for p in problems[:MAX_PROBLEMS_SHOWN]]
    more = len(problems) - len(shown)
    if more:
        shown.append(f"… dan {more} masalah lain (lihat <code>tupoksi check-kb</code>).")
    return (
        f"❌ <b>Basis pengetahuan baru tidak valid</b>; saya tetap memakai versi lama "
        f"({esc(current.version)}, <code>{esc(current.content_hash)}</code>).\n"
        f"{len(problems)} masalah:\n" + "\n".join(shown)
    )
