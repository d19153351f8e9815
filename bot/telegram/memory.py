"""What the bot remembers of a chat: its recent answers, bounded in number and age.

Kept in PTB's ``chat_data`` (in memory, gone after a restart), so a follow-up ("kalau
distribusinya ke kab/kota?") can be read with the question it follows, and the buttons
under an answer ("Detail", an alternative unit) can show more about that question
without rewriting the answer.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import Any

MEMORY_KEY = "recent_answers"
KEEP_ANSWERS = 30
"""Answers remembered per chat; older ones are forgotten first."""
KEEP_SECONDS = 24 * 3600.0
"""How long an answer stays reachable by its buttons and by replies to it."""
FOLLOW_UP_SECONDS = 10 * 60.0
"""How long after an answer a short message in private is read as following it."""


@dataclass(frozen=True)
class Remembered:
    """One question the bot answered or declined with buttons: what was matched, its log id,
    who asked, when, the reply's message id, and whether it was answered."""

    question: str
    question_id: str
    user_id: int | None
    at: float
    message_id: int | None = None
    answered: bool = True


class RecentAnswers:
    """The last :data:`KEEP_ANSWERS` answers of one chat, newest last."""

    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Remembered] = OrderedDict()
        # More messages about a kept answer (its details, another unit): message id -> question id.
        self._also: OrderedDict[int, str] = OrderedDict()

    def remember(self, asked: Remembered) -> None:
        """Keep ``asked``; the oldest answer goes when the chat has too many."""
        self._by_id.pop(asked.question_id, None)
        self._by_id[asked.question_id] = asked
        while len(self._by_id) > KEEP_ANSWERS:
            self._by_id.popitem(last=False)

    def also_shown(self, question_id: str, message_id: int) -> None:
        """Message ``message_id`` is about the answer to ``question_id`` too: replies to it follow it up."""
        self._also[message_id] = question_id
        while len(self._also) > KEEP_ANSWERS:
            self._also.popitem(last=False)

    def _fresh(self, asked: Remembered | None, now: float, seconds: float) -> Remembered | None:
        return asked if asked is not None and now - asked.at <= seconds else None

    def by_question(self, question_id: str, now: float) -> Remembered | None:
        """The answer to logged question ``question_id``, while it is kept."""
        return self._fresh(self._by_id.get(question_id), now, KEEP_SECONDS)

    def by_message(self, message_id: int, now: float) -> Remembered | None:
        """The answer the bot sent as message ``message_id``, while it is kept."""
        found = next((a for a in self._by_id.values() if a.message_id == message_id), None)
        if found is None and message_id in self._also:
            found = self._by_id.get(self._also[message_id])
        return self._fresh(found, now, KEEP_SECONDS)

    def last_from(self, user_id: int | None, now: float) -> Remembered | None:
        """The newest answer to ``user_id``, if it is recent enough to be followed up."""
        found = next((a for a in reversed(self._by_id.values()) if a.user_id == user_id and a.answered), None)
        return self._fresh(found, now, FOLLOW_UP_SECONDS)


def recent_answers(chat_data: MutableMapping[Any, Any] | None) -> RecentAnswers:
    """The chat's :class:`RecentAnswers` (created on first use; a throwaway without chat data)."""
    if chat_data is None:
        return RecentAnswers()
    memory = chat_data.get(MEMORY_KEY)
    if not isinstance(memory, RecentAnswers):
        memory = chat_data[MEMORY_KEY] = RecentAnswers()
    return memory
