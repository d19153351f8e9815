"""Questions: in private, in groups (mention, reply, /tanya), example buttons, 👍/👎.

Each handler parses the update, asks :class:`~bot.service.Service`, renders with
:mod:`bot.text.answers` and replies.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Chat, Message, Update
from telegram.error import BadRequest
from telegram.ext import ContextTypes

from bot.core.answer import Answer
from bot.core.matcher import Reason
from bot.storage import Source
from bot.telegram.context import BotDeps, deps
from bot.telegram.filters import mentions_bot, replied_question, without_bot_mention
from bot.telegram.handlers.handoff import handoff_offer
from bot.telegram.messaging import command_argument, in_group, mark_vote, reply_html
from bot.text.answers import (
    EXAMPLE_QUESTIONS,
    FEEDBACK_THANKS,
    NON_TEXT_HTML,
    STALE_BUTTON_TEXT,
    UNKNOWN_COMMAND_HTML,
    Keyboard,
    answer_buttons,
    answer_html,
    ask_usage_html,
    feedback_buttons,
)
from bot.text.callback_data import CB_EXAMPLE, parse_feedback, parse_value

logger = logging.getLogger(__name__)


def _source(chat: Chat | None) -> Source:
    return Source.GROUP if in_group(chat) else Source.PRIVATE


def reply_buttons(d: BotDeps, answer: Answer, question_id: str, asked_in: Message | None = None) -> Keyboard:
    """Buttons under an answer: close alternatives, 👍/👎 when votes can be stored, and
    "Tanyakan ke admin" when the bot is not sure (``asked_in``: the asker's message)."""
    keyboard = answer_buttons(answer)
    if answer.answered and d.service.database is not None:
        keyboard += feedback_buttons(question_id)
    return keyboard + handoff_offer(d, answer, question_id, asked_in)


async def answer_question(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, *, quiet_chitchat: bool = False
) -> None:
    """Answer ``question`` asked in ``message``; ``quiet_chitchat`` stays silent on small talk."""
    d = deps(context)
    chat, user = message.chat, message.from_user
    answer, question_id = d.service.ask(
        question,
        source=_source(chat),
        chat_id=chat.id,
        chat_type=chat.type,
        user_id=user.id if user else None,
    )
    if quiet_chitchat and answer.reason is Reason.CHITCHAT:
        return
    html = answer_html(answer, noted=d.service.keeps_questions)
    await reply_html(message, html, reply_buttons(d, answer, question_id, message))


async def tanya_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tanya <pertanyaan>, or /tanya as a reply to someone's question."""
    message = update.effective_message
    question = command_argument(message) or replied_question(message, context.bot.id)
    if not question:
        await reply_html(message, ask_usage_html(context.bot.username, in_group=in_group(message.chat)))
        return
    await answer_question(message, context, question)


async def private_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any text in a private chat is a question."""
    message = update.effective_message
    await answer_question(message, context, message.text or "")


async def group_question(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A group message that mentions the bot or replies to it."""
    message = update.effective_message
    question = without_bot_mention(message, context.bot.username)
    question = question or replied_question(message, context.bot.id)
    mentioned = mentions_bot(message, context.bot.username)
    if not question:
        await reply_html(message, ask_usage_html(context.bot.username, in_group=True))
        return
    # "makasih" in reply to an answer needs no reply; an explicit mention always gets one.
    await answer_question(message, context, question, quiet_chitchat=not mentioned)


async def non_text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note... in a private chat: ask for the question as text."""
    await reply_html(update.effective_message, NON_TEXT_HTML)


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command nobody handles, in a private chat: point to /help."""
    await reply_html(update.effective_message, UNKNOWN_COMMAND_HTML)


async def example_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """q1:<n>: ask example question n and post the answer as a new message."""
    callback = update.callback_query
    value = parse_value(callback.data, CB_EXAMPLE) or ""
    index = int(value) if value.isdigit() else -1
    if not 0 <= index < len(EXAMPLE_QUESTIONS) or not isinstance(callback.message, Message):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await callback.answer()
    message, d = callback.message, deps(context)
    answer, question_id = d.service.ask(
        EXAMPLE_QUESTIONS[index],
        source=_source(message.chat),
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        user_id=callback.from_user.id,
    )
    html = answer_html(answer, echo_question=True, noted=d.service.keeps_questions)
    await reply_html(message, html, reply_buttons(d, answer, question_id))


def button_on_message(callback: CallbackQuery) -> bool:
    """True when the pressed data is a button of the message it came with.

    Telegram attaches the message as it is (with its real buttons), but a client can send
    any data: a vote counts only for the answer its buttons belong to, pressed by someone
    who sees that message (the asker in private, a member in a group).
    """
    message = callback.message
    if not isinstance(message, Message) or message.reply_markup is None:
        return False
    buttons = (button for row in message.reply_markup.inline_keyboard for button in row)
    return any(button.callback_data == callback.data for button in buttons)


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """f1:<question id>:<vote>: store the presser's 👍/👎 on that answer (one per user, changeable).

    The vote goes to the background writer: the press is answered at once, even while the
    database is locked.
    """
    callback = update.callback_query
    parsed = parse_feedback(callback.data)
    database = deps(context).service.database
    if parsed is None or database is None or not button_on_message(callback):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    question_id, vote = parsed
    database.queue_vote(question_id, callback.from_user.id, vote)
    await callback.answer(FEEDBACK_THANKS[vote])
    message = callback.message
    # Only in a private chat is the voter the sole reader: there the chosen button gets a ✓.
    if isinstance(message, Message) and message.chat.type == Chat.PRIVATE and message.reply_markup:
        marked = mark_vote(message.reply_markup, question_id, vote)
        if marked.to_dict() != message.reply_markup.to_dict():
            try:
                await callback.edit_message_reply_markup(marked)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other callback data (an old or foreign button): say so, change nothing."""
    await update.callback_query.answer(STALE_BUTTON_TEXT)
