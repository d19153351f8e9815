"""Hand-off to a human: "Tanyakan ke admin" under an answer the bot is not sure of.

Pressing it (only the asker may) stores the hand-off, sends the question to the admins
(the ``ADMIN_CHAT_ID`` group, else each admin's private chat) with a button into the teach
menu, and confirms to the asker. When an admin teaches a unit for that question (from the
hand-off or the review list), :func:`deliver_answers` replies to every waiting asker of the
same question in the chat where they asked. Hand-offs live in the database, so a restart
between the question and the answer loses nothing.
"""

from __future__ import annotations

import logging

from telegram import Bot, Message, Update
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.config import Settings
from bot.core.answer import Answer
from bot.core.model import Unit
from bot.service import Service
from bot.storage import HandOff, QueryRecord, StorageError
from bot.telegram.context import BotDeps, deps
from bot.telegram.messaging import in_group, keyboard_markup
from bot.text.answers import STALE_BUTTON_TEXT, Keyboard
from bot.text.callback_data import parse_handoff
from bot.text.handoff import (
    ALREADY_HANDED_TEXT,
    HANDED_TEXT,
    HANDED_TOAST,
    NO_ADMIN_TEXT,
    NOT_YOURS_TEXT,
    asker_label,
    handoff_admin_buttons,
    handoff_admin_html,
    handoff_answer_html,
    handoff_buttons,
)

logger = logging.getLogger(__name__)


def admin_chats(settings: Settings) -> list[int]:
    """Where hand-offs go: the admins' group if set, else each admin's private chat."""
    if settings.admin_chat_id is not None:
        return [settings.admin_chat_id]
    return sorted(settings.admin_ids)


def handoff_offer(d: BotDeps, answer: Answer, question_id: str, message: Message | None) -> Keyboard:
    """The "Tanyakan ke admin" button, when the answer is unsure and someone can receive it."""
    if message is None or not answer.offers_handoff or d.service.database is None:
        return ()
    if not admin_chats(d.settings):
        return ()
    return handoff_buttons(question_id, message.message_id)


async def handoff_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """h1:<question id>:<message id>: hand the asker's question to the admins."""
    callback = update.callback_query
    d = deps(context)
    database = d.service.database
    parsed = parse_handoff(callback.data)
    message = callback.message
    if parsed is None or database is None or not isinstance(message, Message):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    question_id, asked_in = parsed
    record = await database.query(question_id)
    if record is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    user = callback.from_user
    if record.user_id is not None and record.user_id != user.id:
        await callback.answer(NOT_YOURS_TEXT, show_alert=True)
        return
    chat = message.chat
    handoff = HandOff(
        query_id=record.id,
        chat_id=chat.id,
        message_id=asked_in,
        user_id=user.id,
        asker=asker_label(user.full_name, user.username),
        chat_title=chat.title if in_group(chat) else None,
        question=record.text,
        normalized=record.normalized,
    )
    if not await database.add_handoff(handoff):
        await callback.answer(ALREADY_HANDED_TEXT)
        return
    stored = await database.handoff(record.id) or handoff
    if not await _tell_admins(context.bot, d.settings, stored):
        await database.drop_handoff(record.id)
        await callback.answer(NO_ADMIN_TEXT, show_alert=True)
        return
    logger.info("question %s handed to the admins by user %s", record.id, user.id)
    await callback.answer(HANDED_TOAST)
    await context.bot.send_message(chat.id, HANDED_TEXT, reply_to_message_id=asked_in)


async def _tell_admins(bot: Bot, settings: Settings, handoff: HandOff) -> int:
    """Send the hand-off to every admin chat; how many got it."""
    html = handoff_admin_html(handoff, settings.tz)
    markup = keyboard_markup(handoff_admin_buttons(handoff.query_id))
    delivered = 0
    for chat_id in admin_chats(settings):
        try:
            await bot.send_message(chat_id, html, reply_markup=markup)
        except TelegramError as exc:  # an admin who never opened the bot: "chat not found"
            logger.warning("could not hand question %s to admin chat %s: %s", handoff.query_id, chat_id, exc)
            continue
        delivered += 1
    return delivered


async def deliver_answers(bot: Bot, service: Service, record: QueryRecord, unit: Unit, admin_id: int) -> int:
    """An admin taught ``unit`` for ``record``'s question: answer everyone who handed that
    question over, as a reply in the chat where they asked. How many got it."""
    database = service.database
    if database is None:
        return 0
    try:
        waiting = await database.pending_handoffs(record.normalized)
    except StorageError:
        logger.exception("could not read the hand-offs of question %s", record.id)
        return 0
    delivered = 0
    for handoff in waiting:
        parents = service.kb.ancestors(unit.id)
        html = handoff_answer_html(
            handoff.question, unit, parents[0] if parents else None, service.contacts(unit.id)
        )
        try:
            await bot.send_message(handoff.chat_id, html, reply_to_message_id=handoff.message_id)
        except TelegramError as exc:  # the asker blocked the bot, or left the group
            logger.warning(
                "could not answer hand-off %s in chat %s: %s", handoff.query_id, handoff.chat_id, exc
            )
            continue
        await database.close_handoff(handoff.query_id, admin_id, unit.id)
        delivered += 1
    if delivered:
        logger.info("admin %s answered %d hand-off(s) with %s", admin_id, delivered, unit.id)
    return delivered
