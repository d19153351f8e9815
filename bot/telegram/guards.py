"""Guards that run before every handler: who may use the bot, and how often.

They are PTB handlers in negative groups (PTB tries groups in ascending order), so
they see every update first and stop it with ``ApplicationHandlerStop`` when it must
go no further:

* group -2, :class:`ChatGate` — ``ALLOWED_CHAT_IDS``. In any other group (or channel)
  the bot says once :data:`~bot.text.answers.PRIVATE_BOT_HTML` and leaves. Private chats
  are restricted only when the list holds at least one user id (a positive number);
  then other people get the same sentence once per :data:`PRIVATE_NOTICE_INTERVAL`
  and their inline queries get no results. Admins (``ADMIN_IDS``) may always use
  the bot in private, and ``ERROR_CHAT_ID`` and ``ADMIN_CHAT_ID`` always count as allowed.
* group -1, :class:`QuestionRateLimit` — at most ``RATE_LIMIT_PER_MINUTE`` inputs per
  user in any 60 seconds (0: no limit): messages the bot would answer and button presses
  (example questions, "did you mean", votes, cards) count alike; inline queries, sent as
  the user types, have a budget of their own (:data:`INLINE_FACTOR` times the limit).
  The first message over the limit gets one friendly notice (a press: the same words as
  a toast); the rest are dropped (a press still gets an empty answer, an inline query no
  results) until the user is under the limit again. Admins' button presses are not
  counted (paging through the review list).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import Chat, ChatMemberUpdated, Update
from telegram.constants import ChatMemberStatus
from telegram.error import TelegramError
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    TypeHandler,
)

from bot.config import Settings
from bot.telegram.filters import ANSWERABLE
from bot.text.answers import PRIVATE_BOT_HTML, RATE_LIMIT_HTML

logger = logging.getLogger(__name__)

GATE_GROUP = -2
RATE_LIMIT_GROUP = -1
RATE_WINDOW = 60.0  # seconds
PRIVATE_NOTICE_INTERVAL = 600.0  # seconds between two refusals to the same private chat
MAX_TRACKED = 10_000  # users (rate limit) or chats (notices) kept in memory before pruning
INLINE_FACTOR = 3  # inline queries arrive while the user types: a budget of their own, larger
_GONE = (ChatMemberStatus.LEFT, ChatMemberStatus.BANNED)

Clock = Callable[[], float]


# -- allowed chats ----------------------------------------------------------------------


class ChatGate:
    """Keeps the bot to ``ALLOWED_CHAT_IDS`` (a PTB callback for a ``TypeHandler(Update)``)."""

    def __init__(self, settings: Settings, *, clock: Clock = time.monotonic) -> None:
        allowed = settings.allowed_chat_ids
        self.allowed: frozenset[int] | None = None
        if allowed is not None:
            extra = {c for c in (settings.error_chat_id, settings.admin_chat_id) if c is not None}
            self.allowed = frozenset(allowed | extra)
        self.admins = settings.admin_ids
        # Private chats are restricted only when the list names at least one user.
        self.restricts_private = allowed is not None and any(chat_id > 0 for chat_id in allowed)
        self.clock = clock
        self._told_groups: set[int] = set()
        self._told_private: dict[int, float] = {}

    def allows_group(self, chat_id: int) -> bool:
        """True when the bot may stay in group (or channel) ``chat_id``."""
        return self.allowed is None or chat_id in self.allowed

    def allows_user(self, user_id: int | None) -> bool:
        """True when ``user_id`` may use the bot in private and inline."""
        if not self.restricts_private or (user_id is not None and user_id in self.admins):
            return True
        return self.allowed is not None and user_id in self.allowed

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if self.allowed is None or not isinstance(update, Update):
            return
        chat = update.effective_chat
        if chat is None:
            user = update.effective_user
            if not self.allows_user(user.id if user else None):
                if update.inline_query is not None:
                    await _quietly(update.inline_query.answer([], cache_time=60, is_personal=True))
                raise ApplicationHandlerStop
            return
        if chat.type == Chat.PRIVATE:
            if not self.allows_user(chat.id):
                await self._refuse_private(update, context, chat.id)
                raise ApplicationHandlerStop
            return
        if not self.allows_group(chat.id):
            await self._leave_group(update, context, chat)
            raise ApplicationHandlerStop

    async def _refuse_private(self, update: Update, context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> None:
        logger.info("refused private chat %s (not in ALLOWED_CHAT_IDS)", chat_id)
        if update.callback_query is not None:
            await _quietly(update.callback_query.answer(PRIVATE_BOT_HTML, show_alert=True))
            return
        now = self.clock()
        last = self._told_private.get(chat_id)
        if last is not None and now - last < PRIVATE_NOTICE_INTERVAL:
            return
        if len(self._told_private) >= MAX_TRACKED:
            self._told_private = {
                k: v for k, v in self._told_private.items() if now - v < PRIVATE_NOTICE_INTERVAL
            }
        self._told_private[chat_id] = now
        await _quietly(context.bot.send_message(chat_id, PRIVATE_BOT_HTML))

    async def _leave_group(self, update: Update, context: ContextTypes.DEFAULT_TYPE, chat: Chat) -> None:
        member = update.my_chat_member
        if isinstance(member, ChatMemberUpdated) and member.new_chat_member.status in _GONE:
            return  # the bot was removed (or left): nothing to say, nowhere to leave
        if update.callback_query is not None:
            await _quietly(update.callback_query.answer(PRIVATE_BOT_HTML, show_alert=True))
        if chat.id not in self._told_groups:
            if len(self._told_groups) >= MAX_TRACKED:
                self._told_groups.clear()
            self._told_groups.add(chat.id)
            logger.warning("leaving %s %s (%r): not in ALLOWED_CHAT_IDS", chat.type, chat.id, chat.title)
            await _quietly(context.bot.send_message(chat.id, PRIVATE_BOT_HTML))
        await _quietly(context.bot.leave_chat(chat.id))


async def _quietly(call: object) -> None:
    """Await a Bot API call whose failure only deserves a warning (blocked, already left...)."""
    try:
        await call  # type: ignore[misc]
    except TelegramError as exc:
        logger.warning("guard: Bot API call failed: %s", exc)


# -- rate limit -------------------------------------------------------------------------


@dataclass
class _UserWindow:
    times: deque[float] = field(default_factory=deque)
    notified: bool = False


class QuestionRateLimit:
    """A sliding one-minute window per user, with one notice per burst.

    :meth:`check` says ``"allow"``, ``"notify"`` (over the limit, first time) or
    ``"drop"`` (over the limit, already told). ``per_minute <= 0`` allows everything.
    """

    def __init__(
        self, per_minute: int, *, clock: Clock = time.monotonic, window: float = RATE_WINDOW
    ) -> None:
        self.per_minute = per_minute
        self.window = window
        self.clock = clock
        self._users: dict[int, _UserWindow] = {}

    @property
    def tracked(self) -> int:
        """How many users' recent questions are kept in memory (at most :data:`MAX_TRACKED`)."""
        return len(self._users)

    def check(self, user_id: int) -> str:
        """Count one question by ``user_id`` and say what to do with it."""
        if self.per_minute <= 0:
            return "allow"
        now = self.clock()
        if len(self._users) >= MAX_TRACKED and user_id not in self._users:
            self._prune(now)
        state = self._users.setdefault(user_id, _UserWindow())
        while state.times and now - state.times[0] >= self.window:
            state.times.popleft()
        if len(state.times) < self.per_minute:
            state.times.append(now)
            state.notified = False
            return "allow"
        if state.notified:
            return "drop"
        state.notified = True
        return "notify"

    def _prune(self, now: float) -> None:
        """Forget users idle for a window; if too many are still active, the oldest half."""
        self._users = {
            uid: s for uid, s in self._users.items() if s.times and now - s.times[-1] < self.window
        }
        if len(self._users) >= MAX_TRACKED:  # a flood of distinct users: forgetting only resets them
            keep = list(self._users.items())[len(self._users) // 2 :]
            self._users = dict(keep)

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not isinstance(update, Update):
            return
        user, chat = update.effective_user, update.effective_chat
        key = user.id if user is not None else chat.id if chat is not None else None
        if key is None:
            return
        verdict = self.check(key)
        if verdict == "allow":
            return
        text = RATE_LIMIT_HTML.format(limit=self.per_minute)  # plain words: also fit a toast
        if verdict == "notify":
            logger.info("rate limit: user %s sent more than %d inputs a minute", key, self.per_minute)
        if update.callback_query is not None:  # always answered, or the button keeps spinning
            await _quietly(update.callback_query.answer(text if verdict == "notify" else None))
        elif update.inline_query is not None:
            await _quietly(update.inline_query.answer([], cache_time=0, is_personal=True))
        elif verdict == "notify" and update.effective_message is not None:
            await _quietly(update.effective_message.reply_text(text))
        raise ApplicationHandlerStop


class _UnlessAdmin:
    """Runs the rate limit for everyone but the admins (their button presses page through lists)."""

    def __init__(self, limit: QuestionRateLimit, admins: frozenset[int]) -> None:
        self.limit = limit
        self.admins = admins

    async def __call__(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user if isinstance(update, Update) else None
        if user is not None and user.id in self.admins:
            return
        await self.limit(update, context)


def guard_handlers(
    settings: Settings, *, clock: Clock = time.monotonic
) -> dict[int, Sequence[BaseHandler[Any, Any, Any]]]:
    """The guards, by handler group, for ``application.add_handlers``."""
    limit = QuestionRateLimit(settings.rate_limit_per_minute, clock=clock)
    inline = QuestionRateLimit(settings.rate_limit_per_minute * INLINE_FACTOR, clock=clock)
    return {
        GATE_GROUP: [TypeHandler(Update, ChatGate(settings, clock=clock))],
        # One handler per kind of input; one window per user for messages and presses alike.
        RATE_LIMIT_GROUP: [
            MessageHandler(ANSWERABLE, limit),
            CallbackQueryHandler(_UnlessAdmin(limit, settings.admin_ids)),
            InlineQueryHandler(inline),
            ChosenInlineResultHandler(inline),
        ],
    }
