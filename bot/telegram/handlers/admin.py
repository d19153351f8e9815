"""Admin commands in Telegram: review unanswered questions, teach units, reports, export, reload, contacts.

Admins are the numeric Telegram user ids in ``ADMIN_IDS``, never usernames. Every
handler here goes through :func:`admin_only`: anyone else gets
:data:`~bot.text.admin.REFUSAL_TEXT`, which reveals nothing, and admins are asked
to use their private chat with the bot when they try in a group (everyone there would
see the data). Handlers stay short: parse the arguments, ask the storage and
:mod:`bot.text.reports`, render with :mod:`bot.text.admin`, reply.

Buttons (kinds in :mod:`bot.text.answers`): ``p1:<days>:<page>`` turns /unanswered pages;
``t1:<query id>`` opens the teach menu for that question's group; ``t1:<query id>:<unit
id>`` teaches it; ``t1:<query id>:-`` closes the menu. They look the question up in the
database, so they keep working after a restart. Teaching a unit also answers the askers who
handed that question to the admins (:func:`~bot.telegram.handlers.handoff.deliver_answers`).

Contacts: ``/kontak`` lists every unit's people; ``/kontak <unit>`` one unit;
``/kontak <unit> <Peran>: <Nama>, @username, <telepon>`` sets one person;
``/kontak <unit> hapus <peran atau nama>`` removes; ``/kontak <unit> reset`` returns the
unit to ``knowledge/contacts.yaml``. A line that cannot be used changes nothing and says why.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, tzinfo
from typing import Any

from telegram import CallbackQuery, Chat, Message, Update
from telegram.ext import ContextTypes

from bot.core.contacts import ContactError, parse_contact
from bot.core.lookup import unit_named_first
from bot.core.model import KnowledgeBase
from bot.knowledge.loader import KnowledgeBaseError
from bot.service import AlreadyTaught, NotTeachable, Service
from bot.storage import Database, QueryRecord, Stats, StorageError
from bot.telegram.arguments import UsageError, parse_days, parse_learned_id
from bot.telegram.context import deps
from bot.telegram.handlers.handoff import deliver_answers
from bot.telegram.messaging import command_argument, edit_html, reply_html
from bot.text import reports
from bot.text.admin import (
    ALREADY_DISMISSED_TEXT,
    COVERAGE_CHART_CAPTION,
    DISMISSED_TEXT,
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
    TEACH_LEVELS,
    already_taught_text,
    coverage_html,
    duty_buttons,
    duty_picked_text,
    duty_prompt,
    export_caption,
    export_filename,
    forgotten_html,
    lupakan_usage_html,
    not_learned_html,
    nothing_to_export_html,
    out_of_scope_html,
    page_count,
    reload_failed_html,
    reload_ok_html,
    review_buttons,
    review_html,
    stats_html,
    taught_html,
    taught_note,
    teach_buttons,
    teach_html,
    usage_html,
)
from bot.text.answers import ADMIN_ALIASES, STALE_BUTTON_TEXT, Keyboard
from bot.text.callback_data import TEACH_DONE, parse_dismiss, parse_review_page, parse_teach
from bot.text.contacts import (
    all_contacts_html,
    contact_problem_html,
    contact_removed_note,
    contact_reset_note,
    contact_set_note,
    unit_contacts_html,
    unknown_unit_html,
)
from bot.text.exports import rows_to_xlsx
from bot.text.handoff import delivered_note

logger = logging.getLogger(__name__)

Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, None]]


class NoStorageError(Exception):
    """The bot runs without a database (tests, benchmarks): admin data is unavailable."""


def _utc_offset(tz: tzinfo) -> timedelta:
    """The office's offset from UTC now (Indonesia keeps no daylight saving time)."""
    return datetime.now(tz).utcoffset() or timedelta(0)


def database_of(service: Service) -> Database:
    """The service's database; :class:`NoStorageError` (a polite notice) when it runs without one."""
    if service.database is None:
        raise NoStorageError
    return service.database


async def _say(update: Update, html: str) -> None:
    """A short notice: a reply to the command, or the toast of a pressed button."""
    if update.callback_query is not None:
        await update.callback_query.answer(html)
    elif update.effective_message is not None:
        await reply_html(update.effective_message, html)


def admin_only(handler: Handler) -> Handler:
    """Run ``handler`` only for admins (numeric id) in a private chat (or the ``ADMIN_CHAT_ID``
    group); map errors to notices.

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
        admin_chat = deps(context).settings.admin_chat_id
        if chat is None or (chat.type != Chat.PRIVATE and chat.id != admin_chat):
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


async def _review_page(service: Service, tz: tzinfo, days: int | None, page: int) -> tuple[str, Keyboard]:
    database = database_of(service)
    await database.flush()  # include questions asked a moment ago
    total = await database.count_unanswered_groups(days)
    page = min(page, page_count(total) - 1)
    groups = await database.unanswered(days, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    return (
        review_html(service.kb, groups, total=total, page=page, days=days, tz=tz),
        review_buttons(groups, total=total, page=page, days=days),
    )


@admin_only
async def unanswered_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unanswered [hari]: unanswered and 👎 questions, grouped, newest first, with buttons."""
    message = update.effective_message
    days = parse_days(command_argument(message), "tinjau")
    d = deps(context)
    html, keyboard = await _review_page(d.service, d.settings.tz, days, 0)
    await reply_html(message, html, keyboard)


@admin_only
async def review_page_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """p1:<days>:<page>: show that page of /unanswered in place."""
    callback = update.callback_query
    parsed = parse_review_page(callback.data)
    if parsed is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    d = deps(context)
    html, keyboard = await _review_page(d.service, d.settings.tz, *parsed)
    await callback.answer()
    await edit_html(callback, html, keyboard)


@admin_only
async def dismiss_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """d1:<question id>:<days>:<page>: take the question off the review list for good, show the page."""
    callback = update.callback_query
    d = deps(context)
    database = database_of(d.service)
    parsed = parse_dismiss(callback.data)
    if parsed is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    question_id, days, page = parsed
    record = await database.query(question_id)
    if record is None:
        await callback.answer(STALE_REVIEW_TEXT)
        return
    new = await database.dismiss(record.normalized, record.text, callback.from_user.id)
    logger.info("admin %s dismissed question %s from review", callback.from_user.id, question_id)
    await callback.answer(DISMISSED_TEXT if new else ALREADY_DISMISSED_TEXT)
    html, keyboard = await _review_page(d.service, d.settings.tz, days, page)
    await edit_html(callback, html, keyboard)


@admin_only
async def teach_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """t1:<question id>[:<unit id> | :-]: open the teach menu, teach a unit, or close the menu."""
    callback = update.callback_query
    service = deps(context).service
    database = database_of(service)
    parsed = parse_teach(callback.data)
    if parsed is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    question_id, choice = parsed
    record = await database.query(question_id)
    if record is None:
        await callback.answer(STALE_REVIEW_TEXT)
        return
    kb = service.kb
    if choice is None or choice == TEACH_DONE:
        taught = await service.taught(database, record.normalized)
        await callback.answer()
        keyboard = teach_buttons(kb, question_id, [p.unit_id for p in taught])
        if choice is None and isinstance(callback.message, Message):  # a new message under the list
            await reply_html(callback.message, teach_html(kb, record.text, taught), keyboard)
        elif choice is None:  # the list is too old to reply to: show the menu in its place
            await edit_html(callback, teach_html(kb, record.text, taught), keyboard)
        else:
            await edit_html(callback, teach_html(kb, record.text, taught, done=True))
        return
    if choice.startswith("#"):  # #<learned id>:<duty>: the duty of a phrase just taught
        await _pick_duty(callback, service, record, question_id, choice)
        return
    unit = kb.get(choice)
    if unit is None or unit.level not in TEACH_LEVELS:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    result = await service.teach(database, record, unit, callback.from_user.id)
    if isinstance(result, AlreadyTaught):
        await callback.answer(already_taught_text(unit, result.phrase), show_alert=True)
        return
    if isinstance(result, NotTeachable):
        await callback.answer(NOT_TEACHABLE_TEXT, show_alert=True)
        return
    await callback.answer(taught_html(unit))
    delivered = await deliver_answers(context.bot, service, record, unit, callback.from_user.id)
    taught = await service.taught(database, record.normalized)
    note = "\n\n".join(
        part
        for part in (
            taught_note(unit, result.resolved, still_unanswered=result.still_unanswered),
            delivered_note(delivered),
            duty_prompt(unit),
        )
        if part
    )
    keyboard = duty_buttons(unit, question_id, result.learned_id)
    await edit_html(callback, teach_html(kb, record.text, taught, note=note, asking_duty=True), keyboard)


async def _pick_duty(
    callback: CallbackQuery, service: Service, record: QueryRecord, question_id: str, choice: str
) -> None:
    """``#<learned id>:<duty>``: record the duty, then back to the teach menu."""
    database = database_of(service)
    learned, _, number = choice[1:].partition(":")
    phrase = next(
        (p for p in await service.taught(database, record.normalized) if str(p.id) == learned), None
    )
    unit = service.kb.get(phrase.unit_id) if phrase else None
    if phrase is None or unit is None or not number.isdigit() or unit.duty(int(number)) is None:
        await callback.answer(STALE_BUTTON_TEXT)
        return
    await service.set_duty(database, phrase, int(number))
    await callback.answer(duty_picked_text(unit, int(number)))
    taught = await service.taught(database, record.normalized)
    keyboard = teach_buttons(service.kb, question_id, [p.unit_id for p in taught])
    await edit_html(callback, teach_html(service.kb, record.text, taught), keyboard)


@admin_only
async def lupakan_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lupakan <id>: undo a teaching; without an id, how to use it and the learned phrases."""
    message = update.effective_message
    service = deps(context).service
    database = database_of(service)
    argument = command_argument(message)
    if not argument:
        phrases = await database.learned_phrases()
        await reply_html(message, lupakan_usage_html(service.kb, phrases, deps(context).settings.tz))
        return
    learned_id = parse_learned_id(argument)
    removed = await service.forget(database, learned_id)
    if removed is None:
        await reply_html(message, not_learned_html(learned_id))
        return
    logger.info("admin %s removed learned phrase #%d", update.effective_user.id, learned_id)
    await reply_html(message, forgotten_html(service.kb, removed))


# -- reports ---------------------------------------------------------------------------------

_CHART_LOCK = threading.Lock()  # pyplot keeps global state: one chart at a time


def _render_chart(stats: Stats) -> bytes:
    with _CHART_LOCK:
        return reports.stats_chart_png(stats)


def _render_coverage_chart(kb: KnowledgeBase, report: reports.CoverageReport, days: int | None) -> bytes:
    with _CHART_LOCK:
        return reports.coverage_chart_png(kb, report, days)


@admin_only
async def stats_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/stats [hari]: numbers as text, then the chart as a photo."""
    message = update.effective_message
    service = deps(context).service
    database = database_of(service)
    days = parse_days(command_argument(message), "statistik", STATS_DEFAULT_DAYS)
    await database.flush()
    stats = await database.report(days, utc_offset=_utc_offset(deps(context).settings.tz))
    await reply_html(message, stats_html(service.kb, stats))
    if not stats.total:
        return
    try:
        png = await asyncio.to_thread(_render_chart, stats)
    except ImportError:
        logger.warning("matplotlib is not installed (reinstall the package): /stats sends no chart")
        await reply_html(message, NO_CHART_TEXT)
        return
    await message.reply_photo(png, caption=STATS_CHART_CAPTION)


@admin_only
async def coverage_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/coverage [hari]: how often each unit and duty was the answer; what was never asked."""
    message = update.effective_message
    service = deps(context).service
    database = database_of(service)
    days = parse_days(command_argument(message), "cakupan")
    await database.flush()
    report = reports.coverage_report(service.kb, await database.coverage(days))
    await reply_html(message, coverage_html(service.kb, report, days))
    try:
        png = await asyncio.to_thread(_render_coverage_chart, service.kb, report, days)
    except ImportError:
        logger.warning("matplotlib is not installed (reinstall the package): /cakupan sends no picture")
        return
    await message.reply_photo(png, caption=COVERAGE_CHART_CAPTION)


@admin_only
async def out_of_scope_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/diluarcakupan [hari]: what was declined on purpose, grouped by reason."""
    message = update.effective_message
    d = deps(context)
    database = database_of(d.service)
    days = parse_days(command_argument(message), "diluarcakupan", STATS_DEFAULT_DAYS)
    await database.flush()
    groups = await database.declined(days)
    await reply_html(message, out_of_scope_html(groups, days, d.settings.tz))


@admin_only
async def export_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/ekspor [hari]: the query log as an Excel workbook (office time, names, both cited duties)."""
    message = update.effective_message
    d = deps(context)
    database, tz = database_of(d.service), d.settings.tz
    days = parse_days(command_argument(message), "ekspor")
    await database.flush()
    rows = await database.export_rows(days)
    if not rows:
        await reply_html(message, nothing_to_export_html(days))
        return
    data = await asyncio.to_thread(rows_to_xlsx, rows, d.service.kb, tz)
    await message.reply_document(
        data,
        filename=export_filename(datetime.now(tz).date()),
        caption=export_caption(len(rows), days, datetime.now(tz).tzname() or ""),
    )


# -- contacts --------------------------------------------------------------------------------

REMOVE_WORD = "hapus"
RESET_WORD = "reset"


@admin_only
async def kontak_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/kontak [unit [Peran: Nama, @username, telepon | hapus <siapa> | reset]]."""
    message = update.effective_message
    service = deps(context).service
    kb = service.kb
    argument = command_argument(message)
    if not argument:
        html = all_contacts_html(kb, service.contacts, service.contacts_set_in_telegram)
        await reply_html(message, html)
        return
    head, colon, tail = argument.partition(":")
    found = unit_named_first(kb, head if colon else argument)
    if found is None:
        await reply_html(message, unknown_unit_html(head if colon else argument))
        return
    unit, rest = found
    admin_id = update.effective_user.id if update.effective_user else 0
    words = rest.split()
    note = ""
    if colon:
        try:
            contact = parse_contact(f"{rest}:{tail}")
            await service.set_contact(database_of(service), unit, contact, admin_id)
        except ContactError as exc:
            await reply_html(message, contact_problem_html(exc))
            return
        note = contact_set_note(contact)
    elif words and words[0].lower() == REMOVE_WORD and len(words) > 1:
        who = " ".join(words[1:])
        removed = await service.remove_contact(database_of(service), unit, who, admin_id)
        note = contact_removed_note(who, removed)
    elif [w.lower() for w in words] == [RESET_WORD]:
        note = contact_reset_note(await service.reset_contacts(database_of(service), unit))
    elif words:  # "<unit> Nama" without "Peran:"
        await reply_html(message, contact_problem_html(ContactError("no_role", "no colon")))
        return
    html = unit_contacts_html(
        unit,
        service.contacts(unit.id),
        set_in_telegram=service.contacts_set_in_telegram(unit.id),
        note=note,
    )
    await reply_html(message, html)


# -- reload ----------------------------------------------------------------------------------


@admin_only
async def reload_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload: load and check the KB folder; swap it in only when valid, else say what is wrong."""
    message = update.effective_message
    d = deps(context)
    if command_argument(message):
        raise UsageError("muatulang")
    old, kb_dir = d.service.kb, d.settings.kb_dir
    try:
        reloaded = await d.service.reload(kb_dir)
    except KnowledgeBaseError as exc:
        logger.warning("/reload: KB in %s is invalid (%d problems)", kb_dir, len(exc.problems))
        await reply_html(message, reload_failed_html(old, exc.problems))
        return
    except Exception as exc:
        logger.exception("/reload: cannot load the KB in %s", kb_dir)
        await reply_html(
            message, reload_failed_html(old, [f"kesalahan tak terduga ({type(exc).__name__}): {exc}"])
        )
        return
    await reply_html(message, reload_ok_html(reloaded.old, reloaded.new, reloaded.applied, reloaded.skipped))


ADMIN_COMMAND_HANDLERS: dict[str, Handler] = {
    "tinjau": unanswered_command,
    "statistik": stats_command,
    "cakupan": coverage_command,
    "ekspor": export_command,
    "diluarcakupan": out_of_scope_command,
    "lupakan": lupakan_command,
    "muatulang": reload_command,
    "kontak": kontak_command,
}
"""Admin commands by their Indonesian names (the menu); :data:`ADMIN_ALIASES` add the English ones."""


def admin_command_names(name: str) -> tuple[str, ...]:
    """The names ``/name`` answers to: itself and its English alias, if any."""
    return (name, *(alias for alias, target in ADMIN_ALIASES.items() if target == name))
