"""The non-blocking writer: a bounded in-memory queue written in batches in the background.

Logging a question or a vote must never slow down or break an answer, so
:meth:`QueryWriter.log` (and :meth:`QueryWriter.put` for the other writes) only append to
the queue; a background task hands the queue to ``insert`` in batches, in order (one
call, and so one transaction, per batch). Besides question rows the queue carries the
delivery journal (:class:`Received`: an update to record before Telegram may forget it,
:class:`Handled`: an update answered) and votes (:class:`Vote`).

When the database is unavailable (locked, read-only, full disk: ``sqlite3.OperationalError``
and other errors of the database as a whole) the items stay in memory and are retried
with exponential backoff capped at ``max_retry_delay``. Question rows and votes are
bounded by ``max_pending`` (oldest dropped first); journal items are never dropped.
When one item cannot be stored (a constraint, a value SQLite cannot bind), the batch is
split and only that item is rejected. Everything dropped, rejected or unwritten at
:meth:`~QueryWriter.stop` is counted in :attr:`QueryWriter.lost`.

``insert`` is the one seam to the database (:meth:`bot.storage.Database.insert_rows`);
tests replace it to count batches or to fail on purpose.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable
from contextlib import suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from bot.storage.records import SOURCES, LogStats, QueryRecord, to_iso

logger = logging.getLogger(__name__)

current_update_id: ContextVar[int | None] = ContextVar("current_update_id", default=None)
"""The Telegram update being handled (set by the bot's update processor).

A question row logged while it is set carries that ``update_id``: when an update is
handled again after a crash, its row is not written a second time."""


@dataclass(frozen=True)
class Received:
    """A Telegram update fetched but not handled yet (the inbox row); ``done`` resolves once stored."""

    update_id: int
    payload: str
    at: str
    done: asyncio.Future[None] = field(compare=False, repr=False)


@dataclass(frozen=True)
class Handled:
    """A Telegram update is handled (answered, or skipped): never handle it again."""

    update_id: int
    at: str


@dataclass(frozen=True)
class Vote:
    """A user's 👍 (+1) or 👎 (-1) on an answer, replacing their earlier vote."""

    query_id: str
    user_id: int
    vote: int
    at: str


Row = tuple[Any, ...]
"""A question row: the parameters of the ``queries`` insert."""
Item = Row | Received | Handled | Vote
Insert = Callable[[list[Item]], Awaitable[int]]
"""Writes a batch of items in one transaction; returns how many question rows were new."""

_Pending = tuple[QueryRecord | None, Item]

# Errors of one item (its values), not of the database: that item is rejected, the rest written.
_BAD_ITEM_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.DataError,
    sqlite3.ProgrammingError,
    ValueError,
    TypeError,
    OverflowError,
)


_SURROGATE = re.compile("[\ud800-\udfff]")  # in a str every surrogate is a lone one


def clean_text(text: str) -> str:
    """``text`` storable as UTF-8: a lone surrogate (from a JSON escape) becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)


def _label(item: Item) -> str:
    if isinstance(item, Received | Handled):
        return f"update {item.update_id}"
    if isinstance(item, Vote):
        return f"vote on question {item.query_id}"
    return f"question {item[0]}"


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else clean_text(str(value))


def record_params(record: QueryRecord) -> Row:
    """Validate and convert a record up front, so a bad one fails in ``log()``, not in a batch."""
    if record.source not in SOURCES:
        raise ValueError(f"unknown source {record.source!r}")
    if not isinstance(record.id, str) or not record.id:
        raise ValueError("query id must be a non-empty string")
    if not isinstance(record.text, str) or not isinstance(record.normalized, str):
        raise TypeError("text and normalized must be strings")
    update_id = record.update_id if record.update_id is not None else current_update_id.get()
    return (
        record.id,
        to_iso(record.asked_at),
        str(record.source),
        _opt_int(record.chat_id),
        _opt_str(record.chat_type),
        _opt_int(record.user_id),
        clean_text(record.text),
        clean_text(record.normalized),
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
        _opt_int(update_id),
    )


class QueryWriter:
    """Queues question rows, votes and the delivery journal; ``insert`` writes them in the background."""

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
        self._droppable = 0  # question rows and votes among _pending (journal items are never dropped)
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
        self._unwritten = 0
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

    @property
    def lost(self) -> int:
        """Items that will never be stored: dropped, rejected, or still unwritten at :meth:`stop`."""
        return self._dropped + self._rejected + self._unwritten

    @property
    def healthy(self) -> bool:
        """False while writes are failing (the next one waits for a retry)."""
        return self._retry_at is None

    def waiting(self, question_id: str) -> QueryRecord | None:
        """The record of ``question_id`` if it is still waiting to be written."""
        for record, _ in (*self._in_flight, *self._pending):
            if record is not None and record.id == question_id:
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
            params = record_params(record)
        except Exception:
            self._rejected += 1
            logger.exception("query log: cannot log record %r", record)
            return
        self._enqueue(record, params)

    def put(self, item: Received | Handled | Vote) -> None:
        """Queue a journal item or a vote and return at once; never raises."""
        self._enqueue(None, item)

    def _enqueue(self, record: QueryRecord | None, item: Item) -> None:
        if self._closing:
            if isinstance(item, Received):
                item.done.cancel()
            else:
                self._dropped += 1
            logger.warning("query log is closed; %s not written", _label(item))
            return
        droppable = _droppable(item)
        if droppable and self._droppable >= self._max_pending:
            self._drop_oldest(1)
        self._pending.append((record, item))
        self._droppable += droppable
        self._wakeup.set()

    async def flush(self) -> None:
        """Write everything queued so far now (ignoring any retry backoff).

        Returns when it is written or, if the write failed, kept in memory for a retry;
        it does not raise for write failures.
        """
        if not self._stopped:
            await self._drain()

    async def stop(self) -> int:
        """Stop the background task and write what is queued; returns how many items were lost."""
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
        unwritten = [item for _, item in self._pending]
        for item in unwritten:
            if isinstance(item, Received):
                item.done.cancel()  # not recorded: Telegram was not told, it sends the update again
        self._unwritten = sum(_droppable(item) for item in unwritten)
        if unwritten:
            logger.error(
                "query log closed with %d unwritten item(s); they are lost (%s)",
                len(unwritten),
                self._last_error,
            )
        return self.lost

    async def _run(self) -> None:
        """Background task: write queued items soon after they arrive, back off after failures."""
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
                continue  # new items wait for the scheduled retry
            try:
                await self._drain()
            except Exception:  # never let the writer die; _drain already counts failures
                logger.exception("query log writer: unexpected error")

    def _is_closing(self) -> bool:
        return self._closing  # re-read after an await: stop() may have run meanwhile

    async def _drain(self) -> None:
        """Write queued items batch by batch until the queue is empty or a write fails."""
        async with self._drain_lock:
            while self._pending:
                size = min(self._batch_size, len(self._pending))
                batch = [self._pending.popleft() for _ in range(size)]
                self._droppable -= sum(_droppable(item) for _, item in batch)
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
        """Insert a batch; if one item cannot be stored, write the others and reject it."""
        try:
            self._written += await self.insert([item for _, item in batch])
        except _BAD_ITEM_ERRORS as exc:
            if len(batch) > 1:
                for pending in batch:  # isolate the bad item; items already written are skipped
                    await self._write_batch([pending])
                return
            self._rejected += 1
            item = batch[0][1]
            if isinstance(item, Received):
                item.done.set_exception(exc)
            logger.error("query log: rejected %s: %s: %s", _label(item), type(exc).__name__, exc)
            return
        for _, item in batch:
            if isinstance(item, Received) and not item.done.done():
                item.done.set_result(None)

    def _requeue(self, batch: list[_Pending]) -> None:
        self._pending.extendleft(reversed(batch))
        self._droppable += sum(_droppable(item) for _, item in batch)
        excess = self._droppable - self._max_pending
        if excess > 0:
            self._drop_oldest(excess)

    def _drop_oldest(self, count: int) -> None:
        """Drop the ``count`` oldest question rows or votes (journal items stay)."""
        kept: deque[_Pending] = deque()
        dropped = 0
        while self._pending and dropped < count:
            pending = self._pending.popleft()
            if _droppable(pending[1]):
                dropped += 1
            else:
                kept.append(pending)
        self._pending.extendleft(reversed(kept))
        self._droppable -= dropped
        self._dropped += dropped
        if dropped and not self._drop_warned:
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
            "query log: write failed (%s); keeping %d item(s) in memory, retry in %.1fs",
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


def _droppable(item: Item) -> bool:
    """Question rows and votes may be dropped when too many wait; the delivery journal never."""
    return not isinstance(item, Received | Handled)
