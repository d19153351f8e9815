"""Faults inside the process: the bot must answer, stay polite and keep serving.

Bad input and odd command arguments, Telegram errors (429, 400, 403, timeouts, network
errors), the global error handler and its reports, the token in logs, and database
faults behind a real database. Every text the bot sends is checked to be valid
Telegram HTML of at most 4096 UTF-16 units (by the harness).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.config import Settings, setup_logging
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.storage import Database, open_database
from bot.telegram import app as telegram_app
from bot.telegram.app import build_application
from bot.telegram.error_handler import ErrorHandler
from bot.text.answers import (
    ERROR_APOLOGY_HTML,
    NON_TEXT_HTML,
)
from tests.support import fakes
from tests.support.fakes import BOT_USERNAME, TOKEN, USER_ID, ApiError, FakeRequest, buttons
from tests.support.harness import valid_telegram_html

ERROR_CHAT = -1009999
SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
TOKEN_SECRET = TOKEN.partition(":")[2]
DEADLINE = 10.0


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
            assert "misalnya" in text  # how to ask, with an example
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
        assert SDM_QUESTION not in report  # people's words stay out of the admins' chat...
        assert f"chat {USER_ID} (private)" in report and f"user {USER_ID}" in report  # ...their ids do not
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


def test_error_reports_carry_ids_and_no_words_of_the_update() -> None:
    handler = ErrorHandler(Settings(token=TOKEN, error_chat_id=ERROR_CHAT))
    secret = "rapat rahasia dengan ketua tentang gaji pak budi"
    update = Update.de_json(fakes.private_text(secret), None)
    try:
        raise KeyError(secret)  # a bug whose message quotes the question
    except KeyError as exc:
        report = handler.report_html(update, exc)
    assert "rahasia" not in report and "budi" not in report
    assert f"update {update.update_id}" in report and "kind message" in report
    assert f"user {USER_ID}" in report and "KeyError" in report


# -- the token never appears ----------------------------------------------------------------


async def test_the_token_never_appears_in_logs_or_error_reports_at_debug_level(
    kb: KnowledgeBase, shared_matcher: Matcher, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(token=TOKEN, log_level="DEBUG", error_chat_id=ERROR_CHAT)
    caplog.set_level(logging.DEBUG)
    loggers = {name: logging.getLogger(name).level for name in ("httpx", "httpcore")}
    setup_logging(settings)  # puts the RedactingFilter on every root handler, caplog's included
    api = FakeRequest()
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
