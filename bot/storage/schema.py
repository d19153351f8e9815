"""The schema and its migrations, and opening a connection ready to use.

The schema is versioned with ``PRAGMA user_version``: ``MIGRATIONS[n - 1]`` takes a
database from version ``n - 1`` to ``n``, each in its own transaction, so an empty file
gets every migration and an older file only the missing ones. A file from newer code is
refused rather than silently misread. Migrations are history: never edit one, add one.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from contextlib import suppress
from pathlib import Path
from typing import Final

import aiosqlite

from bot.storage.records import SchemaTooNewError, StorageError

logger = logging.getLogger(__name__)

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
    # 4: questions an admin dismissed from the review list ("Abaikan"), by normalised text:
    # the same question asked again later stays off the list too. And the duty shown at each
    # level (duty_ref keeps only the better of the two): coverage and the export count both.
    (
        "ALTER TABLE queries ADD COLUMN divisi_duty TEXT",
        "ALTER TABLE queries ADD COLUMN subbag_duty TEXT",
        """
        CREATE TABLE dismissed (
            normalized    TEXT PRIMARY KEY,
            text          TEXT NOT NULL,
            dismissed_by  INTEGER NOT NULL,
            dismissed_at  TEXT NOT NULL
        )
        """,
    ),
    # 5: the duty a taught phrase means (its number in the unit), picked after the unit.
    ("ALTER TABLE learned_phrases ADD COLUMN duty INTEGER",),
    # 6: the delivery journal. Every update fetched from Telegram is stored (raw JSON) before
    # Telegram is told it arrived, and marked once handled: after a crash the bot handles what
    # was received but not finished, and never an update twice. A question row names its
    # update, so handling an update again does not log it twice.
    (
        """
        CREATE TABLE inbox (
            update_id    INTEGER PRIMARY KEY,
            received_at  TEXT NOT NULL,
            payload      TEXT NOT NULL,
            handled_at   TEXT
        )
        """,
        "CREATE INDEX inbox_unhandled ON inbox (update_id) WHERE handled_at IS NULL",
        "ALTER TABLE queries ADD COLUMN update_id INTEGER",
        "CREATE UNIQUE INDEX queries_update_id ON queries (update_id) WHERE update_id IS NOT NULL",
    ),
    # 7: the people of a unit as admins set them in Telegram (a unit listed in contact_lists
    # is the database's, whole, even when empty; other units keep knowledge/contacts.yaml), and
    # questions handed to the admins ("Tanyakan ke admin") until one is answered by teaching.
    (
        """
        CREATE TABLE contact_lists (
            unit_id  TEXT PRIMARY KEY,
            set_by   INTEGER NOT NULL,
            set_at   TEXT NOT NULL
        )
        """,
        """
        CREATE TABLE contacts (
            unit_id   TEXT NOT NULL REFERENCES contact_lists (unit_id) ON DELETE CASCADE,
            position  INTEGER NOT NULL,
            role      TEXT NOT NULL,
            name      TEXT NOT NULL,
            username  TEXT,
            phone     TEXT,
            PRIMARY KEY (unit_id, position)
        )
        """,
        """
        CREATE TABLE handoffs (
            query_id     TEXT PRIMARY KEY,
            chat_id      INTEGER NOT NULL,
            message_id   INTEGER,
            user_id      INTEGER,
            asker        TEXT NOT NULL,
            chat_title   TEXT,
            question     TEXT NOT NULL,
            normalized   TEXT NOT NULL,
            handed_at    TEXT NOT NULL,
            answered_at  TEXT,
            answered_by  INTEGER,
            unit_id      TEXT
        )
        """,
        "CREATE INDEX handoffs_pending ON handoffs (normalized) WHERE answered_at IS NULL",
    ),
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
    "divisi_duty",
    "subbag_duty",
)
EXPORT_COLUMNS: Final = (*QUERY_COLUMNS, "net_vote", "thumbs_up", "thumbs_down")
"""Column order of :meth:`QueryLog.export_rows` and the CSV header of :func:`rows_to_csv`."""


async def connect(location: str, *, busy_timeout: float, check: bool = False) -> aiosqlite.Connection:
    """Open (creating it and its folder if needed) and migrate the database at ``location``.

    ``check=True`` also runs SQLite's quick check and a write, and refuses (StorageError) a
    damaged file or one that cannot be written: better no start than a bot that silently
    loses every question it logs.
    """
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
        if check:
            await check_integrity(db, location)
        await _prepare(db, location, in_memory=in_memory)
        if check:
            await check_writable(db, location)
    except BaseException:
        await db.close()
        raise
    return db


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


async def check_integrity(db: aiosqlite.Connection, location: str) -> None:
    """Raise StorageError unless SQLite's ``PRAGMA quick_check`` passes (before any migration)."""
    try:
        rows = list(await db.execute_fetchall("PRAGMA quick_check"))
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{location} is not a valid database: {exc}") from exc
    problems = [str(row[0]) for row in rows if str(row[0]).lower() != "ok"]
    if problems:
        more = f" and {len(problems) - 1} more problem(s)" if len(problems) > 1 else ""
        raise StorageError(f"{location} is damaged: {problems[0]}{more}")


async def check_writable(db: aiosqlite.Connection, location: str) -> None:
    """Raise StorageError unless a write commits (a read-only file or mount, a full disk)."""
    try:
        version = await _user_version(db)
        await db.execute("BEGIN IMMEDIATE")
        try:
            # Rewriting the version writes the file's header: a real write.
            await db.execute(f"PRAGMA user_version = {int(version)}")
            await db.execute("COMMIT")
        except BaseException:
            with suppress(sqlite3.Error):
                await db.execute("ROLLBACK")
            raise
    except sqlite3.DatabaseError as exc:
        raise StorageError(f"{location} cannot be written: {exc}") from exc


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
