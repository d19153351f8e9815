"""Map a question to the units whose duties cover it.

Every duty is a small document: its SOP text and the terms staff use for it,
each a *field*. A question scores against a duty by how much of the question the
duty explains (IDF-weighted, so rare words count more) blended with how fully
its best field is matched. A duty scores for its own unit and, through the KB's
links, for the counterpart unit at the other level, so every answer names both
the Divisi and the Sub Bagian. Whether to answer at all depends on the score and
on what kind of question it is: a fact question ("berapa", "kapan") or chit-chat
is declined even when it shares words with a duty.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

from bot.model import Duty, DutyRef, KnowledgeBase, Level, Unit
from bot.normalize import Normalized, Normalizer


class Reason(StrEnum):
    """Why a question was (not) answered."""

    ANSWERED = "answered"
    EMPTY = "empty"
    CHITCHAT = "chitchat"
    FACT_QUESTION = "fact_question"
    OTHER_AGENCY = "other_agency"
    NO_MATCH = "no_match"
    LOW_SCORE = "low_score"


@dataclass(frozen=True)
class MatcherConfig:
    """Tunable constants, in one place; tuned on the dev set (see README)."""

    # Score = coverage of the question + coverage of the duty's best field + strength of
    # the evidence (IDF mass matched, saturating), weighted as below (the rest is strength).
    question_coverage_weight: float = 0.45
    field_cover_weight: float = 0.3
    evidence_saturation: float = 6.0
    # An unknown question word sharing a long prefix with a KB word counts this much.
    related_credit: float = 0.7
    # A duty counts for the counterpart unit it links to at slightly less than for its own.
    link_factor: float = 0.92
    # Unit names, aliases and keywords: a hint, weaker than a duty.
    profile_factor: float = 0.85
    # Phrases taught by admins count like duty terms.
    learned_factor: float = 1.0
    # Below this top score the question is declined.
    answer_threshold: float = 0.45
    # Questions without any "who handles" cue need more evidence, and most of their
    # words must be explained by one duty (a topic like "arsip?" is; "libur nasional" is not).
    uncued_threshold: float = 0.55
    uncued_min_coverage: float = 0.6
    # Greeting plus a question with no "who handles" cue: answer only on strong evidence.
    greeting_threshold: float = 0.8
    # Top two closer than this: too close to call, offer both.
    ambiguity_margin: float = 0.05
    # Weight of a question word the KB has never seen, relative to the rarest KB word.
    unknown_word_weight: float = 1.0
    max_candidates: int = 5


@dataclass(frozen=True)
class Candidate:
    """A unit proposed for a question."""

    unit_id: str
    score: float
    duty: DutyRef | None = None
    via: DutyRef | None = None
    learned: bool = False


@dataclass(frozen=True)
class MatchResult:
    """What the matcher concluded about one question."""

    question: str
    normalized: str
    answered: bool
    reason: Reason
    divisi: tuple[Candidate, ...] = ()
    subbag: tuple[Candidate, ...] = ()
    bagian: tuple[Candidate, ...] = ()
    corrections: dict[str, str] = field(default_factory=dict)

    @property
    def confidence(self) -> float:
        """The best score at any level."""
        return max((c[0].score for c in (self.divisi, self.subbag) if c), default=0.0)

    def ambiguous_at(self, level: Level, margin: float) -> bool:
        """True when the top two candidates of ``level`` are too close to call."""
        ranking = self.ranking(level)
        return len(ranking) > 1 and ranking[0].score - ranking[1].score < margin

    def ranking(self, level: Level) -> tuple[Candidate, ...]:
        """Candidates of one level, best first."""
        return {Level.DIVISI: self.divisi, Level.SUBBAG: self.subbag, Level.BAGIAN: self.bagian}.get(
            level, ()
        )


@dataclass
class _Target:
    level: Level
    unit_id: str
    factor: float
    cite: DutyRef | None


@dataclass
class _Doc:
    index: int
    fields: list[frozenset[str]]
    terms: frozenset[str]
    targets: list[_Target]
    via: DutyRef | None
    learned: bool = False
    phrase: str = ""


# Length of the shared prefix that makes an unknown word "related" to a KB word.
RELATED_PREFIX = 5


class Matcher:
    """Ranks units for a question. Build once per KB; learned phrases can be added any time."""

    def __init__(self, kb: KnowledgeBase, config: MatcherConfig | None = None) -> None:
        self.kb = kb
        self.config = config or MatcherConfig()
        self.normalizer = Normalizer(kb.lexicon, _vocabulary(kb))
        self._docs: list[_Doc] = []
        self._index: dict[str, list[int]] = defaultdict(list)
        self._cues = _Cues(self.normalizer, kb)
        for unit in kb.units:
            for duty in unit.duties:
                if not duty.generic:
                    self._add_doc(self._duty_fields(unit, duty), self._duty_targets(unit, duty), duty.ref)
        self._idf = self._compute_idf()
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        for term in sorted(self._idf):
            if len(term) >= RELATED_PREFIX + 1:
                self._by_prefix[term[:RELATED_PREFIX]].append(term)
        self._related_cache: dict[str, tuple[str, ...]] = {}
        for unit in kb.units:
            profile = [unit.name, unit.short_name, *unit.aliases, *unit.keywords]
            fields = [f for f in (self.normalizer.terms(p) for p in profile) if f]
            target = _Target(unit.level, unit.id, self.config.profile_factor, None)
            self._add_doc(fields, [target], None)

    # -- building ----------------------------------------------------------------------

    def _duty_fields(self, unit: Unit, duty: Duty) -> list[frozenset[str]]:
        texts = [duty.text, *duty.terms]
        return [f for f in (self.normalizer.terms(t) for t in texts) if f]

    def _duty_targets(self, unit: Unit, duty: Duty) -> list[_Target]:
        """Own unit at full weight; linked counterpart duties at ``link_factor``."""
        targets = [_Target(unit.level, unit.id, 1.0, duty.ref)]
        for rank, ref in enumerate(self.kb.linked_duties(duty)):
            other = self.kb.get(ref.unit_id)
            if other is None or other.level == unit.level:
                continue
            factor = self.config.link_factor * (1 - 0.005 * rank)
            targets.append(_Target(other.level, other.id, factor, ref if ref.number else None))
        return targets

    def _add_doc(
        self,
        fields: list[frozenset[str]],
        targets: list[_Target],
        via: DutyRef | None,
        *,
        learned: bool = False,
        phrase: str = "",
    ) -> _Doc | None:
        terms = frozenset().union(*fields) if fields else frozenset()
        if not terms:
            return None
        doc = _Doc(len(self._docs), fields, terms, targets, via, learned, phrase)
        self._docs.append(doc)
        for term in terms:
            self._index[term].append(doc.index)
        return doc

    def _compute_idf(self) -> dict[str, float]:
        n = len(self._docs)
        df: dict[str, int] = defaultdict(int)
        for doc in self._docs:
            for term in doc.terms:
                df[term] += 1
        self._max_idf = math.log((n + 1) / 0.5)
        return {term: math.log((n + 1) / (count + 0.5)) for term, count in df.items()}

    def idf(self, term: str) -> float:
        """Rarity weight of a term; words the KB never uses get the maximum (scaled)."""
        value = self._idf.get(term)
        return value if value is not None else self._max_idf * self.config.unknown_word_weight

    # -- learning ----------------------------------------------------------------------

    def add_phrase(self, unit_id: str, phrase: str) -> bool:
        """Teach: questions like ``phrase`` belong to ``unit_id``. No rebuild needed."""
        unit = self.kb.unit(unit_id)
        terms = self.normalizer.terms(phrase)
        if not terms:
            return False
        target = _Target(unit.level, unit.id, self.config.learned_factor, None)
        return self._add_doc([terms], [target], None, learned=True, phrase=phrase) is not None

    def remove_phrase(self, unit_id: str, phrase: str) -> bool:
        """Undo :meth:`add_phrase`; True if something was removed."""
        for doc in self._docs:
            if doc.learned and doc.phrase == phrase and doc.targets and doc.targets[0].unit_id == unit_id:
                for term in doc.terms:
                    self._index[term].remove(doc.index)
                doc.terms = frozenset()
                doc.targets = []
                return True
        return False

    # -- matching ----------------------------------------------------------------------

    def match(self, question: str) -> MatchResult:
        """Rank units for ``question`` and decide whether to answer."""
        norm = self.normalizer.normalize(question)
        # Greetings and thanks are not the topic: "terima kasih" must not match "surat diterima"
        # (the cue words stay in ``words`` for the decision).
        norm = norm.without(self._cues.chitchat_spans(norm))
        if not norm.groups:
            reason = Reason.CHITCHAT if self._cues.chitchat(norm) else Reason.EMPTY
            return MatchResult(question, norm.text, False, reason, corrections=norm.corrections)
        scores = self._score_docs(norm)
        rankings = self._rank_units(scores)
        coverage = max((c for _, c in scores.values()), default=0.0)
        result = MatchResult(
            question=question,
            normalized=norm.text,
            answered=False,
            reason=Reason.NO_MATCH,
            divisi=rankings[Level.DIVISI],
            subbag=rankings[Level.SUBBAG],
            bagian=rankings[Level.BAGIAN],
            corrections=norm.corrections,
        )
        reason = self._decide(norm, result, coverage)
        return MatchResult(
            question=question,
            normalized=norm.text,
            answered=reason is Reason.ANSWERED,
            reason=reason,
            divisi=result.divisi,
            subbag=result.subbag,
            bagian=result.bagian,
            corrections=norm.corrections,
        )

    def _related(self, term: str) -> tuple[str, ...]:
        """KB terms sharing a long prefix with an unknown term (operator ~ operasi)."""
        if term in self._idf or len(term) < RELATED_PREFIX + 1:
            return ()
        cached = self._related_cache.get(term)
        if cached is None:
            prefix = term[:RELATED_PREFIX]
            cached = tuple(t for t in self._by_prefix.get(prefix, ()) if t != term)
            self._related_cache[term] = cached
        return cached

    def _score_docs(self, norm: Normalized) -> dict[int, tuple[float, float]]:
        """Score every duty sharing a term with the question: (score, question coverage)."""
        cfg = self.config
        query_terms = set(norm.terms)
        soft: dict[str, tuple[str, ...]] = {}
        for term in norm.terms:
            if related := self._related(term):
                soft[term] = related
                query_terms.update(related)
        candidates: set[int] = set()
        for term in query_terms:
            candidates.update(self._index.get(term, ()))
        weighted_groups = []
        for group in norm.groups:
            options = [(option, [self.idf(t) for t in option]) for option in group.options]
            weight = max(sum(ws) / len(ws) for _, ws in options)
            weighted_groups.append((weight, options))
        total = sum(w for w, _ in weighted_groups) or 1.0
        scores: dict[int, tuple[float, float]] = {}
        for index in candidates:
            doc = self._docs[index]
            covered = evidence = 0.0
            for weight, options in weighted_groups:
                best = 0.0
                for option, ws in options:
                    hit = sum(
                        w
                        if t in doc.terms
                        else w * cfg.related_credit * any(r in doc.terms for r in soft.get(t, ()))
                        for t, w in zip(option, ws, strict=True)
                    )
                    best = max(best, hit / (sum(ws) or 1.0))
                covered += weight * best
                evidence += weight * best
            coverage = covered / total
            field_cover = max(
                sum(self.idf(t) for t in f & query_terms) / (sum(self.idf(t) for t in f) or 1.0)
                for f in doc.fields
            )
            strength = min(1.0, evidence / cfg.evidence_saturation)
            score = (
                cfg.question_coverage_weight * coverage
                + cfg.field_cover_weight * field_cover
                + (1 - cfg.question_coverage_weight - cfg.field_cover_weight) * strength
            )
            scores[index] = (score, coverage)
        return scores

    def _rank_units(self, scores: dict[int, tuple[float, float]]) -> dict[Level, tuple[Candidate, ...]]:
        best: dict[Level, dict[str, Candidate]] = {level: {} for level in Level}
        for index, (score, _coverage) in scores.items():
            doc = self._docs[index]
            for target in doc.targets:
                value = score * target.factor
                current = best[target.level].get(target.unit_id)
                if current is None or value > current.score:
                    best[target.level][target.unit_id] = Candidate(
                        target.unit_id, round(min(value, 1.0), 4), target.cite, doc.via, doc.learned
                    )
        for subbag in list(best[Level.SUBBAG].values()):
            parent = self.kb.unit(subbag.unit_id).parent
            current = best[Level.BAGIAN].get(parent) if parent else None
            if parent and (current is None or subbag.score > current.score):
                best[Level.BAGIAN][parent] = Candidate(parent, subbag.score, None, subbag.via)
        limit = self.config.max_candidates
        return {
            level: tuple(sorted(units.values(), key=lambda c: (-c.score, c.unit_id))[:limit])
            for level, units in best.items()
        }

    def _decide(self, norm: Normalized, result: MatchResult, coverage: float) -> Reason:
        cues = self._cues
        handler = cues.handler(norm)
        if not handler:
            if cues.fact(norm):
                return Reason.FACT_QUESTION
            if cues.other_agency(norm):
                return Reason.OTHER_AGENCY
            # A greeting with a word or two left over ("apa kabar hari ini") is small talk;
            # "selamat pagi, SPJ perjalanan dinas?" still gets its answer.
            if cues.chitchat(norm) and (
                len(norm.groups) < 2 or result.confidence < self.config.greeting_threshold
            ):
                return Reason.CHITCHAT
        if not result.divisi and not result.subbag:
            return Reason.NO_MATCH
        if not handler and coverage < self.config.uncued_min_coverage:
            return Reason.LOW_SCORE
        threshold = self.config.answer_threshold if handler else self.config.uncued_threshold
        return Reason.ANSWERED if result.confidence >= threshold else Reason.LOW_SCORE


class _Cues:
    """Question-type cues from the lexicon, matched as whole-word (stemmed) phrases."""

    def __init__(self, normalizer: Normalizer, kb: KnowledgeBase) -> None:
        lex = kb.lexicon

        def phrases(items: tuple[str, ...]) -> list[tuple[str, ...]]:
            return [p for p in (normalizer.phrase(item) for item in items) if p]

        self._handler = phrases(lex.handler_cues)
        self._fact = phrases(lex.fact_cues)
        self._chitchat = phrases(lex.chitchat_cues)
        self._agencies = phrases(lex.other_agencies)

    @staticmethod
    def _spans(norm: Normalized, items: list[tuple[str, ...]]) -> list[range]:
        return [span for p in items for span in norm.find_phrase(p)]

    def handler(self, norm: Normalized) -> bool:
        """Asks who handles something; a "siapa" inside "siapa presiden" does not count."""
        fact_spans = self._spans(norm, self._fact)
        return any(
            not any(span.start >= f.start and span.stop <= f.stop for f in fact_spans)
            for span in self._spans(norm, self._handler)
        )

    def fact(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._fact))

    def chitchat(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._chitchat))

    def chitchat_spans(self, norm: Normalized) -> list[range]:
        return self._spans(norm, self._chitchat)

    def other_agency(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._agencies))


def _vocabulary(kb: KnowledgeBase) -> list[str]:
    """Every word the KB uses: what typos are corrected towards."""
    texts: list[str] = []
    for unit in kb.units:
        texts += [unit.name, unit.short_name, *unit.aliases, *unit.keywords]
        for duty in unit.duties:
            texts += [duty.text, *duty.terms]
    lex = kb.lexicon
    texts += list(lex.acronyms.values()) + list(lex.informal.values()) + list(lex.english.values())
    return texts
