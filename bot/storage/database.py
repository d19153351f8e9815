"""The database: questions, feedback, learned phrases, the review list and the reports.

Resolutions: when an admin teaches a phrase, the matching questions that needed
review get ``resolved_at``/``resolved_by`` (and optionally ``resolved_learned_id``)
set on their ``queries`` row. Undoing the teaching (:meth:`Database.remove_learned`)
clears the resolutions that point at it, so those questions return to the review list.

All SQL takes values through ``?`` parameters. The only SQL assembled at run time is
the ``PRAGMA user_version`` statement of :mod:`bot.storage.schema` (PRAGMA cannot be
parameterised; the value is an int from that module) and concatenations of constant
fragments defined here.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Final

import aiosqlite

from bot.core.answer import NEEDS_REVIEW
from bot.core.contacts import Contact
from bot.core.model import Level
from bot.storage.records import (
    LEARNED_LEVELS,
    Coverage,
    DayCount,
    DeclinedGroup,
    HandOff,
    LearnedPhrase,
    LogStats,
    QueryRecord,
    Source,
    Stats,
    StorageError,
    UnansweredGroup,
    WeekCount,
    parse_time,
    to_iso,
    utcnow,
)
from bot.storage.schema import EXPORT_COLUMNS, connect
from bot.storage.writer import Handled, Item, QueryWriter, Received, Vote

_INSERT_QUERY: Final = """
    INSERT INTO queries (
        id, asked_at, source, chat_id, chat_type, user_id, text, normalized, answered,
        divisi_id, divisi_score, subbag_id, subbag_score, duty_ref, kb_version, latency_ms, reason,
        divisi_duty, subbag_duty, update_id
    ) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT DO NOTHING
"""
# ON CONFLICT DO NOTHING makes a retried batch idempotent: if a COMMIT was reported as
# failed but did land, writing the rows again does not fail on the primary key; and an
# update handled again after a crash does not add a second row (unique update_id).
_INSERT_RECEIVED: Final = (
    "INSERT INTO inbox (update_id, received_at, payload) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
_INSERT_HANDLED: Final = """
    INSERT INTO inbox (update_id, received_at, payload, handled_at) VALUES (?, ?, '', ?)
    ON CONFLICT (update_id) DO UPDATE SET handled_at = excluded.handled_at, payload = ''
"""
# A handled update keeps no payload (its text is in the question log, if it was a question).
_UPSERT_VOTE: Final = """
    INSERT INTO feedback (query_id, user_id, vote, voted_at) VALUES (?, ?, ?, ?)
    ON CONFLICT (query_id, user_id) DO UPDATE SET vote = excluded.vote, voted_at = excluded.voted_at
"""
INBOX_KEEP: Final = timedelta(days=2)
"""How long handled updates are remembered (Telegram keeps an unconfirmed update for 24 hours)."""

_REVIEW_REASONS: Final = ", ".join(f"'{reason.value}'" for reason in sorted(NEEDS_REVIEW))
_NEEDS_REVIEW: Final = f"""
    queries.resolved_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM dismissed WHERE dismissed.normalized = queries.normalized)
    AND ((queries.answered = 0 AND (queries.reason IS NULL OR queries.reason IN ({_REVIEW_REASONS})))
        OR EXISTS (SELECT 1 FROM feedback WHERE feedback.query_id = queries.id AND feedback.vote < 0))
"""
# A question needs review when the bot could not find a unit for it (the core's
# ``NEEDS_REVIEW``; not when it declined small talk or a fact question on purpose), or when
# anyone's current vote on the answer is 👎 — and nobody has resolved it yet, nor dismissed
# that normalised question ("Abaikan", for good: later askings stay off the list too).


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
        resolved_at=parse_time(row["resolved_at"]),
        resolved_by=row["resolved_by"],
        resolved_learned_id=row["resolved_learned_id"],
        reason=row["reason"],
        divisi_duty=row["divisi_duty"],
        subbag_duty=row["subbag_duty"],
        update_id=row["update_id"],
    )


def _weeks(per_day: Sequence[DayCount], votes: dict[str, tuple[int, int]]) -> list[WeekCount]:
    """Days grouped by week (Monday first), with the votes on that week's questions."""
    weeks: dict[str, list[int]] = {}
    for day in per_day:
        moment = date.fromisoformat(day.day)
        start = (moment - timedelta(days=moment.weekday())).isoformat()
        up, down = votes.get(day.day, (0, 0))
        sums = weeks.setdefault(start, [0, 0, 0, 0, 0])
        for index, value in enumerate((day.questions, day.answered, day.declined, up, down)):
            sums[index] += value
    return [WeekCount(start, *sums) for start, sums in weeks.items()]


def _learned_from_row(row: sqlite3.Row) -> LearnedPhrase:
    return LearnedPhrase(
        id=row["id"],
        phrase=row["phrase"],
        normalized=row["normalized"],
        unit_id=row["unit_id"],
        level=Level(row["level"]),
        created_by=row["created_by"],
        created_at=datetime.fromisoformat(row["created_at"]),
        removed_at=parse_time(row["removed_at"]),
        duty=row["duty"],
    )


async def open_database(
    path: str | Path,
    *,
    max_pending: int = 10_000,
    batch_size: int = 500,
    busy_timeout: float = 5.0,
    retry_delay: float = 0.5,
    max_retry_delay: float = 2.0,
    check: bool = False,
) -> Database:
    """Open (creating it and its folder if needed) and migrate the database, start the writer.

    ``busy_timeout`` is how long one statement waits for another connection's lock;
    failed writes are retried after ``retry_delay`` seconds, doubling up to
    ``max_retry_delay`` (short: after a fault, writing resumes within seconds).
    ``check=True`` (the bot) also refuses a file that fails SQLite's quick check or
    cannot be written. ``":memory:"`` opens a throwaway in-memory database.
    """
    if max_pending < 1 or batch_size < 1:
        raise ValueError("max_pending and batch_size must be >= 1")
    location = str(path)
    db = await connect(location, busy_timeout=busy_timeout, check=check)
    database = Database(
        db,
        location,
        max_pending=max_pending,
        batch_size=batch_size,
        retry_delay=retry_delay,
        max_retry_delay=max_retry_delay,
    )
    database.writer.start()
    return database


class Database:
    """The bot's database: the question log (through a :class:`QueryWriter`), feedback,
    learned phrases, the review list and the reports.

    Create it with :func:`open_database`; close it with :meth:`close` (or ``async with``).
    ``clock`` gives "now" for timestamps and day windows (tests set it).
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
        self.clock: Callable[[], datetime] = utcnow
        self._db = db
        self._write_lock = asyncio.Lock()  # one transaction at a time on the shared connection
        self._closing = False
        self._closed = asyncio.Event()
        self.writer = QueryWriter(
            self.insert_rows,
            name=path,
            max_pending=max_pending,
            batch_size=batch_size,
            retry_delay=retry_delay,
            max_retry_delay=max_retry_delay,
        )

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    @property
    def connection(self) -> aiosqlite.Connection:
        """The SQLite connection (for maintenance: PRAGMAs, backups)."""
        return self._db

    # ----------------------------------------------------------------- logging

    @property
    def stats(self) -> LogStats:
        """A snapshot of the question writer's counters."""
        return self.writer.stats

    def log(self, record: QueryRecord) -> None:
        """Queue a question for writing and return at once; never raises (see :class:`QueryWriter`)."""
        self.writer.log(record)

    async def flush(self) -> None:
        """Write everything queued so far now; failures keep the rows for a retry (no raise)."""
        if not self._closed.is_set():
            await self.writer.flush()

    @property
    def lost(self) -> int:
        """Questions and votes that will never be stored (dropped, rejected, unwritten at close)."""
        return self.writer.lost

    async def close(self) -> None:
        """Stop the writer, write what is queued, close the database. Safe to call twice."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        try:
            await self.writer.stop()
        finally:
            await self._db.close()
            self._closed.set()

    async def insert_rows(self, items: list[Item]) -> int:
        """Write a batch of the writer's items in one transaction; returns how many question rows were new."""
        rows = [item for item in items if isinstance(item, tuple)]
        received = [(i.update_id, i.at, i.payload) for i in items if isinstance(i, Received)]
        handled = [(i.update_id, i.at, i.at) for i in items if isinstance(i, Handled)]
        votes = [(i.query_id, i.user_id, i.vote, i.at) for i in items if isinstance(i, Vote)]
        async with self._transaction() as db:
            new = 0
            if received:  # before the rows and marks of the same updates
                await db.executemany(_INSERT_RECEIVED, received)
            if rows:
                cursor = await db.executemany(_INSERT_QUERY, rows)
                new = max(cursor.rowcount, 0)
            if handled:
                await db.executemany(_INSERT_HANDLED, handled)
            if votes:
                await db.executemany(_UPSERT_VOTE, votes)
            return new

    # ------------------------------------------------------------- delivery

    def record_received(self, update_id: int, payload: str) -> asyncio.Future[None]:
        """Queue a fetched update for the inbox; the future resolves once it is stored.

        Until then Telegram must not be told the update arrived (it would not send it again).
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.writer.put(Received(int(update_id), payload, to_iso(self.clock()), done))
        return done

    def mark_handled(self, update_id: int) -> None:
        """Queue the mark that an update was handled (answered or skipped); never waits."""
        self.writer.put(Handled(int(update_id), to_iso(self.clock())))

    async def open_inbox(self) -> tuple[set[int], list[tuple[int, str]]]:
        """At start-up: the update ids already known, and the received updates not handled yet.

        Handled updates older than :data:`INBOX_KEEP` are forgotten first.
        """
        cutoff = to_iso(self.clock() - INBOX_KEEP)
        with self._errors("reading the inbox"):
            async with self._transaction() as db:
                await db.execute(
                    "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?", (cutoff,)
                )
            rows = await self._fetchall("SELECT update_id, payload, handled_at FROM inbox ORDER BY update_id")
        known = {int(row["update_id"]) for row in rows}
        unfinished = [
            (int(row["update_id"]), str(row["payload"])) for row in rows if row["handled_at"] is None
        ]
        return known, unfinished

    def queue_vote(self, query_id: str, user_id: int, vote: int) -> None:
        """Record a vote through the background writer (never waits; see :meth:`set_feedback`)."""
        if vote not in (1, -1):
            raise ValueError(f"vote must be +1 or -1, got {vote!r}")
        self.writer.put(Vote(str(query_id), int(user_id), vote, to_iso(self.clock())))

    def _cutoff(self, days: int | None) -> str:
        """Lower bound for ``asked_at`` (``''`` matches everything when ``days`` is None)."""
        if days is None:
            return ""
        if days < 0:
            raise ValueError(f"days must be >= 0, got {days}")
        return to_iso(self.clock() - timedelta(days=days))

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
        return self.writer.waiting(query_id)

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
                    (query_id, int(user_id), vote, to_iso(self.clock())),
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
                    (phrase, normalized, unit_id, level, int(admin_id), to_iso(self.clock())),
                )
                new_id = cursor.lastrowid
        assert new_id is not None
        return int(new_id)

    async def set_learned_duty(self, learned_id: int, duty: int) -> bool:
        """Record which duty of its unit an active learned phrase means; False if there is no such phrase."""
        with self._errors("saving the duty of a learned phrase"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    "UPDATE learned_phrases SET duty = ? WHERE id = ? AND removed_at IS NULL",
                    (int(duty), int(learned_id)),
                )
                return cursor.rowcount > 0

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
                removed_at = to_iso(self.clock())
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
        return replace(_learned_from_row(rows[0]), removed_at=parse_time(removed_at))

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
                    (to_iso(self.clock()), int(by), learned_id, normalized),
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
        cutoff = self._cutoff(days)
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
            downvoted_keys = [row["normalized"] for row in groups if row["downvoted"]]
            answers: dict[str, QueryRecord] = {}
            if downvoted_keys:
                marks = ", ".join("?" for _ in downvoted_keys)  # only '?' marks, values are bound
                answer_rows = await self._fetchall(
                    "SELECT * FROM queries WHERE normalized IN (" + marks + ") AND answered = 1"
                    " AND EXISTS (SELECT 1 FROM feedback WHERE feedback.query_id = queries.id"
                    " AND feedback.vote < 0) ORDER BY asked_at",
                    downvoted_keys,
                )
                answers = {row["normalized"]: _record_from_row(row) for row in answer_rows}  # newest wins
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
                answer=answers.get(row["normalized"]),
            )
            for row in groups
        ]

    async def dismiss(self, normalized: str, text: str, by: int) -> bool:
        """Take this normalised question off the review list for good; False if it already was."""
        if not normalized.strip():
            raise ValueError("normalized question must not be empty")
        with self._errors("dismissing a question"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    "INSERT INTO dismissed (normalized, text, dismissed_by, dismissed_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (normalized) DO NOTHING",
                    (normalized, text, int(by), to_iso(self.clock())),
                )
                return cursor.rowcount > 0

    async def count_unanswered_groups(self, days: int | None = None) -> int:
        """How many groups :meth:`unanswered` would list, for page counts."""
        with self._errors("counting unanswered questions"):
            return int(
                await self._scalar(
                    "SELECT COUNT(DISTINCT queries.normalized) FROM queries"
                    " WHERE queries.asked_at >= ? AND " + _NEEDS_REVIEW,
                    (self._cutoff(days),),
                )
            )

    # --------------------------------------------------------------- reports

    async def report(
        self, days: int | None = None, *, utc_offset: timedelta = timedelta(0), top: int = 10
    ) -> Stats:
        """Report numbers for the last ``days`` calendar days, today included (None: all time).

        ``per_day`` has every calendar day of the window at ``utc_offset`` (WIB is
        ``timedelta(hours=7)``), days without questions as zeros; ``per_week`` the same by
        week (Monday first) with the votes. Questions declined on purpose (the reasons
        outside the core's ``NEEDS_REVIEW``: small talk, facts, other offices...) are counted
        per reason in ``declined``, apart from the real misses; ``unanswered_terms`` counts the
        words of the real misses only (resolved ones included: it describes what users asked).
        Top units count answered questions only.
        """
        # A window of N days is N calendar days of the office's clock, today included.
        today = (self.clock() + utc_offset).date()
        first: date | None = None
        cutoff = self._cutoff(days)
        if days:
            first = today - timedelta(days=days - 1)
            cutoff = to_iso(datetime(first.year, first.month, first.day, tzinfo=UTC) - utc_offset)
        modifier = f"{int(utc_offset.total_seconds() // 60):+d} minutes"  # bound as a value
        declined_case = "(answered = 0 AND reason IS NOT NULL AND reason NOT IN (" + _REVIEW_REASONS + "))"
        with self._errors("computing stats"):
            totals = (
                await self._fetchall(
                    "SELECT COUNT(*), COALESCE(SUM(answered), 0) FROM queries WHERE asked_at >= ?",
                    (cutoff,),
                )
            )[0]
            days_rows = await self._fetchall(
                "SELECT date(asked_at, ?) AS day, COUNT(*), SUM(answered), SUM(" + declined_case + ")"
                " FROM queries WHERE asked_at >= ? GROUP BY day ORDER BY day",
                (modifier, cutoff),
            )
            vote_rows = await self._fetchall(
                "SELECT date(q.asked_at, ?) AS day,"
                " COALESCE(SUM(f.vote > 0), 0), COALESCE(SUM(f.vote < 0), 0)"
                " FROM feedback AS f JOIN queries AS q ON q.id = f.query_id"
                " WHERE q.asked_at >= ? GROUP BY day",
                (modifier, cutoff),
            )
            declined_rows = await self._fetchall(
                "SELECT reason, COUNT(*) AS n FROM queries WHERE " + declined_case + " AND asked_at >= ?"
                " GROUP BY reason ORDER BY n DESC, reason",
                (cutoff,),
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
                "SELECT normalized FROM queries"
                " WHERE answered = 0 AND NOT " + declined_case + " AND asked_at >= ?",
                (cutoff,),
            )
        terms = Counter(term for row in texts for term in row[0].split())
        total, answered = int(totals[0]), int(totals[1])
        counted = {row[0]: DayCount(row[0], int(row[1]), int(row[2]), int(row[3])) for row in days_rows}
        if first is None and counted:
            first = date.fromisoformat(min(counted))
        per_day = []
        if first is not None:
            for offset in range((today - first).days + 1):
                day = (first + timedelta(days=offset)).isoformat()
                per_day.append(counted.get(day, DayCount(day, 0, 0, 0)))
        votes = {row[0]: (int(row[1]), int(row[2])) for row in vote_rows}
        return Stats(
            days=days,
            total=total,
            answered=answered,
            answer_rate=answered / total if total else 0.0,
            thumbs_up=sum(up for up, _ in votes.values()),
            thumbs_down=sum(down for _, down in votes.values()),
            per_day=per_day,
            top_divisi=[(row[0], int(row[1])) for row in top_divisi],
            top_subbag=[(row[0], int(row[1])) for row in top_subbag],
            unanswered_terms=sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:top],
            declined=[(row[0], int(row[1])) for row in declined_rows],
            per_week=_weeks(per_day, votes),
        )

    async def declined(self, days: int | None = None) -> list[DeclinedGroup]:
        """Questions declined on purpose (out of scope: facts, other offices, small talk...),
        grouped by reason and normalised text: the most declined reason first, then the most
        asked question, then the newest."""
        with self._errors("reading declined questions"):
            rows = await self._fetchall(
                # With a single MAX() aggregate SQLite takes the bare column `text` from the newest row.
                "SELECT reason, normalized, COUNT(*) AS n, MAX(asked_at) AS last_asked, text FROM queries"
                " WHERE answered = 0 AND reason IS NOT NULL AND reason NOT IN (" + _REVIEW_REASONS + ")"
                " AND asked_at >= ? GROUP BY reason, normalized",
                (self._cutoff(days),),
            )
        per_reason = Counter[str]()
        for row in rows:
            per_reason[row["reason"]] += int(row["n"])
        groups = [
            DeclinedGroup(
                reason=row["reason"],
                normalized=row["normalized"],
                count=int(row["n"]),
                last_asked=datetime.fromisoformat(row["last_asked"]),
                example=row["text"],
            )
            for row in rows
        ]
        groups.sort(key=lambda g: g.last_asked, reverse=True)
        groups.sort(key=lambda g: (-per_reason[g.reason], g.reason, -g.count))
        return groups

    async def coverage(self, days: int | None = None) -> Coverage:
        """How often each unit and duty was shown in an answer, at both levels (answered questions only)."""
        cutoff = self._cutoff(days)
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
            # Every duty shown in an answer, at both levels; rows from before schema 4 kept only one.
            duty_rows = await self._fetchall(
                "SELECT ref, COUNT(*) FROM ("
                " SELECT divisi_duty AS ref FROM queries"
                "  WHERE answered = 1 AND divisi_duty IS NOT NULL AND asked_at >= ?"
                " UNION ALL"
                " SELECT subbag_duty FROM queries"
                "  WHERE answered = 1 AND subbag_duty IS NOT NULL AND asked_at >= ?"
                " UNION ALL"
                " SELECT duty_ref FROM queries"
                "  WHERE answered = 1 AND duty_ref IS NOT NULL AND divisi_duty IS NULL"
                "  AND subbag_duty IS NULL AND asked_at >= ?"
                ") GROUP BY ref ORDER BY ref",
                (cutoff, cutoff, cutoff),
            )
        return Coverage(
            units={row[0]: int(row[1]) for row in unit_rows},
            duties={row[0]: int(row[1]) for row in duty_rows},
        )

    async def export_rows(self, days: int | None = None) -> list[dict[str, Any]]:
        """Every stored column of the questions in the window plus the votes, oldest first.

        Values are as stored (``answered`` is 0/1, times are UTC ISO-8601) so the CSV
        is faithful; keys follow :data:`EXPORT_COLUMNS`.
        """
        with self._errors("exporting questions"):
            rows = await self._fetchall(
                "SELECT q.*, COALESCE(v.net, 0) AS net_vote, COALESCE(v.up, 0) AS thumbs_up,"
                " COALESCE(v.down, 0) AS thumbs_down FROM queries AS q"
                " LEFT JOIN (SELECT query_id, SUM(vote) AS net, SUM(vote > 0) AS up, SUM(vote < 0) AS down"
                " FROM feedback GROUP BY query_id)"
                " AS v ON v.query_id = q.id"
                " WHERE q.asked_at >= ? ORDER BY q.asked_at, q.id",
                (self._cutoff(days),),
            )
        return [{column: row[column] for column in EXPORT_COLUMNS} for row in rows]

    # ------------------------------------------------------------- retention

    async def purge_older_than(self, days: int) -> int:
        """Delete questions asked more than ``days`` days ago, with their feedback.

        Also removes old feedback whose question never reached the database. Returns
        how many questions were deleted.
        """
        cutoff = self._cutoff(days)
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
                deleted = cursor.rowcount
                await db.execute(
                    "DELETE FROM inbox WHERE handled_at IS NOT NULL AND handled_at < ?",
                    (to_iso(self.clock() - INBOX_KEEP),),
                )
                return deleted

    # -------------------------------------------------------------- contacts

    async def contact_lists(self) -> dict[str, tuple[Contact, ...]]:
        """The units whose people admins set in Telegram, each with its whole list (may be empty)."""
        with self._errors("reading contacts"):
            units = await self._fetchall("SELECT unit_id FROM contact_lists ORDER BY unit_id")
            rows = await self._fetchall("SELECT * FROM contacts ORDER BY unit_id, position")
        lists: dict[str, list[Contact]] = {row["unit_id"]: [] for row in units}
        for row in rows:
            lists[row["unit_id"]].append(Contact(row["role"], row["name"], row["username"], row["phone"]))
        return {unit_id: tuple(people) for unit_id, people in lists.items()}

    async def set_contact_list(self, unit_id: str, contacts: Sequence[Contact], by: int) -> None:
        """Make ``contacts`` the unit's whole list (it overrides the KB file from now on)."""
        with self._errors("saving contacts"):
            async with self._transaction() as db:
                await db.execute("DELETE FROM contact_lists WHERE unit_id = ?", (unit_id,))
                await db.execute(
                    "INSERT INTO contact_lists (unit_id, set_by, set_at) VALUES (?, ?, ?)",
                    (unit_id, int(by), to_iso(self.clock())),
                )
                await db.executemany(
                    "INSERT INTO contacts (unit_id, position, role, name, username, phone)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    [(unit_id, i, c.role, c.name, c.username, c.phone) for i, c in enumerate(contacts)],
                )

    async def drop_contact_list(self, unit_id: str) -> bool:
        """Forget the unit's list set in Telegram (the KB file counts again); False if there was none."""
        with self._errors("resetting contacts"):
            async with self._transaction() as db:
                cursor = await db.execute("DELETE FROM contact_lists WHERE unit_id = ?", (unit_id,))
                return cursor.rowcount > 0

    # -------------------------------------------------------------- hand-offs

    async def add_handoff(self, handoff: HandOff) -> bool:
        """Store a question handed to the admins; False if that question was handed already."""
        with self._errors("saving a hand-off"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    """
                    INSERT INTO handoffs (query_id, chat_id, message_id, user_id, asker, chat_title,
                        question, normalized, handed_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (query_id) DO NOTHING
                    """,
                    (
                        handoff.query_id,
                        handoff.chat_id,
                        handoff.message_id,
                        handoff.user_id,
                        handoff.asker,
                        handoff.chat_title,
                        handoff.question,
                        handoff.normalized,
                        to_iso(self.clock()),
                    ),
                )
                return cursor.rowcount > 0

    async def handoff(self, query_id: str) -> HandOff | None:
        """One hand-off by its question's id."""
        with self._errors("reading a hand-off"):
            rows = await self._fetchall("SELECT * FROM handoffs WHERE query_id = ?", (query_id,))
        return _handoff_from_row(rows[0]) if rows else None

    async def drop_handoff(self, query_id: str) -> None:
        """Forget a hand-off that reached no admin (the asker may try again)."""
        with self._errors("removing a hand-off"):
            async with self._transaction() as db:
                await db.execute(
                    "DELETE FROM handoffs WHERE query_id = ? AND answered_at IS NULL", (query_id,)
                )

    async def pending_handoffs(self, normalized: str) -> list[HandOff]:
        """Unanswered hand-offs of questions with this normalised text, oldest first."""
        with self._errors("reading hand-offs"):
            rows = await self._fetchall(
                "SELECT * FROM handoffs WHERE normalized = ? AND answered_at IS NULL ORDER BY handed_at",
                (normalized,),
            )
        return [_handoff_from_row(row) for row in rows]

    async def close_handoff(self, query_id: str, by: int, unit_id: str) -> bool:
        """Mark a hand-off answered (the asker got the unit); False if it was answered already."""
        with self._errors("closing a hand-off"):
            async with self._transaction() as db:
                cursor = await db.execute(
                    "UPDATE handoffs SET answered_at = ?, answered_by = ?, unit_id = ?"
                    " WHERE query_id = ? AND answered_at IS NULL",
                    (to_iso(self.clock()), int(by), unit_id, query_id),
                )
                return cursor.rowcount > 0


def _handoff_from_row(row: sqlite3.Row) -> HandOff:
    return HandOff(
        query_id=row["query_id"],
        chat_id=row["chat_id"],
        message_id=row["message_id"],
        user_id=row["user_id"],
        asker=row["asker"],
        chat_title=row["chat_title"],
        question=row["question"],
        normalized=row["normalized"],
        handed_at=datetime.fromisoformat(row["handed_at"]),
        answered_at=parse_time(row["answered_at"]),
        answered_by=row["answered_by"],
        unit_id=row["unit_id"],
    )
