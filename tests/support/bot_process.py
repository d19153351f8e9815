"""The real bot process (``python -m bot run``) against the fake Bot API server, for e2e tests."""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO_ROOT
from tests.support.fake_bot_api import Call, FakeBotApi

# Well formed (digits, colon, 35 letters/digits) but fake; recognisable in any output.
TOKEN = "123456:AAE2eFakeTokenXyz0123456789abcdEF"
TOKEN_SECRET = TOKEN.partition(":")[2]
START_TIMEOUT = 30.0
REPLY_TIMEOUT = 15.0
STOP_TIMEOUT = 20.0

# Variables that configure the bot (or could redirect its HTTP): none may leak in from
# the developer's shell or CI, the test sets what it needs.
_BOT_VARIABLES = (
    "DATABASE_PATH",
    "ADMIN_IDS",
    "KB_DIR",
    "LOG_LEVEL",
    "LOG_RETENTION_DAYS",
    "RATE_LIMIT_PER_MINUTE",
    "ALLOWED_CHAT_IDS",
    "ERROR_CHAT_ID",
)
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@dataclass
class BotProcess:
    proc: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path

    def output(self) -> str:
        """Everything the process printed so far (stdout, then stderr)."""
        return "\n".join(
            p.read_text(encoding="utf-8", errors="replace") if p.exists() else ""
            for p in (self.stdout_path, self.stderr_path)
        )


def bot_env(api: FakeBotApi, tmp_path: Path) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "WEBHOOK_"))
        and key not in _BOT_VARIABLES
        and key.upper() not in _PROXY_VARIABLES
    }
    pythonpath = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=api.base_url,
        DATABASE_PATH=str(tmp_path / "data" / "tupoksi.sqlite3"),
        ADMIN_IDS="42",
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=os.pathsep.join(pythonpath),  # fallback when the project is not installed
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def running_bot(api: FakeBotApi, tmp_path: Path, name: str = "bot", **env: str) -> Iterator[BotProcess]:
    """The real ``python -m bot run`` against ``api`` (extra settings in ``env``), killed if left running.

    It runs in an empty folder (no .env is read), output goes to files in ``tmp_path``.
    """
    environment = {**bot_env(api, tmp_path), **env}
    workdir = tmp_path / f"cwd-{name}"
    workdir.mkdir()
    out, err = tmp_path / f"{name}.stdout", tmp_path / f"{name}.stderr"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            cwd=workdir,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )
        try:
            yield BotProcess(proc, out, err)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=STOP_TIMEOUT)


def wait_while_alive(
    api: FakeBotApi, bot: BotProcess, predicate: Callable[[Call], bool], timeout: float, what: str
) -> Call:
    """``api.wait_for`` that fails at once, with the bot's output, if the process dies."""
    deadline = time.monotonic() + timeout
    while True:
        if bot.proc.poll() is not None:
            pytest.fail(
                f"the bot exited with {bot.proc.returncode} while waiting for {what}:\n" + tail(bot.output())
            )
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            pytest.fail(
                f"no {what} within {timeout}s; calls seen: "
                f"{[c.method for c in api.calls()][-20:]}\n" + tail(bot.output())
            )
        try:
            return api.wait_for(predicate, min(0.5, remaining))
        except TimeoutError:
            continue


def wait_until_ready(api: FakeBotApi, bot: BotProcess) -> None:
    """Start-up done (command menus published) and a long poll waiting at the server."""
    wait_while_alive(api, bot, lambda c: c.method == "setMyCommands", START_TIMEOUT, "setMyCommands")
    deadline = time.monotonic() + START_TIMEOUT
    while not api.polling:
        if bot.proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the bot never long-polled getUpdates:\n" + tail(bot.output()))
        try:
            api.wait_until_polling(0.5)
        except TimeoutError:
            continue


def tail(text: str, lines: int = 40) -> str:
    return "\n".join(text.splitlines()[-lines:])


def plain(text: Any) -> str:
    """HTML message text as a reader sees it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]*>", "", str(text or "")))


def message_to(chat_id: int, check: Callable[[Call], bool] = lambda c: True) -> Callable:
    def predicate(call: Call) -> bool:
        return (
            call.method == "sendMessage" and call.ok and call.params.get("chat_id") == chat_id and check(call)
        )

    return predicate


def button_count(call: Call) -> int:
    markup = call.params.get("reply_markup")
    if not isinstance(markup, dict):
        return 0
    return sum(len(row) for row in markup.get("inline_keyboard", []))


def mentions_sdm(call: Call) -> bool:
    """The message names Sub Bagian SDM, in full (private answers) or short (group answers)."""
    text = plain(call.params.get("text")).lower()
    return "sub bagian sumber daya manusia" in text or "subbag sdm" in text


BURST_TOPICS = (
    "siapa yang mengurus kenaikan gaji berkala pegawai",
    "siapa yang mengelola arsip surat masuk",
    "siapa yang menangani penataan daerah pemilihan",
    "siapa yang mengurus pengadaan logistik pemilu",
    "siapa yang mengurus sosialisasi pemilih",
)
"""Questions the burst tests cycle through, each answered by a different unit."""


def burst_question(n: int) -> str:
    """The ``n``-th question of a burst: a topic of :data:`BURST_TOPICS`, numbered to be unique."""
    return f"{BURST_TOPICS[n % len(BURST_TOPICS)]} (nomor {n})?"
