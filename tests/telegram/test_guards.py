"""Hardening: every fault is injected, then the bot must answer, stay polite and keep serving.

In process (a recording fake of the Bot API with one-shot faults): bad input, odd
command arguments, Telegram errors (429, 400, 403, timeouts, network errors), the
global error handler and its reports, the per-user rate limit, ``ALLOWED_CHAT_IDS``,
the token in logs, and database faults behind a real query log. Then property tests
for the HTML rendering path, the broken-KB start, and one real-process run against
the fake Bot API server with faults injected over HTTP.

Every text the bot sends in these tests is checked to be valid Telegram HTML of at
most 4096 UTF-16 units.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import Application
from telegram.request import RequestData

from bot import cli
from bot.config import Settings, setup_logging
from bot.core.answer import assignment_for, build_answer
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase, Level
from bot.storage import Database, open_database
from bot.telegram import app as telegram_app
from bot.telegram.app import build_application
from bot.telegram.error_handler import ErrorHandler
from bot.telegram.guards import MAX_TRACKED, ChatGate, QuestionRateLimit
from bot.text.answers import (
    ERROR_APOLOGY_HTML,
    NON_TEXT_HTML,
    PRIVATE_BOT_HTML,
    answer_html,
    assignment_html,
    unit_not_found_html,
)
from bot.text.html import split_message, utf16_length
from tests.support import fakes
from tests.support.bot_process import START_TIMEOUT, bot_env, message_to, plain, running_bot, wait_while_alive
from tests.support.bot_process import TOKEN as E2E_TOKEN
from tests.support.fake_bot_api import FakeBotApi
from tests.support.fakes import BOT_USERNAME, GROUP_ID, TOKEN, USER_ID, ApiError, FakeRequest, buttons

ADMIN_ID = 777
ERROR_CHAT = -1009999
OTHER_GROUP = -1005550001
STRANGER = 5555
SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
TOKEN_SECRET = TOKEN.partition(":")[2]
# The tags Telegram's HTML parse mode accepts that the bot may use.
ALLOWED_TAGS = frozenset({"b", "i", "u", "s", "code", "pre", "a", "tg-spoiler", "blockquote"})
DEADLINE = 10.0


# -- the harness --------------------------------------------------------------------------


class FaultyApi(FakeRequest):
    """:class:`fakes.FakeRequest` plus one-shot faults: API errors or raised exceptions."""

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[str, deque[ApiError | Exception]] = {}

    def inject(self, method: str, *faults: ApiError | Exception) -> None:
        """The next calls of ``method`` fail with ``faults``, one each, then work again."""
        self.faults.setdefault(method, deque()).extend(faults)

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, **kwargs: Any
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        queue = self.faults.get(api_method)
        if queue:
            fault = queue.popleft()
            self.records.append((api_method, dict(request_data.parameters) if request_data else {}))
            if isinstance(fault, Exception):
                raise fault
            return fault.status, fault.body()
        return await super().do_request(url, method, request_data, **kwargs)

    def _api_leaveChat(self, params: dict[str, Any]) -> bool:
        return True

    def texts_to(self, chat_id: int) -> list[str]:
        """Texts sent to ``chat_id`` (including attempts that failed)."""
        return [p["text"] for m, p in self.records if m == "sendMessage" and int(p["chat_id"]) == chat_id]


@dataclass
class Bot:
    app: Application
    api: FaultyApi
    log: Any
    clock: list[float] = field(default_factory=lambda: [1000.0])

    async def send(self, payload: dict[str, Any]) -> None:
        await self.app.process_update(fakes.to_update(payload, self.app.bot))

    def sent(self) -> list[dict[str, Any]]:
        return self.api.calls("sendMessage")

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds


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


@pytest.fixture
def make_bot(kb: KnowledgeBase, shared_matcher: Matcher) -> Callable[..., Any]:
    """``async with make_bot(**settings) as bot``: a started application with a fake clock."""

    @contextlib.asynccontextmanager
    async def factory(query_log: Any = None, **overrides: Any) -> AsyncIterator[Bot]:
        api = FaultyApi()
        log = query_log if query_log is not None else fakes.RecordingLog()
        app = build_application(
            Settings(token=TOKEN, admin_ids=frozenset({ADMIN_ID}), **overrides),
            kb,
            shared_matcher,
            log,
            request=api,
            updates_request=api,
        )
        bot = Bot(app, api, log)
        for group in app.handlers.values():  # the guards and the error handler read this clock
            for handler in group:
                if isinstance(handler.callback, ChatGate | QuestionRateLimit):
                    handler.callback.clock = lambda: bot.clock[0]
        for callback in app.error_handlers:
            if isinstance(callback, ErrorHandler):
                callback.clock = lambda: bot.clock[0]
        async with app:
            api.reset()
            yield bot
        assert not api.unexpected
        for _, params in api.records:
            if "text" in params:
                assert valid_telegram_html(params["text"]) == [], params["text"]

    return factory


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The records the global error handler (or anything else) logged at WARNING or above."""
    caplog.set_level(logging.DEBUG, logger="bot")
    return lambda: [r for r in caplog.records if r.levelno >= logging.WARNING]


def media(kind: str, *, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message without text: a sticker, photo or voice note."""
    payload = fakes.message("x", chat=chat or fakes.private_chat(), sender=fakes.user())
    del payload["text"]
    file = {"file_id": f"F-{kind}", "file_unique_id": f"U-{kind}"}
    payload[kind] = {
        "sticker": {
            **file,
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "emoji": "👍",
        },
        "photo": [{**file, "width": 90, "height": 90}],
        "voice": {**file, "duration": 3},
    }[kind]
    return {"update_id": 10**6 + len(kind), "message": payload}


# -- bad input ----------------------------------------------------------------------------

BAD_TEXTS = {
    "whitespace": " \t \n  ",
    "emoji only": "🙂🙏🏽👨‍👩‍👧‍👦🇮🇩",
    "4096 characters": ("siapa yang mengurus arsip surat masuk " * 200)[:4096],
    "4096 emoji": "🙂" * 2048,
    "control characters": "\x00\x01\x07siapa\x1b[31m yang\x7f mengurus\r arsip?\x0c",
    "zero-width": "\u200b\u200c\u200d\ufeff\u2060",
    "zero-width inside words": "si\u200bapa yang meng\u200durus ar\ufeffsip?",
    "right-to-left": "من يتولى الأرشيف؟ \u202eكيف\u202c",
    "mixed scripts": "siapa yang ngurus 档案 и архив αρχείο 아카이브?",
    "html": '<b>arsip</b> <a href="javascript:alert(1)">x</a> &amp; </i> <script>',
    "markdown": "*arsip* _surat_ `masuk` [x](http://e.x) ~~y~~ ||z||",
    "sql": "'; DROP TABLE queries; -- OR 1=1",
    "one letter": "a",
    "one symbol": "?",
    "combining marks": "a\u0301\u0302\u0303\u0304" * 50,
    "long word": "x" * 4000,
}


@pytest.mark.parametrize("where", ["private", "group mention", "/tanya"])
@pytest.mark.parametrize("name", list(BAD_TEXTS))
async def test_bad_input_gets_a_valid_polite_reply_never_an_exception(
    make_bot: Any, errors: Any, name: str, where: str
) -> None:
    text = BAD_TEXTS[name]
    async with make_bot() as bot:
        if where == "private":
            await bot.send(fakes.private_text(text))
        elif where == "group mention":
            await bot.send(fakes.mention(f"@{BOT_USERNAME} {text}"))
        else:
            await bot.send(fakes.command(f"/tanya {text}"))
        replies = bot.sent()
        assert replies, f"no reply to {name!r} ({where})"
        for reply in replies:  # the harness also checks the HTML and the length
            assert reply["text"].strip()
    assert errors() == []


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_stickers_photos_and_voice_notes_get_asked_for_text(
    make_bot: Any, errors: Any, kind: str
) -> None:
    async with make_bot() as bot:
        await bot.send(media(kind))
        assert [p["text"] for p in bot.sent()] == [NON_TEXT_HTML]
        assert bot.log.records == []  # not a question
        # In a group, a sticker (even as a reply to the bot) is not a question: silence.
        reply = media(kind, chat=fakes.group_chat())
        reply["message"]["reply_to_message"] = fakes.bot_message()
        await bot.send(reply)
        assert len(bot.sent()) == 1
    assert errors() == []


@pytest.mark.parametrize(
    "command",
    [
        "/divisi ;DROP",
        "/subbag '; DROP TABLE queries; --",
        "/divisi <b>x</b> & </i>",
        "/divisi " + "x" * 4088,  # the longest message Telegram delivers
        "/subbag 🙂🙂🙂",
        "/divisi \u202e\u200b",
        "/start ;DROP",
        "/help 1 OR 1=1",
        "/struktur <script>",
        "/tanya \u200b\u200b",
    ],
)
async def test_odd_command_arguments_get_a_polite_usage_or_list_message(
    make_bot: Any, errors: Any, command: str
) -> None:
    async with make_bot() as bot:
        await bot.send(fakes.command(command))
        replies = bot.sent()
        assert len(replies) == 1, [r["text"][:80] for r in replies]
        text = replies[0]["text"]
        name = command.split()[0]
        if name in ("/divisi", "/subbag"):
            assert "tidak ditemukan" in text and "Pilih dari daftar" in text
            assert len(buttons(replies[0])) >= 6  # the list to pick from
        elif name == "/tanya":
            assert "Tulis" in text  # how to ask
        else:
            assert "<script>" not in text and ";DROP" not in text
    assert errors() == []


# -- Telegram API faults ------------------------------------------------------------------


@pytest.fixture
def fast_retry_after(monkeypatch: pytest.MonkeyPatch) -> float:
    """A sub-second retry_after for the fake's 429s (PTB only takes it without a warning this way)."""
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    return 0.01


async def test_429_is_retried_by_the_rate_limiter_and_the_answer_goes_out(
    make_bot: Any, errors: Any, fast_retry_after: float
) -> None:
    async with make_bot() as bot:
        bot.api.inject(
            "sendMessage", ApiError(429, "Too Many Requests: retry after 1", retry_after=fast_retry_after)
        )
        await bot.send(fakes.private_text(SDM_QUESTION))
        attempts = bot.sent()
        assert len(attempts) == 2 and attempts[0]["text"] == attempts[1]["text"]
        assert "Sumber Daya Manusia" in attempts[1]["text"]
    assert errors() == []


async def test_429_beyond_the_retries_is_logged_and_the_bot_keeps_serving(
    make_bot: Any, errors: Any, fast_retry_after: float
) -> None:
    async with make_bot() as bot:
        flood = ApiError(429, "Too Many Requests: retry after 1", retry_after=fast_retry_after)
        bot.api.inject("sendMessage", *[flood] * (telegram_app.FLOOD_RETRIES + 1))
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.sent()) == telegram_app.FLOOD_RETRIES + 1  # no apology into a flood
        assert any("error while handling an update" in r.getMessage() for r in errors())
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=4343))
        assert "Sumber Daya Manusia" in bot.api.last_text()


@pytest.mark.parametrize(
    "fault",
    [
        ApiError(403, "Forbidden: bot was blocked by the user"),
        ApiError(403, "Forbidden: bot was kicked from the supergroup chat"),
    ],
    ids=["blocked", "kicked"],
)
async def test_403_is_a_warning_without_apology_or_report(
    make_bot: Any, errors: Any, fault: ApiError
) -> None:
    async with make_bot(error_chat_id=ERROR_CHAT) as bot:
        bot.api.inject("sendMessage", fault)
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"))
        assert len(bot.sent()) == 1  # the failed answer; no apology, no report
        (record,) = errors()
        assert record.levelno == logging.WARNING and "Forbidden" in record.getMessage()
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sumber Daya Manusia" in bot.api.last_text()


@pytest.mark.parametrize(
    "fault",
    [
        TimedOut("Timed out"),
        NetworkError(f"httpx.ConnectError: https://api.telegram.org/bot{TOKEN}/sendMessage"),
    ],
    ids=["timeout", "network error"],
)
async def test_timeouts_and_network_errors_are_logged_with_traceback_and_the_user_gets_an_apology(
    make_bot: Any, errors: Any, caplog: pytest.LogCaptureFixture, fault: Exception
) -> None:
    async with make_bot(error_chat_id=ERROR_CHAT) as bot:
        bot.api.inject("sendMessage", fault)
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert bot.api.texts_to(USER_ID)[-1] == ERROR_APOLOGY_HTML
        assert bot.api.texts_to(ERROR_CHAT) == []  # nothing an admin can fix
        (record,) = errors()
        assert record.levelno == logging.WARNING and record.exc_info is not None
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sumber Daya Manusia" in bot.api.last_text()


async def test_a_bug_is_logged_apologised_for_and_reported_once_per_cooldown(
    make_bot: Any, errors: Any
) -> None:
    parse_error = ApiError(400, "Bad Request: can't parse entities: unsupported start tag")
    async with make_bot(error_chat_id=ERROR_CHAT) as bot:
        bot.api.inject("sendMessage", parse_error)
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert bot.api.texts_to(USER_ID)[-1] == ERROR_APOLOGY_HTML
        (report,) = bot.api.texts_to(ERROR_CHAT)
        assert "BadRequest" in report and "Can't parse entities" in report and "Traceback" in report
        assert SDM_QUESTION in report  # the update, for context
        (record,) = errors()
        assert record.levelno == logging.ERROR and record.exc_info is not None

        # The same error again soon: logged and apologised for, not reported again.
        bot.api.inject("sendMessage", parse_error)
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.api.texts_to(ERROR_CHAT)) == 1
        assert len(errors()) == 2
        # After the cooldown it is reported again.
        bot.advance(301)
        bot.api.inject("sendMessage", parse_error)
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.api.texts_to(ERROR_CHAT)) == 2


async def test_the_error_handler_survives_a_failing_report_and_apology(make_bot: Any, errors: Any) -> None:
    async with make_bot(error_chat_id=ERROR_CHAT) as bot:
        bot.api.inject(
            "sendMessage", ApiError(400, "Bad Request: boom"), TimedOut(), ApiError(400, "chat not found")
        )
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.sent()) == 3  # answer, apology, report: all failed, nothing raised
        messages = [r.getMessage() for r in errors()]
        assert any("could not send the apology" in m for m in messages)
        assert any("could not send the error report" in m for m in messages)
        assert not any("the error handler failed" in m for m in messages)
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sumber Daya Manusia" in bot.api.last_text()


async def test_message_not_modified_is_harmless_for_the_error_handler(
    make_bot: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    async with make_bot(error_chat_id=ERROR_CHAT) as bot:
        update = fakes.to_update(fakes.callback("u1:div-teknis"), bot.app.bot)
        await bot.app.process_error(
            update, BadRequest("Message is not modified: specified new message content")
        )
        assert bot.api.records == []  # no apology, no report
    logged = [r for r in caplog.records if r.name == "bot.telegram.error_handler"]
    assert logged and all(r.levelno == logging.DEBUG for r in logged)


async def test_pressing_the_same_button_twice_against_the_api_is_harmless(make_bot: Any, errors: Any) -> None:
    async with make_bot() as bot:
        bot.api.inject("editMessageText", ApiError(400, "Bad Request: message is not modified: same content"))
        await bot.send(fakes.callback("u1:div-teknis"))
        assert bot.api.methods() == ["answerCallbackQuery", "editMessageText"]
    assert errors() == []


def test_error_reports_stay_valid_and_short_whatever_the_error_and_update() -> None:
    handler = ErrorHandler(Settings(token=TOKEN, error_chat_id=ERROR_CHAT))
    hostile = f"<&>\"' {TOKEN} 🙂" * 800
    try:
        raise ValueError(hostile)
    except ValueError as exc:
        error = exc
    update = Update.de_json(fakes.private_text(hostile[:4096]), None)
    report = handler.report_html(update, error)
    assert valid_telegram_html(report) == []
    assert TOKEN not in report and TOKEN_SECRET not in report
    assert "ValueError" in report


# -- rate limit ---------------------------------------------------------------------------


async def test_rate_limit_gives_one_notice_per_burst_then_serves_again(make_bot: Any, errors: Any) -> None:
    async with make_bot(rate_limit_per_minute=3) as bot:
        for _ in range(3):
            await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.sent()) == 3
        for _ in range(5):  # over the limit: one notice, then silence
            await bot.send(fakes.private_text(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 4 and "Pelan-pelan" in texts[3] and "3 kali" in texts[3]
        assert len(bot.log.records) == 3  # dropped questions are not asked
        # Someone else is not affected.
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=4343))
        assert "Sumber Daya Manusia" in bot.api.last_text()
        # A minute later the user is served again, and a new burst gets a new notice.
        bot.advance(60)
        for _ in range(5):
            await bot.send(fakes.private_text(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()][5:]
        assert [("Pelan-pelan" in t) for t in texts] == [False, False, False, True]
    assert errors() == []


async def test_rate_limit_counts_group_questions_and_commands_but_not_chatter(make_bot: Any) -> None:
    async with make_bot(rate_limit_per_minute=2) as bot:
        for _ in range(10):
            await bot.send(fakes.group_text("nanti siang makan di mana?"))  # not for the bot
        await bot.send(fakes.command("/tanya@OtherBot apa", group=True))  # another bot's command
        assert bot.sent() == []
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"))
        await bot.send(fakes.command(f"/divisi@{BOT_USERNAME}", group=True))
        await bot.send(fakes.reply_to_bot(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 3 and "Pelan-pelan" in texts[2]


async def test_default_rate_limit_is_20_a_minute_and_0_turns_it_off(make_bot: Any) -> None:
    async with make_bot() as bot:
        for _ in range(21):
            await bot.send(fakes.private_text("a"))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 21 and "Pelan-pelan" in texts[20] and "20 kali" in texts[20]
    async with make_bot(rate_limit_per_minute=0) as bot:
        for _ in range(40):
            await bot.send(fakes.private_text("a"))
        assert not any("Pelan-pelan" in p["text"] for p in bot.sent())
        assert len(bot.sent()) == 40


@pytest.mark.parametrize("step", [0.01, 0.0], ids=["users come and go", "all at once"])
def test_rate_limit_memory_is_bounded(step: float) -> None:
    clock = [0.0]
    limit = QuestionRateLimit(1, clock=lambda: clock[0])
    for user_id in range(3 * MAX_TRACKED):
        clock[0] += step
        assert limit.check(user_id) == "allow"
        assert len(limit._users) <= MAX_TRACKED
    assert limit.check(3 * MAX_TRACKED - 1) == "notify"  # the newest users are still counted


# -- allowed chats ------------------------------------------------------------------------


def bot_added(chat_id: int, status: str = "member") -> dict[str, Any]:
    """A my_chat_member update: the bot's status in group ``chat_id`` changed to ``status``."""
    me = fakes.bot_user()
    return {
        "update_id": 10**7 + abs(chat_id) % 1000 + len(status),
        "my_chat_member": {
            "chat": fakes.group_chat(chat_id),
            "from": fakes.user(),
            "date": int(time.time()),
            "old_chat_member": {"user": me, "status": "left"},
            "new_chat_member": {"user": me, "status": status},
        },
    }


async def test_a_foreign_group_is_told_once_and_left(make_bot: Any, errors: Any) -> None:
    async with make_bot(allowed_chat_ids=frozenset({GROUP_ID})) as bot:
        await bot.send(bot_added(OTHER_GROUP))
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}", chat_id=OTHER_GROUP))
        await bot.send(fakes.command("/divisi", group=True, chat_id=OTHER_GROUP))
        assert bot.api.texts_to(OTHER_GROUP) == [PRIVATE_BOT_HTML]
        assert [p["chat_id"] for p in bot.api.calls("leaveChat")][:1] == [OTHER_GROUP]
        assert bot.log.records == []
        # Telegram then reports the bot left: nothing more is said.
        await bot.send(bot_added(OTHER_GROUP, status="left"))
        assert bot.api.texts_to(OTHER_GROUP) == [PRIVATE_BOT_HTML]
        # The allowed group, and private chats (the list names no user), are served.
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"))
        assert "Sumber Daya Manusia" in bot.api.texts_to(GROUP_ID)[-1]
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert "Sumber Daya Manusia" in bot.api.texts_to(STRANGER)[-1]
    assert [r for r in errors() if r.name != "bot.telegram.guards"] == []


async def test_leaving_survives_a_group_where_the_bot_cannot_write(make_bot: Any, errors: Any) -> None:
    async with make_bot(allowed_chat_ids=frozenset({GROUP_ID})) as bot:
        bot.api.inject("sendMessage", ApiError(403, "Forbidden: bot is not a member of the supergroup chat"))
        await bot.send(bot_added(OTHER_GROUP))
        assert bot.api.calls("leaveChat")
    assert not any(r.name == "bot.telegram.error_handler" for r in errors())


async def test_without_allowed_chat_ids_every_chat_is_served(make_bot: Any) -> None:
    async with make_bot() as bot:
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}", chat_id=OTHER_GROUP))
        assert "Sumber Daya Manusia" in bot.api.texts_to(OTHER_GROUP)[-1]
        assert not bot.api.calls("leaveChat")


async def test_private_chats_are_restricted_when_the_list_names_users(make_bot: Any, errors: Any) -> None:
    allowed = frozenset({GROUP_ID, USER_ID})
    async with make_bot(allowed_chat_ids=allowed, error_chat_id=ERROR_CHAT) as bot:
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sumber Daya Manusia" in bot.api.texts_to(USER_ID)[-1]
        for _ in range(3):  # a stranger is refused once, not once per message
            await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.texts_to(STRANGER) == [PRIVATE_BOT_HTML]
        bot.advance(601)
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.texts_to(STRANGER) == [PRIVATE_BOT_HTML] * 2
        await bot.send(fakes.callback("u1:div-teknis", user_id=STRANGER))
        assert bot.api.calls("answerCallbackQuery")[-1]["show_alert"] is True
        await bot.send(fakes.inline_query(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.calls("answerInlineQuery")[-1]["results"] == []
        assert not bot.api.calls("leaveChat") and bot.log.records[-1].user_id == USER_ID
        # Admins may always use the bot in private; the error chat is never left.
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=ADMIN_ID))
        assert "Sumber Daya Manusia" in bot.api.texts_to(ADMIN_ID)[-1]
        await bot.send(bot_added(ERROR_CHAT))
        assert not bot.api.calls("leaveChat")
    assert [r for r in errors() if r.name != "bot.telegram.guards"] == []


# -- the token never appears ----------------------------------------------------------------


async def test_the_token_never_appears_in_logs_or_error_reports_at_debug_level(
    kb: KnowledgeBase, shared_matcher: Matcher, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(token=TOKEN, log_level="DEBUG", error_chat_id=ERROR_CHAT)
    caplog.set_level(logging.DEBUG)
    loggers = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    setup_logging(settings)  # puts the RedactingFilter on every root handler, caplog's included
    api = FaultyApi()
    try:
        app = build_application(settings, kb, shared_matcher, request=api, updates_request=api)
        async with app:
            await app.post_init(app)
            for payload in (
                fakes.private_text(SDM_QUESTION),
                fakes.callback("u1:div-teknis"),
                fakes.inline_query(SDM_QUESTION),
                fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"),
            ):
                await app.process_update(fakes.to_update(payload, app.bot))
            # Errors whose text carries the token: a network error quoting the URL, and a bug.
            api.inject("sendMessage", NetworkError(f"connect failed: https://api.telegram.org/bot{TOKEN}/x"))
            await app.process_update(fakes.to_update(fakes.private_text(SDM_QUESTION), app.bot))
            api.inject("sendMessage", ApiError(400, f"Bad Request: token {TOKEN} in {TOKEN_SECRET}"))
            await app.process_update(fakes.to_update(fakes.private_text(SDM_QUESTION), app.bot))
    finally:
        for handler in logging.getLogger().handlers:
            handler.filters = [f for f in handler.filters if type(f).__name__ != "RedactingFilter"]
        for name, level in loggers.items():
            logging.getLogger(name).setLevel(level)
    text = caplog.text
    assert "<redacted>" in text  # the token was there to leak (PTB logs URLs at DEBUG)
    assert "Traceback" in text
    assert TOKEN not in text and TOKEN_SECRET not in text
    reports = api.texts_to(ERROR_CHAT)
    assert reports and all(TOKEN_SECRET not in r for r in reports)
    assert all(TOKEN_SECRET not in str(params) for _, params in api.records)


# -- database faults behind a real query log -------------------------------------------------


async def wait_until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until it holds; fail after :data:`DEADLINE` seconds."""
    try:
        async with asyncio.timeout(DEADLINE):
            while not predicate():  # noqa: ASYNC110 - the query log's counters have no event
                await asyncio.sleep(0.01)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


@pytest.mark.parametrize("fault", ["locked", "read-only", "disk full"])
async def test_database_faults_never_stop_the_answer_and_rows_are_retried(
    make_bot: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    path = tmp_path / "tupoksi.sqlite3"
    qlog: Database = await open_database(path, busy_timeout=0.05, retry_delay=0.05, max_pending=3)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        if fault == "locked":
            other.execute("BEGIN EXCLUSIVE")
        elif fault == "read-only":
            await qlog.connection.execute("PRAGMA query_only = ON")
        else:

            async def disk_full(rows: list[tuple[Any, ...]]) -> int:
                raise sqlite3.OperationalError("database or disk is full")

            monkeypatch.setattr(qlog.writer, "insert", disk_full)
        async with make_bot(query_log=qlog) as bot:
            for n in range(5):
                await bot.send(fakes.private_text(f"{SDM_QUESTION} {n}", user_id=9000 + n))
            assert len(bot.sent()) == 5  # every answer went out
            assert all("Sumber Daya Manusia" in p["text"] for p in bot.sent())
            await wait_until(lambda: qlog.stats.write_failures >= 1, "a failed write")
            assert qlog.stats.pending == 3 and qlog.stats.dropped == 2  # bounded, oldest dropped
            assert qlog.stats.last_error and (
                "lock" in qlog.stats.last_error
                or "only" in qlog.stats.last_error
                or "full" in qlog.stats.last_error
            )
            # The fault goes away: the waiting rows are written by the retry.
            if fault == "locked":
                other.execute("COMMIT")
            elif fault == "read-only":
                await qlog.connection.execute("PRAGMA query_only = OFF")
            else:
                monkeypatch.setattr(qlog.writer, "insert", qlog.insert_rows)
            await wait_until(lambda: qlog.stats.written == 3, "the retried rows")
    finally:
        other.close()
        await qlog.close()
    rows = sqlite3.connect(path).execute("SELECT user_id FROM queries ORDER BY user_id").fetchall()
    assert [r[0] for r in rows] == [9002, 9003, 9004]


# -- properties of the HTML rendering path ---------------------------------------------------

unicode_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=unicode_text, echo=st.booleans(), noted=st.booleans())
def test_any_question_renders_to_valid_telegram_html_parts(
    shared_matcher: Matcher, kb: KnowledgeBase, text: str, echo: bool, noted: bool
) -> None:
    result = shared_matcher.match(text)
    answer = build_answer(result, kb, shared_matcher.config.ambiguity_margin)
    pages = [
        answer_html(answer, echo_question=echo, noted=noted),
        unit_not_found_html(Level.DIVISI, text),
    ]
    for candidate in (*result.divisi[:1], *result.subbag[:1]):
        pages.append(assignment_html(kb, text, assignment_for(kb, candidate)))
    for page in pages:
        parts = split_message(page)
        assert parts
        for part in parts:
            assert valid_telegram_html(part) == [], part


# Leaves: escaped text with something visible; trees: up to three tags deep, as the bot nests.
html_leaves = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=120)
    .filter(lambda t: not t.isspace())
    .map(lambda t: html.escape(t, quote=False))
)


def html_trees(depth: int) -> st.SearchStrategy[str]:
    """Telegram HTML: text and allowed tags, nested at most ``depth`` deep."""
    if depth == 0:
        return html_leaves
    inner = html_trees(depth - 1)
    simple = st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler"])
    wrapped = st.tuples(simple, inner).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>")
    link = inner.map(lambda c: f'<a href="https://kpu.go.id/?a=1&amp;b=2">{c}</a>')
    block = inner.map(lambda c: f"<blockquote>{c}</blockquote>")
    separator = st.sampled_from(["", " ", "\n", "\n\n"])
    piece = st.tuples(st.one_of(html_leaves, wrapped, link, block), separator).map("".join)
    return st.lists(piece, min_size=1, max_size=6).map("".join)


html_documents = html_trees(3)


def _visible(html_text: str) -> str:
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]*>", "", html_text)))


@settings(max_examples=300, deadline=None)
@given(document=html_documents, limit=st.integers(min_value=200, max_value=600))
def test_split_message_keeps_every_part_valid_short_and_the_text_whole(document: str, limit: int) -> None:
    parts = split_message(document, limit)
    for part in parts:
        assert utf16_length(part) <= limit, (limit, part)
        assert fakes.html_problems(part) == [], part
    assert _visible("".join(parts)) == _visible(document)


# -- a broken knowledge base at start ---------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("id: subbag-sdm\nlevel: [oops\n", r"knowledge/units/subbag-sdm\.yaml:\d+: .*YAML"),
        (None, r"knowledge/units/subbag-sdm\.yaml:2: .*level"),
    ],
    ids=["bad YAML", "schema error"],
)
def test_a_broken_kb_at_start_exits_2_with_file_and_line(
    kb_copy: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    broken: str | None,
    expected: str,
) -> None:
    unit = kb_copy / "units" / "subbag-sdm.yaml"
    if broken is None:  # a valid YAML file with a value the schema refuses
        broken = unit.read_text(encoding="utf-8").replace("level: subbag", "level: planet", 1)
    unit.write_text(broken, encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # no .env
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)
    monkeypatch.setattr(Application, "run_polling", lambda *a, **k: pytest.fail("must not start"))
    assert cli.main(["--kb", str(kb_copy), "run"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("The knowledge base is invalid"), err
    assert re.search(expected, err), err
    assert "Traceback" not in err and TOKEN_SECRET not in err


# -- the real process, with faults injected over HTTP -----------------------------------------


def answered(call: Any) -> bool:
    return "Sumber Daya Manusia" in plain(call.params["text"])


def apologised(call: Any) -> bool:
    return "Maaf, terjadi kesalahan" in plain(call.params["text"])


@pytest.mark.e2e
def test_real_process_survives_api_faults_and_keeps_serving(tmp_path: Path) -> None:
    secret = E2E_TOKEN.partition(":")[2]
    with FakeBotApi(E2E_TOKEN) as api, running_bot(api, tmp_path, LOG_LEVEL="DEBUG") as bot:
        wait_while_alive(api, bot, lambda c: c.method == "getUpdates", START_TIMEOUT, "polling")
        api.inject_fault("getUpdates", status=502, times=2)  # Telegram hiccups
        api.inject_fault("sendMessage", status=429, retry_after=1)  # flood control
        api.send_private_text(810_001, SDM_QUESTION)
        wait_while_alive(api, bot, message_to(810_001, answered), 20, "the answer after a 429")
        api.inject_fault("sendMessage", status=403)  # this user blocked the bot
        api.send_private_text(810_002, SDM_QUESTION)
        wait_while_alive(api, bot, lambda c: c.method == "sendMessage" and c.status == 403, 20, "the 403")
        api.inject_fault("sendMessage", status=400, description="Bad Request: can't parse entities")
        api.send_private_text(810_003, SDM_QUESTION)
        wait_while_alive(api, bot, message_to(810_003, apologised), 20, "the apology after a 400")
        api.send_private_text(810_004, SDM_QUESTION)
        wait_while_alive(api, bot, message_to(810_004, answered), 20, "the next answer")
        bot.proc.send_signal(signal.SIGTERM)
        code = bot.proc.wait(timeout=20)
    output = bot.output()
    assert code == 0, output[-3000:]
    assert E2E_TOKEN not in output and secret not in output
    assert "Can't parse entities" in output and "Traceback" in output  # the bug was logged in full
    assert not [c for c in api.calls("sendMessage") if c.params.get("chat_id") == 810_002 and c.ok]


@pytest.mark.e2e
def test_a_corrupt_database_at_start_is_one_clear_error(tmp_path: Path) -> None:
    with FakeBotApi(E2E_TOKEN) as api:
        env = bot_env(api, tmp_path)
        database = Path(env["DATABASE_PATH"])
        database.parent.mkdir(parents=True)
        database.write_bytes(b"this is not a database\n" * 200)
        workdir = tmp_path / "cwd"
        workdir.mkdir()
        run = subprocess.run(
            [sys.executable, "-m", "bot", "run"],
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert run.returncode == 1, run.stderr[-3000:]
    assert f"cannot use the database {database}" in run.stderr, run.stderr[-3000:]
    assert "not a valid database" in run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert E2E_TOKEN.partition(":")[2] not in run.stderr + run.stdout
    assert not api.calls("getUpdates")  # it never started taking updates
    assert database.read_bytes() == b"this is not a database\n" * 200  # left as it was
