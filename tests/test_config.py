"""Settings: environment over .env, one clear sentence per problem, the token never shown."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import config
from bot.cli import main
from bot.config import (
    DEFAULT_DATABASE_PATH,
    ConfigError,
    RedactingFilter,
    Settings,
    load_settings,
    parse_dotenv,
    setup_logging,
)
from bot.knowledge.loader import DEFAULT_KB_DIR
from tests.support import REPO_ROOT, SETTINGS

TOKEN = "123456789:AAHfakeFakeFakeFakeFakeFakeFake_-12"


def _load(env: dict[str, str], dotenv: str | None = None, tmp_path: Path | None = None) -> Settings:
    path = None
    if dotenv is not None:
        assert tmp_path is not None
        path = tmp_path / ".env"
        path.write_text(dotenv, encoding="utf-8")
    return load_settings(env, dotenv_path=path)


def _problems(env: dict[str, str]) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_settings(env, dotenv_path=None)
    return info.value.problems


def test_defaults_with_only_a_token() -> None:
    settings = _load({"TELEGRAM_BOT_TOKEN": TOKEN})
    assert settings.token == TOKEN
    assert settings.database_path == DEFAULT_DATABASE_PATH == Path("data/tupoksi.sqlite3")
    assert settings.admin_ids == frozenset()
    assert settings.api_base_url is None and settings.webhook_url is None
    assert (settings.log_retention_days, settings.rate_limit_per_minute) == (365, 20)
    assert settings.allowed_chat_ids is None and settings.error_chat_id is None
    assert settings.kb_dir == DEFAULT_KB_DIR and settings.log_level == "INFO"


def test_every_setting_is_read_from_the_environment() -> None:
    settings = _load(
        {
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "DATABASE_PATH": "/var/lib/tupoksi/db.sqlite3",
            "ADMIN_IDS": " 12, 34 ,56,",
            "WEBHOOK_URL": "https://bot.example.org/tg/hook",
            "WEBHOOK_PORT": "9000",
            "WEBHOOK_SECRET": "s3cret_-X",
            "LOG_LEVEL": "debug",
            "KB_DIR": "/srv/kb",
            "LOG_RETENTION_DAYS": "30",
            "RATE_LIMIT_PER_MINUTE": "0",
            "ALLOWED_CHAT_IDS": "-100123,42",
            "ERROR_CHAT_ID": "-100999",
            "ADMIN_CHAT_ID": "-100888",
            "TZ": "Asia/Makassar",
        }
    )
    assert settings.api_base_url == "http://127.0.0.1:8081/bot"
    assert settings.base_file_url == "http://127.0.0.1:8081/file/bot"
    assert settings.database_path == Path("/var/lib/tupoksi/db.sqlite3")
    assert settings.admin_ids == frozenset({12, 34, 56})
    assert (settings.webhook_url, settings.webhook_port, settings.webhook_secret) == (
        "https://bot.example.org/tg/hook",
        9000,
        "s3cret_-X",
    )
    assert settings.webhook_path == "tg/hook"
    assert settings.log_level == "DEBUG" and settings.kb_dir == Path("/srv/kb")
    assert (settings.log_retention_days, settings.rate_limit_per_minute) == (30, 0)
    assert settings.allowed_chat_ids == frozenset({-100123, 42})
    assert settings.error_chat_id == -100999
    assert settings.admin_chat_id == -100888
    assert datetime(2026, 1, 1, tzinfo=UTC).astimezone(settings.tz).tzname() == "WITA"
    assert settings.is_admin(34) and not settings.is_admin(35) and not settings.is_admin(None)


def test_missing_token_says_what_to_do() -> None:
    (problem,) = _problems({})
    assert problem.startswith("TELEGRAM_BOT_TOKEN is not set")
    assert ".env.example" in problem and "@BotFather" in problem


@pytest.mark.parametrize(
    "token", ["abc", "123456:short", "12345:" + "x" * 29, "x123:" + "a" * 40, TOKEN + " x"]
)
def test_malformed_token_is_refused_without_echoing_it(token: str) -> None:
    (problem,) = _problems({"TELEGRAM_BOT_TOKEN": token})
    assert problem.startswith("TELEGRAM_BOT_TOKEN is malformed")
    assert token.strip() not in problem


@pytest.mark.parametrize(
    ("key", "value", "start"),
    [
        ("ADMIN_IDS", "12,abc", "ADMIN_IDS must be comma-separated integers"),
        ("ADMIN_IDS", "12;34", "ADMIN_IDS must be comma-separated integers"),
        ("ALLOWED_CHAT_IDS", "x", "ALLOWED_CHAT_IDS must be comma-separated integers"),
        ("WEBHOOK_PORT", "http", "WEBHOOK_PORT must be a whole number between 1 and 65535"),
        ("WEBHOOK_PORT", "70000", "WEBHOOK_PORT must be a whole number between 1 and 65535"),
        ("WEBHOOK_URL", "bot.example.org", "WEBHOOK_URL must be an http:// or https:// URL"),
        ("WEBHOOK_SECRET", "has space", "WEBHOOK_SECRET may only contain"),
        ("TELEGRAM_API_BASE_URL", "localhost:8081", "TELEGRAM_API_BASE_URL must be an http"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of"),
        ("LOG_RETENTION_DAYS", "0", "LOG_RETENTION_DAYS must be a whole number at least 1"),
        ("RATE_LIMIT_PER_MINUTE", "-1", "RATE_LIMIT_PER_MINUTE must be a whole number at least 0"),
        ("ERROR_CHAT_ID", "admins", "ERROR_CHAT_ID must be an integer"),
        ("ADMIN_CHAT_ID", "@admins", "ADMIN_CHAT_ID must be an integer"),
        ("TZ", "Mars/Olympus", "TZ must be an IANA time zone name"),
    ],
)
def test_each_bad_value_gets_one_clear_sentence(key: str, value: str, start: str) -> None:
    (problem,) = _problems({"TELEGRAM_BOT_TOKEN": TOKEN, key: value})
    assert problem.startswith(start)
    assert "\n" not in problem


def test_all_problems_are_reported_together() -> None:
    problems = _problems({"ADMIN_IDS": "me", "WEBHOOK_PORT": "x"})
    assert [p.split()[0] for p in problems] == ["TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "WEBHOOK_PORT"]


def test_repr_hides_the_token_and_the_webhook_secret() -> None:
    settings = _load({"TELEGRAM_BOT_TOKEN": TOKEN, "WEBHOOK_SECRET": "topsecret"})
    for text in (repr(settings), str(settings), f"{settings}"):
        assert TOKEN not in text and TOKEN.partition(":")[2] not in text
        assert "topsecret" not in text
        assert "token='<redacted>'" in text and "database_path=" in text


@pytest.mark.parametrize(
    ("base", "files"),
    [
        ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot"),
        ("https://api.example.org/bot{token}/test", "https://api.example.org/file/bot{token}/test"),
        ("http://127.0.0.1:8081/custom/", None),
    ],
)
def test_file_url_follows_the_api_url(base: str, files: str | None) -> None:
    assert Settings(token=TOKEN, api_base_url=base).base_file_url == files


# -- .env ------------------------------------------------------------------------------


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    dotenv = f"""
# a comment
export TELEGRAM_BOT_TOKEN="{TOKEN}"
ADMIN_IDS=1,2   # inline comment
DATABASE_PATH='/data/with # hash.sqlite3'
LOG_LEVEL=WARNING
WEBHOOK_PORT=
"""
    settings = _load({"LOG_LEVEL": "ERROR", "ADMIN_IDS": ""}, dotenv, tmp_path)
    assert settings.token == TOKEN
    assert settings.admin_ids == frozenset({1, 2})  # an empty variable does not hide .env
    assert settings.database_path == Path("/data/with # hash.sqlite3")
    assert settings.log_level == "ERROR"
    assert settings.webhook_port == 8443


def test_dotenv_quotes_and_escapes() -> None:
    values = parse_dotenv('A="x \\"y\\" \\n z"\nB=\'lit \\n\'\nC = spaced value \nD="a" # c\nE=p#q\n')
    assert values == {"A": 'x "y" \n z', "B": "lit \\n", "C": "spaced value", "D": "a", "E": "p#q"}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("JUST_A_WORD", "expected KEY=VALUE"),
        ('A="open', "missing closing"),
        ("1X=2", "expected KEY=VALUE"),
        ("A='x' y", "unexpected text"),
    ],
)
def test_dotenv_errors_name_file_and_line(line: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_dotenv(f"# ok\n{line}\n", ".env")
    (problem,) = info.value.problems
    assert problem.startswith(".env:2: ") and message in problem


def test_missing_dotenv_file_is_fine(tmp_path: Path) -> None:
    settings = load_settings({"TELEGRAM_BOT_TOKEN": TOKEN}, dotenv_path=tmp_path / "absent.env")
    assert settings.token == TOKEN


def test_env_example_lists_every_setting() -> None:
    text = (REPO_ROOT / ".env.example").read_text(encoding="utf-8")
    listed = parse_dotenv(text)
    # Settings the deployment files set are documented as commented-out lines (see test_deploy.py).
    commented = set(re.findall(r"^# ([A-Z_]+)=", text, flags=re.MULTILINE))
    assert set(listed) | commented == set(SETTINGS)
    assert commented == {"DATABASE_PATH", "KB_DIR"}
    assert listed["TELEGRAM_BOT_TOKEN"] == ""  # never a real token in the repository
    with pytest.raises(ConfigError, match="TELEGRAM_BOT_TOKEN is not set"):
        load_settings({}, dotenv_path=REPO_ROOT / ".env.example")


# -- logging ---------------------------------------------------------------------------


def test_redacting_filter_cleans_messages_arguments_and_tracebacks() -> None:
    redactor = RedactingFilter([TOKEN])
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "POST %s", (f"/bot{TOKEN}/getMe",), None)
    assert redactor.filter(record)
    assert record.getMessage() == "POST /bot<redacted>/getMe"
    try:
        raise RuntimeError(f"https://api.telegram.org/bot{TOKEN.replace(':', '%3A')}/x failed")
    except RuntimeError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    redactor.filter(record)
    assert record.exc_text and TOKEN.partition(":")[2] not in record.exc_text
    assert "<redacted>" in record.exc_text


def test_setup_logging_mutes_httpx_and_filters_the_root_handlers() -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, logging.getLogger("httpx").level)
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    try:
        setup_logging(Settings(token=TOKEN, log_level="DEBUG"))
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert root.level == logging.DEBUG
        assert root.handlers and all(
            any(isinstance(f, RedactingFilter) for f in h.filters) for h in root.handlers
        )
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
            handler.close()
        for handler in saved[0]:
            root.addHandler(handler)
        root.setLevel(saved[1])
        logging.getLogger("httpx").setLevel(saved[2])


# -- tupoksi run -----------------------------------------------------------------------


def test_run_without_a_token_prints_one_line_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    code = main(["run", "--env-file", str(tmp_path / "none.env")])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("tupoksi: TELEGRAM_BOT_TOKEN is not set")


def test_python_m_bot_run_with_a_malformed_token_exits_2_without_traceback(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
    env["TELEGRAM_BOT_TOKEN"] = "12345:tooshort"
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip().splitlines() == [proc.stderr.strip()]
        and "TELEGRAM_BOT_TOKEN is malformed" in proc.stderr
    )
    assert "Traceback" not in proc.stderr and "tooshort" not in proc.stderr


# -- where .env is found -----------------------------------------------------------------------


@pytest.fixture
def checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stand-in checkout (pyproject.toml beside bot/), the process in another folder."""
    root = tmp_path / "checkout"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\n", encoding="utf-8")
    monkeypatch.setattr("bot.config.CHECKOUT", root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    return root


def test_the_checkout_dotenv_is_found_from_any_folder(checkout: Path) -> None:
    (checkout / ".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nADMIN_IDS=7\n", encoding="utf-8")
    settings = load_settings({})
    assert settings.token == TOKEN and settings.admin_ids == frozenset({7})


def test_a_dotenv_in_the_working_folder_comes_first(checkout: Path) -> None:
    (checkout / ".env").write_text("ADMIN_IDS=7\n", encoding="utf-8")
    Path(".env").write_text(f"TELEGRAM_BOT_TOKEN={TOKEN}\nADMIN_IDS=8\n", encoding="utf-8")
    assert load_settings({}).admin_ids == frozenset({8})


def test_missing_token_in_an_existing_dotenv_names_that_file(checkout: Path) -> None:
    """The error no longer says to copy .env.example when .env exists."""
    (checkout / ".env").write_text("TELEGRAM_BOT_TOKEN=\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings({})
    (problem,) = info.value.problems
    assert problem == (
        f"TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in {checkout / '.env'} "
        "(or set it in the environment)"
    )


def test_missing_dotenv_names_where_it_was_looked_for(checkout: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings({})
    (problem,) = info.value.problems
    assert f"there is no .env ({Path.cwd() / '.env'} or {checkout / '.env'})" in problem
    assert "copy .env.example to .env" in problem


def test_commands_without_telegram_neither_need_nor_check_the_token() -> None:
    assert load_settings({}, dotenv_path=None, require_token=False).token == ""
    assert load_settings({"TELEGRAM_BOT_TOKEN": "junk"}, dotenv_path=None, require_token=False)
    with pytest.raises(ConfigError, match="ADMIN_IDS"):  # the other settings are still checked
        load_settings({"ADMIN_IDS": "me"}, dotenv_path=None, require_token=False)


def test_time_zone_defaults_to_jakarta_shown_as_wib() -> None:
    settings = _load({"TELEGRAM_BOT_TOKEN": TOKEN})
    moment = datetime(2026, 11, 20, 20, 5, tzinfo=UTC).astimezone(settings.tz)
    assert (moment.hour, moment.tzname()) == (3, "WIB")
    assert moment.utcoffset() == timedelta(hours=7)


def test_known_indonesian_zones_work_without_a_time_zone_database(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(name: str) -> None:
        raise config.ZoneInfoNotFoundError(name)

    monkeypatch.setattr(config, "ZoneInfo", missing)
    assert datetime(2026, 1, 1, tzinfo=UTC).astimezone(config.time_zone("Asia/Jakarta")).tzname() == "WIB"
    with pytest.raises(ValueError, match="unknown time zone"):
        config.time_zone("Europe/Berlin")
