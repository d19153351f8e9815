"""The global error handler: log first, apologise to the user, optionally tell the admins.

Any exception a handler raises ends up in :func:`handle_error` (registered with
``application.add_error_handler``). It never raises itself and never lets the token
out: the log goes through the :class:`~bot.config.RedactingFilter` on the root
handlers, and everything it sends is redacted here as well.

What it does, by kind of error:

* ``BadRequest: message is not modified`` (the same button pressed twice): harmless,
  a debug line only.
* ``Forbidden`` (the user blocked the bot, or it was removed from a group): a warning;
  nobody to apologise to, nothing the admins can fix.
* ``RetryAfter`` (flood control still hit after ``AIORateLimiter``'s retries), timeouts
  and network errors: a warning with the traceback; the user gets the apology when
  Telegram lets it through (not after a 429: more messages would only prolong it).
* Anything else (a bug): an error with the traceback, the apology, and a short report
  to ``ERROR_CHAT_ID`` when it is set (the same error at most once per
  :data:`REPORT_COOLDOWN` seconds).
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Callable

from telegram import Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot.config import RedactingFilter, Settings
from bot.text.answers import ERROR_APOLOGY_HTML
from bot.text.html import MAX_MESSAGE_LENGTH, esc, utf16_length

logger = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE

REPORT_COOLDOWN = 300.0  # seconds between two reports of the same error
REPORT_LIMIT = 2500  # characters of traceback in a report (less when escaping grows it)
_SUMMARY_LIMIT = 200  # characters; even fully escaped, summary and update stay under the limit
_UPDATE_LIMIT = 500
_MAX_SIGNATURES = 1000


def is_not_modified(error: BaseException | None) -> bool:
    """True for Telegram's 400 "message is not modified" (an edit that changed nothing)."""
    return isinstance(error, BadRequest) and "message is not modified" in error.message.lower()


def is_operational(error: BaseException | None) -> bool:
    """True for Telegram conditions no code change fixes: blocked, flood control, network."""
    return isinstance(error, Forbidden | RetryAfter | NetworkError) and not isinstance(error, BadRequest)


class ErrorHandler:
    """PTB error callback (``application.add_error_handler(ErrorHandler(settings))``).

    ``clock`` (seconds, monotonic) is injectable so tests can step past the cooldown.
    """

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._redactor = RedactingFilter([s for s in (settings.token, settings.webhook_secret) if s])
        self.clock = clock
        self._reported: dict[str, float] = {}

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        error = context.error
        try:
            await self._handle(update, context, error)
        except Exception:  # the error handler must never fail: log and carry on
            logger.exception("the error handler failed")

    def redact(self, text: str) -> str:
        """``text`` without the token or the webhook secret."""
        return self._redactor.redact(text)

    async def _handle(self, update: object, context: Context, error: BaseException | None) -> None:
        if is_not_modified(error):
            logger.debug("ignored: %s", error)
            return
        chat_id = update.effective_chat.id if isinstance(update, Update) and update.effective_chat else None
        where = f"update {update.update_id} in chat {chat_id}" if isinstance(update, Update) else "no update"
        exc_info = (type(error), error, error.__traceback__) if error is not None else None
        if is_operational(error):
            logger.warning("error while handling an update (%s): %s", where, error, exc_info=exc_info)
        else:
            logger.error("error while handling an update (%s)", where, exc_info=exc_info)
        if chat_id is not None and not isinstance(error, Forbidden | RetryAfter):
            await self._apologise(context, chat_id)
        if not is_operational(error) and self.settings.error_chat_id is not None:
            await self._report(update, context, error)

    async def _apologise(self, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        try:
            await context.bot.send_message(chat_id, ERROR_APOLOGY_HTML)
        except TelegramError as exc:
            logger.warning("could not send the apology to chat %s: %s", chat_id, exc)

    async def _report(self, update: object, context: Context, error: BaseException | None) -> None:
        signature = f"{type(error).__name__}: {error}"
        now = self.clock()
        last = self._reported.get(signature)
        if last is not None and now - last < REPORT_COOLDOWN:
            logger.debug("error already reported %.0fs ago: %s", now - last, signature)
            return
        if len(self._reported) >= _MAX_SIGNATURES:
            self._reported.clear()
        self._reported[signature] = now
        try:
            await context.bot.send_message(self.settings.error_chat_id, self.report_html(update, error))
        except TelegramError as exc:
            logger.warning("could not send the error report to %s: %s", self.settings.error_chat_id, exc)

    def report_html(self, update: object, error: BaseException | None) -> str:
        """A short HTML report (under Telegram's limit): the error, the update's ids, the traceback's end.

        People's words stay out of it: the update is described by its ids only, and any
        text of the update that shows up in the error or the traceback is blanked.
        """
        words = RedactingFilter(_user_texts(update))
        name = type(error).__name__ if error is not None else "Error"
        summary = _truncate(words.redact(self.redact(f"{name}: {error}")), _SUMMARY_LIMIT)
        update_text = _truncate(describe_update(update), _UPDATE_LIMIT)
        trace = ""
        if error is not None:
            formatted = "".join(traceback.format_exception(type(error), error, error.__traceback__))
            trace = words.redact(self.redact(formatted))
        budget = REPORT_LIMIT
        while True:  # escaping can only grow the text: shrink the traceback until it fits
            text = (
                f"⚠️ <b>Tupoksi Bot: error</b>\n<code>{esc(summary)}</code>\n\n"
                f"<b>Update</b>\n<pre>{esc(update_text)}</pre>\n\n"
                f"<b>Traceback</b>\n<pre>{esc(_tail(trace, budget))}</pre>"
            )
            if utf16_length(text) <= MAX_MESSAGE_LENGTH or budget == 0:
                return text
            budget //= 2


def describe_update(update: object) -> str:
    """An update by its ids (kind, update, chat, user, message), never its text."""
    if not isinstance(update, Update):
        return f"not an update: {type(update).__name__}"
    kinds = [key for key in update.to_dict() if key != "update_id"]
    parts = [f"update {update.update_id}", f"kind {', '.join(kinds) or '?'}"]
    if update.effective_chat is not None:
        parts.append(f"chat {update.effective_chat.id} ({update.effective_chat.type})")
    if update.effective_user is not None:
        parts.append(f"user {update.effective_user.id}")
    if update.effective_message is not None:
        parts.append(f"message {update.effective_message.message_id}")
    return "; ".join(parts)


def _user_texts(update: object) -> list[str]:
    """What people wrote in ``update`` (to blank it wherever it shows up in a report)."""
    if not isinstance(update, Update):
        return []
    texts: list[str | None] = []
    message = update.effective_message
    if message is not None:
        texts += [message.text, message.caption]
    if update.callback_query is not None:
        texts.append(update.callback_query.data)
    if update.inline_query is not None:
        texts.append(update.inline_query.query)
    if update.chosen_inline_result is not None:
        texts.append(update.chosen_inline_result.query)
    return [text for text in texts if text and len(text) >= 3]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tail(text: str, limit: int) -> str:
    return text if len(text) <= limit else "…" + text[len(text) - limit + 1 :]
