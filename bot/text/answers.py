"""What users read in Telegram: HTML texts and button layouts, as plain strings and tuples.

No ``telegram`` import here: the handlers turn :data:`Keyboard` tuples into
``InlineKeyboardMarkup``. Every user or KB string goes through :func:`~bot.text.html.esc`;
everything users read is Indonesian. Button data comes from :mod:`bot.text.callback_data`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from bot.core.answer import Answer, Assignment
from bot.core.contacts import Contact
from bot.core.model import KnowledgeBase, Level, Unit
from bot.text.callback_data import (
    alternative_data,
    detail_data,
    example_data,
    feedback_data,
    list_data,
    unit_data,
)
from bot.text.contacts import (
    ANSWER_CONTACTS_SHOWN,
    contact_answer_html,
    contact_line,
    contact_lines,
    referral_html,
)
from bot.text.html import esc, shorten
from bot.text.words import (
    ASK_HINT,
    LEVEL_ICON,
    LEVEL_LABEL,
    confidence_label,
    decline_message,
    named_elsewhere_note,
    through_note,
)

QUESTION_ECHO_LENGTH = 200
UNIT_NAME_ECHO_LENGTH = 60

# Example questions under /start, each with a button label short enough for a phone (<= 30).
EXAMPLES: tuple[tuple[str, str], ...] = (
    ("💰 Kenaikan gaji berkala", "Siapa yang mengurus kenaikan gaji berkala pegawai?"),
    ("🗄 Arsip surat masuk", "Siapa yang mengelola arsip surat masuk?"),
    ("🗺 Dapil dan alokasi kursi", "Siapa yang menangani penataan daerah pemilihan dan alokasi kursi?"),
)
EXAMPLE_QUESTIONS: tuple[str, ...] = tuple(question for _, question in EXAMPLES)
DUTY_SHORT_LENGTH = 90
"""Characters of a duty's text in a compact (group) answer; the rest is a tap away."""

PUBLIC_COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Perkenalan dan contoh pertanyaan"),
    ("help", "Cara bertanya dan daftar perintah"),
    ("tanya", "Tanya siapa yang mengurus suatu urusan"),
    ("divisi", "Daftar Divisi, atau tugas satu Divisi"),
    ("subbag", "Daftar Sub Bagian, atau tugas satu Sub Bagian"),
    ("struktur", "Struktur organisasi KPU Provinsi Banten"),
)
# How the arguments are written in /help.
COMMAND_ARGUMENTS = {
    "tanya": " <pertanyaan>",
    "divisi": " [nama]",
    "subbag": " [nama]",
    "tinjau": " [hari]",
    "statistik": " [hari]",
    "cakupan": " [hari]",
    "ekspor": " [hari]",
    "diluarcakupan": " [hari]",
    "lupakan": " <id>",
    "kontak": " [unit [Peran: Nama, @username, telepon]]",
}
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("tinjau", "Admin: pertanyaan yang perlu ditinjau"),
    ("statistik", "Admin: statistik pertanyaan"),
    ("cakupan", "Admin: unit dan tugas yang sering/tak pernah ditanyakan"),
    ("ekspor", "Admin: unduh log pertanyaan"),
    ("diluarcakupan", "Admin: pertanyaan di luar cakupan, menurut alasannya"),
    ("lupakan", "Admin: hapus frasa yang pernah diajarkan"),
    ("kontak", "Admin: kontak orang di tiap unit"),
    ("muatulang", "Admin: muat ulang basis pengetahuan"),
)
# The English names the admin commands had first: still understood, no longer in the menus.
ADMIN_ALIASES: dict[str, str] = {
    "unanswered": "tinjau",
    "stats": "statistik",
    "coverage": "cakupan",
    "export": "ekspor",
    "reload": "muatulang",
}


class Button(NamedTuple):
    """One inline button: its label and its callback data."""

    text: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


def unit_button(unit: Unit) -> Button:
    """A button that opens ``unit``'s card."""
    return Button(unit.short_name, unit_data(unit.id))


def _rows(buttons: Iterable[Button], per_row: int = 1) -> Keyboard:
    items = list(buttons)
    return tuple(tuple(items[i : i + per_row]) for i in range(0, len(items), per_row))


# -- answers ---------------------------------------------------------------------------


def _echo(question: str) -> str:
    return f"❓ <i>{esc(shorten(question, QUESTION_ECHO_LENGTH))}</i>"


def _unit_title(unit: Unit) -> str:
    ketua = " (dipegang Ketua)" if unit.held_by_ketua else ""
    return f"{esc(unit.name)}{ketua}"


def _assignment_lines(assignment: Assignment) -> list[str]:
    unit = assignment.unit
    label = f"{LEVEL_ICON[unit.level]} <b>{LEVEL_LABEL[unit.level]}</b>: {_unit_title(unit)}"
    if unit.level is Level.SUBBAG and assignment.parent is not None:
        label += f" ({esc(assignment.parent.short_name)})"
    lines = [label]
    if assignment.duty is not None:
        lines.append(f"📌 Tugas #{assignment.duty.number}: <i>{esc(assignment.duty.text)}</i>")
    elif assignment.through is not None:
        lines.append(f"📌 <i>{esc(through_note(assignment))}</i>")
    lines += contact_lines(assignment.contacts, ANSWER_CONTACTS_SHOWN)
    return lines


def follows_line(previous: str) -> str:
    """Says which earlier question a follow-up was read with."""
    return f"↪️ <i>Menyambung pertanyaan: {esc(shorten(previous, QUESTION_ECHO_LENGTH))}</i>"


def answer_html(
    answer: Answer, *, echo_question: bool = False, noted: bool = False, follows: str | None = None
) -> str:
    """The reply to a question: who handles it and why, or a polite decline.

    ``echo_question`` repeats the question on top (for answers posted away from it);
    ``noted`` says an unanswered question was kept for the admins; ``follows`` is the
    earlier question a follow-up was read with.
    """
    blocks: list[str] = [_echo(answer.question)] if echo_question else []
    if follows:
        blocks.append(follows_line(follows))
    if answer.small_talk is not None:
        return "\n\n".join([*blocks, esc(decline_message(answer))])
    if answer.contact_units:
        return "\n\n".join([*blocks, contact_answer_html(answer)])
    if not answer.answered and answer.refer_to:
        return "\n\n".join([*blocks, referral_html(answer)])
    if not answer.answered:
        blocks.append(f"🙏 {esc(decline_message(answer))}")
        if answer.nearest and answer.needs_review:
            names = ", ".join(esc(u.short_name) for u in answer.nearest)
            blocks.append(f"🔎 Unit yang paling mendekati: {names}")
        if answer.shows_hint:
            blocks.append(f"💡 <i>{esc(ASK_HINT)}</i>")
        if noted and answer.needs_review:
            blocks.append("📝 Pertanyaan ini dicatat agar admin dapat melengkapi jawabannya.")
        return "\n\n".join(blocks)
    if answer.divisi:
        blocks.append("\n".join(_assignment_lines(answer.divisi)))
    else:
        blocks.append("🏛 <b>Divisi</b>: SOP tidak menyebut Divisi khusus untuk urusan ini.")
    if answer.subbag:
        blocks.append("\n".join(_assignment_lines(answer.subbag)))
    else:
        blocks.append("🗂 <b>Sub Bagian</b>: SOP tidak menyebut Sub Bagian pelaksana khusus untuk urusan ini.")
    tail = [f"Tingkat keyakinan: <b>{esc(confidence_label(answer.confidence))}</b>"]
    if answer.contacts_asked and not any(a.contacts for a in (answer.divisi, answer.subbag) if a):
        tail.append("📇 Kontak orangnya belum tercatat; silakan hubungi unit di atas.")
    if answer.alternatives:
        names = ", ".join(esc(a.unit.short_name) for a in answer.alternatives)
        tail.append(f"🤔 Mungkin maksud Anda: {names}")
    if answer.named_elsewhere:
        tail.append(f"ℹ️ {esc(named_elsewhere_note(answer))}")
    if answer.corrections:
        fixed = ", ".join(f"{esc(k)} → {esc(v)}" for k, v in answer.corrections.items())
        tail.append(f"✏️ <i>Dibaca sebagai: {fixed}</i>")
    blocks.append("\n".join(tail))
    return "\n\n".join(blocks)


def shortened_in_groups(answer: Answer) -> bool:
    """An answer a group sees in short, with a "Detail" button: a unit found for some work.
    Declines, small talk and contact answers are short already and go whole."""
    return answer.answered and answer.small_talk is None and not answer.contact_units


def compact_answer_html(
    answer: Answer,
    *,
    follows: str | None = None,
    echo_question: bool = False,
) -> str:
    """A group answer in at most five lines: the units, one duty, a contact, the confidence.

    The full answer (both duties, notes, corrections, every contact) is behind the "Detail"
    button; a decline, small talk and a contact question are short already and go whole.
    ``echo_question`` puts the question on top (an example asked by a button).
    """
    if not shortened_in_groups(answer):
        return answer_html(answer, follows=follows, echo_question=echo_question)
    lines = [_echo(answer.question)] if echo_question else []
    lines += [follows_line(follows)] if follows else []
    units = [a for a in (answer.subbag, answer.divisi) if a is not None]
    names = " · ".join(f"{LEVEL_ICON[a.unit.level]} <b>{esc(a.unit.short_name)}</b>" for a in units)
    lines.append(names)
    cited = next((a for a in units if a.duty is not None), None)
    if cited is not None and cited.duty is not None:
        duty = esc(shorten(cited.duty.text, DUTY_SHORT_LENGTH))
        whose = "" if cited is units[0] else f" {esc(cited.unit.short_name)}"
        lines.append(f"📌 Tugas{whose} #{cited.duty.number}: <i>{duty}</i>")
    person = next((a.contacts[0] for a in units if a.contacts), None)
    if person is not None:  # the first person of the first unit that has any
        lines.append(contact_line(person))
    tail = f"Keyakinan: <b>{esc(confidence_label(answer.confidence))}</b>"
    if answer.alternatives:
        tail += " · 🤔 bisa juga: " + ", ".join(esc(a.unit.short_name) for a in answer.alternatives)
    lines.append(tail)
    return "\n".join(lines)


DETAIL_LABEL = "🔎 Detail"


def answer_buttons(answer: Answer, question_id: str | None = None) -> Keyboard:
    """Close alternatives when answered, nearest units when not.

    With the logged ``question_id`` each button shows that unit for this question in a new
    message (the answer stays as it is); without, it opens the unit's card.
    """
    if answer.answered:
        units = [a.unit for a in answer.alternatives]
    elif answer.needs_review:
        units = list(answer.nearest)
    else:
        units = []
    unique = list({u.id: u for u in units}.values())[:3]
    if question_id is None:
        return _rows(unit_button(u) for u in unique)
    return _rows(Button(u.short_name, alternative_data(question_id, u.id)) for u in unique)


# -- feedback on answers ------------------------------------------------------------------

FEEDBACK_VOTES = (1, -1)
FEEDBACK_ICON = {1: "👍", -1: "👎"}
FEEDBACK_THANKS = {
    1: "Terima kasih atas masukannya 👍",
    -1: "Terima kasih atas masukannya 👎 Admin akan meninjau jawaban ini.",
}
FEEDBACK_FAILED_TEXT = "Maaf, masukan Anda belum tersimpan. Coba lagi sebentar lagi."


def feedback_label(vote: int, chosen: int | None = None) -> str:
    """The label of a vote button; the chosen one gets a check mark."""
    return FEEDBACK_ICON[vote] + (" ✓" if vote == chosen else "")


def feedback_buttons(question_id: str, chosen: int | None = None) -> Keyboard:
    """👍 / 👎 under an answer; the vote is stored against the logged question ``question_id``."""
    return (
        tuple(
            Button(feedback_label(vote, chosen), feedback_data(question_id, vote)) for vote in FEEDBACK_VOTES
        ),
    )


def detail_button(question_id: str) -> Button:
    """Under a compact answer: the full answer, in a new message."""
    return Button(DETAIL_LABEL, detail_data(question_id))


def assignment_html(
    kb: KnowledgeBase,
    question: str,
    assignment: Assignment,
    *,
    echo_question: bool = True,
    alternative: bool = False,
) -> str:
    """An answer card focused on one unit (inline mode posts one per likely unit).

    ``alternative``: the unit is another reading of an answer already given, so it says
    so instead of a confidence of its own (which could read surer than the answer).
    """
    lines = _assignment_lines(assignment)
    partners = kb.counterparts(assignment.unit.id)
    if partners:
        lines.append("🤝 Bersama: " + ", ".join(esc(u.short_name) for u in partners))
    if alternative:
        lines.append("🤔 <i>Kemungkinan lain untuk pertanyaan ini; jawaban di atas tetap berlaku.</i>")
    else:
        lines.append(f"Tingkat keyakinan: <b>{esc(confidence_label(assignment.score))}</b>")
    head = [_echo(question)] if echo_question else []
    return "\n\n".join([*head, "\n".join(lines)])


# -- unit cards, lists, structure ------------------------------------------------------


def unit_card_html(kb: KnowledgeBase, unit: Unit, contacts: Sequence[Contact] = ()) -> str:
    """A unit's card: where it sits, its people to contact, its numbered duties, the units it works with."""
    header = [f"{LEVEL_ICON[a.level]} {esc(a.name)} ›" for a in reversed(kb.ancestors(unit.id))]
    header.append(f"{LEVEL_ICON[unit.level]} <b>{esc(unit.name)}</b>")
    if unit.short_name != unit.name:
        header.append(f"<i>({esc(unit.short_name)})</i>")
    if unit.held_by_ketua:
        header.append("👤 Dipegang oleh Ketua KPU Provinsi Banten")
    duties = [f"{d.number}. {esc(d.text)}" for d in unit.duties]
    blocks = ["\n".join(header), "<b>Tugas menurut SOP</b>\n" + "\n".join(duties)]
    if contacts:
        blocks.insert(1, "<b>Kontak</b>\n" + "\n".join(contact_lines(contacts)))
    related = _related(kb, unit)
    if related:
        label, units = related
        blocks.append(f"🤝 <b>{label}</b>: " + ", ".join(esc(u.name) for u in units))
    blocks.append(f"📄 <i>SOP No. {esc(kb.source.number)}</i>")
    return "\n\n".join(blocks)


def _related(kb: KnowledgeBase, unit: Unit) -> tuple[str, Sequence[Unit]] | None:
    if unit.level is Level.DIVISI:
        return "Sub Bagian terkait", kb.counterparts(unit.id)
    if unit.level is Level.SUBBAG:
        return "Divisi terkait", kb.counterparts(unit.id)
    children = kb.children(unit.id)
    if children:
        return ("Bagian" if unit.level is Level.SEKRETARIAT else "Sub Bagian"), children
    return None


def unit_card_buttons(kb: KnowledgeBase, unit: Unit) -> Keyboard:
    """Buttons to the related units, and back to the list of the unit's level."""
    related = _related(kb, unit)
    buttons = [unit_button(u) for u in related[1]] if related else []
    if unit.level in (Level.DIVISI, Level.SUBBAG):
        back = f"« Semua {LEVEL_LABEL[unit.level]}"
        buttons.append(Button(back, list_data(unit.level.value)))
    elif unit.parent and kb.get(unit.parent):
        buttons.append(Button(f"« {kb.unit(unit.parent).short_name}", unit_data(unit.parent)))
    return _rows(buttons)


def listable_units(kb: KnowledgeBase, level: Level) -> tuple[Unit, ...]:
    """Units of ``level`` in display order (the Ketua's Divisi first)."""
    return tuple(sorted(kb.units_at(level), key=lambda u: not u.held_by_ketua))


def unit_list_html(kb: KnowledgeBase, level: Level) -> str:
    """The heading above the buttons of :func:`unit_list_buttons`."""
    units = listable_units(kb, level)
    return (
        f"{LEVEL_ICON[level]} <b>{len(units)} {LEVEL_LABEL[level]} KPU Provinsi Banten</b>\n"
        "Pilih untuk melihat tugasnya."
    )


def unit_list_buttons(kb: KnowledgeBase, level: Level) -> Keyboard:
    """One button per unit of ``level``."""
    return _rows(unit_button(u) for u in listable_units(kb, level))


def unit_not_found_html(level: Level, query: str) -> str:
    """``/divisi <x>`` found nothing."""
    label = LEVEL_LABEL[level]
    name = shorten(query, UNIT_NAME_ECHO_LENGTH)  # a whole message may be pasted after /divisi
    return f"🙏 Maaf, {label} “{esc(name)}” tidak ditemukan. Pilih dari daftar di bawah ini."


def structure_html(kb: KnowledgeBase) -> str:
    """The whole organisation, readable on a phone: short names, one unit per line, no drawn tree.

    Telegram's font is proportional, so nothing may depend on columns lining up: a level
    is told by its bullet and its heading, not by indentation.
    """
    lines = ["🏛 <b>Struktur KPU Provinsi Banten</b>", "", "<b>Anggota KPU (Divisi)</b>"]
    for unit in listable_units(kb, Level.DIVISI):
        lines.append(f"• {esc(unit.short_name)}" + (" (Ketua)" if unit.held_by_ketua else ""))
    for top in kb.units_at(Level.SEKRETARIAT):
        lines += ["", f"🏢 <b>{esc(top.short_name)}</b>"]
        for bagian in kb.children(top.id):
            lines += ["", f"<b>{esc(bagian.short_name)}</b>"]
            for subbag in kb.children(bagian.id):
                lines.append(f"• {esc(subbag.short_name)}")
                lines += [f"  ↔ <i>{esc(u.short_name)}</i>" for u in kb.counterparts(subbag.id)]
    lines += ["", "<i>↔ Divisi mitra Sub Bagian itu</i>"]
    return "\n".join(lines)


# -- start, help and usage ---------------------------------------------------------------


def _how_to_ask(bot_username: str, *, in_group: bool) -> str:
    if in_group:
        mention = f"@{esc(bot_username)}"
        return (
            f"Di grup: <code>{mention} pertanyaan</code>, <code>/tanya pertanyaan</code>, "
            "atau balas pesan saya."
        )
    return "Tulis saja pertanyaannya di sini, atau ketuk contoh di bawah."


def start_html(*, bot_username: str, in_group: bool = False) -> str:
    """The /start welcome: what the bot does and how to ask, in a few lines (examples are buttons)."""
    return (
        "👋 <b>Halo, saya Tupoksi Bot.</b>\n"
        "Saya menjawab siapa yang mengurus suatu urusan di KPU Provinsi Banten: "
        "Divisi dan Sub Bagiannya, menurut SOP.\n\n"
        f"{_how_to_ask(bot_username, in_group=in_group)} Daftar perintah: /help"
    )


def help_html(kb: KnowledgeBase, *, bot_username: str, in_group: bool = False, is_admin: bool = False) -> str:
    """The /help text: how to ask, follow-ups, and the commands (the admins' too, in their chat)."""
    commands = [c for c in PUBLIC_COMMANDS if c[0] != "help"]
    commands += list(ADMIN_COMMANDS) if is_admin and not in_group else []
    command_lines = "\n".join(
        f"/{name}{esc(COMMAND_ARGUMENTS.get(name, ''))} — {esc(text)}" for name, text in commands
    )
    return "\n\n".join(
        [
            "<b>Cara bertanya</b>\n"
            + _how_to_ask(bot_username, in_group=in_group)
            + " Pertanyaan lanjutan boleh singkat, misalnya: <i>kalau distribusinya ke kab/kota?</i>",
            "<b>Perintah</b>\n" + command_lines,
            f"<i>Sumber: SOP No. {esc(kb.source.number)}</i>",
        ]
    )


def example_buttons() -> Keyboard:
    """One button per example question, with a short label; pressing it asks the question."""
    return _rows(Button(label, example_data(i)) for i, (label, _) in enumerate(EXAMPLES))


def ask_usage_html(bot_username: str, *, in_group: bool) -> str:
    """What to do after an empty ``/tanya`` or a bare mention."""
    example = EXAMPLE_QUESTIONS[1].lower()
    if in_group:
        return (
            f"Tulis pertanyaannya sesudah nama saya, misalnya:\n"
            f"<code>@{esc(bot_username)} {esc(example)}</code>\n"
            f"atau <code>/tanya {esc(example)}</code>"
        )
    return f"Tulis pertanyaannya sesudah /tanya, misalnya:\n<code>/tanya {esc(example)}</code>"


UNKNOWN_COMMAND_HTML = "Perintah itu tidak saya kenal. Ketik /help untuk melihat daftar perintah."
STALE_BUTTON_TEXT = "Tombol ini sudah tidak berlaku. Silakan tanya lagi."
NO_INLINE_RESULT_TEXT = "Belum ketemu? Tanya saya di chat pribadi"
# Hardening (guards, error handler): non-text messages, access, rate limit, failures.
NON_TEXT_HTML = "Saya hanya bisa membaca pertanyaan berupa teks. Silakan ketik pertanyaan Anda. 🙏"
PRIVATE_BOT_HTML = "Maaf, bot ini khusus untuk KPU Provinsi Banten."
RATE_LIMIT_HTML = (
    "⏳ Pelan-pelan, ya. Anda sudah bertanya {limit} kali dalam semenit terakhir. "
    "Silakan tunggu sebentar, lalu tanya lagi."
)
ERROR_APOLOGY_HTML = "🙏 Maaf, terjadi kesalahan saat memproses pesan Anda. Silakan coba lagi sebentar lagi."


# -- inline mode -------------------------------------------------------------------------


def example_article_description() -> str:
    """The grey line under an example question offered in inline mode."""
    return "Contoh pertanyaan"


def unit_article_texts(assignment: Assignment) -> tuple[str, str]:
    """Title and description of an inline result naming one unit."""
    unit = assignment.unit
    title = f"{LEVEL_ICON[unit.level]} {LEVEL_LABEL[unit.level]}: {unit.short_name}"
    duty = f"Tugas #{assignment.duty.number}: {assignment.duty.text}" if assignment.duty else unit.name
    return title, duty
