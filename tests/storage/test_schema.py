"""Opening and migrating the database: folders, WAL, versions, refusal of newer or corrupt files."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import aiosqlite
import pytest

from bot.storage import (
    MIGRATIONS,
    SCHEMA_VERSION,
    Database,
    SchemaTooNewError,
    StorageError,
    open_database,
)
from bot.storage.schema import check_writable
from tests.support.storage import NOW, raw, rec, store, write_garbage

# ------------------------------------------------------------------ opening and migrations


async def test_open_creates_folder_and_applies_all_migrations(db_path: Path) -> None:
    assert not db_path.parent.exists()
    log = await open_database(db_path)
    await log.close()
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {row[0] for row in raw(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"queries", "feedback", "learned_phrases"} <= tables
    columns = {row[1] for row in raw(db_path, "PRAGMA table_info(queries)")}
    assert {"resolved_at", "resolved_by", "resolved_learned_id", "latency_ms"} <= columns


async def test_wal_foreign_keys_and_busy_timeout(qlog: Database, db_path: Path) -> None:
    assert raw(db_path, "PRAGMA journal_mode") == [("wal",)]
    assert [tuple(r) for r in await qlog.connection.execute_fetchall("PRAGMA foreign_keys")] == [(1,)]
    assert [tuple(r) for r in await qlog.connection.execute_fetchall("PRAGMA busy_timeout")] == [(100,)]


async def test_reopen_keeps_rows_and_does_not_rerun_migrations(db_path: Path) -> None:
    async with await open_database(db_path) as log:
        await store(log, rec(id="keep-me"))
    async with await open_database(db_path) as log:
        assert await log.count_queries() == 1
        assert (await log.query("keep-me")) is not None
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


V1_SCHEMA = """
CREATE TABLE queries (
    id TEXT PRIMARY KEY, asked_at TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('private', 'group', 'inline', 'cli')),
    chat_id INTEGER, chat_type TEXT, user_id INTEGER, text TEXT NOT NULL,
    normalized TEXT NOT NULL, answered INTEGER NOT NULL CHECK (answered IN (0, 1)),
    divisi_id TEXT, divisi_score REAL, subbag_id TEXT, subbag_score REAL, duty_ref TEXT,
    kb_version TEXT, latency_ms REAL
);
CREATE INDEX queries_asked_at ON queries (asked_at);
CREATE TABLE feedback (
    query_id TEXT NOT NULL, user_id INTEGER NOT NULL,
    vote INTEGER NOT NULL CHECK (vote IN (-1, 1)), voted_at TEXT NOT NULL,
    PRIMARY KEY (query_id, user_id)
);
PRAGMA user_version = 1;
"""


async def test_upgrade_from_v1_keeps_old_rows(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = sqlite3.connect(db_path)
    con.executescript(V1_SCHEMA)
    asked = (NOW - timedelta(hours=1)).isoformat(timespec="microseconds")
    con.execute(
        "INSERT INTO queries VALUES (?, ?, 'group', -5, 'supergroup', 9, 'Pengadaan ATK?',"
        " 'adaan atk', 0, NULL, NULL, 'subbag-umum', 0.2, NULL, 'old-kb', 33.0)",
        ("old-row", asked),
    )
    con.execute("INSERT INTO feedback VALUES ('old-row', 9, -1, ?)", (asked,))
    con.commit()
    con.close()

    async with await open_database(db_path) as log:
        old = await log.query("old-row")
        assert old is not None
        assert (old.text, old.source, old.chat_id, old.answered) == (
            "Pengadaan ATK?",
            "group",
            -5,
            False,
        )
        assert old.resolved_at is None
        # the new parts of the schema work on the upgraded file
        learned_id = await log.add_learned("pengadaan atk", "adaan atk", "subbag-umum", "subbag", 1)
        assert await log.mark_resolved("adaan atk", by=1, learned_id=learned_id) == 1
        assert await log.feedback("old-row") == {9: -1}
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert SCHEMA_VERSION >= 2


async def test_newer_schema_is_refused_and_left_alone(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE future (x)")
    con.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    con.commit()
    con.close()
    with pytest.raises(SchemaTooNewError, match="newer than this code"):
        await open_database(db_path)
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION + 5,)]
    assert issubclass(SchemaTooNewError, StorageError)


async def test_corrupt_file_gives_storage_error(db_path: Path) -> None:
    write_garbage(db_path)
    with pytest.raises(StorageError, match="is not a valid database"):
        await open_database(db_path)


async def test_failed_migration_rolls_back(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = sqlite3.connect(db_path)
    con.execute("CREATE TABLE queries (something_else TEXT)")  # clashes with migration 1
    con.commit()
    con.close()
    with pytest.raises(StorageError, match="schema version 1 failed"):
        await open_database(db_path)
    assert raw(db_path, "PRAGMA user_version") == [(0,)]
    tables = {row[0] for row in raw(db_path, "SELECT name FROM sqlite_master WHERE type='table'")}
    assert "feedback" not in tables


async def test_unopenable_path_gives_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot open database"):
        await open_database(tmp_path)  # a directory, not a file


async def test_in_memory_database_works() -> None:
    async with await open_database(":memory:") as log:
        await store(log, rec(id="m"))
        assert await log.count_queries() == 1


async def test_migrations_are_well_formed() -> None:
    con = sqlite3.connect(":memory:")
    for version, statements in enumerate(MIGRATIONS, start=1):
        assert statements, f"migration {version} is empty"
        for statement in statements:
            assert "user_version" not in statement.lower()
            con.execute(statement)
    con.close()


async def test_upgrade_from_v3_adds_the_dismissed_table_and_keeps_the_review_list(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    con = sqlite3.connect(db_path)
    for statements in MIGRATIONS[:3]:
        for statement in statements:
            con.execute(statement)
    con.execute("PRAGMA user_version = 3")
    asked = (NOW - timedelta(hours=1)).isoformat(timespec="microseconds")
    con.execute(
        "INSERT INTO queries (id, asked_at, source, text, normalized, answered, reason)"
        " VALUES ('v3-row', ?, 'private', 'mau tanya dong', 'mau tanya', 0, 'no_match')",
        (asked,),
    )
    con.commit()
    con.close()
    async with await open_database(db_path) as log:
        log.clock = lambda: NOW
        assert [g.normalized for g in await log.unanswered()] == ["mau tanya"]
        assert await log.dismiss("mau tanya", "mau tanya dong", by=1) is True
        assert await log.unanswered() == []
    assert raw(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION >= 4
    columns = {row[1] for row in raw(db_path, "PRAGMA table_info(dismissed)")}
    assert columns == {"normalized", "text", "dismissed_by", "dismissed_at"}
    assert "duty" in {row[1] for row in raw(db_path, "PRAGMA table_info(learned_phrases)")}  # migration 5


async def test_the_duty_of_a_learned_phrase_is_stored_and_read_back(qlog: Database) -> None:
    learned_id = await qlog.add_learned("spj perdin", "spj dinas", "subbag-keuangan", "subbag", 1)
    assert (await qlog.learned_phrases())[0].duty is None
    assert await qlog.set_learned_duty(learned_id, 5) is True
    assert (await qlog.learned_phrases())[0].duty == 5
    await qlog.remove_learned(learned_id)
    assert await qlog.set_learned_duty(learned_id, 6) is False  # removed phrases stay as they were


async def test_a_database_that_cannot_be_written_is_refused_when_checked(db_path: Path) -> None:
    """A read-only file (or mount): before, the bot started, answered and silently logged nothing.

    CI runs as root, which file modes do not stop, so SQLite's read-only mode stands in for them.
    """
    async with await open_database(db_path, check=True):
        pass  # a healthy file passes the checks
    read_only = await aiosqlite.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
    try:
        with pytest.raises(StorageError, match="cannot be written: attempt to write a readonly database"):
            await check_writable(read_only, str(db_path))
    finally:
        await read_only.close()


async def test_a_damaged_database_is_refused_when_checked(db_path: Path) -> None:
    async with await open_database(db_path) as log:
        for n in range(300):
            log.log(rec(id=f"q{n}", text="x" * 400))
    _overwrite_pages(db_path, 3, 5)
    with pytest.raises(StorageError, match=r"damaged|not a valid database"):
        await open_database(db_path, check=True)


def _overwrite_pages(path: Path, first: int, end: int, page: int = 4096) -> None:
    """Overwrite pages ``first`` to ``end`` (exclusive) with junk: damaged, header intact."""
    data = bytearray(path.read_bytes())
    data[first * page : end * page] = b"\x07" * ((end - first) * page)
    path.write_bytes(bytes(data))
