"""What people read about contacts: the contact line, contact answers, fact referrals, /kontak.

A Telegram username is shown as a ``t.me`` link whose text has no ``@``: Telegram turns
``@name`` in a message into a mention, and a mention in a group notifies that person. A
link notifies nobody, and one tap still opens their chat. Phone numbers are plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.core.answer import Answer, Assignment
from bot.core.contacts import Contact, ContactError
from bot.core.model import KnowledgeBase, Level, Unit
from bot.text.html import esc
from bot.text.words import LEVEL_ICON

ANSWER_CONTACTS_SHOWN = 2  # people per unit under an answer; the unit card shows them all


def contact_line(contact: Contact) -> str:
    """``👤 Kasubbag: Nama · Telegram <link> · ☎️ 021-…`` (HTML, notifies nobody)."""
    parts = [f"👤 {esc(contact.role)}: {esc(contact.name)}"]
    if contact.username:
        parts.append(f'Telegram <a href="https://t.me/{esc(contact.username)}">{esc(contact.username)}</a>')
    if contact.phone:
        parts.append(f"☎️ {esc(contact.phone)}")
    return " · ".join(parts)


def contact_lines(contacts: Sequence[Contact], limit: int | None = None) -> list[str]:
    """One line per person, at most ``limit`` (then how many more)."""
    shown = list(contacts if limit is None else contacts[:limit])
    lines = [contact_line(c) for c in shown]
    if len(contacts) > len(shown):
        lines.append(f"<i>… dan {len(contacts) - len(shown)} kontak lain (lihat kartu unitnya)</i>")
    return lines


NO_CONTACT_TEXT = "Belum ada kontak yang tercatat untuk unit ini."


def _unit_heading(assignment: Assignment) -> str:
    unit = assignment.unit
    heading = f"{LEVEL_ICON[unit.level]} <b>{esc(unit.name)}</b>"
    if assignment.parent is not None and unit.level is Level.SUBBAG:
        heading += f" ({esc(assignment.parent.short_name)})"
    return heading


def contact_answer_html(answer: Answer) -> str:
    """The reply to "siapa kasubbag keuangan?" / "kontak subbag hukum": the units and their people."""
    blocks = ["📇 <b>Kontak</b>"]
    for assignment in answer.contact_units:
        lines = [_unit_heading(assignment)]
        lines += contact_lines(assignment.contacts) or [f"<i>{NO_CONTACT_TEXT}</i>"]
        blocks.append("\n".join(lines))
    if not any(a.contacts for a in answer.contact_units):
        blocks.append(
            "Saya belum menyimpan nama atau nomor orangnya. Admin dapat menambahkannya; "
            "sementara itu, silakan hubungi unit tersebut langsung."
        )
    return "\n\n".join(blocks)


def referral_html(answer: Answer) -> str:
    """A fact question with a clear topic: "I cannot know that, ask this unit"."""
    lines = [
        "🙏 Saya tidak bisa memastikan tanggal, angka, atau fakta seperti itu. "
        "Yang dapat menjawabnya adalah unit yang menangani urusan ini menurut SOP:"
    ]
    for assignment in answer.refer_to:
        lines.append(_unit_heading(assignment))
        lines += contact_lines(assignment.contacts, ANSWER_CONTACTS_SHOWN)
    return "\n".join(lines)


# -- /kontak (admins) -------------------------------------------------------------------------

KONTAK_USAGE = (
    "<b>Kontak unit</b>\n"
    "<code>/kontak</code>: semua unit dan kontaknya\n"
    "<code>/kontak subbag keuangan</code>: kontak satu unit\n"
    "<code>/kontak subbag keuangan Kasubbag: Nama Lengkap, @username, 0254-123456</code>: "
    "tetapkan (username dan telepon boleh tidak diisi; peran yang sama diganti, peran Staf ditambah)\n"
    "<code>/kontak subbag keuangan hapus Kasubbag</code>: hapus menurut peran atau nama\n"
    "<code>/kontak subbag keuangan reset</code>: kembali ke daftar di berkas "
    "<code>knowledge/contacts.yaml</code>\n"
    "Nama unit: nama lengkap, nama singkat, atau id-nya (lihat <code>/kontak</code>)."
)

_PROBLEM_TEXT: dict[str, str] = {
    "no_role": "Tulis perannya, titik dua, lalu namanya, misalnya <code>Kasubbag: Nama Lengkap</code>.",
    "no_name": "Namanya belum ada. Tulis sesudah titik dua, misalnya <code>Kasubbag: Nama Lengkap</code>.",
    "role_too_long": "Perannya terlalu panjang (paling banyak 40 huruf).",
    "name_too_long": "Namanya terlalu panjang (paling banyak 80 huruf) atau memuat tanda @.",
    "username": (
        "Username Telegram harus 5–32 huruf, angka, atau garis bawah, diawali huruf (misalnya @budi_kpu)."
    ),
    "phone": "Nomor telepon hanya boleh berisi angka, spasi, +, -, (, ), titik, atau ext.",
    "extra": "Sesudah nama hanya boleh ada @username dan nomor telepon, dipisah koma.",
}


def contact_problem_html(error: ContactError) -> str:
    """Why a /kontak line was not saved, in Indonesian; nothing was changed."""
    reason = _PROBLEM_TEXT.get(error.problem, _PROBLEM_TEXT["extra"])
    return f"❌ Kontak tidak disimpan. {reason}\n\n{KONTAK_USAGE}"


def unknown_unit_html(text: str) -> str:
    """The unit of a /kontak line was not recognised."""
    shown = esc(text[:60])
    return f"❌ Unit “{shown}” tidak saya kenali. Tidak ada yang diubah.\n\n{KONTAK_USAGE}"


def _source(set_in_telegram: bool) -> str:
    return "diatur lewat Telegram" if set_in_telegram else "dari berkas KB"


def unit_contacts_html(
    unit: Unit, contacts: Sequence[Contact], *, set_in_telegram: bool, note: str = ""
) -> str:
    """One unit's people as admins see them, with where the list comes from."""
    head = f"{LEVEL_ICON[unit.level]} <b>{esc(unit.name)}</b> <i>({_source(set_in_telegram)})</i>"
    body = contact_lines(contacts) or [f"<i>{NO_CONTACT_TEXT}</i>"]
    blocks = [note, "\n".join([head, *body])] if note else ["\n".join([head, *body])]
    return "\n\n".join(blocks)


def all_contacts_html(
    kb: KnowledgeBase, contacts_of: Callable[[str], Sequence[Contact]], set_in_telegram: Callable[[str], bool]
) -> str:
    """/kontak: every unit, by level, with its people (or that none is recorded)."""
    lines = ["📇 <b>Kontak unit</b>"]
    for level in (Level.DIVISI, Level.SEKRETARIAT, Level.BAGIAN, Level.SUBBAG):
        for unit in kb.units_at(level):
            people = contacts_of(unit.id)
            mark = " ✏️" if set_in_telegram(unit.id) else ""
            names = "; ".join(f"{esc(c.role)}: {esc(c.name)}" for c in people) or "<i>belum ada</i>"
            lines.append(f"{LEVEL_ICON[level]} {esc(unit.short_name)}{mark}: {names}")
    lines.append("")
    lines.append("✏️ = diatur lewat Telegram (menggantikan berkas KB untuk unit itu).")
    lines.append("Cara mengubah: <code>/kontak subbag keuangan Kasubbag: Nama, @username, 0254-123456</code>")
    return "\n".join(lines)


def contact_set_note(contact: Contact) -> str:
    """Confirmation of a /kontak line."""
    return f"✅ Disimpan: {esc(contact.role)} {esc(contact.name)}."


def contact_removed_note(who: str, removed: int) -> str:
    """Confirmation (or not) of /kontak … hapus …."""
    if not removed:
        return f"Tidak ada kontak dengan peran atau nama “{esc(who[:60])}”. Tidak ada yang diubah."
    return f"🗑 {removed} kontak dihapus."


def contact_reset_note(reset: bool) -> str:
    """Confirmation of /kontak … reset."""
    if reset:
        return "↩️ Daftar yang diatur lewat Telegram dihapus; kini dipakai daftar dari berkas KB."
    return "Unit ini memang memakai daftar dari berkas KB. Tidak ada yang diubah."
