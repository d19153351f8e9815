"""The real process with faults: a broken KB or a corrupt database at start, API faults over HTTP."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot import cli
from bot.telegram import app as telegram_app
from tests.support.bot_process import START_TIMEOUT, bot_env, message_to, plain, running_bot, wait_while_alive
from tests.support.bot_process import TOKEN as E2E_TOKEN
from tests.support.fake_bot_api import FakeBotApi
from tests.support.fakes import TOKEN

SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
TOKEN_SECRET = TOKEN.partition(":")[2]


# -- a broken knowledge base at start ---------------------------------------------------------


@pytest.mark.parametrize(
    ("broken", "expected"),
    [
        ("id: subbag-sdm\nlevel: [oops\n", r"knowledge/units/subbag-sdm\.yaml:\d+: .*YAML"),
        (None, r"knowledge/units/subbag-sdm\.yaml:2: .*level"),
    ],
    ids=["bad YAML", "schema error"],
)
def test_a_broken_kb_at_start_exits_3_with_file_and_line(
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
    assert cli.main(["--kb", str(kb_copy), "run"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("tupoksi: invalid knowledge base: "), err
    assert all(line.startswith("tupoksi: invalid knowledge base: ") for line in err.splitlines()), err
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
    assert run.returncode == 6, run.stderr[-3000:]
    assert run.stderr.startswith(f"tupoksi: cannot use the database {database}"), run.stderr[-3000:]
    assert run.stderr.count("\n") == 1, run.stderr[-3000:]
    assert "not a valid database" in run.stderr
    assert "Traceback" not in run.stderr, run.stderr[-3000:]
    assert E2E_TOKEN.partition(":")[2] not in run.stderr + run.stdout
    assert not api.calls("getUpdates")  # it never started taking updates
    assert database.read_bytes() == b"this is not a database\n" * 200  # left as it was
