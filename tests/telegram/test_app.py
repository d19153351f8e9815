"""Building and running the application: start-up, the Bot API address, polling or webhook, a bad token."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from telegram.error import InvalidToken
from telegram.ext import Application

from bot.config import Settings
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.telegram import app as telegram_app
from bot.telegram.app import build_application, run_bot
from bot.telegram.context import deps
from bot.telegram.lifecycle import open_storage
from bot.text.answers import ADMIN_COMMANDS, PUBLIC_COMMANDS
from tests.support.fakes import TOKEN, FakeRequest
from tests.support.harness import ADMIN_ID, running
from tests.support.storage import rec

# -- start-up ---------------------------------------------------------------------------


async def test_start_up_sets_public_commands_for_everyone_and_admin_ones_for_admins(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    async with running(kb, shared_matcher, admin_ids=frozenset({ADMIN_ID, 778}), forget_start=False) as h:
        menus = {(c["scope"]["type"], c["scope"].get("chat_id")): c for c in h.api.calls("setMyCommands")}
        public = [c["command"] for c in menus[("default", None)]["commands"]]
        assert public == [name for name, _ in PUBLIC_COMMANDS]
        assert "muatulang" not in public and "reload" not in public
        for admin in (ADMIN_ID, 778):
            admin_menu = {c["command"]: c["description"] for c in menus[("chat", admin)]["commands"]}
            assert set(admin_menu) == {n for n, _ in PUBLIC_COMMANDS + ADMIN_COMMANDS}
            assert admin_menu["divisi"].startswith("Daftar Divisi")
            assert {"tinjau", "statistik", "cakupan", "ekspor", "muatulang"} <= set(admin_menu)
            assert not {"unanswered", "stats", "coverage", "export", "reload"} & set(admin_menu)


async def test_start_up_survives_an_admin_who_never_opened_the_bot(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    api = FakeRequest()
    api.fail("setMyCommands", 400, "Bad Request: chat not found")
    async with running(kb, shared_matcher, api=api, forget_start=False, admin_ids=frozenset({ADMIN_ID})):
        pass
    assert len(api.calls("setMyCommands")) == 2  # both menus tried, nothing raised


# -- building and running ---------------------------------------------------------------


async def test_api_base_url_points_the_bot_at_another_server(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    settings = Settings(token=TOKEN, api_base_url="http://127.0.0.1:8081/bot")
    app = build_application(
        settings, kb, shared_matcher, request=FakeRequest(), updates_request=FakeRequest()
    )
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert app.bot.defaults is not None and app.bot.defaults.parse_mode == "HTML"


def test_a_base_url_ending_in_a_slash_is_the_same_address(kb: KnowledgeBase, shared_matcher: Matcher) -> None:
    """PTB appends the token: ".../bot/" would give ".../bot/<token>", a 404 read as a rejected token."""
    settings = Settings(token=TOKEN, api_base_url="http://127.0.0.1:8081/bot/")
    app = build_application(
        settings, kb, shared_matcher, request=FakeRequest(), updates_request=FakeRequest()
    )
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"


def test_a_stop_that_lost_questions_says_so_and_exits_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With the disk full to the end, the lost rows are one line on stderr and exit code 6, not 0."""
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)

    async def full_disk_then_stop(app: Application) -> None:
        await open_storage(app)
        database = deps(app).service.database
        assert database is not None

        async def full(items: list[Any]) -> int:
            raise sqlite3.OperationalError("database or disk is full")

        database.writer.insert = full
        for n in range(3):
            database.log(rec(id=f"lost{n}"))

    monkeypatch.setattr(telegram_app, "serve_polling", full_disk_then_stop)
    db = tmp_path / "tupoksi.sqlite3"
    assert run_bot(Settings(token=TOKEN, database_path=db)) == 6
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"tupoksi: 3 question(s) or vote(s) could not be written to the database {db} and are lost"
        " (see the log above)"
    ]


class _Runs:
    """Stands in for PTB's run_polling/run_webhook and records how they were called."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    async def polling(self, app: Application) -> None:
        self.calls.append(("polling", {}))
        if self.error:
            raise self.error

    def webhook(self, app: Application, **kwargs: Any) -> None:
        self.calls.append(("webhook", kwargs))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> _Runs:
    recorder = _Runs()
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)  # keep pytest's logging
    # Plain functions, so they bind to the application like the methods they replace.
    monkeypatch.setattr(telegram_app, "serve_polling", recorder.polling)
    monkeypatch.setattr(Application, "run_webhook", lambda app, **kw: recorder.webhook(app, **kw))
    return recorder


def test_run_long_polls_and_stops_on_sigint_and_sigterm(runs: _Runs) -> None:
    assert run_bot(Settings(token=TOKEN)) == 0
    ((mode, _),) = runs.calls
    assert mode == "polling"
    assert {signal.SIGINT, signal.SIGTERM} <= set(telegram_app.STOP_SIGNALS)


def test_run_uses_a_webhook_when_one_is_configured(runs: _Runs) -> None:
    settings = Settings(
        token=TOKEN, webhook_url="https://bot.example.org/tg/hook", webhook_port=9000, webhook_secret="s3cret"
    )
    assert run_bot(settings) == 0
    ((mode, kwargs),) = runs.calls
    assert mode == "webhook"
    assert kwargs["webhook_url"] == "https://bot.example.org/tg/hook"
    assert (kwargs["url_path"], kwargs["port"], kwargs["secret_token"]) == ("tg/hook", 9000, "s3cret")


def test_run_with_a_rejected_token_says_so_in_one_line(
    runs: _Runs, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.error = InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    assert run_bot(Settings(token=TOKEN)) == 4
    err = capsys.readouterr().err
    assert err == "tupoksi: Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather (/token)\n"
