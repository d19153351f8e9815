"""Graceful shutdown, end to end: SIGTERM in the middle of a stream of questions.

The real ``python -m bot run`` process runs against the fake Bot API server with a
SQLite database in ``tmp_path``. Replies are slowed down so SIGTERM lands while
questions are still being answered. The bot must stop taking updates, finish the
ones it already took, write every answered question to the database and exit 0;
after a restart on the same server and database it must answer the rest, and no
question may be answered twice (PTB acknowledges what it fetched with the
``getUpdates`` offset on the way out, and the fake honours offsets).
"""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.support.bot_process import (
    START_TIMEOUT,
    STOP_TIMEOUT,
    TOKEN,
    TOKEN_SECRET,
    BotProcess,
    burst_question,
    plain,
    running_bot,
    tail,
    wait_until_ready,
    wait_while_alive,
)
from tests.support.fake_bot_api import Call, FakeBotApi

pytestmark = pytest.mark.e2e

QUESTIONS = 30
BEFORE_SIGTERM = 20  # pushed before SIGTERM; the rest arrive while the bot is stopping
REPLIES_BEFORE_SIGTERM = 5
REPLY_DELAY = 0.15  # seconds the fake takes per sendMessage: keeps work in flight at SIGTERM
FIRST_CHAT = 830_001


# DEBUG logs so the token check sees everything; no per-user limit for the burst.
QUIET_LIMITS = {"LOG_LEVEL": "DEBUG", "RATE_LIMIT_PER_MINUTE": "0"}


def stop(bot: BotProcess) -> int:
    bot.proc.send_signal(signal.SIGTERM)
    try:
        return bot.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the bot did not exit within {STOP_TIMEOUT}s of SIGTERM:\n" + tail(bot.output()))


def answers(api: FakeBotApi, chats: dict[int, str]) -> list[Call]:
    """Successful replies to our question chats."""
    return [c for c in api.calls("sendMessage") if c.ok and c.params.get("chat_id") in chats]


def wait_for_answers(
    api: FakeBotApi, bot: BotProcess, chats: dict[int, str], count: int, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while len({c.params["chat_id"] for c in answers(api, chats)}) < count:
        if bot.proc.poll() is not None:
            pytest.fail(f"the bot exited with {bot.proc.returncode}:\n" + tail(bot.output()))
        if time.monotonic() > deadline:
            got = len({c.params["chat_id"] for c in answers(api, chats)})
            pytest.fail(f"only {got} of {count} chats answered within {timeout}s:\n" + tail(bot.output()))
        try:
            api.wait_for(lambda c: c.method == "sendMessage", 0.5, since=api.mark())
        except TimeoutError:
            continue


def logged_questions(db: Path) -> Counter[tuple[int, str]]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT chat_id, text FROM queries").fetchall()
    return Counter((int(chat), text) for chat, text in rows)


def check_output(bot: BotProcess) -> None:
    output = bot.output()
    assert TOKEN not in output and TOKEN_SECRET not in output
    assert "Traceback" not in output, tail(output)


def test_sigterm_mid_stream_finishes_logs_everything_and_never_answers_twice(tmp_path: Path) -> None:
    db = tmp_path / "data" / "tupoksi.sqlite3"
    chats = {FIRST_CHAT + n: burst_question(n) for n in range(QUESTIONS)}
    with FakeBotApi(TOKEN) as api:
        api.inject_fault("sendMessage", delay=REPLY_DELAY, times=10 * QUESTIONS)

        # Run 1: questions stream in; SIGTERM once a few are answered, more arrive meanwhile.
        with running_bot(api, tmp_path, "run1", **QUIET_LIMITS) as first:
            wait_until_ready(api, first)
            items = list(chats.items())
            for chat, text in items[:BEFORE_SIGTERM]:
                api.send_private_text(chat, text)
            wait_for_answers(api, first, chats, REPLIES_BEFORE_SIGTERM, 30)
            first.proc.send_signal(signal.SIGTERM)
            answered_at_sigterm = len(answers(api, chats))
            for chat, text in items[BEFORE_SIGTERM:]:
                api.send_private_text(chat, text)
            try:
                code = first.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pytest.fail(f"no exit within {STOP_TIMEOUT}s of SIGTERM:\n" + tail(first.output()))
            assert code == 0, tail(first.output())
            check_output(first)
        run1 = answers(api, chats)
        assert answered_at_sigterm < BEFORE_SIGTERM, "SIGTERM should land while questions are in flight"
        assert len(run1) > answered_at_sigterm, "questions taken before SIGTERM must still be answered"
        # One question per chat: each answer maps to its question, which must be in the database.
        assert all("Divisi" in plain(call.params["text"]) for call in run1)
        logged = logged_questions(db)
        answered = {c.params["chat_id"] for c in run1}
        missing = [chats[chat] for chat in sorted(answered) if (chat, chats[chat]) not in logged]
        assert missing == [], f"answered but not in the database: {missing}"

        # Run 2 on the same server and database: the rest is answered, nothing twice.
        restarted_at = time.time()
        with running_bot(api, tmp_path, "run2", **QUIET_LIMITS) as second:
            # Started (signal handlers are in place once post_init publishes the menus).
            wait_while_alive(
                api,
                second,
                lambda c: c.method == "setMyCommands" and c.at >= restarted_at,
                START_TIMEOUT,
                "the restart",
            )
            wait_for_answers(api, second, chats, QUESTIONS, 60)
            assert stop(second) == 0, tail(second.output())
            check_output(second)
    per_chat = Counter(c.params["chat_id"] for c in answers(api, chats))
    assert set(per_chat) == set(chats)
    twice = {chats[chat]: n for chat, n in per_chat.items() if n > 1}
    assert twice == {}, f"answered more than once: {twice}"
    logged = logged_questions(db)
    assert logged == Counter(dict.fromkeys(chats.items(), 1))
