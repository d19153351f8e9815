"""The use cases, without Telegram: ask (answer and log), teach, forget, reload, contacts.

The Telegram handlers and the command line call these and only render what comes
back. :class:`Service` owns the matcher being served and the lock that keeps teaching
and reloading from losing each other's work:

* one unit per level for a taught question (a second Divisi needs :meth:`Service.forget`
  first);
* the lock is held across the database write and the matcher update;
* :meth:`Service.reload` builds the new KB and matcher completely (learned phrases
  included) before one assignment swaps them in, so no question is answered from a
  half-built KB.

Contacts: a unit's people come from ``knowledge/contacts.yaml`` unless an admin set that
unit's list in Telegram (``/kontak``): then the database's list wins, whole, for that unit
(seeded from the file on the first change) until the admin resets it. Answers carry the
contacts of the units they name; a contact question naming a unit is answered with that
unit's people; a fact question whose topic is clear names the units that would know.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from bot.core.answer import Answer, Assignment, assignment_for, build_answer
from bot.core.contacts import Contact, with_contact, without_contact
from bot.core.conversation import Conversation, SmallTalk
from bot.core.cues import Cue, Cues
from bot.core.matcher import Matcher, MatchResult, Reason
from bot.core.model import KnowledgeBase, Level, Unit
from bot.core.normalize import Normalized
from bot.core.people import People
from bot.knowledge.loader import load_kb
from bot.knowledge.stems import build_matcher
from bot.storage import Database, LearnedPhrase, QueryRecord, Source

logger = logging.getLogger(__name__)


class QuestionLog(Protocol):
    """Where questions go for the admins; ``log`` must return at once and never block.

    :class:`bot.storage.Database` is the real one; tests and benchmarks may pass others.
    """

    def log(self, record: QueryRecord) -> None: ...


class NoQuestionLog:
    """Keeps nothing (for tests and benchmarks that want no database)."""

    def log(self, record: QueryRecord) -> None:
        """Drop the record."""


# A question alone that ends in one of these is read with the question before it, if any.
_READ_WITH_PREVIOUS: frozenset[Reason] = frozenset({Reason.EMPTY, Reason.NO_MATCH, Reason.LOW_SCORE})
OWN_TOPIC_CONFIDENCE = 0.62
"""A follow-up answered at least this surely on its own has its own topic ("cukup yakin")."""
PREVIOUS_KEPT = 300
"""Characters of the earlier question kept when a follow-up is read with it (chains stay short)."""
FOLLOW_UP_JOINER = " … "
"""Between the earlier question and the follow-up in the combined text (and in the log)."""


@dataclass(frozen=True)
class Asked:
    """A logged question: the answer, its log id, and the earlier question it was read with."""

    answer: Answer
    question_id: str
    follows: str | None = None

    @property
    def matched(self) -> str:
        """The text that was matched and logged (the combined text for a follow-up)."""
        return self.answer.question


@dataclass(frozen=True)
class Taught:
    """A phrase was learned: its id, how many questions it resolved, and whether it answers them now."""

    learned_id: int
    resolved: int
    still_unanswered: bool


@dataclass(frozen=True)
class AlreadyTaught:
    """The question already has a unit of this level (``phrase``); undo that first."""

    phrase: LearnedPhrase


@dataclass(frozen=True)
class NotTeachable:
    """The question has no words the matcher could learn."""


TeachResult = Taught | AlreadyTaught | NotTeachable

# A fact question names the units that would know only when its topic alone is answered at
# least this surely (else the decline stays short).
REFERRAL_MIN_CONFIDENCE = 0.6
# The topic of a fact question is asked again as a who-handles question.
_TOPIC_PREFIX = "siapa yang mengurus"


@dataclass(frozen=True)
class Reloaded:
    """A new KB is being served; ``skipped`` learned phrases point at units it no longer has."""

    old: KnowledgeBase
    new: KnowledgeBase
    applied: int
    skipped: list[LearnedPhrase]


@dataclass
class Service:
    """The matcher being served, the question log and (when there is one) the database."""

    matcher: Matcher
    log: QuestionLog = field(default_factory=NoQuestionLog)
    # Held while learned phrases change or the KB is swapped, so neither loses the other's work.
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)
    _conversation: tuple[Matcher, Conversation] | None = field(default=None, init=False, repr=False)
    contact_lists: dict[str, tuple[Contact, ...]] = field(default_factory=dict)
    """Units whose people admins set in Telegram (the database's copy): these win over the file."""
    _people: People | None = field(default=None, repr=False)

    @property
    def kb(self) -> KnowledgeBase:
        """The knowledge base being served (the matcher's)."""
        return self.matcher.kb

    @property
    def database(self) -> Database | None:
        """The database behind the question log, if any (feedback and admin data need it)."""
        return self.log if isinstance(self.log, Database) else None

    @property
    def keeps_questions(self) -> bool:
        """True when unanswered questions really reach the admins."""
        return not isinstance(self.log, NoQuestionLog)

    @property
    def conversation(self) -> Conversation:
        """The conversation cues of the KB being served (rebuilt after a reload)."""
        matcher = self.matcher
        if self._conversation is None or self._conversation[0] is not matcher:
            self._conversation = (matcher, Conversation(matcher.normalizer, matcher.kb.lexicon))
        return self._conversation[1]

    # -- asking -------------------------------------------------------------------------

    def answer(self, question: str) -> Answer:
        """The answer to ``question``, not logged (examples shown in inline mode)."""
        matcher = self.matcher
        result = matcher.match(question)
        return self._with_people(
            matcher, build_answer(result, matcher.kb, matcher.config.ambiguity_margin), result
        )

    # -- contacts -------------------------------------------------------------------------

    def contacts(self, unit_id: str) -> tuple[Contact, ...]:
        """The unit's people: the list set in Telegram if there is one, else the KB file's."""
        if unit_id in self.contact_lists:
            return self.contact_lists[unit_id]
        return self.kb.file_contacts(unit_id)

    def contacts_set_in_telegram(self, unit_id: str) -> bool:
        """Whether the unit's list is the one admins set in Telegram (not the file's)."""
        return unit_id in self.contact_lists

    async def load_contacts(self) -> None:
        """Read the lists admins set in Telegram (at start-up)."""
        if self.database is not None:
            self.contact_lists = await self.database.contact_lists()

    async def set_contact(
        self, database: Database, unit: Unit, contact: Contact, by: int
    ) -> tuple[Contact, ...]:
        """Put ``contact`` in the unit's list (replacing the holder of the same role); the new list."""
        async with self.lock:
            people = with_contact(self.contacts(unit.id), contact)
            await database.set_contact_list(unit.id, people, by)
            self.contact_lists[unit.id] = people
        logger.info("admin %s set a contact of %s (%s)", by, unit.id, contact.role)
        return people

    async def remove_contact(self, database: Database, unit: Unit, who: str, by: int) -> int:
        """Take the people whose role or name is ``who`` off the unit's list; how many left it."""
        async with self.lock:
            before = self.contacts(unit.id)
            people = without_contact(before, who)
            removed = len(before) - len(people)
            if removed:
                await database.set_contact_list(unit.id, people, by)
                self.contact_lists[unit.id] = people
        if removed:
            logger.info("admin %s removed %d contact(s) of %s", by, removed, unit.id)
        return removed

    async def reset_contacts(self, database: Database, unit: Unit) -> bool:
        """Drop the list set in Telegram: the KB file's counts again. False if there was none."""
        async with self.lock:
            dropped = await database.drop_contact_list(unit.id)
            self.contact_lists.pop(unit.id, None)
        return dropped

    def _people_of(self, matcher: Matcher) -> People:
        """Questions about people, read for ``matcher``'s KB (built once per KB)."""
        if self._people is None or self._people.matcher is not matcher:
            self._people = People(matcher)
        return self._people

    def _with_people(self, matcher: Matcher, answer: Answer, result: MatchResult) -> Answer:
        """The answer with its units' contacts, the units a question about people names, and for
        a fact question with a clear topic the units that would know."""
        kb = matcher.kb
        norm = matcher.normalizer.normalize(answer.question)
        people = self._people_of(matcher)
        asks = people.read(norm, result)
        answer = replace(
            answer,
            divisi=self._with_contacts(answer.divisi),
            subbag=self._with_contacts(answer.subbag),
            contacts_asked=asks.asked,
        )
        if asks.units:
            units = (
                self._with_contacts(Assignment(kb.unit(i), None, 1.0, _parent(kb, i))) for i in asks.units
            )
            return replace(answer, contact_units=tuple(a for a in units if a is not None))
        if result.reason is Reason.FACT_QUESTION:
            return replace(answer, refer_to=self._referral(matcher, people.cues, norm, result))
        return answer

    def _referral(
        self, matcher: Matcher, cues: Cues, norm: Normalized, result: MatchResult
    ) -> tuple[Assignment, ...]:
        """For a fact question about this office's work, the units that would know.

        The question is asked again without its fact words, as "who handles <topic>"; the
        units count when that is answered fairly surely and agrees with the fact question's
        own ranking. Results, people, other offices and agencies, private life, tasks for the bot
        and questions about it get no referral.
        """
        if (
            cues.has(norm, Cue.FACT_TOPIC)
            or cues.has(norm, Cue.ABOUT_BOT)
            or cues.has(norm, Cue.PERSONAL)
            or cues.bot_task(result.question)
            or cues.has(norm, Cue.SERVICE)
            or cues.about(norm, Cue.OFFICE)
            or cues.about(norm, Cue.AGENCY)
        ):
            return ()
        facts = cues.spans(norm, Cue.FACT)
        topic = " ".join(w for i, w in enumerate(norm.words) if not any(i in span for span in facts))
        if not topic.strip():
            return ()
        topical = matcher.match(f"{_TOPIC_PREFIX} {topic}")
        if not topical.answered or topical.unsure or topical.confidence < REFERRAL_MIN_CONFIDENCE:
            return ()
        agrees = any(
            ranking and topical.ranking(level) and ranking[0].unit_id == topical.ranking(level)[0].unit_id
            for level, ranking in ((Level.SUBBAG, result.subbag), (Level.DIVISI, result.divisi))
        )
        if not agrees:
            return ()
        found = build_answer(topical, matcher.kb, matcher.config.ambiguity_margin)
        units = (self._with_contacts(found.subbag), self._with_contacts(found.divisi))
        return tuple(a for a in units if a is not None)

    def _with_contacts(self, assignment: Assignment | None) -> Assignment | None:
        if assignment is None:
            return None
        return replace(assignment, contacts=self.contacts(assignment.unit.id))

    def ask(
        self,
        question: str,
        *,
        source: Source,
        chat_id: int | None = None,
        chat_type: str | None = None,
        user_id: int | None = None,
    ) -> tuple[Answer, str]:
        """Match, build the answer and log the question; returns the answer and the question id.

        Logging never breaks answering.
        """
        started = time.perf_counter()
        matcher = self.matcher  # one KB for the whole question, even if /reload swaps it
        result = matcher.match(question)
        small_talk = self._small_talk(result)
        if small_talk is not None and result.reason is Reason.EMPTY:
            result = replace(result, reason=Reason.CHITCHAT)  # "pagi min": only greeting words
        answer = self._with_people(
            matcher, build_answer(result, matcher.kb, matcher.config.ambiguity_margin), result
        )
        if small_talk is not None:
            answer = replace(answer, small_talk=small_talk)
        latency_ms = (time.perf_counter() - started) * 1000
        record = make_record(
            result,
            matcher.kb,
            source=source,
            chat_id=chat_id,
            chat_type=chat_type,
            user_id=user_id,
            latency_ms=latency_ms,
        )
        if answer.contact_units and not result.answered:
            # The asker got the unit they named: not a miss for the review list.
            levels = {a.unit.level: a.unit.id for a in answer.contact_units}
            record = replace(
                record,
                answered=True,
                reason=Reason.ANSWERED,
                divisi_id=levels.get(Level.DIVISI, record.divisi_id),
                subbag_id=levels.get(Level.SUBBAG, record.subbag_id),
            )
        try:
            self.log.log(record)
        except Exception:
            logger.exception("query log failed; question %s not logged", record.id)
        return answer, record.id

    def _small_talk(self, result: MatchResult) -> SmallTalk | None:
        """Which kind of small talk a declined message is (None for anything else)."""
        if result.reason not in (Reason.CHITCHAT, Reason.EMPTY):
            return None
        kind = self.conversation.small_talk(result.question)
        return kind or (SmallTalk.OTHER if result.reason is Reason.CHITCHAT else None)

    def ask_following(
        self,
        question: str,
        previous: str | None,
        *,
        source: Source,
        chat_id: int | None = None,
        chat_type: str | None = None,
        user_id: int | None = None,
    ) -> Asked:
        """Ask ``question``, read together with ``previous`` when it names no topic of its own.

        "itu siapa sih yang ngurus?" or "kalau distribusinya ke kab/kota?" after a question
        about ballot boxes is matched as both texts together, and logged so (the admins see
        what was answered). A follow-up answered surely on its own ("terus kalau SPJ?"),
        small talk and declines on purpose are answered on their own.
        """

        def ask(text: str) -> tuple[Answer, str]:
            return self.ask(text, source=source, chat_id=chat_id, chat_type=chat_type, user_id=user_id)

        if previous:
            alone = self.answer(question)
            own_topic = alone.answered and alone.confidence >= OWN_TOPIC_CONFIDENCE
            continues = alone.reason is Reason.EMPTY or self.conversation.follows_up(question)
            if continues and not own_topic and (alone.answered or alone.reason in _READ_WITH_PREVIOUS):
                earlier = previous[-PREVIOUS_KEPT:].strip()
                combined = f"{earlier}{FOLLOW_UP_JOINER}{question}"
                together = self.answer(combined)
                if together.answered and together.confidence > alone.confidence:
                    answer, question_id = ask(combined)
                    return Asked(answer, question_id, follows=earlier)
        answer, question_id = ask(question)
        return Asked(answer, question_id)

    def assignment(self, question: str, unit_id: str) -> Assignment | None:
        """``unit_id`` as a candidate for ``question``, with the duty of its that covers it (if ranked)."""
        matcher = self.matcher
        unit = matcher.kb.get(unit_id)
        if unit is None:
            return None
        result = matcher.match(question)
        candidate = next((c for c in result.ranking(unit.level) if c.unit_id == unit_id), None)
        return assignment_for(matcher.kb, candidate) if candidate is not None else None

    # -- teaching -----------------------------------------------------------------------

    async def taught(self, database: Database, normalized: str) -> list[LearnedPhrase]:
        """Active learned phrases for questions with this normalised text."""
        return [p for p in await database.learned_phrases() if p.normalized == normalized]

    async def teach(self, database: Database, record: QueryRecord, unit: Unit, admin_id: int) -> TeachResult:
        """Store the question as a learned phrase of ``unit``, teach the matcher, resolve the group."""
        async with self.lock:
            taught = await self.taught(database, record.normalized)
            same_level = next((p for p in taught if p.level == unit.level), None)
            if same_level is not None:
                return AlreadyTaught(same_level)
            if not record.normalized.strip() or not self.matcher.normalizer.terms(record.text):
                return NotTeachable()
            learned_id = await database.add_learned(
                record.text, record.normalized, unit.id, unit.level, admin_id
            )
            self.matcher.add_phrase(unit.id, record.text)
            resolved = await database.mark_resolved(record.normalized, by=admin_id, learned_id=learned_id)
        logger.info("admin %s taught phrase #%d -> %s", admin_id, learned_id, unit.id)
        result = self.matcher.match(record.text)
        ranking = result.ranking(unit.level)
        answered_so = result.answered and bool(ranking) and ranking[0].unit_id == unit.id
        return Taught(learned_id, resolved, still_unanswered=not answered_so)

    async def set_duty(self, database: Database, phrase: LearnedPhrase, duty: int) -> None:
        """The taught phrase means this duty of its unit: stored, and cited by answers at once."""
        async with self.lock:
            await database.set_learned_duty(phrase.id, duty)
            self.matcher.remove_phrase(phrase.unit_id, phrase.phrase)
            self.matcher.add_phrase(phrase.unit_id, phrase.phrase, duty)

    async def forget(self, database: Database, learned_id: int) -> LearnedPhrase | None:
        """Undo a teaching: the phrase leaves the database and the matcher (None: no such phrase)."""
        async with self.lock:
            removed = await database.remove_learned(learned_id)
            if removed is not None:
                self.matcher.remove_phrase(removed.unit_id, removed.phrase)
        return removed

    async def apply_learned(self) -> int:
        """Teach the served matcher every active learned phrase (at start-up); how many applied."""
        if self.database is None:
            return 0
        async with self.lock:
            applied, _ = await apply_learned(self.database, self.matcher)
        return applied

    # -- reloading ----------------------------------------------------------------------

    async def reload(self, kb_dir: Path) -> Reloaded:
        """Load and check ``kb_dir`` and serve it; raises (``KnowledgeBaseError``...) and keeps the old KB."""
        async with self.lock:
            old = self.kb
            kb = await asyncio.to_thread(load_kb, kb_dir)
            matcher = await asyncio.to_thread(build_matcher, kb, self.matcher.config)
            database = self.database
            applied, skipped = await apply_learned(database, matcher) if database is not None else (0, [])
            self.matcher = matcher  # the swap: KB and matcher together, in one assignment
        logger.info("reload: KB %s -> %s (%s)", old.version, kb.version, kb.content_hash)
        return Reloaded(old, kb, applied, skipped)


def _parent(kb: KnowledgeBase, unit_id: str) -> Unit | None:
    parents = kb.ancestors(unit_id)
    return parents[0] if parents else None


async def apply_learned(database: Database, matcher: Matcher) -> tuple[int, list[LearnedPhrase]]:
    """Teach ``matcher`` every active learned phrase; ``(applied, skipped)``.

    A phrase whose unit is no longer in the matcher's KB (or changed level) is skipped.
    """
    applied, skipped = 0, []
    for phrase in await database.learned_phrases():
        unit = matcher.kb.get(phrase.unit_id)
        if unit is None or unit.level != phrase.level:
            skipped.append(phrase)
            continue
        applied += matcher.add_phrase(unit.id, phrase.phrase, phrase.duty)
    if skipped:
        logger.warning(
            "learned phrase(s) %s point at units not in KB %s; not applied",
            ", ".join(f"#{p.id}" for p in skipped),
            matcher.kb.version,
        )
    return applied, skipped


def make_record(
    result: MatchResult,
    kb: KnowledgeBase,
    *,
    source: Source,
    chat_id: int | None,
    chat_type: str | None,
    user_id: int | None,
    latency_ms: float,
) -> QueryRecord:
    """The log record of one question."""
    top_divisi = result.divisi[0] if result.divisi else None
    top_subbag = result.subbag[0] if result.subbag else None
    best = max((c for c in (top_divisi, top_subbag) if c), key=lambda c: c.score, default=None)
    return QueryRecord(
        source=source,
        text=result.question,
        normalized=result.normalized,
        answered=result.answered,
        chat_id=chat_id,
        chat_type=chat_type,
        user_id=user_id,
        divisi_id=top_divisi.unit_id if top_divisi else None,
        divisi_score=top_divisi.score if top_divisi else None,
        subbag_id=top_subbag.unit_id if top_subbag else None,
        subbag_score=top_subbag.score if top_subbag else None,
        duty_ref=str(best.duty) if best and best.duty else None,
        kb_version=kb.content_hash,
        latency_ms=round(latency_ms, 3),
        reason=result.reason,
        divisi_duty=str(top_divisi.duty) if top_divisi and top_divisi.duty else None,
        subbag_duty=str(top_subbag.duty) if top_subbag and top_subbag.duty else None,
    )
