"""Build the Telegram application and run it (long polling, or a webhook behind a proxy).

:func:`build_application` is shared by ``tupoksi run``, the tests (with a fake
request) and the benchmarks; :func:`run_bot` is what ``tupoksi run`` calls. Long
polling is the bot's own (:mod:`bot.telegram.delivery`): an update is confirmed to
Telegram only once the database holds it, so a hard stop loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    Defaults,
    InlineQueryHandler,
    MessageHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.config import ExitCode, RedactingFilter, Settings, StartupError, setup_logging
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.knowledge.loader import load_kb
from bot.knowledge.stems import build_matcher
from bot.service import NoQuestionLog, QuestionLog, Service
from bot.storage import StorageError
from bot.telegram.context import DEPS_KEY, App, BotDeps, deps
from bot.telegram.delivery import ChatOrderedProcessor, Poller, RecordingQueue, prepare_webhook
from bot.telegram.error_handler import ErrorHandler
from bot.telegram.filters import AddressedToBot
from bot.telegram.guards import Clock, guard_handlers
from bot.telegram.handlers import admin, browse, handoff, inline, questions
from bot.telegram.lifecycle import post_init, post_shutdown
from bot.text.callback_data import (
    CB_ALTERNATIVE,
    CB_DETAIL,
    CB_DISMISS,
    CB_EXAMPLE,
    CB_FEEDBACK,
    CB_HANDOFF,
    CB_LIST,
    CB_REVIEW_PAGE,
    CB_TEACH,
    CB_UNIT,
    pattern,
)

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# How often AIORateLimiter retries a request Telegram answered with 429 (after retry_after).
FLOOD_RETRIES = 3


def build_application(
    settings: Settings,
    kb: KnowledgeBase,
    matcher: Matcher,
    query_log: QuestionLog | None = None,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
    database_path: Path | None = None,
    clock: Clock = time.monotonic,
) -> App:
    """The bot with every handler registered; nothing is contacted until it is initialized.

    ``matcher`` must be built on ``kb``. ``query_log`` is owned by the caller (tests pass
    an open ``Database`` or a stand-in); with ``database_path`` instead, the application
    opens the query log there in ``post_init`` and closes it in ``post_shutdown``.
    ``request``/``updates_request`` replace PTB's HTTP client (tests pass a fake);
    ``rate_limiter=False`` drops PTB's AIORateLimiter (for benchmarks that measure
    handler cost, not Telegram's flood limits). ``clock`` drives the guards and the
    error handler's report cooldown (tests pass a fake one).
    """
    if matcher.kb is not kb:
        raise ValueError("the matcher must be built on the given knowledge base")
    if query_log is not None and database_path is not None:
        raise ValueError("pass query_log or database_path, not both")
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        # A reply to a message deleted meanwhile is sent as a plain message, not an error.
        allow_sending_without_reply=True,
    )
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        ApplicationBuilder()
        .token(settings.token)
        .defaults(defaults)
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if settings.api_base_url:
        # PTB appends the token: "https://host/bot/" would give ".../bot/<token>", a 404
        # that PTB reports as a rejected token.
        builder = builder.base_url(settings.api_base_url.rstrip("/"))
        if settings.base_file_url:
            builder = builder.base_file_url(settings.base_file_url.rstrip("/"))
    # Webhook: the POST is answered once the update is stored. Long polling: ours (bot.telegram.delivery).
    builder = builder.update_queue(RecordingQueue()) if settings.webhook_url else builder.updater(None)
    # Different chats at once (a slow update never holds up another chat), each chat in order.
    builder = builder.concurrent_updates(ChatOrderedProcessor())
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    else:
        # Two connections for getUpdates: on shutdown PTB acknowledges the fetched updates
        # with one last getUpdates, which must not wait (and time out) for the cancelled
        # long poll to give the only connection back; else they are answered again after
        # a restart (python-telegram-bot issue #3893).
        builder = builder.get_updates_connection_pool_size(2)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=FLOOD_RETRIES))
    application = builder.build()
    service = Service(matcher, query_log or NoQuestionLog())
    application.bot_data[DEPS_KEY] = BotDeps(settings, service, database_path=database_path, clock=clock)
    application.add_handlers(guard_handlers(settings, clock=clock))  # negative groups: they run first
    application.add_handlers(handlers())
    application.add_error_handler(ErrorHandler(settings, clock=clock))
    return application


def handlers() -> Sequence[BaseHandler[Any, Any, Any]]:
    """Every handler, in the order PTB tries them (the first match in a group wins)."""
    message = filters.UpdateType.MESSAGE  # edits of old messages are not new questions
    text = message & filters.TEXT & ~filters.COMMAND
    return [
        # Commands first, so "/divisi" is never read as a question. CommandHandler already
        # ignores "/cmd@OtherBot".
        CommandHandler("start", browse.start_command, filters=message),
        CommandHandler("help", browse.help_command, filters=message),
        CommandHandler("tanya", questions.tanya_command, filters=message),
        CommandHandler("divisi", browse.divisi_command, filters=message),
        CommandHandler("subbag", browse.subbag_command, filters=message),
        CommandHandler("struktur", browse.struktur_command, filters=message),
        # Admin commands and their buttons; before the catch-alls below.
        *(
            CommandHandler(admin.admin_command_names(name), callback, filters=message)
            for name, callback in admin.ADMIN_COMMAND_HANDLERS.items()
        ),
        CallbackQueryHandler(admin.review_page_button, pattern=pattern(CB_REVIEW_PAGE)),
        CallbackQueryHandler(admin.teach_button, pattern=pattern(CB_TEACH)),
        CallbackQueryHandler(admin.dismiss_button, pattern=pattern(CB_DISMISS)),
        # Buttons, by versioned prefix; the catch-all answers stale ones.
        CallbackQueryHandler(browse.unit_card_button, pattern=pattern(CB_UNIT)),
        CallbackQueryHandler(questions.alternative_button, pattern=pattern(CB_ALTERNATIVE)),
        CallbackQueryHandler(questions.detail_button_pressed, pattern=pattern(CB_DETAIL)),
        CallbackQueryHandler(browse.unit_list_button, pattern=pattern(CB_LIST)),
        CallbackQueryHandler(questions.example_button, pattern=pattern(CB_EXAMPLE)),
        CallbackQueryHandler(questions.feedback_button, pattern=pattern(CB_FEEDBACK)),
        CallbackQueryHandler(handoff.handoff_button, pattern=pattern(CB_HANDOFF)),
        CallbackQueryHandler(questions.stale_button),
        InlineQueryHandler(inline.inline_query),
        ChosenInlineResultHandler(inline.chosen_inline_result),
        # Questions: any text in private; in groups only what is addressed to the bot.
        MessageHandler(filters.ChatType.PRIVATE & text, questions.private_question),
        MessageHandler(filters.ChatType.GROUPS & text & AddressedToBot(), questions.group_question),
        # Stickers, photos, voice notes... (not service messages) in private: ask for text.
        MessageHandler(
            filters.ChatType.PRIVATE & message & ~filters.TEXT & ~filters.StatusUpdate.ALL,
            questions.non_text_message,
        ),
        # Keep last: commands no handler above took (admin commands go above this).
        MessageHandler(filters.ChatType.PRIVATE & message & filters.COMMAND, questions.unknown_command),
    ]


class _QuietBootstrapFailure(logging.Filter):
    """Drop PTB's own log of a failed start (a traceback of 50 lines or more).

    PTB logs the error of its start-up phase ("bootstrap": getMe, deleteWebhook,
    setWebhook) with its traceback, then raises it; :func:`run_bot` reports it in one line.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Network Retry Loop (Bootstrap")


def _log_once_started(application: App, kb: KnowledgeBase, mode: str) -> None:
    """Log "started" once PTB has checked the token and the database is open: a start that
    fails prints nothing but its one-line reason."""
    opened = application.post_init

    async def started(app: App) -> None:
        if opened is not None:
            await opened(app)
        if isinstance(app.update_queue, RecordingQueue):
            await prepare_webhook(app, deps(app).service.database)
        logger.info(
            "started as @%s: KB %s (%s), %d units, %s",
            app.bot.username,
            kb.version,
            kb.content_hash,
            len(kb.units),
            mode,
        )

    application.post_init = started


def run_bot(settings: Settings, kb_dir: Path | None = None) -> int:
    """Load the KB and serve until SIGINT/SIGTERM; the exit code for ``tupoksi run``.

    Raises ``KnowledgeBaseError`` for an invalid KB (the CLI lists the problems). A start
    that fails (token rejected, no network, database unusable) is printed as one line on
    stderr, without traceback, and its :class:`ExitCode` returned; so is a stop that lost
    questions the database could not take (:attr:`ExitCode.DATABASE`).
    """
    setup_logging(settings)
    kb = load_kb(kb_dir or settings.kb_dir)
    application = build_application(settings, kb, build_matcher(kb), database_path=settings.database_path)
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "long polling"
    logger.debug("starting: KB %s, %s", kb.version, mode)
    _log_once_started(application, kb, mode)
    quiet = _QuietBootstrapFailure()
    ptb_logger = logging.getLogger("telegram.ext")
    ptb_logger.addFilter(quiet)
    # PTB runs on the current event loop; owning it lets us close the database on every path.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        if settings.webhook_url:
            application.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path=settings.webhook_path,
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                stop_signals=STOP_SIGNALS,
                close_loop=False,
            )
        else:
            loop.run_until_complete(serve_polling(application))
    except InvalidToken:
        # PTB's message quotes the token: say it in our words instead.
        problem = "Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)"
        return StartupError(ExitCode.TOKEN_REJECTED, [problem]).report()
    except NetworkError as exc:
        where = settings.api_base_url or "api.telegram.org"
        detail = RedactingFilter([settings.token]).redact(str(exc))
        return StartupError(ExitCode.NETWORK, [f"cannot reach the Bot API at {where}: {detail}"]).report()
    except TelegramError as exc:  # e.g. setWebhook refused the WEBHOOK_URL
        detail = RedactingFilter([settings.token]).redact(str(exc))
        return StartupError(ExitCode.CONFIG, [f"Telegram refused to start the bot: {detail}"]).report()
    except StorageError as exc:  # from post_init: the database cannot be opened
        problem = f"cannot use the database {settings.database_path}: {exc}"
        return StartupError(ExitCode.DATABASE, [problem]).report()
    finally:
        ptb_logger.removeFilter(quiet)
        _close_leftovers(application, loop)
    lost = deps(application).lost
    if lost:
        problem = (
            f"{lost} question(s) or vote(s) could not be written to the database {settings.database_path} "
            "and are lost (see the log above)"
        )
        return StartupError(ExitCode.DATABASE, [problem]).report()
    logger.info("stopped")
    return ExitCode.OK


async def serve_polling(application: App) -> None:
    """Long polling until SIGINT/SIGTERM: start, handle what the last run left, poll, stop.

    Stopping: no more fetching; every update handed over is finished; Telegram is told
    what is stored; the question log is written and the database closed.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, stop.set)
    try:
        await application.initialize()  # getMe: the token and the network
        try:
            if application.post_init is not None:
                await application.post_init(application)  # the database, the command menus
            await application.bot.delete_webhook()  # a webhook left set would refuse getUpdates
            poller = Poller(application, deps(application).service.database, stop)
            await application.start()
            await poller.recover()
            await poller.run()
            logger.info("stopping: finishing the updates in hand")
            await application.stop()
            await poller.confirm()
        finally:
            if application.running:
                await application.stop()
            await application.shutdown()
            if application.post_shutdown is not None:
                await application.post_shutdown(application)
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)


def _close_leftovers(application: App, loop: asyncio.AbstractEventLoop) -> None:
    """Make sure the query log is closed, then close the event loop.

    A stop signal during start-up can leave coroutines behind that fail later and make
    PTB skip ``post_shutdown``; an open database would then keep the process alive
    (aiosqlite's worker thread is not a daemon). So: close the query log if it is still
    open, cancel leftover tasks (a half-opened database closes itself), close it again
    in case a leftover had opened it meanwhile.
    """
    try:
        if not loop.is_closed():
            asyncio.set_event_loop(loop)
            loop.run_until_complete(_close_query_log(application))
            leftovers = asyncio.all_tasks(loop)
            for task in leftovers:
                task.cancel()
            if leftovers:
                loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
            loop.run_until_complete(_close_query_log(application))
            loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
        asyncio.set_event_loop(None)


async def _close_query_log(application: App) -> None:
    try:
        await post_shutdown(application)  # a no-op once the query log is closed
    except (Exception, asyncio.CancelledError):
        logger.exception("could not close the query log cleanly")
