"""Fixtures of the storage tests: a database file in a fresh folder, opened with short timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.storage import (
    open_database,
)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "nested" / "bot.db"


@pytest.fixture
async def qlog(db_path: Path):
    log = await open_database(db_path, retry_delay=0.05, busy_timeout=0.1)
    try:
        yield log
    finally:
        await log.close()
