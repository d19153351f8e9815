"""SQLite storage: questions, feedback, learned phrases, the review list, the reports, contacts and hand-offs.

The only package that talks to SQLite. :mod:`~bot.storage.records` holds the data it
stores and returns (pure), :mod:`~bot.storage.schema` the migrations,
:mod:`~bot.storage.writer` the non-blocking question log (a queue written in batches
through one injectable ``insert``), and :mod:`~bot.storage.database` the queries.
Imports only :mod:`bot.core` (for :class:`~bot.core.model.Level` and the review
reasons); never Telegram or the texts.
"""

from bot.storage.database import Database, open_database
from bot.storage.records import (
    LEARNED_LEVELS,
    SOURCES,
    Coverage,
    DayCount,
    DeclinedGroup,
    HandOff,
    LearnedPhrase,
    LogStats,
    QueryRecord,
    SchemaTooNewError,
    Source,
    Stats,
    StorageError,
    UnansweredGroup,
    WeekCount,
    new_query_id,
)
from bot.storage.schema import EXPORT_COLUMNS, MIGRATIONS, QUERY_COLUMNS, SCHEMA_VERSION
from bot.storage.writer import QueryWriter

__all__ = [
    "EXPORT_COLUMNS",
    "LEARNED_LEVELS",
    "MIGRATIONS",
    "QUERY_COLUMNS",
    "SCHEMA_VERSION",
    "SOURCES",
    "Coverage",
    "Database",
    "DayCount",
    "DeclinedGroup",
    "HandOff",
    "LearnedPhrase",
    "LogStats",
    "QueryRecord",
    "QueryWriter",
    "SchemaTooNewError",
    "Source",
    "Stats",
    "StorageError",
    "UnansweredGroup",
    "WeekCount",
    "new_query_id",
    "open_database",
]
