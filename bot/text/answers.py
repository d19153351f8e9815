"""What users read in Telegram: HTML texts and button layouts, as plain strings and tuples.

No ``telegram`` import here: the handlers turn :data:`Keyboard` tuples into
``InlineKeyboardMarkup``. Every user or KB string goes through :func:`html.escape`;
everything users read is Indonesian. Callback data is short and versioned
(``u1:<unit id>``) so buttons on old messages keep working after a deploy.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple

from bot.core.answer import ASK_HINT, Answer, Assignment, confidence_label
from bot.core.matcher import Reason
from bot.core.model import KnowledgeBase, Level, Unit

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one message (UTF-16 code units)
MAX_CALLBACK_DATA = 64  # bytes
QUESTION_ECHO_LENGTH = 200
UNIT_NAME_ECHO_LENGTH = 60

# Callback data kinds; bump the digit when the meaning of the value changes.
CB_UNIT = "u1"  # open a unit's card: u1:<unit id>
CB_LIST = "l1"  # list the units of a level: l1:divisi | l1:subbag
CB_EXAMPLE = "q1"  # ask example question number N: q1:<index into EXAMPLE_QUESTIONS>
CB_FEEDBACK = "f1"  # vote on an answer: f1:<query id>:1 | f1:<query id>:-1
CB_REVIEW_PAGE = "p1"  # admin: page of /unanswered: p1:<days, 0 = all>:<page>
CB_TEACH = "t1"  # admin: teach menu t1:<query id>; assign t1:<query id>:<unit id>; done t1:<query id>:-

EXAMPLE_QUESTIONS: tuple[str, ...] = (
    "Siapa yang mengurus kenaikan gaji berkala pegawai?",
    "Siapa yang mengelola arsip surat masuk?",
    "Siapa yang menangani penataan daerah pemilihan dan alokasi kursi?",
)

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
    "unanswered": " [hari]",
    "stats": " [hari]",
    "coverage": " [hari]",
    "export": " [hari]",
    "lupakan": " <id>",
}
ADMIN_COMMANDS: tuple[tuple[str, str], ...] = (
    ("unanswered", "Admin: pertanyaan yang belum terjawab"),
    ("stats", "Admin: statistik pertanyaan"),
    ("coverage", "Admin: unit dan tugas yang sering/tak pernah ditanyakan"),
    ("export", "Admin: unduh log pertanyaan (CSV)"),
    ("lupakan", "Admin: hapus frasa yang pernah diajarkan"),
    ("reload", "Admin: muat ulang basis pengetahuan"),
)

LEVEL_ICON = {Level.DIVISI: "🏛", Level.SEKRETARIAT: "🏢", Level.BAGIAN: "🏢", Level.SUBBAG: "🗂"}
LEVEL_LABEL = {
    Level.DIVISI: "Divisi",
    Level.SEKRETARIAT: "Sekretariat",
    Level.BAGIAN: "Bagian",
    Level.SUBBAG: "Sub Bagian",
}
_NEAREST_REASONS = (Reason.LOW_SCORE, Reason.NO_MATCH)
_HINT_REASONS = (Reason.LOW_SCORE, Reason.NO_MATCH, Reason.EMPTY)


class Button(NamedTuple):
    """One inline button: its label and its callback data."""

    text: str
    data: str


Keyboard = tuple[tuple[Button, ...], ...]


def esc(text: str) -> str:
    """Escape user or KB text for Telegram HTML."""
    return html.escape(text, quote=False)


# -- callback data ---------------------------------------------------------------------


def callback_data(kind: str, value: str | int) -> str:
    """``kind:value``; ValueError if it would not fit Telegram's 64 bytes."""
    data = f"{kind}:{value}"
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data longer than {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """``(kind, value)`` of callback data made by :func:`callback_data`, else None."""
    kind, sep, value = (data or "").partition(":")
    return (kind, value) if sep and kind and value else None


def unit_button(unit: Unit) -> Button:
    """A button that opens ``unit``'s card."""
    return Button(unit.short_name, callback_data(CB_UNIT, unit.id))


def _rows(buttons: Iterable[Button], per_row: int = 1) -> Keyboard:
    items = list(buttons)
    return tuple(tuple(items[i : i + per_row]) for i in range(0, len(items), per_row))


# -- answers ---------------------------------------------------------------------------


def _echo(question: str) -> str:
    text = " ".join(question.split())
    if len(text) > QUESTION_ECHO_LENGTH:
        text = text[: QUESTION_ECHO_LENGTH - 1].rstrip() + "…"
    return f"❓ <i>{esc(text)}</i>"


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
    return lines


def answer_html(answer: Answer, *, echo_question: bool = False, noted: bool = False) -> str:
    """The reply to a question: who handles it and why, or a polite decline.

    ``echo_question`` repeats the question on top (for answers posted away from it);
    ``noted`` says an unanswered question was kept for the admins.
    """
    blocks: list[str] = [_echo(answer.question)] if echo_question else []
    if not answer.answered:
        blocks.append(f"🙏 {esc(answer.decline_message)}")
        if answer.nearest and answer.reason in _NEAREST_REASONS:
            names = ", ".join(esc(u.short_name) for u in answer.nearest)
            blocks.append(f"🔎 Unit yang paling mendekati: {names}")
        if answer.reason in _HINT_REASONS:
            blocks.append(f"💡 <i>{esc(ASK_HINT)}</i>")
        if noted and answer.reason in _NEAREST_REASONS:
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
    tail = [f"Tingkat keyakinan: <b>{esc(answer.confidence_words)}</b>"]
    if answer.alternatives:
        names = ", ".join(esc(a.unit.short_name) for a in answer.alternatives)
        tail.append(f"🤔 Mungkin maksud Anda: {names}")
    if answer.corrections:
        fixed = ", ".join(f"{esc(k)} → {esc(v)}" for k, v in answer.corrections.items())
        tail.append(f"✏️ <i>Dibaca sebagai: {fixed}</i>")
    blocks.append("\n".join(tail))
    return "\n\n".join(blocks)


def answer_buttons(answer: Answer) -> Keyboard:
    """Close alternatives when answered, nearest units when not (each opens a unit card)."""
    if answer.answered:
        units = [a.unit for a in answer.alternatives]
    elif answer.reason in _NEAREST_REASONS:
        units = list(answer.nearest)
    else:
        units = []
    unique = list({u.id: u for u in units}.values())[:3]
    return _rows(unit_button(u) for u in unique)


# -- feedback on answers ------------------------------------------------------------------

FEEDBACK_VOTES = (1, -1)
FEEDBACK_ICON = {1: "👍", -1: "👎"}
FEEDBACK_THANKS = {
    1: "Terima kasih atas masukannya 👍",
    -1: "Terima kasih atas masukannya 👎 Admin akan meninjau jawaban ini.",
}
FEEDBACK_FAILED_TEXT = "Maaf, masukan Anda belum tersimpan. Coba lagi sebentar lagi."
_QUERY_ID = re.compile(r"[0-9a-f]{1,32}")


def feedback_label(vote: int, chosen: int | None = None) -> str:
    """The label of a vote button; the chosen one gets a check mark."""
    return FEEDBACK_ICON[vote] + (" ✓" if vote == chosen else "")


def feedback_buttons(query_id: str, chosen: int | None = None) -> Keyboard:
    """👍 / 👎 under an answer; the vote is stored against the logged question ``query_id``."""
    return (
        tuple(
            Button(feedback_label(vote, chosen), callback_data(CB_FEEDBACK, f"{query_id}:{vote}"))
            for vote in FEEDBACK_VOTES
        ),
    )


def parse_feedback(data: str | None) -> tuple[str, int] | None:
    """``(query id, vote)`` of :func:`feedback_buttons` callback data, else None."""
    parsed = parse_callback(data)
    if parsed is None or parsed[0] != CB_FEEDBACK:
        return None
    query_id, _, vote = parsed[1].partition(":")
    if not _QUERY_ID.fullmatch(query_id) or vote not in ("1", "-1"):
        return None
    return query_id, int(vote)


def assignment_html(
    kb: KnowledgeBase, question: str, assignment: Assignment, *, echo_question: bool = True
) -> str:
    """An answer card focused on one unit (inline mode posts one per likely unit)."""
    lines = _assignment_lines(assignment)
    partners = kb.counterparts(assignment.unit.id)
    if partners:
        lines.append("🤝 Bersama: " + ", ".join(esc(u.short_name) for u in partners))
    lines.append(f"Tingkat keyakinan: <b>{esc(confidence_label(assignment.score))}</b>")
    head = [_echo(question)] if echo_question else []
    return "\n\n".join([*head, "\n".join(lines)])


# -- unit cards, lists, structure ------------------------------------------------------


def unit_card_html(kb: KnowledgeBase, unit: Unit) -> str:
    """A unit's card: where it sits, its numbered duties, the units it works with."""
    header = [f"{LEVEL_ICON[a.level]} {esc(a.name)} ›" for a in reversed(kb.ancestors(unit.id))]
    header.append(f"{LEVEL_ICON[unit.level]} <b>{esc(unit.name)}</b>")
    if unit.short_name != unit.name:
        header.append(f"<i>({esc(unit.short_name)})</i>")
    if unit.held_by_ketua:
        header.append("👤 Dipegang oleh Ketua KPU Provinsi Banten")
    duties = [f"{d.number}. {esc(d.text)}" for d in unit.duties]
    blocks = ["\n".join(header), "<b>Tugas menurut SOP</b>\n" + "\n".join(duties)]
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
        buttons.append(Button(back, callback_data(CB_LIST, unit.level.value)))
    elif unit.parent and kb.get(unit.parent):
        buttons.append(Button(f"« {kb.unit(unit.parent).short_name}", callback_data(CB_UNIT, unit.parent)))
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
    name = " ".join(query.split())
    if len(name) > UNIT_NAME_ECHO_LENGTH:  # a whole message pasted after /divisi
        name = name[: UNIT_NAME_ECHO_LENGTH - 1].rstrip() + "…"
    return f"🙏 Maaf, {label} “{esc(name)}” tidak ditemukan. Pilih dari daftar di bawah ini."


def structure_html(kb: KnowledgeBase) -> str:
    """The whole organisation as a tree: the Divisi, then Sekretariat → Bagian → Sub Bagian."""
    divisi = listable_units(kb, Level.DIVISI)
    lines = ["🏛 <b>Struktur KPU Provinsi Banten</b>", "", "<b>Anggota KPU (Divisi)</b>"]
    for i, unit in enumerate(divisi):
        branch = "└" if i == len(divisi) - 1 else "├"
        ketua = " · Ketua" if unit.held_by_ketua else ""
        lines.append(f"{branch} {esc(unit.name)}{ketua}")
    for top in kb.units_at(Level.SEKRETARIAT):
        lines += ["", f"🏢 <b>{esc(top.name)}</b>"]
        lines += _subtree(kb, top, prefix="")
    lines += ["", "<i>↔ = Divisi yang bekerja sama dengan Sub Bagian itu</i>"]
    return "\n".join(lines)


def _subtree(kb: KnowledgeBase, unit: Unit, prefix: str) -> list[str]:
    lines: list[str] = []
    children = kb.children(unit.id)
    for i, child in enumerate(children):
        last = i == len(children) - 1
        partners = ""
        if child.level is Level.SUBBAG:
            names = ", ".join(esc(u.short_name) for u in kb.counterparts(child.id))
            partners = f" ↔ {names}" if names else ""
        lines.append(f"{prefix}{'└' if last else '├'} {esc(child.short_name)}{partners}")
        lines += _subtree(kb, child, prefix + ("    " if last else "│   "))
    return lines


# -- help and usage --------------------------------------------------------------------


def help_html(kb: KnowledgeBase, *, bot_username: str, in_group: bool = False, is_admin: bool = False) -> str:
    """The /start and /help text: what the bot does, how to ask, the commands."""
    mention = f"@{esc(bot_username)}"
    how = (
        f"Di grup, sebut saya ({mention} pertanyaan), balas pesan saya, atau pakai "
        f"/tanya@{esc(bot_username)} pertanyaan."
        if in_group
        else "Tulis saja pertanyaan Anda di sini, atau ketuk salah satu contoh di bawah."
    )
    commands = list(PUBLIC_COMMANDS) + (list(ADMIN_COMMANDS) if is_admin and not in_group else [])
    command_lines = "\n".join(
        f"/{name}{esc(COMMAND_ARGUMENTS.get(name, ''))} — {esc(text)}" for name, text in commands
    )
    return "\n\n".join(
        [
            "👋 <b>Halo, saya Tupoksi Bot.</b>\n"
            "Saya membantu mencari siapa yang mengurus suatu urusan di KPU Provinsi Banten: "
            "Divisi dan Sub Bagiannya, lengkap dengan tugasnya menurut SOP.",
            how,
            "<b>Contoh pertanyaan</b>\n" + "\n".join(f"• {esc(q)}" for q in EXAMPLE_QUESTIONS),
            "<b>Perintah</b>\n" + command_lines,
            f"<i>Sumber: SOP No. {esc(kb.source.number)} (versi {esc(kb.version)})</i>",
        ]
    )


def example_buttons() -> Keyboard:
    """One button per example question; pressing it asks the question."""
    return _rows(Button(q, callback_data(CB_EXAMPLE, i)) for i, q in enumerate(EXAMPLE_QUESTIONS))


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
# Hardening (bot.telegram.guards, bot.telegram.error_handler): non-text messages, access, rate limit, failures.
NON_TEXT_HTML = "Saya hanya bisa membaca pertanyaan berupa teks. Silakan ketik pertanyaan Anda. 🙏"
PRIVATE_BOT_HTML = "Maaf, bot ini khusus untuk KPU Provinsi Banten."
RATE_LIMIT_HTML = (
    "⏳ Pelan-pelan, ya. Anda sudah bertanya {limit} kali dalam semenit terakhir. "
    "Silakan tunggu sebentar, lalu tanya lagi."
)
ERROR_APOLOGY_HTML = "🙏 Maaf, terjadi kesalahan saat memproses pesan Anda. Silakan coba lagi sebentar lagi."


# -- splitting long messages -----------------------------------------------------------

_MARKUP = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);")
_EMPTY_ELEMENT = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^<>]*)?></\1>")


def _drop_empty_elements(text: str) -> str:
    """``text`` without elements that hold nothing (tags reopened at a cut, then closed at once)."""
    while True:
        shorter = _EMPTY_ELEMENT.sub("", text)
        if shorter == text:
            return text
        text = shorter


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` UTF-16 units (markup included).

    Cuts prefer a paragraph break, then a line break, then a space, and never fall
    inside a tag or an entity. A tag open at a cut is closed at the end of its part
    and reopened at the start of the next, so each part is valid HTML on its own.
    """
    rest = text.strip()
    parts: list[str] = []
    while rest and utf16_length(rest) > limit:
        cut, stack = _find_cut(rest, limit)
        head = rest[:cut].rstrip() + "".join(f"</{name}>" for name, _ in reversed(stack))
        parts.append(head)
        rest = _drop_empty_elements("".join(tag for _, tag in stack) + rest[cut:].lstrip())
    if rest:
        parts.append(rest)
    return parts


def _find_cut(text: str, limit: int) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Where to cut ``text`` and the tags open there (name, opening tag), outermost first."""
    # best[rank] = (position, size before it, open tags); rank 0 paragraph, 1 line, 2 space, 3 any
    best: dict[int, tuple[int, int, tuple[tuple[str, str], ...]]] = {}
    first: tuple[int, tuple[tuple[str, str], ...]] | None = None
    stack: list[tuple[str, str]] = []
    size = closers = 0
    visible = False
    pos = 0

    def boundary(at: int, rank: int) -> None:
        nonlocal first
        if not visible:
            return
        if first is None:
            first = (at, tuple(stack))
        if size + closers <= limit:
            best[rank] = (at, size, tuple(stack))

    for match in [*_MARKUP.finditer(text), None]:
        end = match.start() if match else len(text)
        for i in range(pos, end):
            char = text[i]
            rank = 0 if text.startswith("\n\n", i) else 1 if char == "\n" else 2 if char == " " else 3
            boundary(i, rank)
            size += utf16_length(char)
            visible = visible or not char.isspace()
            if size > limit:
                break
        if size > limit or match is None:
            break
        token = match.group(0)
        if match.group(2):  # a tag
            name = match.group(2).lower()
            if match.group(1):
                index = max((k for k, (n, _) in enumerate(stack) if n == name), default=None)
                if index is not None:
                    closers -= len(f"</{name}>")
                    del stack[index]
            else:
                boundary(match.start(), 3)  # before an opening tag (markup-heavy text)
                stack.append((name, token))
                closers += len(f"</{name}>")
        else:  # an entity is one visible character
            boundary(match.start(), 3)
            visible = True
        size += utf16_length(token)
        pos = match.end()
    for rank in (0, 1, 2, 3):
        candidates = [best[r] for r in range(rank + 1) if r in best]
        if candidates:
            at, before, open_tags = max(candidates)
            if before >= limit // 2 or rank == 3:
                return at, open_tags
    if first is None:  # nothing visible to cut after: keep the text whole
        return len(text), ()
    return first  # no cut fits the limit: make progress anyway
