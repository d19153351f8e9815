"""Admin commands in Telegram: review unanswered questions, teach units, reports, export, reload.

Admins are the numeric Telegram user ids in ``ADMIN_IDS``, never usernames. Every
handler here goes through :func:`admin_only`: anyone else gets
:data:`~bot.text.admin.REFUSAL_TEXT`, which reveals nothing, and admins are asked
to use their private chat with the bot when they try in a group (everyone there would
see the data). Handlers stay short: parse the arguments, ask the storage and
:mod:`bot.text.reports`, render with :mod:`bot.text.admin`, reply.

Buttons (kinds in :mod:`bot.text.answers`): ``p1:<days>:<page>`` turns /unanswered pages;
``t1:<query id>`` opens the teach menu for that question's group; ``t1:<query id>:<unit
id>`` teaches it; ``t1:<query id>:-`` closes the menu. They look the question up in the
database, so they keep working after a restart.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone

from telegram import Chat, Message, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, ContextTypes, filters

from bot.text import reports
from bot.text.admin import (
    NO_CHART_TEXT,
    NO_STORAGE_TEXT,
    NOT_TEACHABLE_TEXT,
    PAGE_SIZE,
    PRIVATE_ONLY_TEXT,
    REFUSAL_TEXT,
    STALE_REVIEW_TEXT,
    STATS_CHART_CAPTION,
    STATS_DEFAULT_DAYS,
    STORAGE_ERROR_TEXT,
    TEACH_DONE,
    TEACH_LEVELS,
    UsageError,
    already_taught_text,
    coverage_html,
    export_caption,
    export_filename,
    forgotten_html,
    learned_list_html,
    not_learned_html,
    nothing_to_export_html,
    page_count,
    parse_days,
    parse_learned_id,
    parse_review_page,
    parse_teach,
    reload_failed_html,
    reload_ok_html,
    review_buttons,
    review_html,
    stats_html,
    taught_note,
    teach_buttons,
    teach_html,
    usage_html,
)
from bot.telegram.handlers.questions import BotDeps, apply_learned, command_argument, deps, edit_html, reply_html
from bot.knowledge.loader import KnowledgeBaseError, load_kb
from bot.core.matcher import Matcher
from bot.core.model import Unit
from bot.text.answers import CB_REVIEW_PAGE, CB_TEACH, STALE_BUTTON_TEXT, Keyboard
from bot.storage import LearnedPhrase, QueryLog, QueryRecord, Stats, StorageError, rows_to_csv

logger = logging.getLogger(__name__)

WIB = timezone(timedelta(hours=7), "WIB")  # the office's clock: per-day stats, export file names
Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Awaitable[None]]


class NoStorageError(Exception):
    """The bot runs without a database (tests, benchmarks): admin data is unavailable."""


def _store(d: BotDeps) -> QueryLog:
    if d.store is None:
        raise NoStorageError
    return d.store


async def _say(update: Update, html: str) -> None:
    """A short notice: a reply to the command, or the toast of a pressed button."""
    if update.callback_query is not None:
        await update.callback_query.answer(html)
    elif update.effective_message is not None:
        await reply_html(update.effective_message, html)


def admin_only(handler: Handler) -> Handler:
    """Run ``handler`` only for admins (numeric id) in a private chat; map errors to notices.

    Usage errors, a missing database and database failures become one polite sentence.
    """

    @functools.wraps(handler)
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not deps(context).settings.is_admin(user.id if user else None):
            logger.info("refused %s for non-admin %s", handler.__name__, user.id if user else None)
            await _say(update, REFUSAL_TEXT)
            return
        chat = update.effective_chat
        if chat is None or chat.type != Chat.PRIVATE:
            await _say(update, PRIVATE_ONLY_TEXT)
            return
        try:
            await handler(update, context)
        except UsageError as exc:
            await _say(update, usage_html(exc.command))
        except NoStorageError:
            await _say(update, NO_STORAGE_TEXT)
        except StorageError:
            logger.exception("%s: database error", handler.__name__)
            await _say(update, STORAGE_ERROR_TEXT)

    return guarded


# -- review and teaching ---------------------------------------------------------------------


async def _review_page(d: BotDeps, days: int | None, page: int) -> tuple[str, Keyboard]:
    store = _store(d)
    await store.flush()  # include questions asked a moment ago
    total = await store.count_unanswered_groups(days)
    page = min(page, page_count(total) - 1)
    groups = await store.unanswered(days, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    return (
        review_html(groups, total=total, page=page, days=days),
        review_buttons(groups, total=total, page=page, days=days),
    )


@admin_only
async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unanswered [hari]: unanswered and 👎 questions, grouped, newest first, with buttons."""
    message = update.effective_message
    days = parse_days(command_argument(message), "unanswered")
    html, keyboard = await _review_page(deps(context), days, 0)
    await reply_html(message, html, keyboard)


@admin_only
async def review_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """p1:<days>:<page>: show that page of /unanswered in place."""
    query = update.callback_query
    parsed = parse_review_page(query.data)
    if parsed is None:
        await query.answer(STALE_BUTTON_TEXT)
        return
    html, keyboard = await _review_page(deps(context), *parsed)
    await query.answer()
    await edit_html(query, html, keyboard)


async def _taught(store: QueryLog, normalized: str) -> list[LearnedPhrase]:
    """Active learned phrases for questions with this normalised text."""
    return [p for p in await store.learned_phrases() if p.normalized == normalized]


@admin_only
async def teach_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """t1:<query id>[:<unit id> | :-]: open the teach menu, teach a unit, or close the menu."""
    query = update.callback_query
    d = deps(context)
    store = _store(d)
    parsed = parse_teach(query.data)
    if parsed is None:
        await query.answer(STALE_BUTTON_TEXT)
        return
    query_id, choice = parsed
    record = await store.query(query_id)
    if record is None:
        await query.answer(STALE_REVIEW_TEXT)
        return
    if choice is None or choice == TEACH_DONE:
        taught = await _taught(store, record.normalized)
        await query.answer()
        keyboard = teach_buttons(d.kb, query_id, [p.unit_id for p in taught])
        if choice is None and isinstance(query.message, Message):  # a new message under the list
            await reply_html(query.message, teach_html(d.kb, record.text, taught), keyboard)
        elif choice is None:  # the list is too old to reply to: show the menu in its place
            await edit_html(query, teach_html(d.kb, record.text, taught), keyboard)
        else:
            await edit_html(query, teach_html(d.kb, record.text, taught, done=True))
        return
    unit = d.kb.get(choice)
    if unit is None or unit.level not in TEACH_LEVELS:
        await query.answer(STALE_BUTTON_TEXT)
        return
    refusal, note = await _teach(d, store, record, unit, query.from_user.id)
    if refusal:
        await query.answer(refusal, show_alert=True)
        return
    await query.answer(f"✅ Diajarkan ke {unit.short_name}")
    taught = await _taught(store, record.normalized)
    keyboard = teach_buttons(d.kb, query_id, [p.unit_id for p in taught])
    await edit_html(query, teach_html(d.kb, record.text, taught, note=note), keyboard)


async def _teach(
    d: BotDeps, store: QueryLog, record: QueryRecord, unit: Unit, admin_id: int
) -> tuple[str, str]:
    """Store the question as a learned phrase of ``unit``, teach the matcher, resolve the group.

    Returns ``(refusal, "")`` when it cannot be taught, else ``("", note for the admin)``.
    One unit per level: a second Divisi for the same question needs /lupakan first.
    """
    async with d.learning_lock:
        taught = await _taught(store, record.normalized)
        same_level = next((p for p in taught if p.level == unit.level.value), None)
        if same_level is not None:
            return already_taught_text(unit, same_level), ""
        if not record.normalized.strip() or not d.matcher.normalizer.terms(record.text):
            return NOT_TEACHABLE_TEXT, ""
        learned_id = await store.add_learned(
            record.text, record.normalized, unit.id, unit.level.value, admin_id
        )
        d.matcher.add_phrase(unit.id, record.text)
        resolved = await store.mark_resolved(record.normalized, by=admin_id, learned_id=learned_id)
    logger.info("admin %s taught phrase #%d -> %s", admin_id, learned_id, unit.id)
    result = d.matcher.match(record.text)
    ranking = result.ranking(unit.level)
    answered_so = result.answered and bool(ranking) and ranking[0].unit_id == unit.id
    return "", taught_note(unit, resolved, still_unanswered=not answered_so)


@admin_only
async def lupakan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lupakan <id>: undo a teaching; without an id, how to use it and the learned phrases."""
    message = update.effective_message
    d = deps(context)
    store = _store(d)
    argument = command_argument(message)
    if not argument:
        phrases = await store.learned_phrases()
        await reply_html(message, usage_html("lupakan") + "\n\n" + learned_list_html(d.kb, phrases))
        return
    learned_id = parse_learned_id(argument)
    async with d.learning_lock:
        removed = await store.remove_learned(learned_id)
        if removed is not None:
            d.matcher.remove_phrase(removed.unit_id, removed.phrase)
    if removed is None:
        await reply_html(message, not_learned_html(learned_id))
        return
    logger.info("admin %s removed learned phrase #%d", update.effective_user.id, learned_id)
    await reply_html(message, forgotten_html(d.kb, removed))


# -- reports ---------------------------------------------------------------------------------

_CHART_LOCK = threading.Lock()  # pyplot keeps global state: one chart at a time


def _render_chart(stats: Stats) -> bytes:
    with _CHART_LOCK:
        return reports.stats_chart_png(stats)


@admin_only
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [hari]: numbers as text, then the chart as a photo."""
    message = update.effective_message
    d = deps(context)
    store = _store(d)
    days = parse_days(command_argument(message), "stats", STATS_DEFAULT_DAYS)
    await store.flush()
    stats = await store.report(days, utc_offset=WIB.utcoffset(None))
    await reply_html(message, stats_html(d.kb, stats))
    if not stats.total:
        return
    try:
        png = await asyncio.to_thread(_render_chart, stats)
    except ImportError:
        logger.warning("matplotlib is not installed (extra 'charts'): /stats sends no chart")
        await reply_html(message, NO_CHART_TEXT)
        return
    await message.reply_photo(png, caption=STATS_CHART_CAPTION)


@admin_only
async def coverage_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/coverage [hari]: how often each unit and duty was the answer; what was never asked."""
    message = update.effective_message
    d = deps(context)
    store = _store(d)
    days = parse_days(command_argument(message), "coverage")
    await store.flush()
    report = reports.coverage_report(d.kb, await store.coverage(days))
    await reply_html(message, coverage_html(d.kb, report, days))


@admin_only
async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export [hari]: the query log as a CSV document (UTF-8 with BOM, for spreadsheets)."""
    message = update.effective_message
    store = _store(deps(context))
    days = parse_days(command_argument(message), "export")
    await store.flush()
    rows = await store.export_rows(days)
    if not rows:
        await reply_html(message, nothing_to_export_html(days))
        return
    data = (await asyncio.to_thread(rows_to_csv, rows)).encode("utf-8-sig")
    await message.reply_document(
        data, filename=export_filename(datetime.now(WIB).date()), caption=export_caption(len(rows), days)
    )


# -- reload ----------------------------------------------------------------------------------


@admin_only
async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: load and check the KB folder; swap it in only when valid, else say what is wrong.

    The new KB and matcher are built completely (learned phrases included) before one
    assignment swaps them in, so no question is answered from a half-loaded KB.
    """
    message = update.effective_message
    d = deps(context)
    if command_argument(message):
        raise UsageError("reload")
    async with d.learning_lock:
        old = d.kb
        try:
            kb = await asyncio.to_thread(load_kb, d.settings.kb_dir)
            matcher = await asyncio.to_thread(Matcher, kb, d.matcher.config)
        except KnowledgeBaseError as exc:
            logger.warning("/reload: KB in %s is invalid (%d problems)", d.settings.kb_dir, len(exc.problems))
            await reply_html(message, reload_failed_html(old, exc.problems))
            return
        except Exception as exc:
            logger.exception("/reload: cannot load the KB in %s", d.settings.kb_dir)
            await reply_html(message, reload_failed_html(old, [f"{type(exc).__name__}: {exc}"]))
            return
        applied, skipped = await apply_learned(d.store, matcher) if d.store is not None else (0, [])
        d.matcher = matcher  # the swap: KB and matcher together, in one assignment
    logger.info("/reload: KB %s -> %s (%s)", old.version, kb.version, kb.content_hash)
    await reply_html(message, reload_ok_html(old, kb, applied, skipped))


# -- registration ----------------------------------------------------------------------------

ADMIN_COMMAND_HANDLERS: dict[str, Handler] = {
    "unanswered": unanswered_command,
    "stats": stats_command,
    "coverage": coverage_command,
    "export": export_command,
    "lupakan": lupakan_command,
    "reload": reload_command,
}


def admin_handlers() -> list[BaseHandler]:
    """The admin commands and buttons; :func:`bot.telegram.handlers.questions.handlers` puts them before the catch-alls."""
    message = filters.UpdateType.MESSAGE
    commands: list[BaseHandler] = [
        CommandHandler(name, callback, filters=message) for name, callback in ADMIN_COMMAND_HANDLERS.items()
    ]
    return [
        *commands,
        CallbackQueryHandler(review_page_button, pattern=f"^{CB_REVIEW_PAGE}:"),
        CallbackQueryHandler(teach_button, pattern=f"^{CB_TEACH}:"),
    ]
