"""Fixtures of the end-to-end tests: the fake Bot API server and the real bot process."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.bot_process import TOKEN, BotProcess, running_bot
from tests.support.fake_bot_api import FakeBotApi


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as api:
        yield api


@pytest.fixture
def bot_process(fake_api: FakeBotApi, tmp_path: Path) -> Iterator[BotProcess]:
    with running_bot(fake_api, tmp_path) as bot:
        yield bot
