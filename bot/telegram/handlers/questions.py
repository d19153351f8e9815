"""Telegram handlers: parse the update, ask the core, log the question, render and reply.

Handlers stay short; the wording lives in :mod:`bot.text.answers`, the matching in the
core. Dependencies are reached through :func:`deps`, never by string lookups in
handlers. The handler list and its order are in :func:`handlers`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from rapidfuzz import fuzz, process, utils
from telegram import (
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Message,
    MessageEntity,
    Update,
    User,
)
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.core.answer import Answer, Assignment, assignment_for, build_answer
from bot.config import Settings
from bot.core.matcher import Matcher, MatchResult, Reason
from bot.core.model import KnowledgeBase, Level, Unit
from bot.text.answers import (
    ADMIN_COMMANDS,
    CB_EXAMPLE,
    CB_FEEDBACK,
    CB_LIST,
    CB_UNIT,
    EXAMPLE_QUESTIONS,
    FEEDBACK_FAILED_TEXT,
    FEEDBACK_THANKS,
    LEVEL_ICON,
    LEVEL_LABEL,
    NO_INLINE_RESULT_TEXT,
    NON_TEXT_HTML,
    PUBLIC_COMMANDS,
    STALE_BUTTON_TEXT,
    UNKNOWN_COMMAND_HTML,
    Keyboard,
    answer_buttons,
    answer_html,
    ask_usage_html,
    assignment_html,
    example_buttons,
    feedback_buttons,
    feedback_label,
    help_html,
    parse_callback,
    parse_feedback,
    split_message,
    structure_html,
    unit_card_buttons,
    unit_card_html,
    unit_list_buttons,
    unit_list_html,
    unit_not_found_html,
)
from bot.storage import LearnedPhrase, QueryLog, QueryRecord, StorageError, open_query_log

logger = logging.getLogger(__name__)

DEPS_KEY = "tupoksi"
INLINE_CACHE_SECONDS = 10
INLINE_MAX_RESULTS = 5
# Inline results: units scoring below this share of the best one are not "likely".
INLINE_MIN_RELATIVE_SCORE = 0.6
# /divisi <name>: how close (0-100, rapidfuzz WRatio) a name must be to count as meant.
UNIT_NAME_CUTOFF = 80
_GROUP_TYPES = (Chat.GROUP, Chat.SUPERGROUP)
_LEVEL_WORDS = frozenset({"divisi", "div", "sub", "bagian", "subbag", "subbagian", "kasubbag", "kabag"})


# -- dependencies and the query log ------------------------------------------------------


class QueryLogger(Protocol):
    """Where questions go for the admins; ``log`` must return at once and never block.

    :class:`bot.storage.QueryLog` is the real one; tests and benchmarks may pass others.
    """

    def log(self, record: QueryRecord) -> None: ...


class NullQueryLogger:
    """Keeps nothing (for tests and benchmarks that want no database)."""

    def log(self, record: QueryRecord) -> None:
        """Drop the record."""


@dataclass
class BotDeps:
    """Everything handlers need, stored once in ``application.bot_data``.

    The matcher carries its KB (``kb`` is ``matcher.kb``), so /reload swaps both with one
    assignment and no question is answered from a half-built KB. With ``database_path``
    set, :func:`post_init` opens the query log there and :func:`post_shutdown` closes it.
    """

    settings: Settings
    matcher: Matcher
    query_log: QueryLogger = field(default_factory=NullQueryLogger)
    database_path: Path | None = None
    # Held while learned phrases change or the KB is swapped, so neither loses the other's work.
    learning_lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (the matcher's)."""
        return self.matcher.kb

    @property
    def store(self) -> QueryLog | None:
        """The database behind the query log, if any (feedback and admin commands need it)."""
        return self.query_log if isinstance(self.query_log, QueryLog) else None

    @property
    def keeps_questions(self) -> bool:
        """True when unanswered questions really reach the admins."""
        return not isinstance(self.query_log, NullQueryLogger)

    def ask(self, question: str, *, source: str, chat: Chat | None, user: User | None) -> tuple[Answer, str]:
        """Match, build the answer and log the question; returns the answer and the query id.

        Logging never breaks answering.
        """
        started = time.perf_counter()
        matcher = self.matcher  # one KB for the whole question, even if /reload swaps it
        result = matcher.match(question)
        answer = build_answer(result, matcher.kb, matcher.config.ambiguity_margin)
        latency_ms = (time.perf_counter() - started) * 1000
        record = make_record(result, matcher.kb, source=source, chat=chat, user=user, latency_ms=latency_ms)
        self.log(record)
        return answer, record.id

    def log(self, record: QueryRecord) -> None:
        """Hand ``record`` to the query log; a failing logger is reported, not raised."""
        try:
            self.query_log.log(record)
        except Exception:
            logger.exception("query log failed; question %s not logged", record.id)


def deps(context: ContextTypes.DEFAULT_TYPE | Application) -> BotDeps:
    """The application's :class:`BotDeps` (from a handler's context or the application)."""
    value = context.bot_data[DEPS_KEY]
    assert isinstance(value, BotDeps)
    return value


def make_record(
    result: MatchResult,
    kb: KnowledgeBase,
    *,
    source: str,
    chat: Chat | None,
    user: User | None,
    latency_ms: float,
) -> QueryRecord:
    """The log record of one question."""
    top_divisi = result.divisi[0] if result.divisi else None
    top_subbag = result.subbag[0] if result.subbag else None
    best = max((c for c in (top_divisi, top_subbag) if c), key=lambda c: c.score, default=None)
    return QueryRecord(
        source=source,
        text=result.question,
        normalized=result.normalized,
        answered=result.answered,
        chat_id=chat.id if chat else None,
        chat_type=chat.type if chat else None,
        user_id=user.id if user else None,
        divisi_id=top_divisi.unit_id if top_divisi else None,
        divisi_score=top_divisi.score if top_divisi else None,
        subbag_id=top_subbag.unit_id if top_subbag else None,
        subbag_score=top_subbag.score if top_subbag else None,
        duty_ref=str(best.duty) if best and best.duty else None,
        kb_version=kb.content_hash,
        latency_ms=round(latency_ms, 3),
        reason=str(result.reason),
    )


# -- pure helpers ----------------------------------------------------------------------


def command_argument(message: Message) -> str:
    """The text after the command (``/tanya@Bot  apa?`` → ``apa?``)."""
    parts = (message.text or "").split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 else ""


def mentions_bot(message: Message, username: str) -> bool:
    """True when ``message`` mentions ``@username``."""
    wanted = f"@{username}".lower()
    return any(v.lower() == wanted for v in message.parse_entities([MessageEntity.MENTION]).values())


def without_bot_mention(message: Message, username: str) -> str:
    """The message text with every ``@username`` removed and spaces tidied."""
    text = message.text or ""
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == f"@{username}".lower():
            text = text.replace(value, " ")
    return " ".join(text.split())


def is_reply_to(message: Message, user_id: int) -> bool:
    """True when ``message`` replies to a message sent by ``user_id``."""
    reply = message.reply_to_message
    # In forum topics every message "replies" to the topic's first (service) message.
    return bool(reply and reply.from_user and reply.from_user.id == user_id and not reply.forum_topic_created)


def replied_question(message: Message, bot_id: int) -> str:
    """The text of a colleague's message this one replies to ("/tanya" under a question)."""
    reply = message.reply_to_message
    if reply is None or is_reply_to(message, bot_id) or reply.forum_topic_created:
        return ""
    return " ".join((reply.text or "").split())


class AddressedToBot(filters.MessageFilter):
    """A message that mentions the bot by username or replies to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        return is_reply_to(message, bot.id) or mentions_bot(message, bot.username)


def find_unit(kb: KnowledgeBase, matcher: Matcher, query: str, level: Level) -> Unit | None:
    """The unit of ``level`` that ``query`` names (fuzzy), or whose duties it describes."""
    names: dict[str, str] = {}
    for unit in kb.units_at(level):
        for name in (unit.name, unit.short_name, *unit.aliases):
            if key := _unit_words(name):
                names.setdefault(key, unit.id)
    wanted = _unit_words(query)
    found = process.extractOne(wanted, list(names), scorer=fuzz.WRatio, score_cutoff=UNIT_NAME_CUTOFF)
    if found:
        return kb.unit(names[found[0]])
    ranking = matcher.match(query).ranking(level)
    if ranking and ranking[0].score >= matcher.config.answer_threshold:
        return kb.unit(ranking[0].unit_id)
    return None


def _unit_words(name: str) -> str:
    """A unit name without the words every unit of a level shares ("Divisi", "Sub Bagian")."""
    words = utils.default_process(name).split()
    return " ".join(w for w in words if w not in _LEVEL_WORDS)


def likely_units(kb: KnowledgeBase, result: MatchResult) -> list[Assignment]:
    """Up to five units for inline mode, best first, Divisi and Sub Bagian together."""
    if not result.answered:
        return []
    ranked = sorted((*result.divisi, *result.subbag), key=lambda c: -c.score)
    floor = ranked[0].score * INLINE_MIN_RELATIVE_SCORE if ranked else 0.0
    return [assignment_for(kb, c) for c in ranked[:INLINE_MAX_RESULTS] if c.score >= floor]


def keyboard_markup(keyboard: Keyboard) -> InlineKeyboardMarkup | None:
    """Telegram markup for a :data:`~bot.text.answers.Keyboard` (None when empty)."""
    if not keyboard:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.text, callback_data=b.data) for b in row] for row in keyboard]
    )


def reply_buttons(d: BotDeps, answer: Answer, query_id: str) -> Keyboard:
    """Buttons under an answer: close alternatives, and 👍/👎 when votes can be stored."""
    keyboard = answer_buttons(answer)
    if answer.answered and d.store is not None:
        keyboard += feedback_buttons(query_id)
    return keyboard


def mark_vote(markup: InlineKeyboardMarkup, query_id: str, vote: int) -> InlineKeyboardMarkup:
    """``markup`` with the 👍/👎 buttons of ``query_id`` relabelled to show ``vote`` as chosen."""
    rows = []
    for row in markup.inline_keyboard:
        buttons = []
        for button in row:
            data = button.callback_data if isinstance(button.callback_data, str) else None
            parsed = parse_feedback(data)
            if parsed is not None and parsed[0] == query_id:
                button = InlineKeyboardButton(feedback_label(parsed[1], vote), callback_data=data)
            buttons.append(button)
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


def in_group(chat: Chat | None) -> bool:
    """True for groups and supergroups."""
    return chat is not None and chat.type in _GROUP_TYPES


# -- sending ---------------------------------------------------------------------------


async def reply_html(message: Message, html: str, keyboard: Keyboard = ()) -> None:
    """Reply with ``html`` split to Telegram's limit; buttons go under the last part.

    In groups the first part quotes the question (PTB's default), the rest do not.
    """
    parts = split_message(html)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await message.reply_text(
            part,
            reply_markup=keyboard_markup(keyboard) if last else None,
            do_quote=None if index == 0 else False,
        )


async def edit_html(query: CallbackQuery, html: str, keyboard: Keyboard = ()) -> None:
    """Show ``html`` in place of the pressed message; overflow goes into new messages."""
    first, *more = split_message(html)
    try:
        await query.edit_message_text(first, reply_markup=None if more else keyboard_markup(keyboard))
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():  # pressing the same button twice
            raise
    if more and isinstance(query.message, Message):
        for index, part in enumerate(more):
            last = index == len(more) - 1
            await query.message.reply_text(
                part, reply_markup=keyboard_markup(keyboard) if last else None, do_quote=False
            )


# -- commands --------------------------------------------------------------------------


async def start_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot does, example questions as buttons, the commands."""
    message = update.effective_message
    d = deps(context)
    is_admin = d.settings.is_admin(update.effective_user.id if update.effective_user else None)
    html = help_html(
        d.kb, bot_username=context.bot.username, in_group=in_group(message.chat), is_admin=is_admin
    )
    await reply_html(message, html, example_buttons())


async def tanya_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/tanya <pertanyaan>, or /tanya as a reply to someone's question."""
    message = update.effective_message
    question = command_argument(message) or replied_question(message, context.bot.id)
    if not question:
        await reply_html(message, ask_usage_html(context.bot.username, in_group=in_group(message.chat)))
        return
    await answer_question(message, context, question)


async def divisi_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/divisi: the Divisi as buttons; /divisi <nama>: that Divisi's card."""
    await _unit_command(update.effective_message, context, Level.DIVISI)


async def subbag_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subbag: the Sub Bagian as buttons; /subbag <nama>: that Sub Bagian's card."""
    await _unit_command(update.effective_message, context, Level.SUBBAG)


async def _unit_command(message: Message, context: ContextTypes.DEFAULT_TYPE, level: Level) -> None:
    d = deps(context)
    query = command_argument(message)
    unit = find_unit(d.kb, d.matcher, query, level) if query else None
    if unit is not None:
        await reply_html(message, unit_card_html(d.kb, unit), unit_card_buttons(d.kb, unit))
        return
    text = unit_not_found_html(level, query) if query else unit_list_html(d.kb, level)
    await reply_html(message, text, unit_list_buttons(d.kb, level))


async def struktur_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/struktur: the whole organisation as a tree."""
    await reply_html(update.effective_message, structure_html(deps(context).kb))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command nobody handles, in a private chat: point to /help."""
    await reply_html(update.effective_message, UNKNOWN_COMMAND_HTML)


# -- questions -------------------------------------------------------------------------


async def answer_question(
    message: Message, context: ContextTypes.DEFAULT_TYPE, question: str, *, quiet_chitchat: bool = False
) -> None:
    """Answer ``question`` asked in ``message``; ``quiet_chitchat`` stays silent on small talk."""
    d = deps(context)
    source = "group" if in_group(message.chat) else "private"
    answer, query_id = d.ask(question, source=source, chat=message.chat, user=message.from_user)
    if quiet_chitchat and answer.reason is Reason.CHITCHAT:
        return
    html = answer_html(answer, noted=d.keeps_questions)
    await reply_html(message, html, reply_buttons(d, answer, query_id))


async def non_text_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A sticker, photo, voice note... in a private chat: ask for the question as text."""
    await reply_html(update.effective_message, NON_TEXT_HTML)


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


# -- buttons ---------------------------------------------------------------------------


async def unit_card_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """u1:<unit id>: show that unit's card in place of the pressed message."""
    query = update.callback_query
    d = deps(context)
    parsed = parse_callback(query.data)
    unit = d.kb.get(parsed[1]) if parsed else None
    if unit is None:
        await query.answer(STALE_BUTTON_TEXT)
        return
    await query.answer()
    await edit_html(query, unit_card_html(d.kb, unit), unit_card_buttons(d.kb, unit))


async def unit_list_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """l1:<level>: show the list of Divisi or Sub Bagian in place."""
    query = update.callback_query
    d = deps(context)
    parsed = parse_callback(query.data)
    level = parsed[1] if parsed else ""
    if level not in (Level.DIVISI, Level.SUBBAG):
        await query.answer(STALE_BUTTON_TEXT)
        return
    await query.answer()
    await edit_html(query, unit_list_html(d.kb, Level(level)), unit_list_buttons(d.kb, Level(level)))


async def example_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """q1:<n>: ask example question n and post the answer as a new message."""
    query = update.callback_query
    parsed = parse_callback(query.data)
    index = int(parsed[1]) if parsed and parsed[1].isdigit() else -1
    if not 0 <= index < len(EXAMPLE_QUESTIONS) or not isinstance(query.message, Message):
        await query.answer(STALE_BUTTON_TEXT)
        return
    await query.answer()
    message, d = query.message, deps(context)
    source = "group" if in_group(message.chat) else "private"
    answer, query_id = d.ask(EXAMPLE_QUESTIONS[index], source=source, chat=message.chat, user=query.from_user)
    html = answer_html(answer, echo_question=True, noted=d.keeps_questions)
    await reply_html(message, html, reply_buttons(d, answer, query_id))


async def feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """f1:<query id>:<vote>: store the presser's 👍/👎 on that answer (one per user, changeable)."""
    query = update.callback_query
    d = deps(context)
    parsed = parse_feedback(query.data)
    store = d.store
    if parsed is None or store is None:
        await query.answer(STALE_BUTTON_TEXT)
        return
    query_id, vote = parsed
    try:
        await store.set_feedback(query_id, query.from_user.id, vote)
    except StorageError:
        logger.exception("could not store feedback on question %s", query_id)
        await query.answer(FEEDBACK_FAILED_TEXT)
        return
    await query.answer(FEEDBACK_THANKS[vote])
    message = query.message
    # Only in a private chat is the voter the sole reader: there the chosen button gets a ✓.
    if isinstance(message, Message) and message.chat.type == Chat.PRIVATE and message.reply_markup:
        marked = mark_vote(message.reply_markup, query_id, vote)
        if marked.to_dict() != message.reply_markup.to_dict():
            try:
                await query.edit_message_reply_markup(marked)
            except BadRequest as exc:
                if "not modified" not in exc.message.lower():
                    raise


async def stale_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Any other callback data (an old or foreign button): say so, change nothing."""
    await update.callback_query.answer(STALE_BUTTON_TEXT)


# -- inline mode -----------------------------------------------------------------------


def _article(result_id: str, title: str, description: str, html: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(split_message(html)[0]),
    )


def _example_articles(d: BotDeps) -> list[InlineQueryResultArticle]:
    articles = []
    for index, question in enumerate(EXAMPLE_QUESTIONS):
        answer = build_answer(d.matcher.match(question), d.kb, d.matcher.config.ambiguity_margin)
        html = answer_html(answer, echo_question=True)
        articles.append(_article(f"ex{index}", question, "Contoh pertanyaan", html))
    return articles


def _unit_article(kb: KnowledgeBase, question: str, assignment: Assignment) -> InlineQueryResultArticle:
    unit = assignment.unit
    title = f"{LEVEL_ICON[unit.level]} {LEVEL_LABEL[unit.level]}: {unit.short_name}"
    duty = f"Tugas #{assignment.duty.number}: {assignment.duty.text}" if assignment.duty else unit.name
    return _article(unit.id, title, duty, assignment_html(kb, question, assignment))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot <pertanyaan>: up to five likely units, each posting its answer card."""
    query = update.inline_query
    d = deps(context)
    question = " ".join(query.query.split())
    if not question:
        await query.answer(_example_articles(d), cache_time=INLINE_CACHE_SECONDS)
        return
    units = likely_units(d.kb, d.matcher.match(question))
    results = [_unit_article(d.kb, question, a) for a in units]
    button = None if results else InlineQueryResultsButton(NO_INLINE_RESULT_TEXT, start_parameter="tanya")
    await query.answer(results, cache_time=INLINE_CACHE_SECONDS, button=button)


async def chosen_inline_result(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline answer was posted: log the question (needs /setinlinefeedback in BotFather)."""
    chosen = update.chosen_inline_result
    d = deps(context)
    d.ask(chosen.query, source="inline", chat=None, user=chosen.from_user)


# -- storage ---------------------------------------------------------------------------

PURGE_JOB = "purge-query-log"
PURGE_FIRST_RUN = timedelta(minutes=1)  # after start-up, then every day


async def apply_learned(store: QueryLog, matcher: Matcher) -> tuple[int, list[LearnedPhrase]]:
    """Teach ``matcher`` every active learned phrase; ``(applied, skipped)``.

    A phrase whose unit is no longer in the matcher's KB (or changed level) is skipped.
    """
    applied, skipped = 0, []
    for phrase in await store.learned_phrases():
        unit = matcher.kb.get(phrase.unit_id)
        if unit is None or unit.level.value != phrase.level:
            skipped.append(phrase)
            continue
        applied += matcher.add_phrase(unit.id, phrase.phrase)
    if skipped:
        logger.warning(
            "learned phrase(s) %s point at units not in KB %s; not applied",
            ", ".join(f"#{p.id}" for p in skipped),
            matcher.kb.version,
        )
    return applied, skipped


async def open_storage(application: Application) -> None:
    """Open the query log (when the application owns it), apply learned phrases, schedule the purge."""
    d = deps(application)
    if d.database_path is not None and d.store is None:
        d.query_log = await open_query_log(d.database_path)
        logger.info("query log: %s", d.database_path)
    store = d.store
    if store is None:
        return
    async with d.learning_lock:
        applied, _ = await apply_learned(store, d.matcher)
    logger.info("applied %d learned phrase(s)", applied)
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            purge_old_questions, interval=timedelta(days=1), first=PURGE_FIRST_RUN, name=PURGE_JOB
        )


async def purge_old_questions(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Daily job: delete questions older than ``LOG_RETENTION_DAYS`` (with their votes)."""
    d = deps(context)
    store = d.store
    if store is None:
        return
    days = d.settings.log_retention_days
    try:
        deleted = await store.purge_older_than(days)
    except StorageError:
        logger.exception("could not purge the query log")
        return
    logger.info("purged %d question(s) older than %d days", deleted, days)


async def post_shutdown(application: Application) -> None:
    """Write what the query log still holds; close it when the application opened it."""
    d = deps(application)
    store = d.store
    if store is None:
        return
    if d.database_path is None:  # the caller owns it
        await store.flush()
        return
    d.query_log = NullQueryLogger()
    await store.close()


# -- lifecycle -------------------------------------------------------------------------


async def post_init(application: Application) -> None:
    """Open the storage, then publish the command menus (admin ones in admins' chats).

    Raises ``StorageError`` when the database cannot be opened.
    """
    await open_storage(application)
    bot, settings = application.bot, deps(application).settings
    public = [BotCommand(name, text) for name, text in PUBLIC_COMMANDS]
    admin = public + [BotCommand(name, text) for name, text in ADMIN_COMMANDS]
    menus = [(BotCommandScopeDefault(), public)]
    menus += [(BotCommandScopeChat(admin_id), admin) for admin_id in sorted(settings.admin_ids)]
    for scope, commands in menus:
        try:
            await bot.set_my_commands(commands, scope=scope)
        except TelegramError as exc:  # e.g. an admin who never opened the bot: "chat not found"
            logger.warning("could not set the %s command menu: %s", scope.type, exc)


def handlers() -> Sequence[BaseHandler]:
    """Every handler, in the order PTB tries them (the first match in a group wins)."""
    from bot.telegram.handlers.admin import admin_handlers  # bot.telegram.handlers.admin builds on this module

    message = filters.UpdateType.MESSAGE  # edits of old messages are not new questions
    text = message & filters.TEXT & ~filters.COMMAND
    return [
        # Commands first, so "/divisi" is never read as a question. CommandHandler already
        # ignores "/cmd@OtherBot".
        CommandHandler(("start", "help"), start_command, filters=message),
        CommandHandler("tanya", tanya_command, filters=message),
        CommandHandler("divisi", divisi_command, filters=message),
        CommandHandler("subbag", subbag_command, filters=message),
        CommandHandler("struktur", struktur_command, filters=message),
        # Admin commands and their buttons (bot.telegram.handlers.admin); before the catch-alls below.
        *admin_handlers(),
        # Buttons, by versioned prefix; the catch-all answers stale ones.
        CallbackQueryHandler(unit_card_button, pattern=f"^{CB_UNIT}:"),
        CallbackQueryHandler(unit_list_button, pattern=f"^{CB_LIST}:"),
        CallbackQueryHandler(example_button, pattern=f"^{CB_EXAMPLE}:"),
        CallbackQueryHandler(feedback_button, pattern=f"^{CB_FEEDBACK}:"),
        CallbackQueryHandler(stale_button),
        InlineQueryHandler(inline_query),
        ChosenInlineResultHandler(chosen_inline_result),
        # Questions: any text in private; in groups only what is addressed to the bot.
        MessageHandler(filters.ChatType.PRIVATE & text, private_question),
        MessageHandler(filters.ChatType.GROUPS & text & AddressedToBot(), group_question),
        # Stickers, photos, voice notes... (not service messages) in private: ask for text.
        MessageHandler(
            filters.ChatType.PRIVATE & message & ~filters.TEXT & ~filters.StatusUpdate.ALL, non_text_message
        ),
        # Keep last: commands no handler above took (admin commands go above this).
        MessageHandler(filters.ChatType.PRIVATE & message & filters.COMMAND, unknown_command),
    ]
