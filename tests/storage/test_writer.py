"""The non-blocking question log: batches, concurrency, rejected rows, faults, backoff, bounds."""

from __future__ import annotations

import asyncio
import inspect
import logging
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from bot.storage import (
    Database,
    QueryWriter,
    StorageError,
    new_query_id,
    open_database,
)
from tests.support.storage import disk_full, raw, rec, store, wait_until

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


async def test_the_writer_works_with_any_insert_and_no_database() -> None:
    batches: list[list[tuple[object, ...]]] = []

    async def insert(rows: list[tuple[object, ...]]) -> int:
        batches.append(rows)
        return len(rows)

    writer = QueryWriter(
        insert, name="memory", max_pending=10, batch_size=2, retry_delay=1, max_retry_delay=1
    )
    for i in range(5):
        writer.log(rec(id=f"w{i}"))
    assert writer.waiting("w4") is not None
    await writer.flush()
    assert [len(b) for b in batches] == [2, 2, 1]
    assert [b[0] for batch in batches for b in batch] == [f"w{i}" for i in range(5)]
    assert writer.stats.written == 5 and writer.waiting("w4") is None
    assert await writer.stop() == 0


# ------------------------------------------------------------- bad rows, lost rows, recovery


async def test_a_lone_surrogate_is_stored_not_fatal_to_the_batch(qlog: Database) -> None:
    """A lone surrogate (valid JSON escape, invalid UTF-8) once failed every later batch."""
    for query_id, text in (("before", "gaji?"), ("odd", "siapa \ud800 gaji?"), ("after", "arsip?")):
        qlog.log(rec(id=query_id, text=text, normalized=text))
    await qlog.flush()
    assert qlog.stats.pending == 0 and qlog.lost == 0
    odd = await qlog.query("odd")
    assert odd is not None and odd.text == "siapa \ufffd gaji?"
    assert await qlog.count_queries() == 3


async def test_a_row_sqlite_cannot_bind_is_isolated_and_counted_as_lost(qlog: Database, caplog) -> None:
    caplog.set_level(logging.ERROR, logger="bot.storage")
    qlog.log(rec(id="fine1"))
    qlog.log(rec(id="huge", chat_id=2**70))  # no SQLite INTEGER holds it
    qlog.log(rec(id="fine2"))
    await qlog.flush()
    assert sorted(row["id"] for row in await qlog.export_rows()) == ["fine1", "fine2"]
    assert qlog.stats.rejected == 1 and qlog.lost == 1
    assert "rejected question huge: OverflowError" in caplog.text


async def test_unwritten_rows_at_close_count_as_lost(db_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = await open_database(db_path)
    disk_full(monkeypatch, log)
    log.log(rec(id="a"))
    log.log(rec(id="b"))
    await log.close()
    assert log.lost == 2


async def test_writing_resumes_within_seconds_after_a_long_fault(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many failed retries never push the next one further than max_retry_delay (2 s by default)."""
    async with await open_database(db_path) as log:
        disk_full(monkeypatch, log)
        log.log(rec(id="x"))
        for _ in range(10):  # ten failures in a row: the old backoff would wait a minute now
            await log.flush()
        retry_in = log.writer._retry_at - asyncio.get_running_loop().time()  # type: ignore[operator]
        assert 0 < retry_in <= 2.0
        monkeypatch.undo()

        async def written() -> bool:
            return await log.count_queries() == 1

        await wait_until(written, limit=5.0)  # by the writer's own retry, no flush


async def test_the_inbox_remembers_updates_and_what_is_unfinished(qlog: Database) -> None:
    first = qlog.record_received(1, '{"update_id": 1}')
    second = qlog.record_received(2, '{"update_id": 2}')
    qlog.mark_handled(1)
    await qlog.flush()
    assert first.done() and second.done()
    known, unfinished = await qlog.open_inbox()
    assert known == {1, 2} and unfinished == [(2, '{"update_id": 2}')]


async def test_an_update_handled_again_logs_its_question_once(qlog: Database, db_path: Path) -> None:
    from bot.storage.writer import current_update_id

    token = current_update_id.set(77)
    try:
        qlog.log(rec(id="first try", text="gaji?"))
        qlog.log(rec(id="after a crash", text="gaji?"))  # the same update handled again
    finally:
        current_update_id.reset(token)
    await qlog.flush()
    assert raw(db_path, "SELECT id, update_id FROM queries") == [("first try", 77)]
