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

import heapq
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.core.model import Duty, DutyRef, KnowledgeBase, Level, Unit
from bot.core.normalize import Normalized, Normalizer, has_visible_text, tokenize

# A confidence at or above this reads "sangat yakin" (very sure) to users; an answer whose
# evidence disagrees with itself is capped just below it.
SURE = 0.8
UNSURE_CAP = 0.79


class Reason(StrEnum):
    """Why a question was (not) answered."""

    ANSWERED = "answered"
    EMPTY = "empty"
    CHITCHAT = "chitchat"
    FACT_QUESTION = "fact_question"
    DEFINITION = "definition"
    OTHER_AGENCY = "other_agency"
    OTHER_OFFICE = "other_office"
    BOT_TASK = "bot_task"
    NO_MATCH = "no_match"
    LOW_SCORE = "low_score"

    @property
    def out_of_scope(self) -> bool:
        """A deliberate decline: the question is not a who-handles question about KPU Banten."""
        return self in _OUT_OF_SCOPE


_OUT_OF_SCOPE = frozenset(
    {
        Reason.CHITCHAT,
        Reason.FACT_QUESTION,
        Reason.DEFINITION,
        Reason.OTHER_AGENCY,
        Reason.OTHER_OFFICE,
        Reason.BOT_TASK,
    }
)


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
    # A unit cites its own best duty when that duty alone scores at least this share of the
    # unit's score; otherwise the duty the KB links it through, else none ("named through
    # its counterpart"): an unrelated duty of the right unit is not evidence.
    own_duty_share: float = 0.75
    # Top two closer than this: too close to call, offer both.
    ambiguity_margin: float = 0.05
    # Weight of a question word the KB has never seen, relative to the rarest KB word.
    unknown_word_weight: float = 1.0
    unknown_short_word_weight: float = 0.3
    max_candidates: int = 3


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
    named: tuple[str, ...] = ()
    """Units the question itself names (it may name the wrong one)."""
    unsure: bool = False
    """The evidence disagrees with itself: the top Divisi and Sub Bagian are not counterparts,
    or a level's top two are too close to call. Such an answer is never "very sure"."""

    @property
    def score(self) -> float:
        """The best score at any level."""
        return max((c[0].score for c in (self.divisi, self.subbag) if c), default=0.0)

    @property
    def confidence(self) -> float:
        """How likely the answer is right: the score, kept below :data:`SURE` when unsure."""
        return min(self.score, UNSURE_CAP) if self.unsure else self.score

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
    # (field terms, their IDF mass): the denominators of field coverage, computed once.
    weighted_fields: list[tuple[frozenset[str], float]] = field(default_factory=list)
    # term -> positions of the fields containing it.
    term_fields: dict[str, tuple[int, ...]] = field(default_factory=dict)


# Words before a unit's nickname that make it the unit addressed ("lapor ke humas").
_ADDRESSED = frozenset({"ke", "sama", "dengan", "urusan", "ranah", "ranahnya", "tim", "kepada"})

# Words that start a unit's name as people write it ("divisi hukum", "kasubbag umum").
_UNIT_WORDS = frozenset(
    {
        "divisi",
        "div",
        "subbag",
        "subag",
        "sub",
        "subbagian",
        "bagian",
        "kasubbag",
        "kasubag",
        "kabag",
        "kadiv",
        "kordiv",
        "koordinator",
        "komisioner",
        "sekretariat",
        "sekretaris",
        "staf",
        "orang",
    }
)

# Words that ask for something to be done with a value rather than for the value itself.
_ACTION = frozenset({"tolong", "mohon", "minta", "reset", "ganti", "ubah", "buatkan", "bikinin", "please"})

# Words that may open an order to the bot before its verb ("tolong rangkum ...").
_POLITE = frozenset({"tolong", "mohon", "coba", "bot", "min", "pls", "please", "bang", "kak", "mas", "mbak"})

# Demonstratives that, with a final "apa", ask what something is ("X itu apa").
_THAT = frozenset({"itu", "teh", "iku", "kuwi"})

# Question words that, followed by a verb, ask who does something ("siapa nyusun").
_WHO = frozenset({"siapa", "who"})

# Verb prefixes (passive di-, active me-, colloquial ny-/ng-) of a word that asks who does it
# when it stands right before a question word.
_VERB_PREFIXES = ("di", "me", "ny", "ng")

# Question words (standard forms) that may follow a passive verb: "dikumpulin siapa".
_WHO_WHERE = frozenset({"siapa", "mana", "di mana", "ke mana", "dimana", "kemana"})

# Words before an office's name that make it the other end of this office's work.
_TOWARDS = frozenset({"ke", "dari", "untuk", "buat", "sama", "dengan", "kepada", "bagi", "oleh"})

# Marks a cue kept as typed (compared with standard words, not stems).
_SURFACE = "~"

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
        self._idf: dict[str, float] = {}
        for unit in kb.units:
            for duty in unit.duties:
                if not duty.generic:
                    self._add_doc(self._duty_fields(unit, duty), self._duty_targets(unit, duty), duty.ref)
        self._idf = self._compute_idf()
        # Each unit's own duty documents, for choosing the duty an answer cites.
        self._own_docs: dict[str, list[int]] = defaultdict(list)
        for doc in self._docs:
            doc.weighted_fields = self._weigh(doc.fields)
            self._own_docs[doc.targets[0].unit_id].append(doc.index)
        self._by_prefix: dict[str, list[str]] = defaultdict(list)
        for term in sorted(self._idf):
            if len(term) >= RELATED_PREFIX + 1:
                self._by_prefix[term[:RELATED_PREFIX]].append(term)
        self._related_cache: dict[str, tuple[str, ...]] = {}
        self._partners = self._partner_pairs()
        # How the question may name a unit: its names and aliases that start with a unit word.
        self._unit_names: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        self._unit_aliases: dict[str, dict[str, list[tuple[str, ...]]]] = {}
        for unit in kb.units:
            names = [self.normalizer.phrase(n) for n in (unit.name, unit.short_name, *unit.aliases)]
            named = [n for n in names if len(n) > 1 and n[0] in _UNIT_WORDS]
            if named:
                self._unit_names[unit.id] = _by_first(sorted(set(named), key=len, reverse=True))
            # Any other alias ("humas", "keuangan") names the unit when addressed: "lapor ke humas".
            others = [n for n in names if n and n[0] not in _UNIT_WORDS]
            if others:
                self._unit_aliases[unit.id] = _by_first(sorted(set(others), key=len, reverse=True))
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
        doc.term_fields = {t: tuple(i for i, f in enumerate(fields) if t in f) for t in terms}
        if self._idf:
            doc.weighted_fields = self._weigh(fields)
        self._docs.append(doc)
        for term in terms:
            self._index[term].append(doc.index)
        return doc

    def _weigh(self, fields: list[frozenset[str]]) -> list[tuple[frozenset[str], float]]:
        return [(f, sum(self.idf(t) for t in f) or 1.0) for f in fields]

    def _compute_idf(self) -> dict[str, float]:
        n = len(self._docs)
        df: dict[str, int] = defaultdict(int)
        for doc in self._docs:
            for term in doc.terms:
                df[term] += 1
        self._max_idf = math.log((n + 1) / 0.5)
        return {term: math.log((n + 1) / (count + 0.5)) for term, count in df.items()}

    def idf(self, term: str) -> float:
        """Rarity weight of a term; words the KB never uses get the maximum (scaled).

        An unknown word of three letters or fewer is more likely chat noise ("sp", "x")
        than a topic, so it weighs less.
        """
        value = self._idf.get(term)
        if value is not None:
            return value
        scale = self.config.unknown_short_word_weight if len(term) <= 3 else self.config.unknown_word_weight
        return self._max_idf * scale

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
        if self._cues.small_talk(norm) or (not norm.words and has_visible_text(question)):
            # Pings, acknowledgements, laughter, a lone emoji: nothing is asked.
            return MatchResult(question, norm.text, False, Reason.CHITCHAT, corrections=norm.corrections)
        # Greetings, thanks and request words are not the topic: "terima kasih" must not match
        # "surat diterima", "tolong"/"rusak" say how, not what (the cue words stay in ``words``
        # for the decision).
        norm = norm.without(
            self._cues.chitchat_spans(norm) + self._unknown_spans(norm, self._cues.request_spans(norm))
        )
        if not norm.groups:
            reason = Reason.CHITCHAT if self._cues.chitchat(norm) else Reason.EMPTY
            return MatchResult(question, norm.text, False, reason, corrections=norm.corrections)
        named, name_spans = self._named_units(norm)
        if named:
            # The work described decides, not the unit the asker guessed: rank without the
            # unit's name first, and fall back to the name only when the rest says too little.
            described = self._judge(question, norm.without(name_spans), named)
            if described.answered:
                return described
        return self._judge(question, norm, named)

    def _judge(self, question: str, norm: Normalized, named: tuple[str, ...]) -> MatchResult:
        """Rank ``norm`` and decide; an empty ``norm`` is a question with nothing left to rank."""
        if not norm.groups:
            return MatchResult(question, norm.text, False, Reason.NO_MATCH, corrections=norm.corrections)
        rankings, coverage = self._rank(norm)
        result = MatchResult(
            question=question,
            normalized=norm.text,
            answered=False,
            reason=Reason.NO_MATCH,
            divisi=rankings[Level.DIVISI],
            subbag=rankings[Level.SUBBAG],
            bagian=rankings[Level.BAGIAN],
            corrections=norm.corrections,
            named=named,
        )
        reason = self._decide(question, norm, result, coverage)
        return replace(result, answered=reason is Reason.ANSWERED, reason=reason, unsure=self._unsure(result))

    def _unsure(self, result: MatchResult) -> bool:
        """Levels that disagree or a ranking too close to call (see MatchResult.unsure)."""
        margin = self.config.ambiguity_margin
        if result.ambiguous_at(Level.DIVISI, margin) or result.ambiguous_at(Level.SUBBAG, margin):
            return True
        if not result.divisi or not result.subbag:
            return False
        return (result.divisi[0].unit_id, result.subbag[0].unit_id) not in self._partners

    def _partner_pairs(self) -> frozenset[tuple[str, str]]:
        """(Divisi, Sub Bagian) pairs the KB puts together: counterparts or linked duties."""
        kb = self.kb
        pairs: set[tuple[str, str]] = set()
        for unit in kb.units_at(Level.DIVISI):
            pairs.update((unit.id, other.id) for other in kb.counterparts(unit.id))
            for duty in unit.duties:
                pairs.update((unit.id, ref.unit_id) for ref in kb.linked_duties(duty))
        return frozenset(pairs)

    def _unknown_spans(self, norm: Normalized, spans: list[range]) -> list[range]:
        """The spans whose words no duty uses: "tolong" is dropped, "down" or "bocor" (a
        website down, a roof leaking) stays and helps tell the duties apart."""
        known = {g.position for g in norm.groups if g.terms & self._idf.keys()}
        return [span for span in spans if not all(i in known for i in span)]

    def _named_units(self, norm: Normalized) -> tuple[tuple[str, ...], list[range]]:
        """Units the question names ("Divisi Hukum", "subbag keuangan") and where."""
        ids: list[str] = []
        spans: list[range] = []
        for unit_id, phrases in self._unit_names.items():
            found = _Cues._spans(norm, phrases)
            if found:
                ids.append(unit_id)
                spans += found
        for unit_id, phrases in self._unit_aliases.items():
            found = [
                span
                for span in _Cues._spans(norm, phrases)
                if span.start > 0 and norm.words[span.start - 1] in _ADDRESSED
            ]
            if found and unit_id not in ids:
                ids.append(unit_id)
                spans += found
        return tuple(ids), spans

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

    def _coverage(self, norm: Normalized) -> tuple[dict[int, float], float, set[str]]:
        """IDF mass of the question each duty explains, accumulated term by term from the index.

        Returns (explained mass per duty, total mass of the question, query terms incl. related).
        A group is one question word; its credit in a duty is its best option (the acronym, or
        the share of its expansion present), 0.7 of it for a word only related by prefix.
        """
        idf = self.idf
        query_terms = set(norm.terms)
        covered: dict[int, float] = defaultdict(float)
        total = 0.0
        for group in norm.groups:
            if len(group.options) == 1 and len(group.options[0]) == 1:
                # Most words: one term, full credit wherever it occurs (one pass, same sums).
                term = group.options[0][0]
                related = self._related(term)
                if not related:
                    weight = idf(term)
                    total += weight
                    for index in self._index.get(term, ()):
                        covered[index] += weight
                    continue
            credit: dict[int, float] = {}
            weight = 0.0
            options = group.options
            if len(options) > 1 and len(options[0]) == 1 and len(self._index.get(options[0][0], ())) >= 2:
                # An acronym the KB itself uses ("sirekap") means what the KB says it means; its
                # spelled-out words ("... rekapitulasi") would pull in other duties.
                options = options[:1]
            for option in options:
                weights = [idf(t) for t in option]
                weight = max(weight, sum(weights) / len(weights))
                denominator = sum(weights) or 1.0
                hits: dict[int, float] = defaultdict(float)
                for term, w in zip(option, weights, strict=True):
                    for index in self._index.get(term, ()):
                        hits[index] += w
                    related = self._related(term)
                    query_terms.update(related)
                    soft = {i for r in related for i in self._index.get(r, ())}
                    for index in soft:
                        hits[index] += w * self.config.related_credit
                for index, hit in hits.items():
                    share = hit / denominator
                    if share > credit.get(index, 0.0):
                        credit[index] = share
            total += weight
            for index, share in credit.items():
                covered[index] += weight * share
        return covered, total or 1.0, query_terms

    def _field_cover(self, index: int, query_terms: set[str], query_idf: dict[str, float]) -> float:
        """The best share of one field's IDF mass of duty ``index`` that the question matches."""
        doc = self._docs[index]
        mass = [0.0] * len(doc.fields)
        for term in doc.terms & query_terms:
            weight = query_idf[term]
            for position in doc.term_fields[term]:
                mass[position] += weight
        return max(
            (m / denominator for m, (_, denominator) in zip(mass, doc.weighted_fields, strict=True)),
            default=0.0,
        )

    def _rank(self, norm: Normalized) -> tuple[dict[Level, tuple[Candidate, ...]], float]:
        """Top candidates per level and the best question coverage of any duty.

        Duties are visited best first; the field part of a duty's score (the costly part) is
        computed only when the duty's upper bound could still beat the best visited score, and
        the visit stops once no remaining duty could enter the top candidates of the Divisi or
        Sub Bagian ranking. Cost follows the few good duties, not the KB size.
        """
        cfg = self.config
        covered, total, query_terms = self._coverage(norm)
        if not covered:
            return dict.fromkeys(Level, ()), 0.0
        alpha, beta = cfg.question_coverage_weight, cfg.field_cover_weight
        gamma = 1.0 - alpha - beta
        saturation = cfg.evidence_saturation
        query_idf = {t: self.idf(t) for t in query_terms}
        # The upper bound of a duty's score (field cover 1) grows with its mass: visit by mass.
        order = sorted(covered, key=covered.__getitem__, reverse=True)
        position = 0
        scored: list[tuple[float, int]] = []
        best: dict[Level, dict[str, Candidate]] = {level: {} for level in Level}
        limit = cfg.max_candidates
        tops: dict[Level, dict[str, float]] = {Level.DIVISI: {}, Level.SUBBAG: {}}
        floor = 0.0
        while position < len(order) or scored:
            while position < len(order):
                mass = covered[order[position]]
                bound = alpha * mass / total + beta + gamma * min(1.0, mass / saturation)
                if scored and bound < -scored[0][0]:
                    break
                index = order[position]
                position += 1
                score = (
                    alpha * mass / total
                    + beta * self._field_cover(index, query_terms, query_idf)
                    + gamma * min(1.0, mass / saturation)
                )
                heapq.heappush(scored, (-score, index))
            negative, index = heapq.heappop(scored)
            score = -negative
            if score < floor:
                break
            doc = self._docs[index]
            for target in doc.targets:
                value = score * target.factor
                current = best[target.level].get(target.unit_id)
                if current is None or value > current.score:
                    candidate = Candidate(
                        target.unit_id, round(min(value, 1.0), 4), target.cite, doc.via, doc.learned
                    )
                    best[target.level][target.unit_id] = candidate
                    if target.level in tops and _keep_top(tops[target.level], candidate, limit):
                        floor = min(min(top.values()) if len(top) == limit else 0.0 for top in tops.values())
        for subbag in list(best[Level.SUBBAG].values()):
            parent = self.kb.unit(subbag.unit_id).parent
            current = best[Level.BAGIAN].get(parent) if parent else None
            if parent and (current is None or subbag.score > current.score):
                best[Level.BAGIAN][parent] = Candidate(parent, subbag.score, None, subbag.via)
        rankings = {
            level: tuple(sorted(units.values(), key=lambda c: (-c.score, c.unit_id))[:limit])
            for level, units in best.items()
        }
        score_of = _DutyScorer(self, covered, total, query_terms, query_idf)
        for level in (Level.DIVISI, Level.SUBBAG):
            rankings[level] = tuple(self._cite(c, score_of) for c in rankings[level])
        return rankings, max(covered.values()) / total

    def _cite(self, candidate: Candidate, score_of: _DutyScorer) -> Candidate:
        """The duty of the candidate's own unit that is the evidence for this question.

        A unit reached through a linked counterpart keeps the linked duty only when none of
        its own duties explains the question nearly as well; a learned phrase cites nothing.
        """
        if candidate.learned:
            return candidate
        best_score, best_rank, best_ref = 0.0, (0.0, 0.0), None
        for index in self._own_docs.get(candidate.unit_id, ()):
            score = score_of(index)
            # Ties (several duties list the same words) go to the duty whose SOP text says it.
            rank = (score, score_of.text_cover(index))
            if score and rank > best_rank:
                best_score, best_rank, best_ref = score, rank, self._docs[index].targets[0].cite
        duty: DutyRef | None = candidate.duty
        if best_ref is not None and best_score >= self.config.own_duty_share * candidate.score:
            duty = best_ref
        return replace(candidate, duty=duty)

    def _decide(self, question: str, norm: Normalized, result: MatchResult, coverage: float) -> Reason:
        """The scope gate first (what this bot never answers), then the evidence."""
        cues = self._cues
        handler = cues.handler(norm) or cues.asks_who_does(norm, question)
        asks = cues.question_word(norm)
        request = cues.request(norm)
        if cues.at_other_office(norm) and not cues.this_office(norm):
            return Reason.OTHER_OFFICE
        if cues.at_other_agency(norm):
            return Reason.OTHER_AGENCY
        if cues.other_service(norm):
            return Reason.OTHER_AGENCY
        if cues.about_bot(norm) and (len(norm.groups) < 2 or not self._strong(result, coverage)):
            return Reason.CHITCHAT
        if cues.bot_task(question, leading=True):  # "rekapin dong ..., kirim ke sini"
            return Reason.BOT_TASK
        if not handler:
            if cues.bot_task(question):
                return Reason.BOT_TASK
            if cues.wishes(norm) and not asks:  # "mohon maaf lahir batin" is no request
                return Reason.CHITCHAT
            if cues.definition(norm):
                return Reason.DEFINITION
            if cues.value_word(norm) and not cues.asks_for_action(question) and cues.only_which(norm):
                # "password wifi apa?", "link zoom rapat mana?"; "reset password ke siapa?" asks who
                return Reason.FACT_QUESTION
            if cues.ends_with_what(norm):
                # "Sirekap itu aplikasi apa?" asks what a thing is; "passwordnya apa?" a fact.
                return Reason.DEFINITION if cues.points_at_a_term(norm) else Reason.FACT_QUESTION
            if cues.fact(norm) or (asks and cues.fact_topic(norm)):
                return Reason.FACT_QUESTION
            # Another office or agency named with no request and no handler phrase: declined
            # outright without a question word, and with a bare one ("... di mana?") answered
            # only on the strong evidence an uncued question needs.
            elsewhere = None
            if not request and cues.other_office(norm):
                elsewhere = Reason.OTHER_OFFICE
            elif not request and cues.other_agency(norm):
                elsewhere = Reason.OTHER_AGENCY
            if elsewhere is not None:
                if not asks or not self._strong(result, coverage):
                    return elsewhere
            # A greeting with a word or two left over ("apa kabar hari ini") is small talk;
            # "selamat pagi, SPJ perjalanan dinas?" still gets its answer.
            elif (
                not asks
                and not request
                and cues.chitchat(norm)
                and (len(norm.groups) < 2 or result.score < self.config.greeting_threshold)
            ):
                return Reason.CHITCHAT
        if not result.divisi and not result.subbag:
            return Reason.NO_MATCH
        if handler or asks or request:
            return Reason.ANSWERED if result.score >= self.config.answer_threshold else Reason.LOW_SCORE
        return Reason.ANSWERED if self._strong(result, coverage) else Reason.LOW_SCORE

    def _strong(self, result: MatchResult, coverage: float) -> bool:
        """Evidence enough to answer a question that does not itself ask who handles it."""
        cfg = self.config
        return coverage >= cfg.uncued_min_coverage and result.score >= cfg.uncued_threshold


class _DutyScorer:
    """Scores single duties for one question (the same formula as the ranking)."""

    def __init__(
        self,
        matcher: Matcher,
        covered: dict[int, float],
        total: float,
        query_terms: set[str],
        query_idf: dict[str, float],
    ) -> None:
        self._matcher = matcher
        self._covered = covered
        self._total = total
        self._query_terms = query_terms
        self._query_idf = query_idf

    def text_cover(self, index: int) -> float:
        """How much of the question the duty's own SOP wording (its first field) explains."""
        doc = self._matcher._docs[index]
        if not doc.weighted_fields:
            return 0.0
        text, _ = doc.weighted_fields[0]
        return sum(self._query_idf[t] for t in text & self._query_terms) / self._total

    def __call__(self, index: int) -> float:
        mass = self._covered.get(index, 0.0)
        if not mass:
            return 0.0
        cfg = self._matcher.config
        alpha, beta = cfg.question_coverage_weight, cfg.field_cover_weight
        gamma = 1.0 - alpha - beta
        return (
            alpha * mass / self._total
            + beta * self._matcher._field_cover(index, self._query_terms, self._query_idf)
            + gamma * min(1.0, mass / cfg.evidence_saturation)
        )


def _keep_top(top: dict[str, float], candidate: Candidate, limit: int) -> bool:
    """Keep ``top`` the best ``limit`` scores of a level; True if it changed."""
    if candidate.unit_id in top or len(top) < limit:
        top[candidate.unit_id] = candidate.score
        return True
    weakest = min(top, key=top.__getitem__)
    if candidate.score <= top[weakest]:
        return False
    del top[weakest]
    top[candidate.unit_id] = candidate.score
    return True


class _Cues:
    """Question-type cues from the lexicon, matched as whole-word (stemmed) phrases."""

    def __init__(self, normalizer: Normalizer, kb: KnowledgeBase) -> None:
        lex = kb.lexicon

        def phrases(items: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
            """Phrases compared by stem; a one-word cue in a derived form matches only itself.

            "terbanyak" must not fire on "banyak", "disiapkan" not on "persiapan", so such
            cues are kept as typed (``~`` marks them) and compared with the standard words.
            """
            by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
            for item in items:
                phrase = normalizer.phrase(item)
                words, _ = normalizer.standard_words(item, fix_typos=False)
                if len(phrase) == 1 and len(words) == 1 and phrase[0] != words[0]:
                    phrase = (_SURFACE + words[0],)
                if phrase:
                    by_first[phrase[0]].append(phrase)
            return dict(by_first)

        self._handler = phrases(lex.handler_cues)
        self._question_words = phrases(lex.question_words)
        self._request = phrases(lex.request_cues)
        self._fact = phrases(lex.fact_cues)
        self._fact_topics = phrases(lex.fact_topics)
        self._definition = phrases(lex.definition_cues)
        self._chitchat = phrases(lex.chitchat_cues)
        self._acknowledgements = phrases(lex.acknowledgements)
        self._agencies = phrases(lex.other_agencies)
        self._services = phrases(lex.other_services)
        offices = [normalizer.phrase(item) for item in lex.other_offices]
        self._offices = _by_first([p for p in offices if p])
        self._at_offices = _by_first([p for p in offices if p and p[0] == "di"])
        # Bot tasks are matched on the words as typed: "penghitungan" must not read as "hitung".
        self._bot_tasks = _by_first([tuple(tokenize(item)) for item in lex.bot_tasks if tokenize(item)])
        self._stopwords = lex.stopwords
        self._informal = lex.informal
        # Sentence-final particles ("sih", "ya", "teh") that may follow the last real word.
        self._particles = frozenset({"sih", "ya", "yah", "kah", "dong", "deh", "teh", "nya", "tah", "yo"})
        self._this_office = phrases(lex.this_office)
        self._wishes = phrases(lex.wishes)
        self._value_words = phrases(lex.value_words)
        self._about_bot = phrases(lex.about_bot)

    @staticmethod
    def _spans(norm: Normalized, items: dict[str, list[tuple[str, ...]]]) -> list[range]:
        """Where any phrase occurs; phrases are indexed by their first word."""
        spans = []
        lemmas = norm.lemmas
        for start, lemma in enumerate(lemmas):
            for phrase in items.get(lemma, ()):
                if lemmas[start : start + len(phrase)] == phrase:
                    spans.append(range(start, start + len(phrase)))
            if start < len(norm.words) and items.get(_SURFACE + norm.words[start]):
                spans.append(range(start, start + 1))
        return spans

    def handler(self, norm: Normalized) -> bool:
        """Asks who handles something with a handler phrase ("yang mengurus", "ke bagian mana")."""
        fact_spans = self._spans(norm, self._fact)
        return any(
            not any(span.start >= f.start and span.stop <= f.stop for f in fact_spans)
            for span in self._spans(norm, self._handler)
        )

    def question_word(self, norm: Normalized) -> bool:
        """A bare who / where / which: a who-handles question unless the rest asks a fact."""
        return bool(self._question_spans(norm))

    def _question_spans(self, norm: Normalized) -> list[range]:
        fact_spans = self._spans(norm, self._fact)
        return [
            span
            for span in self._spans(norm, self._question_words)
            if not any(span.start >= f.start and span.stop <= f.stop for f in fact_spans)
        ]

    def asks_who_does(self, norm: Normalized, question: str) -> bool:
        """A question word with a verb of doing: "yang nyusun ... siapa", "dikumpulin siapa".

        "siapa yang <verb>" and "yang <verb> ... siapa" ask who does the work, as does a
        passive verb (as typed: "dikumpulin") right before the question word; "yang menang
        ... siapa" asks a fact.
        """
        if not self._question_spans(norm):
            return False
        if self._spans(norm, self._fact_topics):
            return False  # "siapa caleg terpilih", "partai mana yang paling banyak": a fact
        facts: set[int] = set()
        words, lemmas = norm.words, norm.lemmas
        asking = {span.start for span in self._question_spans(norm)}
        for i, word in enumerate(words[:-1]):
            following = i + 1
            if following in facts or lemmas[following] in self._stopwords or following in asking:
                continue
            # "yang nyusun", "sing ngurusi"; "siapa nyusun", "who drafts"
            if word == "yang" or (i in asking and words[i] in _WHO):
                return True
        tokens = tokenize(question)
        for i, token in enumerate(tokens):
            # A verb right before the question word: "dikumpulin siapa", "nyusun siapa".
            if token.startswith(_VERB_PREFIXES) and len(token) > 5 and token not in self._stopwords:
                after = (self._informal.get(t, t) for t in tokens[i + 1 : i + 3])
                if any(a in _WHO_WHERE for a in after):
                    return True
        return False

    def small_talk(self, norm: Normalized) -> bool:
        """Every word is a ping, an acknowledgement, a greeting or a particle ("oke siap 🙏")."""
        if not norm.words:
            return False
        covered: set[int] = set()
        for span in self._spans(norm, self._acknowledgements) + self._spans(norm, self._chitchat):
            covered.update(span)
        return all(i in covered or word in self._stopwords for i, word in enumerate(norm.words)) and bool(
            covered
        )

    def fact_topic(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._fact_topics))

    def definition(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._definition))

    def bot_task(self, question: str, *, leading: bool = False) -> bool:
        """Asks the bot to summarise, translate, remind, compute or write something.

        ``leading``: only as the message's first verb ("tolong rangkum ...", "rekapin dong"),
        an order to the bot even when a handler phrase follows ("kirim ke sini").
        """
        tokens = tokenize(question)
        starts = range(len(tokens))
        if leading:
            first = next((i for i, token in enumerate(tokens) if token not in _POLITE), len(tokens))
            starts = range(first, first + 1)
        return any(
            tokens[start : start + len(phrase)] == list(phrase)
            for start in starts
            if start < len(tokens)
            for phrase in self._bot_tasks.get(tokens[start], ())
        )

    def other_service(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._services))

    def other_office(self, norm: Normalized) -> bool:
        """Another KPU office is what the question is about, not where something goes or
        comes from ("kirim ke KPU Kab X", "laporan dari KPU Kota Y" are this office's work)."""
        return self._about(norm, self._offices)

    @staticmethod
    def _about(norm: Normalized, items: dict[str, list[tuple[str, ...]]]) -> bool:
        return any(
            span.start == 0 or norm.words[span.start - 1] not in _TOWARDS
            for span in _Cues._spans(norm, items)
        )

    def at_other_agency(self, norm: Normalized) -> bool:
        """Something done at another agency ("KK belum jadi di Disdukcapil")."""
        return any(
            span.start > 0 and norm.words[span.start - 1] == "di"
            for span in self._spans(norm, self._agencies)
        )

    def wishes(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._wishes))

    def value_word(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._value_words))

    def about_bot(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._about_bot))

    @staticmethod
    def asks_for_action(question: str) -> bool:
        """Asks someone to do something with the value ("mohon reset password"), not for it."""
        return any(token in _ACTION for token in tokenize(question))

    def only_which(self, norm: Normalized) -> bool:
        """No question word, or only a bare "mana" (which / where is it), not who or where to."""
        return all(norm.lemmas[span.start] == "mana" for span in self._question_spans(norm))

    def ends_with_what(self, norm: Normalized) -> bool:
        """The question ends in "apa" (particles aside): it asks what something is or says."""
        words = [w for w in norm.words if w not in self._particles]
        return len(words) >= 2 and words[-1] == "apa"

    @staticmethod
    def points_at_a_term(norm: Normalized) -> bool:
        """A demonstrative points at the term asked about: "X itu ... apa", "X teh naon"."""
        return any(w in _THAT for w in norm.words[:-1])

    def this_office(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._this_office))

    def at_other_office(self, norm: Normalized) -> bool:
        """Something that happens at another KPU office ("... di KPU Kabupaten Lebak")."""
        return bool(self._spans(norm, self._at_offices))

    def request_spans(self, norm: Normalized) -> list[range]:
        return self._spans(norm, self._request)

    def request(self, norm: Normalized) -> bool:
        """A task, request or complaint, or a unit named in passing: a weaker "who handles"."""
        return bool(self._spans(norm, self._request))

    def fact(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._fact))

    def chitchat(self, norm: Normalized) -> bool:
        return bool(self._spans(norm, self._chitchat))

    def chitchat_spans(self, norm: Normalized) -> list[range]:
        return self._spans(norm, self._chitchat)

    def other_agency(self, norm: Normalized) -> bool:
        """Another agency is the subject ("Samsat buka jam berapa"), not the other end of this
        office's work ("surat dari Bawaslu", "koordinasi dengan Dukcapil")."""
        return self._about(norm, self._agencies)


def _by_first(phrases: list[tuple[str, ...]]) -> dict[str, list[tuple[str, ...]]]:
    """Phrases indexed by their first word, for a left-to-right scan."""
    by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
    for phrase in phrases:
        by_first[phrase[0]].append(phrase)
    return dict(by_first)


def _vocabulary(kb: KnowledgeBase) -> list[str]:
    """Every word the KB uses: what typos are corrected towards."""
    texts: list[str] = []
    for unit in kb.units:
        texts += [unit.name, unit.short_name, *unit.aliases, *unit.keywords]
        for duty in unit.duties:
            texts += [duty.text, *duty.terms]
    lex = kb.lexicon
    texts += list(lex.acronyms.values())
    return texts
