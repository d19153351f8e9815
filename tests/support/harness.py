"""The one harness for in-process tests: the real application in front of the recording fake Bot API.

``async with running(kb, matcher, log, **settings) as bot``: the application built by
:func:`bot.telegram.app.build_application` (as ``tupoksi run`` builds it), started, with
a fake clock for the guards and the error handler. ``bot.send(payload)`` feeds an
update as Telegram sends it; ``bot.api`` is what the bot said. On leaving, every text
the bot sent is checked to be valid Telegram HTML within 4,096 UTF-16 units.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from telegram.ext import Application

from bot.config import Settings
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.service import QuestionLog, Service
from bot.storage import Database
from bot.telegram.app import build_application
from bot.telegram.context import BotDeps, deps
from bot.text.html import utf16_length
from tests.support import fakes
from tests.support.fakes import TOKEN, FakeRequest

ADMIN_ID = 777
# The tags Telegram's HTML parse mode accepts that the bot may use.
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a", "tg-spoiler", "blockquote"})


def valid_telegram_html(text: str) -> list[str]:
    """Problems with ``text`` as a message: HTML, allowed tags, length (empty when fine)."""
    problems = fakes.html_problems(text)
    tags = {m.group(1) for m in re.finditer(r"</?([a-z-]+)", text)}
    problems += [f"tag not allowed: {t}" for t in sorted(tags - ALLOWED_TAGS)]
    if utf16_length(text) > 4096:
        problems.append(f"{utf16_length(text)} UTF-16 units")
    if not text.strip():
        problems.append("empty")
    return problems


@dataclass
class Harness:
    """The application, what it said (``api``), where its questions went (``log``), its clock."""

    app: Application[Any, Any, Any, Any, Any, Any]
    api: FakeRequest
    log: Any
    clock: list[float] = field(default_factory=lambda: [1000.0])

    @property
    def d(self) -> BotDeps:
        """The application's dependencies."""
        return deps(self.app)

    @property
    def service(self) -> Service:
        """The service the handlers call."""
        return self.d.service

    @property
    def store(self) -> Database:
        """The database behind the question log (tests that pass one)."""
        assert isinstance(self.log, Database)
        return self.log

    async def send(self, payload: dict[str, Any]) -> None:
        """Feed one update, as Telegram would send it."""
        await self.app.process_update(fakes.to_update(payload, self.app.bot))

    async def admin(self, text: str) -> None:
        """The admin sends the command ``text`` in the private chat."""
        await self.send(fakes.command(text, user_id=ADMIN_ID))

    async def press(self, data: str, *, after: dict[str, Any] | None = None, user_id: int = ADMIN_ID) -> None:
        """Press a button with ``data`` under the message whose send parameters are ``after``."""
        pressed = fakes.bot_message((after or {}).get("text", "..."), chat=fakes.private_chat(user_id))
        if after and after.get("reply_markup"):
            pressed["reply_markup"] = after["reply_markup"]
        await self.send(fakes.callback(data, message=pressed, user_id=user_id))

    def sent(self) -> list[dict[str, Any]]:
        """Parameters of every sendMessage so far."""
        return self.api.calls("sendMessage")

    def last(self) -> str:
        """The newest text sent or edited."""
        return self.api.last_text()

    def toast(self) -> str:
        """The text of the newest answerCallbackQuery."""
        return str(self.api.calls("answerCallbackQuery")[-1].get("text", ""))

    def advance(self, seconds: float) -> None:
        """Move the guards' and the error handler's clock forward."""
        self.clock[0] += seconds


@contextlib.asynccontextmanager
async def running(
    kb: KnowledgeBase,
    matcher: Matcher | None = None,
    log: QuestionLog | None = None,
    *,
    api: FakeRequest | None = None,
    start: bool = True,
    forget_start: bool = True,
    rate_limiter: bool = True,
    **settings: Any,
) -> AsyncIterator[Harness]:
    """A built application on ``kb`` (a fresh matcher unless one is given) logging to ``log``.

    ``log`` defaults to a :class:`~tests.support.fakes.RecordingLog`. With ``start`` the
    start-up runs (``post_init``: storage, command menus; ``run_polling`` would call it)
    and shutdown runs on leaving; with ``forget_start`` the calls of start-up are forgotten. ``settings`` go to
    :class:`~bot.config.Settings`.
    """
    api = api or FakeRequest()
    log = log if log is not None else fakes.RecordingLog()
    clock = [1000.0]
    app = build_application(
        Settings(token=TOKEN, **settings),
        kb,
        matcher or Matcher(kb),
        log,
        request=api,
        updates_request=api,
        rate_limiter=rate_limiter,
        clock=lambda: clock[0],
    )
    harness = Harness(app, api, log, clock)
    async with app:
        if start:
            assert app.post_init is not None
            await app.post_init(app)
        if forget_start:
            api.reset()
        yield harness
    if start and app.post_shutdown is not None:
        await app.post_shutdown(app)
    assert not api.unexpected
    for _, params in api.records:
        if isinstance(params.get("text"), str):
            assert valid_telegram_html(params["text"]) == [], params["text"]


def with_database(kb: KnowledgeBase, log: QuestionLog, **settings: Any) -> Any:
    """:func:`running` with a real database, the admin, and no rate limits (unless ``settings``
    say otherwise): the setting of the tests that press buttons and read what was stored."""
    settings.setdefault("rate_limit_per_minute", 0)
    return running(kb, None, log, rate_limiter=False, admin_ids=frozenset({ADMIN_ID}), **settings)
