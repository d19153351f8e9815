"""Every fatal start-up error is one line on stderr and its own exit code, in every subcommand.

No traceback, ever, for a problem the user can fix: a missing, malformed or rejected token,
no network, a bad setting or a malformed .env, a broken knowledge base, an unusable database.
The Telegram cases run the real process against the local fake Bot API (rejected token) and
against a loopback port nobody listens on (no network); Telegram itself is never contacted.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ExitCode
from bot.knowledge.loader import DEFAULT_KB_DIR
from bot.storage import open_database
from tests.support import SETTINGS
from tests.support.fake_bot_api import FakeBotApi

REPO = Path(__file__).resolve().parent.parent
TOKEN = "123456:AAstartupFakeTokenXyz0123456789abc"
OTHER_TOKEN = "654321:AAanotherFakeTokenXyz0123456789abc"
SUBCOMMANDS = {
    "ask": ["ask", "siapa yang mengurus arsip?"],
    "eval": ["eval", str(REPO / "tests" / "data" / "holdout.yaml")],
    "check-kb": ["check-kb"],
    "report": ["report", "stats"],
    "export-learned": ["export-learned"],
    "export": ["export"],
    "run": ["run"],
}


def one_line(err: str) -> str:
    """The only line of ``err``, which must be a ``tupoksi:`` message."""
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("tupoksi: "), err
    return lines[0]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working directory, no setting from the shell, and a valid query log."""
    for key in SETTINGS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr("bot.config.CHECKOUT", tmp_path / "no-checkout")  # no checkout .env
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    database = tmp_path / "tupoksi.sqlite3"

    async def create() -> None:
        log = await open_database(database)
        await log.close()

    asyncio.run(create())
    monkeypatch.setenv("DATABASE_PATH", str(database))
    return cwd


def _broken_kb(tmp_path: Path) -> Path:
    kb = tmp_path / "broken-kb"
    shutil.copytree(DEFAULT_KB_DIR, kb)
    (kb / "units" / "subbag-sdm.yaml").write_text("id: subbag-sdm\nlevel: [oops\n", encoding="utf-8")
    return kb


# -- in every subcommand -----------------------------------------------------------------------


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_a_malformed_env_file_is_one_line_and_exit_2(
    command: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / ".env").write_text("# settings\nTELEGRAM_BOT_TOKEN\n", encoding="utf-8")
    assert main(SUBCOMMANDS[command]) == ExitCode.CONFIG
    out, err = capsys.readouterr()
    assert one_line(err) == f"tupoksi: {workdir / '.env'}:2: expected KEY=VALUE, got 'TELEGRAM_BOT_TOKEN'"
    assert out == ""


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_a_bad_setting_is_one_line_and_exit_2(
    command: str, workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("LOG_RETENTION_DAYS", "forever")
    assert main(SUBCOMMANDS[command]) == ExitCode.CONFIG
    line = one_line(capsys.readouterr().err)
    assert line.startswith("tupoksi: LOG_RETENTION_DAYS must be a whole number")


@pytest.mark.parametrize("command", SUBCOMMANDS)
def test_a_broken_kb_is_one_line_per_problem_and_exit_3(
    command: str,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("KB_DIR", str(_broken_kb(tmp_path)))  # KB_DIR is read by every subcommand
    monkeypatch.setattr("bot.telegram.app.setup_logging", lambda settings: None)
    assert main(SUBCOMMANDS[command]) == ExitCode.KB
    err = capsys.readouterr().err
    assert "Traceback" not in err
    # One line per problem (the broken file, then what it leaves dangling), each self-contained.
    lines = err.splitlines()
    assert all(line.startswith("tupoksi: invalid knowledge base: ") for line in lines), err
    assert "units/subbag-sdm.yaml:3: invalid YAML" in lines[0]


@pytest.mark.parametrize("command", ["report", "export-learned"])
@pytest.mark.parametrize("kind", ["corrupt", "missing", "folder"])
def test_an_unusable_database_is_one_line_and_exit_6(
    command: str,
    kind: str,
    workdir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    database = tmp_path / "bad.sqlite3"
    if kind == "corrupt":
        database.write_bytes(b"this is not a database\n" * 200)
    elif kind == "folder":
        database.mkdir()
    monkeypatch.setenv("DATABASE_PATH", str(database))
    assert main(SUBCOMMANDS[command]) == ExitCode.DATABASE
    assert one_line(capsys.readouterr().err).startswith(f"tupoksi: cannot use the database {database}: ")


def test_report_and_export_learned_read_the_env_file_like_run(
    workdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DATABASE_PATH from .env, as ``run`` reads it (cli.py used to re-read .env its own way)."""
    database = os.environ["DATABASE_PATH"]
    monkeypatch.delenv("DATABASE_PATH")
    (workdir / ".env").write_text(f'export DATABASE_PATH="{database}"  # quoted\n', encoding="utf-8")
    assert main(["report", "stats"]) == 0
    assert main(["export-learned"]) == 0
    assert capsys.readouterr().err == ""


def test_commands_without_telegram_need_no_token(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("ask", "check-kb", "report", "export-learned"):
        assert main(SUBCOMMANDS[command]) == 0, command
    assert capsys.readouterr().err == ""


# -- run: the token and the network, in the real process ---------------------------------------


def _run(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    base.update(NO_PROXY="127.0.0.1,localhost", PYTHONPATH=str(REPO), **env)
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        base.pop(proxy, None)
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", str(cwd / "none.env"), "run"],
        cwd=cwd,
        env=base,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _unused_loopback_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/bot"  # closed again: nobody listens there


@pytest.mark.e2e
def test_run_with_a_token_telegram_rejects_is_one_line_and_exit_4(tmp_path: Path) -> None:
    with FakeBotApi(OTHER_TOKEN) as api:  # answers 401 Unauthorized to any other token
        run = _run(
            {
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_BASE_URL": api.base_url,
                "DATABASE_PATH": str(tmp_path / "db.sqlite3"),
            },
            tmp_path,
        )
        assert not api.calls()  # the fake answered 401 to every request of this token
    assert run.returncode == ExitCode.TOKEN_REJECTED, run.stderr[-3000:]
    assert one_line(run.stderr) == (
        "tupoksi: Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)"
    )
    assert TOKEN.partition(":")[2] not in run.stderr + run.stdout


@pytest.mark.e2e
def test_run_without_network_is_one_line_and_exit_5(tmp_path: Path) -> None:
    url = _unused_loopback_url()
    run = _run(
        {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": url, "DATABASE_PATH": str(tmp_path / "db")},
        tmp_path,
    )
    assert run.returncode == ExitCode.NETWORK, run.stderr[-3000:]
    assert one_line(run.stderr).startswith(f"tupoksi: cannot reach the Bot API at {url}: ")
    assert TOKEN.partition(":")[2] not in run.stderr + run.stdout


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "tupoksi: TELEGRAM_BOT_TOKEN is not set: "),
        ("12345:tooshort", "tupoksi: TELEGRAM_BOT_TOKEN is malformed: "),
    ],
    ids=["missing", "malformed"],
)
def test_run_with_a_missing_or_malformed_token_is_one_line_and_exit_2(
    token: str | None, message: str, tmp_path: Path
) -> None:
    run = _run({"TELEGRAM_BOT_TOKEN": token} if token else {}, tmp_path)
    assert run.returncode == ExitCode.CONFIG, run.stderr[-3000:]
    assert one_line(run.stderr).startswith(message)
