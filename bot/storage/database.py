"""SQLite storage: the question log, feedback, learned phrases and the reports built on them.

This module owns the whole schema. It is versioned with ``PRAGMA user_version``:
``MIGRATIONS[n - 1]`` takes a database from version ``n - 1`` to ``n``, each in its
own transaction, so an empty file gets every migration and an older file only the
missing ones. A file from newer code is refused rather than silently misread.

Logging a question must never slow down or break an answer, so :meth:`QueryLog.log`
only appends to an in-memory queue; a background task writes the queue in batches
(one transaction per batch). When a write fails (locked database, read-only file,
full disk) the rows stay in memory, bounded by ``max_pending`` (oldest dropped first),
and are retried with exponential backoff.

Resolutions: when an admin teaches a phrase, the matching questions that needed
review get ``resolved_at``/``resolved_by`` (and optionally ``resolved_learned_id``)
set on their ``queries`` row. Undoing the teaching (:meth:`QueryLog.remove_learned`)
clears the resolutions that point at it, so those questions return to the review list.

All SQL takes values through ``?`` parameters. The only SQL assembled at run time is
the ``PRAGMA user_version`` statement (PRAGMA cannot be parameterised; the value is an
int from this module) and concatenations of constant fragments defined here.

This module must stay free of ``telegram`` so the CLI and tests can use it alone.
"""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import sqlite3
import uuid
from collections import Counter, deque
from collections.abc import (
    AsyncIterator,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Final, NamedTuple

import aiosqlite

from bot.core.answer import NEEDS_REVIEW
from bot.core.model import Level

logger = logging.getLogger(__name__)


class Source(StrEnum):
    """Where a question came from (``queries.source``)."""

    PRIVATE = "private"
    GROUP = "group"
    INLINE = "inline"
    CLI = "cli"


SOURCES: Final = frozenset(Source)

LEARNED_LEVELS: Final = frozenset({Level.DIVISI, Level.SUBBAG})
"""Levels a learned phrase may point at (``learned_phrases.level``)."""

MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    # 1: the question log and per-user feedback. Feedback has no foreign key on
    # purpose: a 👍/👎 may arrive before the background writer has stored the query.
    (
        """
        CREATE TABLE queries (
            id            TEXT PRIMARY KEY,
            asked_at      TEXT NOT NULL,
            source        TEXT NOT NULL CHECK (source IN ('private', 'group', 'inline', 'cli')),
            chat_id       INTEGER,
            chat_type     TEXT,
            user_id       INTEGER,
            text          TEXT NOT NULL,
            normalized    TEXT NOT NULL,
            answered      INTEGER NOT NULL CHECK (answered IN (0, 1)),
            divisi_id     TEXT,
            divisi_score  REAL,
            subbag_id     TEXT,
            subbag_score  REAL,
            duty_ref      TEXT,
            kb_version    TEXT,
            latency_ms    REAL
        )
        """,
        "CREATE INDEX queries_asked_at ON queries (asked_at)",
        """
        CREATE TABLE feedback (
            query_id  TEXT NOT NULL,
            user_id   INTEGER NOT NULL,
            vote      INTEGER NOT NULL CHECK (vote IN (-1, 1)),
            voted_at  TEXT NOT NULL,
            PRIMARY KEY (query_id, user_id)
        )
        """,
    ),
    # 2: phrases taught by admins, and resolutions of reviewed questions.
    (
        """
        CREATE TABLE learned_phrases (
            id          INTEGER PRIMARY KEY,
            phrase      TEXT NOT NULL,
            normalized  TEXT NOT NULL,
            unit_id     TEXT NOT NULL,
            level       TEXT NOT NULL CHECK (level IN ('divisi', 'subbag')),
            created_by  INTEGER NOT NULL,
            created_at  TEXT NOT NULL,
            removed_at  TEXT
        )
        """,
        "CREATE INDEX learned_phrases_active ON learned_phrases (id) WHERE removed_at IS NULL",
        "ALTER TABLE queries ADD COLUMN resolved_at TEXT",
        "ALTER TABLE queries ADD COLUMN resolved_by INTEGER",
        "ALTER TABLE queries ADD COLUMN resolved_learned_id INTEGER",
        "CREATE INDEX queries_normalized ON queries (normalized)",
        "CREATE INDEX queries_resolved_learned ON queries (resolved_learned_id)"
        " WHERE resolved_learned_id IS NOT NULL",
    ),
    # 3: why a question was not answered (matcher's Reason). Greetings, thanks and fact
    # questions are declined on purpose and need no review; rows from before keep NULL.
    ("ALTER TABLE queries ADD COLUMN reason TEXT",),
)

SCHEMA_VERSION: Final = len(MIGRATIONS)
"""The schema version this code writes and understands."""

QUERY_COLUMNS: Final = (
    "id",
    "asked_at",
    "source",
    "chat_id",
    "chat_type",
    "user_id",
    "text",
    "normalized",
    "answered",
    "divisi_id",
    "divisi_score",
    "subbag_id",
    "subbag_score",
    "duty_ref",
    "kb_version",
    "latency_ms",
    "resolved_at",
    "resolved_by",
    "resolved_learned_id",
    "reason",
)
EXPORT_COLUMNS: Final = (*QUERY_COLUMNS, "net_vote")
"""Column order of :meth:`QueryLog.export_rows` and the CSV header of :func:`rows_to_csv`."""

_INSERT_QUERY: Final = """
    INSERT INTO queries (
        id, asked_at, source, chat_id, chat_type, user_id, text, normalized, answered,
        divisi_id, divisi_score, subbag_id, subbag_score, duty_ref, kb_version, latency_ms, reason
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO NOTHING
"""
# ON CONFLICT DO NOTHING makes a retried batch idempotent: if a COMMIT was reported as
# failed but did land, writing the rows again does not fail on the primary key.

_REVIEW_REASONS: Final = ", ".join(f"'{reason.value}'" for reason in sorted(NEEDS_REVIEW))
_NEEDS_REVIEW: Final = f"""
    queries.resolved_at IS NULL
    AND ((queries.answered = 0 AND (queries.reason IS NULL OR queries.reason IN ({_REVIEW_REASONS})))
        OR EXISTS (SELECT 1 FROM feedback WHERE feedback.query_id = queries.id AND feedback.vote < 0))
"""
# A question needs review when the bot could not find a unit for it (the core's
# ``NEEDS_REVIEW``; not when it declined small talk or a fact question on purpose), or when
# anyone's current vote on the answer is 👎 — and nobody has resolved it yet.

_CSV_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


class StorageError(Exception):
    """The database cannot be opened, migrated or used; the message says which and why."""


class SchemaTooNewError(StorageError):
    """The database was written by newer code; refusing beats corrupting it."""


def new_query_id() -> str:
    """A fresh query id (16 hex chars), short enough for Telegram callback data."""
    return uuid.uuid4().hex[:16]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    """One fixed UTC format, so stored timestamps compare correctly as strings."""
    if moment.tzinfo is None:  # naive means UTC here
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _cutoff(days: int | None) -> str:
    """Lower bound for ``asked_at`` (``''`` matches everything when ``days`` is None)."""
    if days is None:
        return ""
    if days < 0:
        raise ValueError(f"days must be >= 0, got {days}")
    return _iso(_utcnow() - timedelta(days=days))


@dataclass(frozen=True, kw_only=True)
class QueryRecord:
    """One question and what the bot made of it: a row of ``queries``."""

    source: Source
    text: str
    normalized: str
    answered: bool
    id: str = field(default_factory=new_query_id)
    asked_at: datetime = field(default_factory=_utcnow)
    chat_id: int | None = None
    chat_type: str | None = None
    user_id: int | None = None
    divisi_id: str | None = None
    divisi_score: float | None = None
    subbag_id: str | None = None
    subbag_score: float | None = None
    duty_ref: str | None = None
    kb_version: str | None = None
    latency_ms: float | None = None
    resolved_at: datetime | None = None
    resolved_by: int | None = None
    resolved_learned_id: int | None = None
    reason: str | None = None
    """Why it was (not) answered: the matcher's ``Reason`` (``no_match``, ``chitchat``...)."""


@dataclass(frozen=True)
class LearnedPhrase:
    """A phrase an admin taught the bot to route to one unit."""

    id: int
    phrase: str
    normalized: str
    unit_id: str
    level: Level
    created_by: int
    created_at: datetime
    removed_at: datetime | None = None


@dataclass(frozen=True)
class UnansweredGroup:
    """Questions with the same normalised text that need an admin's look."""

    normalized: str
    count: int
    last_asked: datetime
    example: str
    """The raw text of the newest question in the group."""
    ids: tuple[str, ...]
    """Query ids of the group, newest first."""
    downvoted: int
    """How many of them were answered but got a 👎 (the rest were not answered)."""


class DayCount(NamedTuple):
    """Questions on one calendar day."""

    day: str
    questions: int
    answered: int


@dataclass(frozen=True)
class Stats:
    """Numbers for the admin report over a window of days (``days=None``: all time)."""

    days: int | None
    total: int
    answered: int
    answer_rate: float
    """answered / total, 0.0 when there were no questions."""
    thumbs_up: int
    thumbs_down: int
    per_day: list[DayCount]
    top_divisi: list[tuple[str, int]]
    top_subbag: list[tuple[str, int]]
    unanswered_terms: list[tuple[str, int]]


@dataclass(frozen=True)
class Coverage:
    """How often each unit and duty was the answer, to spot parts of the KB never asked about."""

    units: dict[str, int]
    """Counts per unit id, as top Divisi or top Sub Bagian of an answered question."""
    duties: dict[str, int]
    """Counts per duty ref (``'subbag-keuangan#7'``) of answered questions."""


@dataclass(frozen=True)
class LogStats:
    """Health of the background writer (``QueryLog.stats``), for the logs and /stats."""

    pending: int
    written: int
    dropped: int
    rejected: int
    write_failures: int
    last_error: str | None


_Pending = tuple[QueryRecord, tuple[Any, ...]]


def _opt_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _record_params(record: QueryRecord) -> tuple[Any, ...]:
    """Validate and convert a record up front, so a bad one fails in ``log()``, not in a batch."""
    if record.source not in SOURCES:
        raise ValueError(f"unknown source {record.source!r}")
    if not isinstance(record.id, str) or not record.id:
        raise ValueError("query id must be a non-empty string")
    if not isinstance(record.text, str) or not isinstance(record.normalized, str):
        raise TypeError("text and normalized must be strings")
    return (
        record.id,
        _iso(record.asked_at),
        record.source,
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
    )


def _record_from_row(row: sqlite3.Row) -> QueryRecord:
    return QueryRecord(
        id=row["id"],
        asked_at=datetime.fromisoformat(row["asked_at"]),
        source=Source(row["source"]),
        chat_id=row["chat_id"],
        chat_type=row["chat_type"],
        user_id=row["user_id"],
        text=row["text"],
        normalized=row["normalized"],
        answered=bool(row["answered"]),
        divisi_id=row["divisi_id"],
        divisi_score=row["divisi_score"],
        subbag_id=row["subbag_id"],
        subbag_score=row["subbag_score"],
        duty_ref=row["duty_ref"],
        kb_version=row["kb_version"],
        latency_ms=row["latency_ms"],
        resolved_at=_parse_time(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        resolved_learned_id=row["resolved_learned_id"],
        reason=row["reason"],
    )


def _learned_from_row(row: sqlite3.Row) -> LearnedPhrase:
    return LearnedPhrase(
        id=row["id"],
        phrase=row["phrase"],
        normalized=row["normalized"],
        unit_id=row["unit_id"],
        level=Level(row["level"]),
        created_by=row["created_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        removed_at=_parse_time(row["removed_at"]),
    )


def rows_to_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] = EXPORT_COLUMNS,
    *,
    guard_formulas: bool = True,
) -> str:
    """Render export rows as CSV text with a header row (RFC 4180 quoting).

    With ``guard_formulas`` a text cell starting with ``= + - @`` gets a leading ``'`` so
    a spreadsheet shows a user's question instead of evaluating it as a formula.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if guard_formulas:
            row = {
                key: "'" + value
                if isinstance(value, str) and value.startswith(_CSV_FORMULA_PREFIXES)
                else value
                for key, value in row.items()
            }
        writer.writerow(row)
    return out.getvalue()


async def open_query_log(
    path: str | Path,
    *,
    max_pending: int = 10_000,
    batch_size: int = 500,
    busy_timeout: float = 5.0,
    retry_delay: float = 1.0,
    max_retry_delay: float = 60.0,
) -> QueryLog:
    """Open (creating it and its folder if needed) and migrate the database, start the writer.

    ``busy_timeout`` is how long one statement waits for another connection's lock;
    failed writes are retried after ``retry_delay`` seconds, doubling up to
    ``max_retry_delay``. ``":memory:"`` opens a throwaway in-memory database.
    """
    if max_pending < 1 or batch_size < 1:
        raise ValueError("max_pending and batch_size must be >= 1")
    location = str(path)
    in_memory = location == ":memory:"
    if not in_memory:
        try:
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create the folder for {location}: {exc}") from exc
    db = aiosqlite.connect(location, timeout=busy_timeout, isolation_level=None)
    try:
        await db
    except sqlite3.Error as exc:
        await _reap_worker(db)
        raise StorageError(f"cannot open database {location}: {exc}") from exc
    try:
        db.row_factory = sqlite3.Row
        await _prepare(db, location, in_memory=in_memory)
    except BaseException:
        await db.close()
        raise
    qlog = QueryLog(
        db,
        location,
        max_pending=max_pending,
        batch_size=batch_size,
        retry_delay=retry_delay,
        max_retry_delay=max_retry_delay,
    )
    qlog._start()
    return qlog


async def _reap_worker(db: aiosqlite.Connection) -> None:
    """Wait for aiosqlite's worker thread after a failed connect.

    aiosqlite stops the thread without waiting; if the event loop closes first, the
    thread's last callback fails with "Event loop is closed" in the background.
    """
    thread = getattr(db, "_thread", None)
    if thread is not None and thread.is_alive():
        await asyncio.to_thread(thread.join, 5.0)


async def _prepare(db: aiosqlite.Connection, location: str, *, in_memory: bool) -> None:
    """Connection settings and migrations, with sqlite errors turned into StorageError."""
    try:
        await db.execute("PRAGMA foreign_keys = ON")
        rows = list(await db.execute_fetchall("PRAGMA journal_mode = WAL"))
        mode = str(rows[0][0]).lower() if rows else ""
        if mode != "wal" and not in_memory:
            raise StorageError(f"cannot switch {location} to WAL mode (journal_mode is {mode!r})")
        await db.execute("PRAGMA synchronous = NORMAL")  # safe with WAL, much faster
        await _migrate(db, location)
    except StorageError:
        raise
    except sqlite3.OperationalError as exc:
        raise StorageError(f"cannot open database {location}: {exc}") from exc
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{location} is not a valid database: {exc}") from exc


async def _user_version(db: aiosqlite.Connection) -> int:
    rows = list(await db.execute_fetchall("PRAGMA user_version"))
    return int(rows[0][0])


async def _migrate(db: aiosqlite.Connection, location: str) -> None:
    """Apply the missing migrations, one transaction each.

    The version is re-read inside each write transaction, so two processes opening
    the same file at once do not apply a migration twice.
    """
    while True:
        target: int | None = None
        await db.execute("BEGIN IMMEDIATE")
        try:
            current = await _user_version(db)
            if current > SCHEMA_VERSION:
                raise SchemaTooNewError(
                    f"{location} has schema version {current}, newer than this code knows "
                    f"({SCHEMA_VERSION}); upgrade the bot or use another database file"
                )
            if current == SCHEMA_VERSION:
                await db.execute("COMMIT")
                return
            target = current + 1
            for statement in MIGRATIONS[target - 1]:
                await db.execute(statement)
            # PRAGMA takes no parameters; target is an int computed here, not input.
            await db.execute(f"PRAGMA user_version = {int(target)}")
            await db.execute("COMMIT")
        except BaseException as exc:
            with suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error) and target is not None:
                raise StorageError(f"migrating {location} to schema version {target} failed: {exc}") from exc
            raise
        logger.info("migrated %s to schema version %d", location, target)


class QueryLog:
    """The bot's database: a non-blocking question log plus feedback, learning and reports.

    Create it with :func:`open_query_log`; close it with :meth:`close` (or ``async with``).
    """

    def __init__(
        self,
        db: aiosqlite.Connection,
        path: str,
        *,
        max_pending: int,
        batch_size: int,
        retry_delay: float,
        max_retry_delay: float,
    ) -> None:
        self.path = path
        self._db = db
        self._max_pending = max_pending
        self._batch_size = batch_size
        self._retry_delay = retry_delay
        self._max_retry_delay = max_retry_delay
        self._pending: deque[_Pending] = deque()
        self._in_flight: list[_Pending] = []
        self._wakeup = asyncio.Event()
        self._drain_lock = asyncio.Lock()  # one batch writer at a time (task or flush)
        self._write_lock = asyncio.Lock()  # one transaction at a time on the shared connection
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self._closed = asyncio.Event()
        self._retry_at: float | None = None
        self._backoff = retry_delay
        self._written = 0
        self._dropped = 0
        self._rejected = 0
        self._failures = 0
        self._last_error: str | None = None
        self._drop_warned = False

    async def __aenter__(self) -> QueryLog:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _start(self) -> None:
        self._writer = asyncio.get_running_loop().create_task(
            self._run_writer(), name=f"query-log-writer:{self.path}"
        )

    # ----------------------------------------------------------------- logging

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
            params = _record_params(record)
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
        if not self._closed.is_set():
            await self._drain()

    async def close(self) -> None:
        """Stop the writer, write what is queued, close the database. Safe to call twice."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        self._wakeup.set()
        try:
            if self._writer is not None:
                try:
                    await self._writer
                except Exception:
                    logger.exception("query log writer failed")
            await self._drain()
            lost = len(self._pending)
            if lost:
                logger.error(
                    "query log closed with %d unwritten question(s); they are lost (%s)",
                    lost,
                    self._last_error,
                )
        finally:
            if self._writer is not None and not self._writer.done():
                self._writer.cancel()
                with suppress(asyncio.CancelledError):
                    await self._writer
            await self._db.close()
            self._closed.set()

    async def _run_writer(self) -> None:
        """Background task: write queued rows soon after they arrive, back off after failures."""
        loop = asyncio.get_running_loop()
        while not self._closing:
            delay = None if self._retry_at is None else max(0.0, self._retry_at - loop.time())
            with suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wakeup.wait()
            self._wakeup.clear()
            if self._closing:
                return
            if self._retry_at is not None and loop.time() < self._retry_at:
                continue  # new rows wait for the scheduled retry
            try:
                await self._drain()
            except Exception:  # never let the writer die; _drain already counts failures
                logger.exception("query log writer: unexpected error")

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
            self._written += await self._insert_rows([params for _, params in batch])
        except sqlite3.IntegrityError as exc:
            if len(batch) > 1:
                for item in batch:  # isolate the bad row; rows already written are skipped
                    await self._write_batch([item])
                return
            self._rejected += 1
            logger.error("query log: rejected question %s: %s", batch[0][0].id, exc)

    async def _insert_rows(self, rows: list[tuple[Any, ...]]) -> int:
        """One transaction for the whole batch; returns how many rows were new."""
        async with self._transaction() as db:
            cursor = await db.executemany(_INSERT_QUERY, rows)
            return max(cursor.rowcount, 0)

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

    # ------------------------------------------------------------ db helpers

    def _check_open(self) -> None:
        if self._closed.is_set():
            raise StorageError(f"query log {self.path} is closed")

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Give callers one exception type (StorageError) for database failures."""
        self._check_open()
        try:
            yield
        except sqlite3.Error as exc:
            raise StorageError(f"{action} failed: {exc}") from exc

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error."""
        async with self._write_lock:
            await self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                await self._db.execute("COMMIT")
            except BaseException:
                with suppress(sqlite3.Error):  # "no transaction is active" after a failed COMMIT
                    await self._db.execute("ROLLBACK")
                raise

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return list(await self._db.execute_fetchall(sql, params))

    async def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        rows = await self._fetchall(sql, params)
        return rows[0][0] if rows else None

    # --------------------------------------------------------------- queries

    async def count_queries(self) -> int:
        """Questions stored in the database (call :meth:`flush` first for an exact number)."""
        with self._errors("counting questions"):
            return int(await self._scalar("SELECT COUNT(*) FROM queries"))

    async def query(self, query_id: str) -> QueryRecord | None:
        """One question by id; also finds one still waiting to be written."""
        with self._errors("reading a question"):
            rows = await self._fetchall("SELECT * FROM queries WHERE id = ?", (query_id,))
        if rows:
            return _record_from_row(rows[0])
        for record, _ in (*self._in_flight, *self._pending):
            if record.id == query_id:
                return record
        return None

    # -------------------------------------------------------------- feedback

    async def set_feedback(self, query_id: str, user_id: int, vote: int) -> int:
        """Record a user's 👍 (+1) or 👎 (-1) on an answer, replacing their earlier vote.

        Works before the question row is written (no foreign key). Returns the vote.
        """
        if vote not in (1, -1):
            raise ValueError(f"vote must be +1 or -1, got {vote!r}")
        with self._errors("saving feedback"):
            async with self._transaction() as db:
                await db.execute(
                    """
                    INSERT INTO feedback (query_id, user_id, vote, voted_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT (query_id, user_id)
                    DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at
                    """,
                    (query_id, int(user_id), vote, _iso(_utcnow())),
                )
        return vote

    async def feedback(self, query_id: str) -> dict[int, int]:
        """Current votes on one answer, user id -> vote."""
        with self._errors("reading feedback"):
            rows = await self._fetchall(
                "SELECT user_id, vote FROM feedback WHERE query_id = ? ORDER BY user_id",
                (query_id,),
            )
        return {row["user_id"]: row["vote"] for row in rows}

    # --------------------------------------------------------------- learned

    async def add_learned(
        self, phrase: str, normalized: str, unit_id: str, level: Level, admin_id: int
    ) -> int:
        """Store a phrase an admin taught; returns its id (used for undo)."""
        if level not in LEARNED_LEVELS:
            raise ValueError(f"level must be one of {sorted(LEARNED_LEVELS)}, got {level!r}")
        if not normalized.strip() or not unit_id:
            raise ValueError("normalized phrase and unit id must not be empty")
        with self._errors("saving a learned phrase"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    """
                    INSERT INTO learned_phrases
                        (phrase, normalized, unit_id, level, created_by, created_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                    (phrase, normalized, unit_id, level, int(admin_id), _iso(_utcnow())),
                )
                new_id = cursor.lastrowid
        assert new_id is not None
        return int(new_id)

    async def remove_learned(self, learned_id: int) -> LearnedPhrase | None:
        """Undo a teaching (soft delete); returns what was removed, None if unknown or gone.

        Questions resolved by this phrase (``mark_resolved(..., learned_id=...)``) go back
        to the review list.
        """
        with self._errors("removing a learned phrase"):
            async with self._transaction() as db:
                rows = list(
                    await db.execute_fetchall(
                        "SELECT * FROM learned_phrases WHERE id = ? AND removed_at IS NULL",
                        (learned_id,),
                    )
                )
                if not rows:
                    return None
                removed_at = _iso(_utcnow())
                await db.execute(
                    "UPDATE learned_phrases SET removed_at = ? WHERE id = ?",
                    (removed_at, learned_id),
                )
                await db.execute(
                    """
                    UPDATE queries SET resolved_at = NULL, resolved_by = NULL,
                        resolved_learned_id = NULL
                    WHERE resolved_learned_id = ?
                    """,
                    (learned_id,),
                )
        return replace(_learned_from_row(rows[0]), removed_at=_parse_time(removed_at))

    async def learned_phrases(self) -> list[LearnedPhrase]:
        """Active learned phrases, oldest first."""
        with self._errors("reading learned phrases"):
            rows = await self._fetchall("SELECT * FROM learned_phrases WHERE removed_at IS NULL ORDER BY id")
        return [_learned_from_row(row) for row in rows]

    async def mark_resolved(self, normalized: str, by: int, *, learned_id: int | None = None) -> int:
        """Mark the questions with this normalised text that need review as resolved.

        Queued questions are written first so none is missed. Returns how many rows
        changed. Pass ``learned_id`` so undoing that teaching reopens them.
        """
        await self.flush()
        with self._errors("resolving questions"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    "UPDATE queries SET resolved_at = ?, resolved_by = ?, resolved_learned_id = ?"
                    " WHERE queries.normalized = ? AND " + _NEEDS_REVIEW,
                    (_iso(_utcnow()), int(by), learned_id, normalized),
                )
                return cursor.rowcount

    # ---------------------------------------------------------------- review

    async def unanswered(
        self, days: int | None = None, limit: int = 10, offset: int = 0
    ) -> list[UnansweredGroup]:
        """Questions needing review, grouped by normalised text, most recently asked first.

        A question needs review when it was not answered, or any user's vote on its
        answer is 👎, and it is not resolved. ``days`` limits to the last N days.
        """
        if limit < 0 or offset < 0:
            raise ValueError("limit and offset must be >= 0")
        cutoff = _cutoff(days)
        with self._errors("reading unanswered questions"):
            groups = await self._fetchall(
                # With a single MAX() aggregate SQLite takes the bare column `text` from
                # the row holding the maximum: the newest question of the group.
                "SELECT queries.normalized AS normalized, COUNT(*) AS n,"
                " MAX(queries.asked_at) AS last_asked, queries.text AS example,"
                " SUM(queries.answered) AS downvoted"
                " FROM queries WHERE queries.asked_at >= ? AND "
                + _NEEDS_REVIEW
                + " GROUP BY queries.normalized"
                " ORDER BY last_asked DESC, queries.normalized LIMIT ? OFFSET ?",
                (cutoff, limit, offset),
            )
            if not groups:
                return []
            keys = [row["normalized"] for row in groups]
            placeholders = ", ".join("?" for _ in keys)  # only '?' marks, values are bound
            id_rows = await self._fetchall(
                "SELECT queries.normalized AS normalized, queries.id AS id FROM queries"
                " WHERE queries.asked_at >= ? AND queries.normalized IN (" + placeholders + ")"
                " AND " + _NEEDS_REVIEW + " ORDER BY queries.asked_at DESC, queries.id",
                (cutoff, *keys),
            )
        ids: dict[str, list[str]] = {key: [] for key in keys}
        for row in id_rows:
            ids[row["normalized"]].append(row["id"])
        return [
            UnansweredGroup(
                normalized=row["normalized"],
                count=row["n"],
                last_asked=datetime.fromisoformat(row["last_asked"]),
                example=row["example"],
                ids=tuple(ids[row["normalized"]]),
                downvoted=row["downvoted"] or 0,
            )
            for row in groups
        ]

    async def count_unanswered_groups(self, days: int | None = None) -> int:
        """How many groups :meth:`unanswered` would list, for page counts."""
        with self._errors("counting unanswered questions"):
            return int(
                await self._scalar(
                    "SELECT COUNT(DISTINCT queries.normalized) FROM queries"
                    " WHERE queries.asked_at >= ? AND " + _NEEDS_REVIEW,
                    (_cutoff(days),),
                )
            )

    # --------------------------------------------------------------- reports

    async def report(
        self, days: int | None = None, *, utc_offset: timedelta = timedelta(0), top: int = 10
    ) -> Stats:
        """Report numbers for the last ``days`` days (None: all time).

        ``per_day`` dates are calendar days at ``utc_offset`` (WIB is ``timedelta(hours=7)``).
        Top units count answered questions only. ``unanswered_terms`` counts the words of
        the normalised texts of unanswered questions (resolved ones included: it describes
        what users asked).
        """
        cutoff = _cutoff(days)
        modifier = f"{int(utc_offset.total_seconds() // 60):+d} minutes"  # bound as a value
        with self._errors("computing stats"):
            totals = (
                await self._fetchall(
                    "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM queries WHERE asked_at >= ?",
                    (cutoff,),
                )
            )[0]
            votes = (
                await self._fetchall(
                    "SELECT COALESCE(SUM(f.vote > 0), 0), COALESCE(SUM(f.vote < 0), 0)"
                    " FROM feedback AS f JOIN queries AS q ON q.id = f.query_id"
                    " WHERE q.asked_at >= ?",
                    (cutoff,),
                )
            )[0]
            days_rows = await self._fetchall(
                "SELECT date(asked_at, ?) AS day, COUNT(*), SUM(answered) FROM queries"
                " WHERE asked_at >= ? GROUP BY day ORDER BY day",
                (modifier, cutoff),
            )
            top_divisi = await self._fetchall(
                "SELECT divisi_id, COUNT(*) AS n FROM queries"
                " WHERE answered = 1 AND divisi_id IS NOT NULL AND asked_at >= ?"
                " GROUP BY divisi_id ORDER BY n DESC, divisi_id LIMIT ?",
                (cutoff, top),
            )
            top_subbag = await self._fetchall(
                "SELECT subbag_id, COUNT(*) AS n FROM queries"
                " WHERE answered = 1 AND subbag_id IS NOT NULL AND asked_at >= ?"
                " GROUP BY subbag_id ORDER BY n DESC, subbag_id LIMIT ?",
                (cutoff, top),
            )
            texts = await self._fetchall(
                "SELECT normalized FROM queries WHERE answered = 0 AND asked_at >= ?", (cutoff,)
            )
        terms = Counter(term for row in texts for term in row[0].split())
        total, answered = int(totals[0]), int(totals[1])
        return Stats(
            days=days,
            total=total,
            answered=answered,
            answer_rate=answered / total if total else 0.0,
            thumbs_up=int(votes[0]),
            thumbs_down=int(votes[1]),
            per_day=[DayCount(row[0], int(row[1]), int(row[2])) for row in days_rows],
            top_divisi=[(row[0], int(row[1])) for row in top_divisi],
            top_subbag=[(row[0], int(row[1])) for row in top_subbag],
            unanswered_terms=sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
        )

    async def coverage(self, days: int | None = None) -> Coverage:
        """How often each unit and duty was the answer (answered questions only)."""
        cutoff = _cutoff(days)
        with self._errors("computing coverage"):
            unit_rows = await self._fetchall(
                "SELECT unit_id, COUNT(*) FROM ("
                " SELECT divisi_id AS unit_id FROM queries"
                "  WHERE answered = 1 AND divisi_id IS NOT NULL AND asked_at >= ?"
                " UNION ALL"
                " SELECT subbag_id FROM queries"
                "  WHERE answered = 1 AND subbag_id IS NOT NULL AND asked_at >= ?"
                ") GROUP BY unit_id ORDER BY unit_id",
                (cutoff, cutoff),
            )
            duty_rows = await self._fetchall(
                "SELECT duty_ref, COUNT(*) FROM queries"
                " WHERE answered = 1 AND duty_ref IS NOT NULL AND asked_at >= ?"
                " GROUP BY duty_ref ORDER BY duty_ref",
                (cutoff,),
            )
        return Coverage(
            units={row[0]: int(row[1]) for row in unit_rows},
            duties={row[0]: int(row[1]) for row in duty_rows},
        )

    async def export_rows(self, days: int | None = None) -> list[dict[str, Any]]:
        """Every stored column of the questions in the window plus ``net_vote``, oldest first.

        Values are as stored (``answered`` is 0/1, times are UTC ISO-8601) so the CSV
        is faithful; keys follow :data:`EXPORT_COLUMNS`.
        """
        with self._errors("exporting questions"):
            rows = await self._fetchall(
                "SELECT q.*, COALESCE(v.net, 0) AS net_vote FROM queries AS q"
                " LEFT JOIN (SELECT query_id, SUM(vote) AS net FROM feedback GROUP BY query_id)"
                " AS v ON v.query_id = q.id"
                " WHERE q.asked_at >= ? ORDER BY q.asked_at, q.id",
                (_cutoff(days),),
            )
        return [{column: row[column] for column in EXPORT_COLUMNS} for row in rows]

    # ------------------------------------------------------------- retention

    async def purge_older_than(self, days: int) -> int:
        """Delete questions asked more than ``days`` days ago, with their feedback.

        Also removes old feedback whose question never reached the database. Returns
        how many questions were deleted.
        """
        cutoff = _cutoff(days)
        with self._errors("purging old questions"):
            async with self._transaction() as db:
                await db.execute(
                    "DELETE FROM feedback WHERE query_id IN (SELECT id FROM queries WHERE asked_at < ?)",
                    (cutoff,),
                )
                await db.execute(
                    "DELETE FROM feedback WHERE voted_at < ? AND query_id NOT IN (SELECT id FROM queries)",
                    (cutoff,),
                )
                cursor = await db.execute("DELETE FROM queries WHERE asked_at < ?", (cutoff,))
                return cursor.rowcount
