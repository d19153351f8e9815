"""Start and stop: open the database, apply learned phrases and contacts, publish the menus, purge daily."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import BotCommand, BotCommandScope, BotCommandScopeChat, BotCommandScopeDefault
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.service import NoQuestionLog
from bot.storage import StorageError, open_database
from bot.telegram.context import App, deps
from bot.text.answers import ADMIN_COMMANDS, PUBLIC_COMMANDS

logger = logging.getLogger(__name__)

PURGE_JOB = "purge-query-log"
PURGE_FIRST_RUN = timedelta(minutes=1)  # after start-up, then every day


async def open_storage(application: App) -> None:
    """Open the database (when the application owns it), apply learned phrases, schedule the purge."""
    d = deps(application)
    service = d.service
    if d.database_path is not None and service.database is None:
        service.log = await open_database(d.database_path, check=True)
        logger.info("query log: %s", d.database_path)
    if service.database is None:
        return
    applied = await service.apply_learned()
    logger.info("applied %d learned phrase(s)", applied)
    await service.load_contacts()
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            purge_old_questions, interval=timedelta(days=1), first=PURGE_FIRST_RUN, name=PURGE_JOB
        )


async def purge_old_questions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily job: delete questions older than ``LOG_RETENTION_DAYS`` (with their votes)."""
    d = deps(context)
    database = d.service.database
    if database is None:
        return
    days = d.settings.log_retention_days
    try:
        deleted = await database.purge_older_than(days)
    except StorageError:
        logger.exception("could not purge the query log")
        return
    logger.info("purged %d question(s) older than %d days", deleted, days)


async def post_init(application: App) -> None:
    """Open the storage, then publish the command menus (admin ones in admins' chats).

    Raises ``StorageError`` when the database cannot be opened.
    """
    await open_storage(application)
    bot, settings = application.bot, deps(application).settings
    public = [BotCommand(name, text) for name, text in PUBLIC_COMMANDS]
    admin = public + [BotCommand(name, text) for name, text in ADMIN_COMMANDS]
    menus: list[tuple[BotCommandScope, list[BotCommand]]] = [(BotCommandScopeDefault(), public)]
    menus += [(BotCommandScopeChat(admin_id), admin) for admin_id in sorted(settings.admin_ids)]
    for scope, commands in menus:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:  # e.g. an admin who never opened the bot: "chat not found"
            logger.warning("could not set the %s command menu: %s", scope.type, exc)


async def post_shutdown(application: App) -> None:
    """Write what the question log still holds; close the database when the application opened it."""
    d = deps(application)
    database = d.service.database
    if database is None:
        return
    if d.database_path is None:  # the caller owns it
        await database.flush()
        return
    d.service.log = NoQuestionLog()
    await database.close()
    d.lost = database.lost
