"""Build the Telegram application and run it (long polling, or a webhook behind a proxy).

:func:`build_application` is shared by ``tupoksi run``, the tests (with a fake
request) and the benchmarks; :func:`run_bot` is what ``tupoksi run`` calls.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, Defaults
from telegram.request import BaseRequest

from bot.config import RedactingFilter, Settings, setup_logging
from bot.handlers import DEPS_KEY, BotDeps, NullQueryLogger, QueryLogger, handlers, log_error, post_init
from bot.kb import load_kb
from bot.matcher import Matcher
from bot.model import KnowledgeBase

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
EXIT_OK, EXIT_ERROR, EXIT_INVALID = 0, 1, 2


def build_application(
    settings: Settings,
    kb: KnowledgeBase,
    matcher: Matcher,
    query_log: QueryLogger | None = None,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    rate_limiter: bool = True,
) -> Application:
    """The bot with every handler registered; nothing is contacted until it is initialized.

    ``request``/``updates_request`` replace PTB's HTTP client (tests pass a fake);
    ``rate_limiter=False`` drops PTB's AIORateLimiter (for benchmarks that measure
    handler cost, not Telegram's flood limits).
    """
    defaults = Defaults(
        parse_mode=ParseMode.HTML,
        link_preview_options=LinkPreviewOptions(is_disabled=True),
        # A reply to a message deleted meanwhile is sent as a plain message, not an error.
        allow_sending_without_reply=True,
    )
    builder = ApplicationBuilder().token(settings.token).defaults(defaults).post_init(post_init)
    if settings.api_base_url:
        builder = builder.base_url(settings.api_base_url)
        if settings.base_file_url:
            builder = builder.base_file_url(settings.base_file_url)
    if request is not None:
        builder = builder.request(request)
    if updates_request is not None:
        builder = builder.get_updates_request(updates_request)
    if rate_limiter:
        builder = builder.rate_limiter(AIORateLimiter())
    application = builder.build()
    application.bot_data[DEPS_KEY] = BotDeps(settings, kb, matcher, query_log or NullQueryLogger())
    application.add_handlers(handlers())
    application.add_error_handler(log_error)
    return application


def run_bot(settings: Settings, kb_dir: Path | None = None) -> int:
    """Load the KB and serve until SIGINT/SIGTERM; the exit code for ``tupoksi run``.

    Raises ``KnowledgeBaseError`` for an invalid KB (the CLI lists the problems).
    """
    setup_logging(settings)
    kb = load_kb(kb_dir or settings.kb_dir)
    application = build_application(settings, kb, Matcher(kb))
    mode = f"webhook {settings.webhook_url}" if settings.webhook_url else "long polling"
    logger.info("starting: KB %s (%s), %d units, %s", kb.version, kb.content_hash, len(kb.units), mode)
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
            )
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=STOP_SIGNALS)
    except InvalidToken:
        # PTB's message quotes the token: say it in our words instead.
        print("tupoksi: Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather", file=sys.stderr)
        return EXIT_INVALID
    except NetworkError as exc:
        where = settings.api_base_url or "api.telegram.org"
        detail = RedactingFilter([settings.token]).redact(str(exc))
        print(f"tupoksi: cannot reach the Bot API at {where}: {detail}", file=sys.stderr)
        return EXIT_ERROR
    logger.info("stopped")
    return EXIT_OK
