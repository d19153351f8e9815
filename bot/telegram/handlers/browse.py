"""Browsing the organisation: /start, /help, /divisi, /subbag, /struktur and the unit buttons."""

from __future__ import annotations

from telegram import CallbackQuery, Message, Update
from telegram.ext import ContextTypes

from bot.core.lookup import find_unit
from bot.core.model import Level
from bot.telegram.context import deps
from bot.telegram.messaging import carries_feedback, command_argument, edit_html, in_group, reply_html
from bot.text.answers import (
    STALE_BUTTON_TEXT,
    Keyboard,
    example_buttons,
    help_html,
    start_html,
    structure_html,
    unit_card_buttons,
    unit_card_html,
    unit_list_buttons,
    unit_list_html,
    unit_not_found_html,
)
from bot.text.callback_data import CB_LIST, CB_UNIT, parse_value


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: a short welcome and three example questions as buttons."""
    message = update.effective_message
    html = start_html(bot_username=context.bot.username, in_group=in_group(message.chat))
    await reply_html(message, html, example_buttons())


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to ask and the commands (the admin commands too, in an admin's private chat)."""
    message = update.effective_message
    d = deps(context)
    is_admin = d.settings.is_admin(update.effective_user.id if update.effective_user else None)
    html = help_html(
        d.service.kb, bot_username=context.bot.username, in_group=in_group(message.chat), is_admin=is_admin
    )
    await reply_html(message, html)


async def divisi_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/divisi: the Divisi as buttons; /divisi <nama>: that Divisi's card."""
    await _unit_command(update.effective_message, context, Level.DIVISI)


async def subbag_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subbag: the Sub Bagian as buttons; /subbag <nama>: that Sub Bagian's card."""
    await _unit_command(update.effective_message, context, Level.SUBBAG)


async def _unit_command(message: Message, context: ContextTypes.DEFAULT_TYPE, level: Level) -> None:
    service = deps(context).service
    kb, wanted = service.kb, command_argument(message)
    unit = find_unit(kb, service.matcher, wanted, level) if wanted else None
    if unit is not None:
        await reply_html(
            message, unit_card_html(kb, unit, service.contacts(unit.id)), unit_card_buttons(kb, unit)
        )
        return
    text = unit_not_found_html(level, wanted) if wanted else unit_list_html(kb, level)
    await reply_html(message, text, unit_list_buttons(kb, level))


async def struktur_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/struktur: the whole organisation as a tree."""
    await reply_html(update.effective_message, structure_html(deps(context).service.kb))


async def _show(callback: CallbackQuery, html: str, keyboard: Keyboard) -> None:
    """Browse in place in a private chat; anywhere else, and under an answer, add a message.

    Only a private list or card belongs to the presser alone. In a group the pressed
    message is everyone's, and an answer (it carries 👍/👎) is never rewritten.
    """
    message = callback.message
    if isinstance(message, Message) and (in_group(message.chat) or carries_feedback(message)):
        await reply_html(message, html, keyboard, quote=True)
    else:
        await edit_html(callback, html, keyboard)


async def unit_card_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """u1:<unit id>: show that unit's card (in place only in the presser's private chat)."""
    callback = update.callback_query
    service = deps(context).service
    kb = service.kb
    unit_id = parse_value(callback.data, CB_UNIT)
    unit = kb.get(unit_id) if unit_id else None
    if unit is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await callback.answer()
    await _show(callback, unit_card_html(kb, unit, service.contacts(unit.id)), unit_card_buttons(kb, unit))


async def unit_list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """l1:<level>: show the list of Divisi or Sub Bagian (in place only in a private chat)."""
    callback = update.callback_query
    kb = deps(context).service.kb
    level = parse_value(callback.data, CB_LIST) or ""
    if level not in (Level.DIVISI, Level.SUBBAG):
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await callback.answer()
    await _show(callback, unit_list_html(kb, Level(level)), unit_list_buttons(kb, Level(level)))
