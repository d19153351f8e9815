"""Tests of the storage layer: migrations, the non-blocking log, feedback, review, reports."""

from __future__ import annotations

import asyncio
import csv
import inspect
import io
import logging
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.storage import (
    EXPORT_COLUMNS,
    MIGRATIONS,
    SCHEMA_VERSION,
    Coverage,
    Database,
    DayCount,
    LearnedPhrase,
    QueryRecord,
    SchemaTooNewError,
    StorageError,
    new_query_id,
    open_database,
)
from bot.text.exports import rows_to_csv

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


# ----------------------------------------------------------------------------- logging


def test_new_query_id_is_short_unique_hex() -> None:
    ids = {new_query_id() for _ in range(1000)}
    assert len(ids) == 1000
    for query_id in ids:
        assert 12 <= len(query_id) <= 16
        int(query_id, 16)


async def test_log_is_synchronous_and_flush_writes_all_fields(qlog: Database, db_path: Path) -> None:
    assert not inspect.iscoroutinefunction(Database.log)
    asked = datetime(2030, 1, 2, 10, 0, 0, 123456, tzinfo=UTC) - timedelta(days=3650)
    record = rec(
        id="q1",
        asked_at=asked,
        source="group",
        chat_id=-100123,
        chat_type="supergroup",
        user_id=42,
        text="Siapa urus  GAJI, ya?",
        normalized="urus gaji",
        answered=True,
        divisi_id="div-sdm-litbang",
        divisi_score=0.61,
        subbag_id="subbag-keuangan",
        subbag_score=0.93,
        duty_ref="subbag-keuangan#7",
        kb_version="sha256:beef",
        latency_ms=17.25,
    )
    assert qlog.log(record) is None
    await qlog.flush()
    assert qlog.stats.pending == 0
    assert qlog.stats.written == 1
    got = await qlog.query("q1")
    assert got == record
    (stored,) = raw(db_path, "SELECT asked_at, answered FROM queries WHERE id = 'q1'")
    assert stored == ("2020-01-05T10:00:00.123456+00:00", 1)  # UTC ISO-8601, answered as 0/1


async def test_naive_and_non_utc_times_are_stored_as_utc(qlog: Database, db_path: Path) -> None:
    wib = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=7)))
    await store(
        qlog,
        rec(id="wib", asked_at=wib),
        rec(id="naive", asked_at=datetime(2024, 5, 1, 0, 0)),  # noqa: DTZ001 - naive on purpose
    )
    rows = dict(raw(db_path, "SELECT id, asked_at FROM queries"))
    assert rows == {
        "wib": "2024-05-01T07:00:00.000000+00:00",
        "naive": "2024-05-01T00:00:00.000000+00:00",
    }


async def test_background_writer_writes_without_flush(qlog: Database) -> None:
    qlog.log(rec())

    async def written() -> bool:
        return await qlog.count_queries() == 1

    await wait_until(written)
    assert qlog.stats.pending == 0


async def test_200_concurrent_logs_all_become_rows(qlog: Database) -> None:
    async def worker(n: int) -> list[str]:
        ids = []
        for i in range(10):
            query_id = f"w{n}-{i}"
            qlog.log(rec(id=query_id, text=f"question {n} {i}"))
            ids.append(query_id)
            await asyncio.sleep(0)
        return ids

    results = await asyncio.gather(*(worker(n) for n in range(20)))
    await qlog.flush()
    assert await qlog.count_queries() == 200
    stored = {row["id"] for row in await qlog.export_rows()}
    assert stored == {query_id for ids in results for query_id in ids}
    assert qlog.stats.written == 200
    assert qlog.stats.pending == qlog.stats.dropped == qlog.stats.write_failures == 0


async def test_rows_are_written_in_batches(qlog: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    async def counting(rows: list[tuple[object, ...]]) -> int:
        calls.append(len(rows))
        return await qlog.insert_rows(rows)

    monkeypatch.setattr(qlog.writer, "insert", counting)
    for i in range(120):
        qlog.log(rec(id=f"b{i}"))
    await qlog.flush()
    assert sum(calls) == 120
    assert len(calls) == 1  # all queued before the writer ran: one transaction


async def test_batch_size_splits_transactions(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    async with await open_database(db_path, batch_size=50) as log:

        async def counting(rows: list[tuple[object, ...]]) -> int:
            calls.append(len(rows))
            return await log.insert_rows(rows)

        monkeypatch.setattr(log.writer, "insert", counting)
        for i in range(120):
            log.log(rec(id=f"b{i}"))
        await log.flush()
        assert await log.count_queries() == 120
    assert calls == [50, 50, 20]


async def test_sql_injection_text_is_stored_verbatim(qlog: Database) -> None:
    nasty = 'x\'); DROP TABLE queries; -- "quoted" ?'
    await store(qlog, rec(id="nasty", text=nasty, normalized=nasty))
    got = await qlog.query("nasty")
    assert got is not None
    assert got.text == nasty
    assert await qlog.count_queries() == 1


async def test_query_unknown_is_none(qlog: Database) -> None:
    assert await qlog.query("nope") is None


async def test_bad_records_are_rejected_without_raising(qlog: Database, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="bot.storage")
    qlog.log(rec(id="bad-source", source="supergroup"))
    qlog.log(rec(id="bad-text", text=None))
    qlog.log("not a record")  # type: ignore[arg-type]
    qlog.log(rec(id="good"))
    await qlog.flush()
    assert qlog.stats.rejected == 3
    assert await qlog.count_queries() == 1
    assert await qlog.query("good") is not None
    assert "cannot log record" in caplog.text


async def test_duplicate_id_is_written_once(qlog: Database) -> None:
    await store(qlog, rec(id="dup", text="first"))
    await store(qlog, rec(id="dup", text="second"))
    got = await qlog.query("dup")
    assert got is not None
    assert got.text == "first"
    assert await qlog.count_queries() == 1
    assert qlog.stats.written == 1


async def test_retry_after_a_commit_that_did_land_is_harmless(
    qlog: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    failures = [1]

    async def lands_but_reports_failure(rows: list[tuple[object, ...]]) -> int:
        written = await qlog.insert_rows(rows)
        if failures:
            failures.pop()
            raise sqlite3.OperationalError("disk I/O error")
        return written

    monkeypatch.setattr(qlog.writer, "insert", lands_but_reports_failure)
    for i in range(3):
        qlog.log(rec(id=f"l{i}"))
    await qlog.flush()
    assert qlog.stats.pending == 3  # kept for retry although the rows are in the file
    await qlog.flush()
    assert qlog.stats.pending == 0
    assert qlog.stats.rejected == 0  # the retry is idempotent, nothing is thrown away
    assert await qlog.count_queries() == 3


async def test_log_after_close_does_not_raise(db_path: Path) -> None:
    log = await open_database(db_path)
    await log.close()
    await log.close()  # idempotent
    assert log.log(rec()) is None
    assert log.stats.dropped == 1
    with pytest.raises(StorageError, match="closed"):
        await log.count_queries()


async def test_close_writes_what_is_queued(db_path: Path) -> None:
    log = await open_database(db_path)
    for i in range(30):
        log.log(rec(id=f"c{i}"))
    await log.close()
    assert raw(db_path, "SELECT COUNT(*) FROM queries") == [(30,)]


# ------------------------------------------------------------------------- DB faults


def disk_full(monkeypatch: pytest.MonkeyPatch, database: Database, calls: list[int] | None = None) -> None:
    """From now on every write of ``database``'s question log fails as on a full disk."""

    async def failing(rows: list[tuple[object, ...]]) -> int:
        if calls is not None:
            calls.append(len(rows))
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(database.writer, "insert", failing)


async def test_disk_full_keeps_rows_and_retries_after_fix(
    qlog: Database, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.storage")
    disk_full(monkeypatch, qlog)
    for i in range(5):
        assert qlog.log(rec(id=f"f{i}")) is None
    await qlog.flush()  # must not raise
    stats = qlog.stats
    assert stats.write_failures >= 1
    assert stats.pending == 5
    assert "disk is full" in (stats.last_error or "")
    assert "write failed" in caplog.text
    assert await qlog.count_queries() == 0
    # the answer path can still look up a question the writer has not stored yet
    pending = await qlog.query("f3")
    assert pending is not None
    assert pending.id == "f3"

    monkeypatch.undo()
    await qlog.flush()
    assert qlog.stats.pending == 0
    assert await qlog.count_queries() == 5


async def test_exclusive_lock_by_other_connection(qlog: Database, db_path: Path) -> None:
    other = sqlite3.connect(db_path, isolation_level=None)
    try:
        other.execute("BEGIN EXCLUSIVE")
        qlog.log(rec(id="locked"))
        await qlog.flush()
        assert qlog.stats.write_failures >= 1
        assert qlog.stats.pending == 1
        assert "locked" in (qlog.stats.last_error or "")
        with pytest.raises(StorageError, match="saving feedback failed"):
            await qlog.set_feedback("locked", 1, 1)
    finally:
        other.execute("ROLLBACK")
        other.close()
    await qlog.flush()
    assert qlog.stats.pending == 0
    assert await qlog.query("locked") is not None


async def test_read_only_database(qlog: Database) -> None:
    await qlog.connection.execute("PRAGMA query_only = ON")  # writes now fail like a read-only file
    qlog.log(rec(id="ro"))
    await qlog.flush()
    assert qlog.stats.pending == 1
    assert "readonly" in (qlog.stats.last_error or "")
    await qlog.connection.execute("PRAGMA query_only = OFF")
    await qlog.flush()
    assert await qlog.count_queries() == 1


async def test_writer_retries_on_its_own_after_backoff(
    qlog: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk_full(monkeypatch, qlog)
    qlog.log(rec(id="auto"))

    async def failed() -> bool:
        return qlog.stats.write_failures >= 1

    await wait_until(failed)
    monkeypatch.undo()

    async def written() -> bool:
        return await qlog.count_queries() == 1

    await wait_until(written)  # no flush: the writer's retry timer did it
    assert qlog.stats.pending == 0


async def test_backoff_holds_new_rows_until_retry(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    async with await open_database(db_path, retry_delay=60) as log:
        disk_full(monkeypatch, log, calls)
        log.log(rec(id="a"))
        await log.flush()
        attempts = len(calls)
        assert attempts == 1
        for i in range(3):
            log.log(rec(id=f"later{i}"))
        await asyncio.sleep(0.1)
        assert len(calls) == attempts  # backing off: no write attempt per new row
        assert log.stats.pending == 4
        monkeypatch.undo()
        await log.flush()  # an explicit flush retries at once
        assert await log.count_queries() == 4


async def test_pending_rows_are_bounded_oldest_dropped(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with await open_database(db_path, max_pending=5, retry_delay=60) as log:
        disk_full(monkeypatch, log)
        log.log(rec(id="p00"))
        await log.flush()  # fails: the writer now backs off for a minute
        for i in range(1, 12):
            log.log(rec(id=f"p{i:02d}"))  # no flush: log() itself must keep the bound
            assert log.stats.pending <= 5
        assert log.stats.pending == 5
        assert log.stats.dropped == 7
        await log.flush()  # a failed retry keeps the bound too
        assert (log.stats.pending, log.stats.dropped) == (5, 7)
        monkeypatch.undo()
        await log.flush()
        ids = sorted(row["id"] for row in await log.export_rows())
        assert ids == ["p07", "p08", "p09", "p10", "p11"]
        assert log.stats.pending == 0


async def test_rows_logged_during_a_failing_write_keep_the_bound(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = await open_database(db_path, max_pending=5, retry_delay=60)

    async def failing_while_more_arrive(rows: list[tuple[object, ...]]) -> int:
        for i in range(3):
            log.log(rec(id=f"new{i}"))
        raise sqlite3.OperationalError("database or disk is full")

    try:
        monkeypatch.setattr(log.writer, "insert", failing_while_more_arrive)
        for i in range(5):
            log.log(rec(id=f"old{i}"))
        await log.flush()
        assert log.stats.pending == 5
        assert log.stats.dropped == 3
        monkeypatch.undo()
        await log.flush()
        ids = sorted(row["id"] for row in await log.export_rows())
        assert ids == ["new0", "new1", "new2", "old3", "old4"]
    finally:
        await log.close()


async def test_one_bad_row_does_not_block_the_batch(
    qlog: Database, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    async def constraint(rows: list[tuple[object, ...]]) -> int:
        if any(row[0] == "poison" for row in rows):
            raise sqlite3.IntegrityError("CHECK constraint failed")
        return await qlog.insert_rows(rows)

    monkeypatch.setattr(qlog.writer, "insert", constraint)
    for query_id in ("a", "poison", "b"):
        qlog.log(rec(id=query_id))
    await qlog.flush()
    assert qlog.stats.pending == 0
    assert qlog.stats.rejected == 1
    assert sorted(row["id"] for row in await qlog.export_rows()) == ["a", "b"]
    assert "rejected question poison" in caplog.text


async def test_close_with_unwritable_rows_does_not_raise(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    log = await open_database(db_path, retry_delay=60)
    disk_full(monkeypatch, log)
    log.log(rec())
    await log.close()
    assert "closed with 1 unwritten" in caplog.text


# ---------------------------------------------------------------------------- feedback


async def test_feedback_one_vote_per_user_changeable(qlog: Database, db_path: Path) -> None:
    await store(qlog, rec(id="q"))
    assert await qlog.set_feedback("q", 1, 1) == 1
    assert await qlog.set_feedback("q", 2, -1) == -1
    assert await qlog.set_feedback("q", 1, -1) == -1  # user 1 changes their mind
    assert await qlog.feedback("q") == {1: -1, 2: -1}
    assert raw(db_path, "SELECT COUNT(*) FROM feedback") == [(2,)]
    with pytest.raises(ValueError, match="vote"):
        await qlog.set_feedback("q", 1, 0)


async def test_feedback_before_the_row_is_written(qlog: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk_full(monkeypatch, qlog)
    qlog.log(rec(id="late", answered=True))
    await qlog.flush()
    assert await qlog.count_queries() == 0
    assert await qlog.set_feedback("late", 5, -1) == -1  # writer is behind: still accepted
    monkeypatch.undo()
    await qlog.flush()
    rows = {row["id"]: row["net_vote"] for row in await qlog.export_rows()}
    assert rows == {"late": -1}


# ------------------------------------------------------------------------------ review


async def test_unanswered_groups_and_ordering(qlog: Database) -> None:
    await store(
        qlog,
        rec(
            id="g1",
            normalized="urus gaji",
            text="urus gaji?",
            answered=False,
            asked_at=NOW - timedelta(hours=5),
        ),
        rec(
            id="g2",
            normalized="urus gaji",
            text="Urus GAJI",
            answered=False,
            asked_at=NOW - timedelta(hours=1),
        ),
        rec(
            id="g3",
            normalized="urus gaji",
            text="gaji siapa",
            answered=False,
            asked_at=NOW - timedelta(hours=3),
        ),
        rec(
            id="atk",
            normalized="beli atk",
            text="beli ATK",
            answered=False,
            asked_at=NOW - timedelta(hours=2),
        ),
        rec(id="ok", normalized="jadwal pemilu", answered=True, asked_at=NOW),
        rec(
            id="bad",
            normalized="logistik",
            text="Logistik?",
            answered=True,
            asked_at=NOW - timedelta(minutes=30),
        ),
        rec(id="liked", normalized="arsip", answered=True, asked_at=NOW - timedelta(minutes=10)),
    )
    await qlog.set_feedback("bad", 1, 1)
    await qlog.set_feedback("bad", 2, -1)  # one 👎 among 👍 still needs review
    await qlog.set_feedback("liked", 1, 1)
    await qlog.set_feedback("liked", 2, 1)

    groups = await qlog.unanswered(days=None, limit=10, offset=0)
    assert [g.normalized for g in groups] == ["logistik", "urus gaji", "beli atk"]
    gaji = groups[1]
    assert gaji.count == 3
    assert gaji.example == "Urus GAJI"  # the newest one
    assert gaji.ids == ("g2", "g3", "g1")
    assert gaji.last_asked == (NOW - timedelta(hours=1))
    assert gaji.downvoted == 0
    assert groups[0].downvoted == 1
    assert groups[0].ids == ("bad",)
    assert await qlog.count_unanswered_groups(None) == 3


async def test_unanswered_excludes_resolved_and_old(qlog: Database) -> None:
    await store(
        qlog,
        rec(id="old", normalized="lama", answered=False, asked_at=NOW - timedelta(days=10)),
        rec(id="new", normalized="baru", answered=False, asked_at=NOW - timedelta(days=1)),
        rec(id="fixed", normalized="diperbaiki", answered=False),
    )
    assert await qlog.mark_resolved("diperbaiki", by=99) == 1
    recent = await qlog.unanswered(days=7, limit=10, offset=0)
    assert [g.normalized for g in recent] == ["baru"]
    assert await qlog.count_unanswered_groups(7) == 1
    everything = await qlog.unanswered(days=None, limit=10, offset=0)
    assert [g.normalized for g in everything] == ["baru", "lama"]
    resolved = await qlog.query("fixed")
    assert resolved is not None
    assert resolved.resolved_by == 99
    assert resolved.resolved_at is not None


async def test_unanswered_paging(qlog: Database) -> None:
    await store(
        qlog,
        *(
            rec(
                id=f"p{i}",
                normalized=f"tanya {i}",
                answered=False,
                asked_at=NOW - timedelta(minutes=i),
            )
            for i in range(7)
        ),
    )
    assert await qlog.count_unanswered_groups(None) == 7
    pages = [await qlog.unanswered(None, limit=3, offset=off) for off in (0, 3, 6, 9)]
    assert [[g.normalized for g in page] for page in pages] == [
        ["tanya 0", "tanya 1", "tanya 2"],
        ["tanya 3", "tanya 4", "tanya 5"],
        ["tanya 6"],
        [],
    ]


async def test_mark_resolved_only_touches_rows_needing_review(qlog: Database) -> None:
    await store(
        qlog,
        rec(id="u1", normalized="gaji", answered=False),
        rec(id="u2", normalized="gaji", answered=False),
        rec(id="a1", normalized="gaji", answered=True),
        rec(id="a2", normalized="gaji", answered=True),
        rec(id="other", normalized="atk", answered=False),
    )
    await qlog.set_feedback("a2", 3, -1)
    assert await qlog.mark_resolved("gaji", by=1) == 3  # u1, u2 and the 👎 a2
    untouched = await qlog.query("a1")
    assert untouched is not None
    assert untouched.resolved_at is None
    assert await qlog.mark_resolved("gaji", by=1) == 0  # already resolved
    assert [g.normalized for g in await qlog.unanswered(None, 10, 0)] == ["atk"]


async def test_mark_resolved_includes_rows_not_yet_written(qlog: Database) -> None:
    qlog.log(rec(id="fresh", normalized="baru saja", answered=False))
    assert await qlog.mark_resolved("baru saja", by=1) == 1


# ----------------------------------------------------------------------------- learned


async def test_learned_add_list_remove(qlog: Database) -> None:
    first = await qlog.add_learned("Pengadaan ATK", "adaan atk", "subbag-umum", "subbag", 11)
    second = await qlog.add_learned("Data pemilih", "data pilih", "div-data-informasi", "divisi", 12)
    phrases = await qlog.learned_phrases()
    assert [p.id for p in phrases] == [first, second]
    assert phrases[0] == LearnedPhrase(
        id=first,
        phrase="Pengadaan ATK",
        normalized="adaan atk",
        unit_id="subbag-umum",
        level="subbag",
        created_by=11,
        created_at=phrases[0].created_at,
        removed_at=None,
    )
    assert abs(phrases[0].created_at - datetime.now(UTC)) < timedelta(minutes=1)

    removed = await qlog.remove_learned(first)
    assert removed is not None
    assert removed.id == first
    assert removed.phrase == "Pengadaan ATK"
    assert removed.removed_at is not None
    assert [p.id for p in await qlog.learned_phrases()] == [second]
    assert await qlog.remove_learned(first) is None  # already removed
    assert await qlog.remove_learned(12345) is None  # unknown

    with pytest.raises(ValueError, match="level"):
        await qlog.add_learned("x", "x", "sekretariat", "sekretariat", 1)


async def test_undoing_a_teaching_reopens_its_questions(qlog: Database) -> None:
    await store(qlog, rec(id="u", normalized="gaji", answered=False))
    learned = await qlog.add_learned("gaji", "gaji", "subbag-keuangan", "subbag", 1)
    assert await qlog.mark_resolved("gaji", by=1, learned_id=learned) == 1
    assert await qlog.unanswered(None, 10, 0) == []
    await qlog.remove_learned(learned)
    assert [g.ids for g in await qlog.unanswered(None, 10, 0)] == [("u",)]


# ----------------------------------------------------------------------------- reports


async def fill_report_data(log: Database) -> None:
    day1 = datetime(2024, 3, 1, 10, tzinfo=UTC)
    day2 = datetime(2024, 3, 2, 20, tzinfo=UTC)
    await store(
        log,
        rec(
            id="r1",
            asked_at=day1,
            answered=True,
            divisi_id="div-a",
            subbag_id="sub-x",
            duty_ref="sub-x#1",
        ),
        rec(
            id="r2",
            asked_at=day1,
            answered=True,
            divisi_id="div-a",
            subbag_id="sub-y",
            duty_ref="sub-y#2",
        ),
        rec(
            id="r3",
            asked_at=day1,
            answered=False,
            normalized="beli atk kantor",
            divisi_id="div-b",
            subbag_id=None,
            duty_ref=None,
        ),
        rec(
            id="r4",
            asked_at=day2,
            answered=True,
            divisi_id="div-b",
            subbag_id="sub-x",
            duty_ref="sub-x#1",
        ),
        rec(
            id="r5",
            asked_at=day2,
            answered=False,
            normalized="atk rusak",
            divisi_id=None,
            subbag_id=None,
            duty_ref=None,
        ),
    )
    await log.set_feedback("r1", 1, 1)
    await log.set_feedback("r1", 2, 1)
    await log.set_feedback("r2", 1, -1)
    await log.set_feedback("r4", 1, 1)


async def test_stats_numbers(qlog: Database) -> None:
    await fill_report_data(qlog)
    report = await qlog.report(None)
    assert (report.total, report.answered) == (5, 3)
    assert report.answer_rate == pytest.approx(0.6)
    assert (report.thumbs_up, report.thumbs_down) == (3, 1)
    assert report.per_day == [DayCount("2024-03-01", 3, 2), DayCount("2024-03-02", 2, 1)]
    assert report.top_divisi == [("div-a", 2), ("div-b", 1)]  # answered only: r3 not counted
    assert report.top_subbag == [("sub-x", 2), ("sub-y", 1)]
    assert report.unanswered_terms[0] == ("atk", 2)
    assert set(report.unanswered_terms) == {("atk", 2), ("beli", 1), ("kantor", 1), ("rusak", 1)}


async def test_stats_window_offset_and_empty(qlog: Database) -> None:
    empty = await qlog.report(7)
    assert (empty.total, empty.answer_rate, empty.per_day) == (0, 0.0, [])
    await fill_report_data(qlog)
    await store(qlog, rec(id="today", answered=False, normalized="hari ini"))
    recent = await qlog.report(7)
    assert (recent.total, recent.answered, recent.thumbs_up) == (1, 0, 0)
    wib = await qlog.report(None, utc_offset=timedelta(hours=7))
    # 2024-03-02 20:00 UTC is 2024-03-03 03:00 WIB
    assert [d.day for d in wib.per_day][:2] == ["2024-03-01", "2024-03-03"]


async def test_coverage_counts_answered_only(qlog: Database) -> None:
    await fill_report_data(qlog)
    coverage = await qlog.coverage()
    assert coverage == Coverage(
        units={"div-a": 2, "div-b": 1, "sub-x": 2, "sub-y": 1},
        duties={"sub-x#1": 2, "sub-y#2": 1},
    )


async def test_export_rows_have_all_columns_and_net_vote(qlog: Database) -> None:
    await fill_report_data(qlog)
    rows = await qlog.export_rows(None)
    assert [row["id"] for row in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert all(tuple(row) == EXPORT_COLUMNS for row in rows)
    votes = {row["id"]: row["net_vote"] for row in rows}
    assert votes == {"r1": 2, "r2": -1, "r3": 0, "r4": 1, "r5": 0}
    assert rows[0]["duty_ref"] == "sub-x#1"
    assert rows[0]["latency_ms"] == 12.5
    assert await qlog.export_rows(7) == []


def test_rows_to_csv_header_and_escaping() -> None:
    tricky = 'He said "hi", then\nleft; koma, kutip "'
    text = rows_to_csv([{"id": "x1", "text": tricky, "answered": 1, "net_vote": -1}])
    lines = text.splitlines()
    assert lines[0].split(",") == list(EXPORT_COLUMNS)
    assert '"He said ""hi"", then\nleft; koma, kutip """' in text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == 1
    assert parsed[0]["text"] == tricky
    assert parsed[0]["net_vote"] == "-1"
    assert parsed[0]["divisi_id"] == ""


def test_rows_to_csv_empty_and_formula_guard() -> None:
    assert rows_to_csv([]).strip() == ",".join(EXPORT_COLUMNS)
    guarded = list(csv.DictReader(io.StringIO(rows_to_csv([{"text": "=HYPERLINK(1)"}]))))
    assert guarded[0]["text"] == "'=HYPERLINK(1)"
    raw_text = rows_to_csv([{"text": "=1+1"}], guard_formulas=False)
    assert next(iter(csv.DictReader(io.StringIO(raw_text))))["text"] == "=1+1"


async def test_csv_of_real_export_round_trips(qlog: Database) -> None:
    await store(qlog, rec(id="c", text='a,b "c"\nd'))
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(await qlog.export_rows()))))
    assert parsed[0]["text"] == 'a,b "c"\nd'
    assert parsed[0]["answered"] == "1"


# --------------------------------------------------------------------------- retention


async def test_purge_older_than(qlog: Database, db_path: Path) -> None:
    await store(
        qlog,
        rec(id="old1", asked_at=NOW - timedelta(days=100)),
        rec(id="old2", asked_at=NOW - timedelta(days=40)),
        rec(id="new", asked_at=NOW - timedelta(days=5)),
    )
    await qlog.set_feedback("old1", 1, 1)
    await qlog.set_feedback("new", 1, -1)
    assert await qlog.purge_older_than(30) == 2
    assert [row["id"] for row in await qlog.export_rows()] == ["new"]
    assert raw(db_path, "SELECT query_id FROM feedback") == [("new",)]
    assert await qlog.purge_older_than(30) == 0
    with pytest.raises(ValueError, match="days"):
        await qlog.purge_older_than(-1)


async def test_purge_removes_old_orphan_feedback(qlog: Database, db_path: Path, monkeypatch) -> None:
    await qlog.set_feedback("never-written", 1, 1)
    monkeypatch.setattr(qlog, "clock", lambda: NOW + timedelta(days=60))
    assert await qlog.purge_older_than(30) == 0
    assert raw(db_path, "SELECT COUNT(*) FROM feedback") == [(0,)]


async def test_unanswered_skips_questions_declined_on_purpose(qlog: Database) -> None:
    qlog.log(rec(text="makasih", normalized="", answered=False, reason="chitchat"))
    qlog.log(rec(text="berapa dpt?", normalized="dpt", answered=False, reason="fact_question"))
    qlog.log(rec(text="parkir tamu?", normalized="parkir tamu", answered=False, reason="no_match"))
    qlog.log(rec(text="lama", normalized="lama", answered=False, reason=None))  # rows from schema v2
    await qlog.flush()
    assert sorted(g.example for g in await qlog.unanswered()) == ["lama", "parkir tamu?"]
    assert (await qlog.query((await qlog.unanswered())[0].ids[0])).reason in ("no_match", None)
