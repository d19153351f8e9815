"""The non-blocking question log: a bounded in-memory queue written in batches in the background.

Logging a question must never slow down or break an answer, so :meth:`QueryWriter.log`
only appends to the queue; a background task hands the queue to ``insert`` in batches
(one call, and so one transaction, per batch). When a write fails (locked database,
read-only file, full disk) the rows stay in memory, bounded by ``max_pending`` (oldest
dropped first), and are retried with exponential backoff.

``insert`` is the one seam to the database (:meth:`bot.storage.Database.insert_rows`);
tests replace it to count batches or to fail on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from bot.storage.records import SOURCES, LogStats, QueryRecord, to_iso

logger = logging.getLogger(__name__)

Row = tuple[Any, ...]
Insert = Callable[[list[Row]], Awaitable[int]]
"""Writes a batch of rows in one transaction; returns how many were new."""

_Pending = tuple[QueryRecord, Row]


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def record_params(record: QueryRecord) -> Row:
    """Validate and convert a record up front, so a bad one fails in ``log()``, not in a batch."""
    if record.source not in SOURCES:
        raise ValueError(f"unknown source {record.source!r}")
    if not isinstance(record.id, str) or not record.id:
        raise ValueError("query id must be a non-empty string")
    if not isinstance(record.text, str) or not isinstance(record.normalized, str):
        raise TypeError("text and normalized must be strings")
    return (
        record.id,
        to_iso(record.asked_at),
        str(record.source),
        _opt_int(record.chat_id),
        _opt_str(record.chat_type),
        _opt_int(record.user_id),
        record.text,
        record.normalized,
        1 if record.answered else 0,
        _opt_str(record.divisi_id),
        _opt_float(record.divisi_score),
        _opt_str(record.subbag_id),
        _opt_float(record.subbag_score),
        _opt_str(record.duty_ref),
        _opt_str(record.kb_version),
        _opt_float(record.latency_ms),
        _opt_str(record.reason),
        _opt_str(record.divisi_duty),
        _opt_str(record.subbag_duty),
    )


class QueryWriter:
    """Queues question records and writes them through ``insert`` in the background."""

    def __init__(
        self,
        insert: Insert,
        *,
        name: str,
        max_pending: int,
        batch_size: int,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        if max_pending < 1 or batch_size < 1:
            raise ValueError("max_pending and batch_size must be >= 1")
        self.insert = insert
        self.name = name
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._pending: deque[_Pending] = deque()
        self._in_flight: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._drain_lock = asyncio.Lock()  # one batch writer at a time (task or flush)
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._stopped = False
        self._retry_at: float | None = None
        self._backoff = retry_delay
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._failures = 0
        self._last_error: str | None = None
        self._drop_warned = False

    def start(self) -> None:
        """Start the background task (on the running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._run(), name=f"query-log-writer:{self.name}")

    @property
    def stats(self) -> LogStats:
        """A snapshot of the writer's counters."""
        return LogStats(
            pending=len(self._pending) + len(self._in_flight),
            written=self._written,
            dropped=self._dropped,
            rejected=self._rejected,
            write_failures=self._failures,
            last_error=self._last_error,
        )

    def waiting(self, question_id: str) -> QueryRecord | None:
        """The record of ``question_id`` if it is still waiting to be written."""
        for record, _ in (*self._in_flight, *self._pending):
            if record.id == question_id:
                return record
        return None

    def log(self, record: QueryRecord) -> None:
        """Queue a question for writing and return at once; never raises.

        A record that cannot be stored (unknown source, wrong types) is counted in
        ``stats.rejected`` and logged. When ``max_pending`` rows are waiting, the oldest
        is dropped (``stats.dropped``); while a batch is being written the total may
        briefly reach ``max_pending + batch_size``, and a failed batch is trimmed back.
        """
        try:
            if self._closing:
                self._dropped += 1
                logger.warning("query log is closed; question %s not logged", record.id)
                return
            params = record_params(record)
            if len(self._pending) >= self._max_pending:
                self._pending.popleft()
                self._count_drop(1)
            self._pending.append((record, params))
            self._wakeup.set()
        except Exception:
            self._rejected += 1
            logger.exception("query log: cannot log record %r", record)

    async def flush(self) -> None:
        """Write everything queued so far now (ignoring any retry backoff).

        Returns when it is written or, if the write failed, kept in memory for a retry;
        it does not raise for write failures.
        """
        if not self._stopped:
            await self._drain()

    async def stop(self) -> int:
        """Stop the background task and write what is queued; returns how many rows were lost."""
        self._closing = True
        self._wakeup.set()
        try:
            if self._task is not None:
                try:
                    await self._task
                except Exception:
                    logger.exception("query log writer failed")
            await self._drain()
        finally:
            if self._task is not None and not self._task.done():
                self._task.cancel()
                with suppress(asyncio.CancelledError):
                    await self._task
            self._stopped = True
        lost = len(self._pending)
        if lost:
            logger.error(
                "query log closed with %d unwritten question(s); they are lost (%s)", lost, self._last_error
            )
        return lost

    async def _run(self) -> None:
        """Background task: write queued rows soon after they arrive, back off after failures."""
        loop = asyncio.get_running_loop()
        while not self._closing:
            delay = None if self._retry_at is None else max(0.0, self._retry_at - loop.time())
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            self._wakeup.clear()
            if self._is_closing():
                return
            if self._retry_at is not None and loop.time() < self._retry_at:
                continue  # new rows wait for the scheduled retry
            try:
                await self._drain()
            except Exception:  # never let the writer die; _drain already counts failures
                logger.exception("query log writer: unexpected error")

    def _is_closing(self) -> bool:
        return self._closing  # re-read after an await: stop() may have run meanwhile

    async def _drain(self) -> None:
        """Write queued rows batch by batch until the queue is empty or a write fails."""
        async with self._drain_lock:
            while self._pending:
                size = min(self._batch_size, len(self._pending))
                batch = [self._pending.popleft() for _ in range(size)]
                self._in_flight = batch
                try:
                    await self._write_batch(batch)
                except asyncio.CancelledError:
                    self._requeue(batch)
                    raise
                except Exception as exc:
                    self._requeue(batch)
                    self._note_failure(exc)
                    return
                finally:
                    self._in_flight = []
                self._note_success()

    async def _write_batch(self, batch: list[_Pending]) -> None:
        """Insert a batch; if one row violates a constraint, write the others and reject it."""
        try:
            self._written += await self.insert([params for _, params in batch])
        except sqlite3.IntegrityError as exc:
            if len(batch) > 1:
                for item in batch:  # isolate the bad row; rows already written are skipped
                    await self._write_batch([item])
                return
            self._rejected += 1
            logger.error("query log: rejected question %s: %s", batch[0][0].id, exc)

    def _requeue(self, batch: list[_Pending]) -> None:
        self._pending.extendleft(reversed(batch))
        excess = len(self._pending) - self._max_pending
        for _ in range(excess):
            self._pending.popleft()
        if excess > 0:
            self._count_drop(excess)

    def _count_drop(self, count: int) -> None:
        self._dropped += count
        if not self._drop_warned:
            self._drop_warned = True
            logger.error(
                "query log: more than %d questions waiting to be written; dropping the oldest",
                self._max_pending,
            )

    def _note_failure(self, exc: Exception) -> None:
        self._failures += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        delay = self._backoff
        self._retry_at = asyncio.get_running_loop().time() + delay
        self._backoff = min(delay * 2, self._max_retry_delay)
        logger.warning(
            "query log: write failed (%s); keeping %d question(s) in memory, retry in %.1fs",
            self._last_error,
            len(self._pending),
            delay,
            exc_info=not isinstance(exc, sqlite3.Error),
        )

    def _note_success(self) -> None:
        if self._retry_at is not None:
            logger.info("query log: writing works again")
        self._retry_at = None
        self._backoff = self._retry_delay
        self._drop_warned = False
