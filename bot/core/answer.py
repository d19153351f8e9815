"""Turn a match into what the user is told, as data, and the decline policy.

:mod:`bot.text.answers` renders an :class:`Answer` as HTML for Telegram and
:mod:`bot.text.plain` as text for the CLI; both read the same policy
(:attr:`Answer.needs_review`, :attr:`Answer.shows_hint`) and the same sentences
(:mod:`bot.text.words`). No wording lives here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.contacts import Contact
from bot.core.conversation import SmallTalk
from bot.core.matcher import Candidate, MatchResult, Reason
from bot.core.model import Duty, KnowledgeBase, Level, Unit

# Declines that mean "not found" rather than "not my job": the question waits for an admin
# (the review list), and the reply names the nearest units.
NEEDS_REVIEW: frozenset[Reason] = frozenset({Reason.NO_MATCH, Reason.LOW_SCORE})
# Declines after which the reply suggests how to ask.
HINT_REASONS: frozenset[Reason] = NEEDS_REVIEW | {Reason.EMPTY}
# Answers less sure than this ("kurang yakin") offer to hand the question to an admin.
HANDOFF_BELOW = 0.62


@dataclass(frozen=True)
class Assignment:
    """A unit named in an answer, with the duty that makes it responsible."""

    unit: Unit
    duty: Duty | None
    score: float
    parent: Unit | None = None
    through: Duty | None = None
    """When no duty of this unit covers the question: the counterpart's duty that names it."""
    through_unit: Unit | None = None
    contacts: tuple[Contact, ...] = ()
    """The unit's people to contact (the service fills them in)."""


@dataclass(frozen=True)
class Answer:
    """Everything a reply needs, independent of how it is displayed."""

    question: str
    answered: bool
    reason: Reason
    confidence: float
    divisi: Assignment | None
    subbag: Assignment | None
    alternatives: tuple[Assignment, ...]
    ambiguous: bool
    nearest: tuple[Unit, ...]
    corrections: dict[str, str]
    named_elsewhere: tuple[Unit, ...] = ()
    """Units the asker named that the SOP does not give this matter to."""
    small_talk: SmallTalk | None = None
    """For small talk: which kind (thanks, a greeting, "mau tanya"), so the reply fits."""
    contacts_asked: bool = False
    """The question asks for a person or how to reach them ("kontak", "siapa kasubbag")."""
    contact_units: tuple[Assignment, ...] = ()
    """A contact question naming units: the reply is their contacts, not a matched duty."""
    refer_to: tuple[Assignment, ...] = ()
    """A fact question (a date, a number) whose topic is clear: the units that would know."""

    @property
    def needs_review(self) -> bool:
        """Not found (rather than declined on purpose): the nearest units are shown, admins review it."""
        return not self.answered and self.reason in NEEDS_REVIEW

    @property
    def offers_handoff(self) -> bool:
        """Not found, or answered without confidence: the asker may hand it to an admin."""
        if self.contact_units:
            return False
        return self.needs_review or (self.answered and self.confidence < HANDOFF_BELOW)

    @property
    def shows_hint(self) -> bool:
        """The reply suggests how to ask instead."""
        return not self.answered and self.reason in HINT_REASONS


def assignment_for(kb: KnowledgeBase, candidate: Candidate) -> Assignment:
    """A ranked candidate as a unit with the duty to cite and its parent (Bagian)."""
    unit = kb.unit(candidate.unit_id)
    duty = kb.duty(candidate.duty) if candidate.duty else None
    through = None
    if duty is None and candidate.via is not None:
        if candidate.via.unit_id == unit.id:
            duty = kb.duty(candidate.via)
        else:
            through = kb.duty(candidate.via)
    parents = kb.ancestors(unit.id)
    parent = parents[0] if parents else None
    if through is None:
        return Assignment(unit, duty, candidate.score, parent)
    return Assignment(unit, duty, candidate.score, parent, through, kb.unit(through.unit_id))


def build_answer(result: MatchResult, kb: KnowledgeBase, ambiguity_margin: float = 0.05) -> Answer:
    """Resolve candidate ids into units and duties the reply can cite."""

    def assignment(candidate: Candidate | None) -> Assignment | None:
        return assignment_for(kb, candidate) if candidate else None

    top_divisi = result.divisi[0] if result.divisi else None
    top_subbag = result.subbag[0] if result.subbag else None
    divisi = assignment(top_divisi)
    subbag = assignment(top_subbag)
    # A subbag far weaker than the divisi is not really implicated (e.g. ad hoc recruitment).
    if subbag and divisi and subbag.score < 0.6 * divisi.score:
        subbag = None
    alternatives: list[Assignment] = []
    ambiguous = False
    for level, ranking in ((Level.DIVISI, result.divisi), (Level.SUBBAG, result.subbag)):
        if result.ambiguous_at(level, ambiguity_margin):
            ambiguous = True
            top = ranking[0].score
            alternatives += [
                a for c in ranking[1:3] if top - c.score < ambiguity_margin and (a := assignment(c))
            ]
    nearest_ids = list(dict.fromkeys(c.unit_id for c in (*result.subbag[:2], *result.divisi[:2])))
    chosen = {a.unit.id for a in (divisi, subbag) if a} | {a.unit.id for a in alternatives}
    chosen |= {p.id for a in (divisi, subbag) if a and a.parent for p in kb.ancestors(a.unit.id)}
    named_elsewhere = tuple(
        kb.unit(i)
        for i in result.named
        if i not in chosen and kb.unit(i).level in (Level.DIVISI, Level.SUBBAG)
    )
    return Answer(
        question=result.question,
        answered=result.answered,
        reason=result.reason,
        confidence=result.confidence,
        divisi=divisi,
        subbag=subbag,
        alternatives=tuple(alternatives),
        ambiguous=ambiguous,
        nearest=tuple(kb.unit(i) for i in nearest_ids[:3]),
        corrections=result.corrections,
        named_elsewhere=named_elsewhere if result.answered else (),
    )
