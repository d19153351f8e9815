"""Helpers of the storage tests: records with defaults, raw reads, waiting for the writer, faults."""

from __future__ import annotations

import asyncio
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.storage import (
    Database,
    QueryRecord,
)

NOW = datetime.now(UTC)


def rec(**fields: object) -> QueryRecord:
    """A question record with sensible defaults; override any field."""
    base: dict[str, object] = {
        "source": "private",
        "text": "Siapa yang mengurus gaji?",
        "normalized": "urus gaji",
        "answered": True,
        "chat_id": 100,
        "chat_type": "private",
        "user_id": 7,
        "divisi_id": "div-sdm-litbang",
        "divisi_score": 0.5,
        "subbag_id": "subbag-keuangan",
        "subbag_score": 0.9,
        "duty_ref": "subbag-keuangan#7",
        "kb_version": "abc123",
        "latency_ms": 12.5,
    }
    base.update(fields)
    return QueryRecord(**base)  # type: ignore[arg-type]


def raw(path: Path, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    """Read the database with plain sqlite3, independent of the module under test."""
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def write_garbage(path: Path) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is definitely not a database\n" * 200)


async def store(log: Database, *records: QueryRecord) -> None:
    for record in records:
        log.log(record)
    await log.flush()
    assert log.stats.pending == 0


async def wait_until(predicate, limit: float = 3.0) -> None:
    """Poll an async predicate (the background writer works on its own schedule)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)


def disk_full(monkeypatch: pytest.MonkeyPatch, database: Database, calls: list[int] | None = None) -> None:
    """From now on every write of ``database``'s question log fails as on a full disk."""

    async def failing(rows: list[tuple[object, ...]]) -> int:
        if calls is not None:
            calls.append(len(rows))
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database.writer, "insert", failing)
