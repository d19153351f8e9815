"""What people read when a question is handed to an admin ("Tanyakan ke admin") and answered.

The asker sees the button and a short confirmation; the admins see who asked, where, and a
button into the teach menu; when an admin teaches a unit, the asker gets that unit (and its
people) as a reply to their question: exactly what the admin said, not a new guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import tzinfo

from bot.core.contacts import Contact
from bot.core.model import Unit
from bot.storage import HandOff
from bot.text.answers import Button, Keyboard
from bot.text.callback_data import handoff_data, teach_data
from bot.text.contacts import contact_lines
from bot.text.html import esc, shorten
from bot.text.reports import local_time
from bot.text.words import LEVEL_ICON, LEVEL_LABEL

HANDOFF_LABEL = "🙋 Tanyakan ke admin"
QUESTION_SHOWN = 300  # characters of the question in the admins' message


def handoff_buttons(question_id: str, message_id: int) -> Keyboard:
    """The "Tanyakan ke admin" button under an answer the bot is not sure of."""
    return ((Button(HANDOFF_LABEL, handoff_data(question_id, message_id)),),)


HANDED_TEXT = "✅ Pertanyaan Anda sudah diteruskan ke admin. Jawabannya akan saya kirim di sini."
HANDED_TOAST = "Diteruskan ke admin"
ALREADY_HANDED_TEXT = "Pertanyaan ini sudah diteruskan ke admin. Mohon ditunggu, ya."
NOT_YOURS_TEXT = "Tombol ini untuk yang bertanya. Silakan kirim pertanyaan Anda sendiri."
NO_ADMIN_TEXT = "Maaf, admin belum bisa dihubungi lewat bot saat ini. Silakan coba lagi nanti."


def asker_label(full_name: str, username: str | None) -> str:
    """How the admins see the asker: their name and, if any, their username (as text)."""
    return f"{full_name} (@{username})" if username else full_name


def handoff_admin_html(handoff: HandOff, tz: tzinfo) -> str:
    """The question as the admins get it: who, where, when, what; answer by picking the unit.

    The asker's ``@username`` is inside ``<code>``: copyable, and not a mention.
    """
    where = f"grup “{esc(handoff.chat_title)}”" if handoff.chat_title else "chat pribadi"
    return "\n".join(
        [
            "🙋 <b>Pertanyaan untuk admin</b>",
            f"Dari: <code>{esc(handoff.asker)}</code> di {where}, {esc(local_time(handoff.handed_at, tz))}",
            f"❓ <i>{esc(shorten(handoff.question, QUESTION_SHOWN))}</i>",
            "",
            "Ketuk <b>Jawab</b> lalu pilih unit yang menangani: jawabannya langsung dikirim ke penanya "
            "dan frasanya dipelajari.",
        ]
    )


def handoff_admin_buttons(question_id: str) -> Keyboard:
    """Into the teach menu of that question."""
    return ((Button("🎓 Jawab: pilih unit", teach_data(question_id)),),)


def handoff_answer_html(
    question: str, unit: Unit, parent: Unit | None, contacts: Sequence[Contact] = ()
) -> str:
    """What the asker gets once an admin picked ``unit``: their question, the unit, its people."""
    label = f"{LEVEL_ICON[unit.level]} <b>{LEVEL_LABEL[unit.level]}</b>: {esc(unit.name)}"
    if parent is not None:
        label += f" ({esc(parent.short_name)})"
    lines = [
        "💬 <b>Jawaban dari admin</b> untuk pertanyaan Anda:",
        f"❓ <i>{esc(shorten(question, QUESTION_SHOWN))}</i>",
        "",
        label,
        *contact_lines(contacts),
    ]
    return "\n".join(lines)


def delivered_note(count: int) -> str:
    """Told the admin after teaching: how many askers got the answer."""
    return f"📨 Jawaban dikirim ke {count} penanya." if count else ""
