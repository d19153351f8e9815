"""The harness of the handler tests: the real KB and matcher, an admin, a recording question log,
and for the tests that need one, a real SQLite database (``store``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.storage import Database, open_database
from tests.support.harness import ADMIN_ID, Harness, running


@pytest.fixture
async def bot(kb: KnowledgeBase, shared_matcher: Matcher) -> AsyncIterator[Harness]:
    async with running(kb, shared_matcher, admin_ids=frozenset({ADMIN_ID})) as harness:
        yield harness


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Database]:
    """A real question log in a fresh database file."""
    database = await open_database(tmp_path / "data" / "tupoksi.sqlite3")
    try:
        yield database
    finally:
        await database.close()
