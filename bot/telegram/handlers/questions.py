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
from bot.service import Asked
from bot.storage import Source, StorageError
from bot.telegram.context import BotDeps, deps
from bot.telegram.filters import is_reply_to, mentions_bot, replied_question, without_bot_mention
from bot.telegram.handlers.handoff import handoff_offer
from bot.telegram.memory import Remembered, recent_answers
from bot.telegram.messaging import command_argument, in_group, mark_vote, reply_html
from bot.text.answers import (
    EXAMPLE_QUESTIONS,
    FEEDBACK_THANKS,
    NON_TEXT_HTML,
    STALE_BUTTON_TEXT,
    UNKNOWN_COMMAND_HTML,
    Button,
    Keyboard,
    answer_buttons,
    answer_html,
    ask_usage_html,
    assignment_html,
    compact_answer_html,
    detail_button,
    feedback_buttons,
    shortened_in_groups,
    unit_card_html,
)
from bot.text.callback_data import CB_EXAMPLE, parse_alternative, parse_detail, parse_feedback, parse_value

logger = logging.getLogger(__name__)

FOLLOW_UP_WORDS = 12
"""In private, a message of at most this many words right after an answer may follow it up."""


def _source(chat: Chat | None) -> Source:
    return Source.GROUP if in_group(chat) else Source.PRIVATE


def reply_buttons(
    d: BotDeps, answer: Answer, question_id: str, asked_in: Message | None = None, *, compact: bool = False
) -> Keyboard:
    """Buttons under an answer: close alternatives, then "Detail" (a compact answer) and 👍/👎
    (when votes can be stored) on one row, and "Tanyakan ke admin" when the bot is not sure
    (``asked_in``: the asker's message)."""
    keyboard = answer_buttons(answer, question_id)
    last: tuple[Button, ...] = (
        (detail_button(question_id),) if compact and shortened_in_groups(answer) else ()
    )
    if answer.answered and d.service.database is not None:
        last += feedback_buttons(question_id)[0]
    return keyboard + ((last,) if last else ()) + handoff_offer(d, answer, question_id, asked_in)


async def answer_question(
    message: Message,
    context: ContextTypes.DEFAULT_TYPE,
    question: str,
    *,
    quiet_chitchat: bool = False,
    previous: str | None = None,
) -> None:
    """Answer ``question`` asked in ``message``, read with the ``previous`` question if it follows one.

    ``quiet_chitchat`` stays silent on small talk. Answers (and declines with buttons) are
    remembered in the chat, for follow-ups and for the buttons under them.
    """
    d = deps(context)
    chat, user = message.chat, message.from_user
    asked = d.service.ask_following(
        question,
        previous,
        source=_source(chat),
        chat_id=chat.id,
        chat_type=chat.type,
        user_id=user.id if user else None,
    )
    answer = asked.answer
    if quiet_chitchat and answer.reason is Reason.CHITCHAT:
        return
    compact = in_group(chat)  # in a group a few lines, the rest a tap away
    if compact:
        html = compact_answer_html(answer, follows=asked.follows)
    else:
        html = answer_html(answer, noted=d.service.keeps_questions, follows=asked.follows)
    keyboard = reply_buttons(d, answer, asked.question_id, message, compact=compact)
    sent = await reply_html(message, html, keyboard)
    _remember(context, asked, user.id if user else None, sent)


def _remember(
    context: ContextTypes.DEFAULT_TYPE, asked: Asked, user_id: int | None, sent: Message | None
) -> None:
    """Keep an answer (or a decline with buttons) in the chat's memory."""
    answer = asked.answer
    if not (answer.answered or answer.needs_review):
        return
    memory = recent_answers(context.chat_data)
    memory.remember(
        Remembered(
            asked.matched,
            asked.question_id,
            user_id,
            deps(context).clock(),
            sent.message_id if sent else None,
            answered=answer.answered,
        )
    )


def _previous_question(message: Message, context: ContextTypes.DEFAULT_TYPE, *, private: bool) -> str | None:
    """The question ``message`` may follow up: the answer it replies to, or in private the last one."""
    memory, now = recent_answers(context.chat_data), deps(context).clock()
    reply = message.reply_to_message
    if reply is not None and is_reply_to(message, context.bot.id):
        replied = memory.by_message(reply.message_id, now)
        return replied.question if replied and replied.answered else None
    if not private or len((message.text or "").split()) > FOLLOW_UP_WORDS:
        return None
    user = message.from_user
    last = memory.last_from(user.id if user else None, now)
    return last.question if last else None


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
    previous = _previous_question(message, context, private=True)
    await answer_question(message, context, message.text or "", previous=previous)


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
    previous = _previous_question(message, context, private=False)
    await answer_question(message, context, question, quiet_chitchat=not mentioned, previous=previous)


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
    asked = d.service.ask_following(
        EXAMPLE_QUESTIONS[index],
        None,
        source=_source(message.chat),
        chat_id=message.chat.id,
        chat_type=message.chat.type,
        user_id=callback.from_user.id,
    )
    compact = in_group(message.chat)
    if compact:
        html = compact_answer_html(asked.answer, echo_question=True)
    else:
        html = answer_html(asked.answer, echo_question=True, noted=d.service.keeps_questions)
    keyboard = reply_buttons(d, asked.answer, asked.question_id, compact=compact)
    sent = await reply_html(message, html, keyboard)
    _remember(context, asked, callback.from_user.id, sent)


async def alternative_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """a1:<question id>:<unit id>: that unit for that question, as a new message quoting the answer.

    The answer and its 👍/👎 stay as they are, for everyone in the chat: a tap only adds a
    message. The unit is shown with its duty that covers the question while the chat still
    remembers the question, else with its whole card.
    """
    callback = update.callback_query
    parsed = parse_alternative(callback.data)
    service = deps(context).service
    unit = service.kb.get(parsed[1]) if parsed else None
    if parsed is None or unit is None or not isinstance(callback.message, Message):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await callback.answer()
    remembered = recent_answers(context.chat_data).by_question(parsed[0], deps(context).clock())
    assignment = service.assignment(remembered.question, unit.id) if remembered else None
    if remembered is not None and assignment is not None:
        html = assignment_html(service.kb, remembered.question, assignment, alternative=True)
    else:
        html = unit_card_html(service.kb, unit)
    sent = await reply_html(callback.message, html, quote=True)
    if remembered is not None and sent is not None:
        recent_answers(context.chat_data).also_shown(remembered.question_id, sent.message_id)


async def detail_button_pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """x1:<question id>: the full answer, as a new message quoting the compact one (which stays)."""
    callback = update.callback_query
    question_id = parse_detail(callback.data)
    d = deps(context)
    memory = recent_answers(context.chat_data)
    remembered = memory.by_question(question_id, d.clock()) if question_id else None
    question = remembered.question if remembered else None
    database = d.service.database
    if question is None and question_id and database is not None and button_on_message(callback):
        try:
            record = await database.query(question_id)  # asked before a restart
        except StorageError:
            logger.exception("could not read question %s for its detail", question_id)
            record = None
        # Only a question asked in this chat: a forged id must not show another chat's question.
        chat_id = callback.message.chat.id if isinstance(callback.message, Message) else None
        question = record.text if record and record.chat_id == chat_id else None
    if question is None or not isinstance(callback.message, Message):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await callback.answer()
    html = answer_html(d.service.answer(question), echo_question=True)
    sent = await reply_html(callback.message, html, quote=True)
    if remembered is not None and sent is not None:
        memory.also_shown(remembered.question_id, sent.message_id)


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
