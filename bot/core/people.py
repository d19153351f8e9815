"""What a question asks about people: how to reach a unit, or who holds a role in it.

Pure. The lexicon's ``contact_cues`` say it: ``reach`` words (``kontak``, ``nomor whatsapp``)
always ask how to reach someone; ``roles`` words (``kasubbag``, ``staf``) ask for the person
only when nothing else is asked. "siapa kasubbag keuangan sekarang?" asks for a person; "saya
staf baru, surat masuk dicatat siapa?" and "diklat buat staf sekretariat siapa yang nyiapin?"
ask who handles some work, with a role in passing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.cues import Cue, Cues
from bot.core.matcher import Matcher, MatchResult, Reason
from bot.core.normalize import Normalized, tokenize

# Words that never make a topic of their own in a question about people.
_NOT_TOPIC = (Cue.CONTACT, Cue.ROLE, Cue.QUESTION_WORD, Cue.FACT, Cue.CHITCHAT, Cue.ACKNOWLEDGEMENT)


@dataclass(frozen=True)
class PeopleQuestion:
    """How a question concerns people."""

    asked: bool
    """It asks how to reach someone, or who holds a role (and nothing else)."""
    units: tuple[str, ...] = ()
    """The units whose people it asks for (named in the question); empty: none named."""


class People:
    """Reads questions about people, for one matcher (its KB's cues and unit names)."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self.cues = Cues(matcher.normalizer, matcher.kb.lexicon)
        normalizer = matcher.normalizer
        self._name_terms = {
            unit.id: frozenset().union(
                *(normalizer.terms(n) for n in (unit.name, unit.short_name, *unit.aliases))
            )
            for unit in matcher.kb.units
        }

    def read(self, norm: Normalized, result: MatchResult) -> PeopleQuestion:
        """What ``norm`` (the question, normalised) asks about people; ``result`` is its match."""
        reach = self.cues.has(norm, Cue.CONTACT)
        role = self.cues.has(norm, Cue.ROLE)
        if not (reach or role) or result.reason is Reason.CHITCHAT:
            return PeopleQuestion(asked=False)
        named = result.named or self._spelled_out(result.question)
        only_people = self._only_people(norm, named)
        if not (reach or only_people):
            return PeopleQuestion(asked=False)
        # Another KPU office's people are not ours to give; a unit named beside a question about
        # who handles some work ("ada telepon dari LO partai, yang pegang verifikasi siapa?") is
        # the asker's context, not the unit asked for.
        if self.cues.about(norm, Cue.OFFICE) or not (only_people or not self.cues.handler(norm)):
            return PeopleQuestion(asked=True)
        return PeopleQuestion(asked=True, units=named)

    def _only_people(self, norm: Normalized, named: tuple[str, ...]) -> bool:
        """Every word is a role, a way to reach, a question word, a greeting or a named unit's name."""
        skip: set[int] = set()
        for cue in _NOT_TOPIC:
            for span in self.cues.spans(norm, cue):
                skip.update(span)
        names = frozenset().union(*(self._name_terms[unit_id] for unit_id in named))
        return all(group.position in skip or group.terms & names for group in norm.groups)

    def _spelled_out(self, question: str) -> tuple[str, ...]:
        """The unit whose name, short name or alias the question spells out in full (the longest)."""
        text = f" {' '.join(tokenize(question))} "
        found = []
        for unit in self.matcher.kb.units:
            for name in (unit.name, unit.short_name, *unit.aliases):
                words = " ".join(tokenize(name))
                if words and f" {words} " in text:
                    found.append((len(words), unit.id))
        return (max(found)[1],) if found else ()
