"""What the database stores and returns: records, report figures, and the storage errors.

Pure data (no SQLite here): the text layer renders these, the service builds
:class:`QueryRecord` from a match.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final, NamedTuple

from bot.core.model import Level


class Source(StrEnum):
    """Where a question came from (``queries.source``)."""

    PRIVATE = "private"
    GROUP = "group"
    INLINE = "inline"
    CLI = "cli"


SOURCES: Final = frozenset(Source)

LEARNED_LEVELS: Final = frozenset({Level.DIVISI, Level.SUBBAG})
"""Levels a learned phrase may point at (``learned_phrases.level``)."""


class StorageError(Exception):
    """The database cannot be opened, migrated or used; the message says which and why."""


class SchemaTooNewError(StorageError):
    """The database was written by newer code; refusing beats corrupting it."""


def new_query_id() -> str:
    """A fresh query id (16 hex chars), short enough for Telegram callback data."""
    return uuid.uuid4().hex[:16]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


def to_iso(moment: datetime) -> str:
    """One fixed UTC format, so stored timestamps compare correctly as strings."""
    if moment.tzinfo is None:  # naive means UTC here
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def parse_time(value: str | None) -> datetime | None:
    """A stored timestamp (or None) as a datetime."""
    return None if value is None else datetime.fromisoformat(value)


@dataclass(frozen=True, kw_only=True)
class QueryRecord:
    """One question and what the bot made of it: a row of ``queries``."""

    source: Source
    text: str
    normalized: str
    answered: bool
    id: str = field(default_factory=new_query_id)
    asked_at: datetime = field(default_factory=utcnow)
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
    divisi_duty: str | None = None
    """The duty shown for the Divisi (``'div-keuangan-umum-rt#5'``); rows before schema 4 have None."""
    subbag_duty: str | None = None
    """The duty shown for the Sub Bagian."""
    update_id: int | None = None
    """The Telegram update the question came in (None: the command line, rows before schema 6)."""


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
    duty: int | None = None
    """The number of the unit's duty the phrase means (a term of that duty), once picked."""


@dataclass(frozen=True)
class HandOff:
    """A question its asker handed to the admins ("Tanyakan ke admin"), until one answers it."""

    query_id: str
    chat_id: int
    message_id: int | None
    """The asker's message: the answer goes there as a reply."""
    user_id: int | None
    asker: str
    """The asker's name as Telegram shows it (and @username), for the admins."""
    chat_title: str | None
    """The group's title; None for a private chat."""
    question: str
    normalized: str
    handed_at: datetime = field(default_factory=lambda: utcnow())
    answered_at: datetime | None = None
    answered_by: int | None = None
    unit_id: str | None = None
    """The unit the admin taught, once answered."""


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
    answer: QueryRecord | None = None
    """For a group with 👎: the newest downvoted question, i.e. the answer the user rejected."""


@dataclass(frozen=True)
class DeclinedGroup:
    """Questions with the same normalised text the bot declined on purpose for one reason."""

    reason: str
    normalized: str
    count: int
    last_asked: datetime
    example: str
    """The raw text of the newest question in the group."""


class DayCount(NamedTuple):
    """Questions on one calendar day (the office's): all, answered, declined on purpose."""

    day: str
    questions: int
    answered: int
    declined: int = 0

    @property
    def missed(self) -> int:
        """Questions the bot could not place (neither answered nor declined on purpose)."""
        return self.questions - self.answered - self.declined


class WeekCount(NamedTuple):
    """One week (Monday first) of questions and votes."""

    start: str
    questions: int
    answered: int
    declined: int
    thumbs_up: int
    thumbs_down: int

    @property
    def answer_rate(self) -> float:
        """Answered among the questions in scope (deliberate declines left out); 0.0 without any."""
        in_scope = self.questions - self.declined
        return self.answered / in_scope if in_scope else 0.0


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
    """Most frequent words of questions the bot could not place (deliberate declines left out)."""
    declined: list[tuple[str, int]] = field(default_factory=list)
    """Questions declined on purpose (out of scope, small talk...) per reason, most first."""
    per_week: list[WeekCount] = field(default_factory=list)

    @property
    def declined_total(self) -> int:
        """Questions declined on purpose."""
        return sum(n for _, n in self.declined)

    @property
    def missed(self) -> int:
        """Questions the bot could not place: the real misses."""
        return self.total - self.answered - self.declined_total

    @property
    def in_scope_rate(self) -> float:
        """Answered among questions in scope (deliberate declines left out); 0.0 without any."""
        in_scope = self.answered + self.missed
        return self.answered / in_scope if in_scope else 0.0


@dataclass(frozen=True)
class Coverage:
    """How often each unit and duty was the answer, to spot parts of the KB never asked about."""

    units: dict[str, int]
    """Counts per unit id, as top Divisi or top Sub Bagian of an answered question."""
    duties: dict[str, int]
    """Counts per duty ref (``'subbag-keuangan#7'``) shown in answers, the Divisi's and the Sub Bagian's."""


@dataclass(frozen=True)
class LogStats:
    """Health of the background writer (``Database.stats``)."""

    pending: int
    written: int
    dropped: int
    rejected: int
    write_failures: int
    last_error: str | None
