"""Sending and editing: text split to Telegram's limit, keyboards turned into markup."""

from __future__ import annotations

from telegram import CallbackQuery, Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.error import BadRequest

from bot.text.answers import Keyboard, feedback_label
from bot.text.callback_data import parse_feedback
from bot.text.html import split_message

_GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)


def command_argument(message: Message) -> str:
    """The text after the command (``/tanya@Bot  apa?`` → ``apa?``)."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def in_group(chat: Chat | None) -> bool:
    """True for groups and supergroups."""
    return chat is not None and chat.type in _GROUP_TYPES


def keyboard_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Telegram markup for a :data:`~bot.text.answers.Keyboard` (None when empty)."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in keyboard]
    )


def mark_vote(markup: InlineKeyboardMarkup, question_id: str, vote: int) -> InlineKeyboardMarkup:
    """``markup`` with the 👍/👎 buttons of ``question_id`` relabelled to show ``vote`` as chosen."""
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            parsed = parse_feedback(data)
            if parsed is not None and parsed[0] == question_id:
                button = InlineKeyboardButton(feedback_label(parsed[1], vote), callback_data=data)
            buttons.append(button)
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


async def reply_html(
    message: Message, html: str, keyboard: Keyboard = (), *, quote: bool | None = None
) -> Message | None:
    """Reply with ``html`` split to Telegram's limit; buttons go under the last part, which is returned.

    The first part quotes ``message`` in groups (PTB's default) or when ``quote`` is True
    (a button's reply quotes the answer it belongs to); the rest do not.
    """
    parts = split_message(html)
    sent: Message | None = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        sent = await message.reply_text(
            part,
            reply_markup=keyboard_markup(keyboard) if last else None,
            do_quote=quote if index == 0 else False,
        )
    return sent


def carries_feedback(message: Message) -> bool:
    """True when ``message`` has 👍/👎 buttons: it is an answer, never to be rewritten."""
    markup = message.reply_markup
    rows = markup.inline_keyboard if markup else ()
    return any(
        parse_feedback(button.callback_data if isinstance(button.callback_data, str) else None)
        for row in rows
        for button in row
    )


async def edit_html(callback: CallbackQuery, html: str, keyboard: Keyboard = ()) -> None:
    """Show ``html`` in place of the pressed message; overflow goes into new messages."""
    first, *more = split_message(html)
    try:
        await callback.edit_message_text(first, reply_markup=None if more else keyboard_markup(keyboard))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():  # pressing the same button twice
            raise
    if more and isinstance(callback.message, Message):
        for index, part in enumerate(more):
            last = index == len(more) - 1
            await callback.message.reply_text(
                part, reply_markup=keyboard_markup(keyboard) if last else None, do_quote=False
            )
