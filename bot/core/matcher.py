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
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.core.cues import SURFACE, Cue, Cues, Phrases, by_first, phrase_spans
from bot.core.model import Duty, DutyRef, KnowledgeBase, Level, Unit
from bot.core.normalize import Group, Normalized, Normalizer, has_visible_text

if TYPE_CHECKING:  # numpy is imported when first needed: it costs ~0.1 s of every CLI start
    import numpy as np

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
    elsewhere_duty_score: float = 0.85
    """A who-handles question about work done at another agency is still this office's when
    one of its duties matches at least this well ("berkas sengketa di Bawaslu siapa yang ngurus")."""
    subject_matter_weight: float = 0.6
    """How much the words after "soal"/"tentang" count when an activity comes before them."""
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


@dataclass(slots=True)
class _Target:
    level: Level
    unit_id: str
    factor: float
    cite: DutyRef | None


@dataclass(slots=True)
class _Doc:
    index: int
    # The fields' terms; kept only until they are weighed (then empty: term_fields has them).
    fields: list[frozenset[str]]
    terms: frozenset[str]
    targets: list[_Target]
    via: DutyRef | None
    learned: bool = False
    phrase: str = ""
    # The terms of the first field (the SOP wording of a duty).
    text: frozenset[str] = frozenset()
    # Each field's IDF mass: the denominators of field coverage, computed once.
    denominators: tuple[float, ...] = ()
    # term -> positions of the fields containing it.
    term_fields: dict[str, tuple[int, ...]] = field(default_factory=dict)


# Words before a unit's nickname that make it the unit addressed ("lapor ke humas").
_ADDRESSED = frozenset({"ke", "sama", "dengan", "urusan", "ranah", "ranahnya", "tim", "kepada"})

# Words that say a named unit owns the work ("urusan subbag umum", "tugasnya divisi teknis").
_OWNERSHIP = frozenset(
    {"urusan", "ranah", "ranahnya", "tugas", "tugasnya", "wewenang", "kewenangan", "bagiannya"}
)

# Words for a room, and how many words after one may say whose room it is.
_ROOMS = frozenset({"ruang", "ruangan", "kamar"})
_ROOM_OWNER_WORDS = 4

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


# Length of the shared prefix that makes an unknown word "related" to a KB word.
RELATED_PREFIX = 5

# From this many index documents on (counted when the matcher is built), the index is a
# _CompactIndex of numpy arrays and questions are scored in numpy; below it Python dicts and
# sets are faster. Same sums in the same order either way.
VECTOR_DOCS = 1000


class Matcher:
    """Ranks units for a question. Build once per KB; learned phrases can be added any time."""

    def __init__(
        self,
        kb: KnowledgeBase,
        config: MatcherConfig | None = None,
        *,
        stems: Mapping[str, str] | None = None,
    ) -> None:
        """``stems``: Sastrawi stems known in advance (a cache; see :mod:`bot.knowledge.stems`)."""
        self.kb = kb
        self.config = config or MatcherConfig()
        self.normalizer = Normalizer(kb.lexicon, _vocabulary(kb), stems)
        self._docs: list[_Doc] = []
        # term -> documents; in a compact index only the documents learned after the build.
        self._index: dict[str, list[int]] = defaultdict(list)
        # The posting lists as numpy arrays, built on first use (dropped when the index changes).
        self._postings: dict[str, np.ndarray] = {}
        # Field term sets and position tuples are shared between documents that repeat them.
        self._shared: dict[object, object] = {}
        self._cues = Cues(self.normalizer, kb.lexicon)
        self._idf: dict[str, float] = {}
        duties = [(unit, duty) for unit in kb.units for duty in unit.duties if not duty.generic]
        # A large KB keeps its documents' fields in flat arrays (see _CompactIndex), not in sets.
        self._compact: _CompactIndex | None = None
        self._building: _CompactBuilder | None = None
        if len(duties) + len(kb.units) >= VECTOR_DOCS:
            self._building = _CompactBuilder()
        for unit, duty in duties:
            targets = self._duty_targets(unit, duty)
            self._add_doc(self._duty_fields(unit, duty), targets, targets[0].cite)
        self._idf = self._compute_idf()
        # Each unit's own duty documents, for choosing the duty an answer cites.
        self._own_docs: dict[str, list[int]] = defaultdict(list)
        for doc in self._docs:
            if self._building is None:
                self._weigh(doc)
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
                self._unit_names[unit.id] = by_first(sorted(set(named), key=len, reverse=True))
            # Any other alias ("humas", "keuangan") names the unit when addressed: "lapor ke humas".
            others = [n for n in names if n and n[0] not in _UNIT_WORDS]
            if others:
                self._unit_aliases[unit.id] = by_first(sorted(set(others), key=len, reverse=True))
        # Which units a run of question words may name: only those are searched (the rest
        # cannot match), so naming a unit costs about the same with 17 units or 1,700.
        self._names_by_key = _units_by_key(self._unit_names)
        self._aliases_by_key = _units_by_key(self._unit_aliases)
        tables = (self._unit_names, self._unit_aliases)
        name_words = {word for table in tables for ps in table.values() for p in _all(ps) for word in p}
        self._name_lemmas = name_words - kb.lexicon.stopwords
        self._longest_name = max((len(p) for t in tables for ps in t.values() for p in _all(ps)), default=1)
        for unit in kb.units:
            profile = [unit.name, unit.short_name, *unit.aliases, *unit.keywords]
            fields = [f for f in (self.normalizer.terms(p) for p in profile) if f]
            target = _Target(unit.level, unit.id, self.config.profile_factor, None)
            self._add_doc(fields, [target], None)
        if self._building is not None:
            self._compact = self._building.finish(self.idf)
            self._building = None
            self._shared.clear()
            _return_free_memory()

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
        if self._building is not None:
            doc = _Doc(len(self._docs), [], frozenset(), targets, via, learned, phrase)
            self._building.add(doc.index, fields, counted=not self._idf)
            self._docs.append(doc)
            return doc
        shared = self._shared
        doc = _Doc(len(self._docs), fields, terms, targets, via, learned, phrase)
        doc.text = shared.setdefault(fields[0], fields[0])  # type: ignore[assignment]
        term_fields = {}
        for t in terms:
            positions = tuple(i for i, f in enumerate(fields) if t in f)
            term_fields[t] = shared.setdefault(positions, positions)
        doc.term_fields = term_fields  # type: ignore[assignment]
        if self._idf:
            self._weigh(doc)
        self._docs.append(doc)
        for term in terms:
            self._index[term].append(doc.index)
        self._postings.clear()
        return doc

    def _weigh(self, doc: _Doc) -> None:
        """Set the field denominators of ``doc`` (and let go of its field sets)."""
        # fsum: a field is a set, and a sum in set order would depend on PYTHONHASHSEED.
        doc.denominators = tuple(math.fsum(self.idf(t) for t in f) or 1.0 for f in doc.fields)
        doc.fields = []

    def _posting(self, term: str) -> np.ndarray | None:
        """The documents containing ``term`` as an int array (None when there are none)."""
        array = self._postings.get(term)
        if array is None:
            import numpy as np

            indexes = self._index.get(term)
            base = self._compact.documents(term) if self._compact is not None else None
            if indexes:
                array = np.array(indexes, dtype=np.int64)
                if base is not None:
                    array = np.concatenate((base, array))
            elif base is None:
                return None
            else:
                return base
            self._postings[term] = array
        return array

    def _doc_count(self, term: str) -> int:
        """How many documents contain ``term``."""
        base = self._compact.documents(term) if self._compact is not None else None
        return len(self._index.get(term, ())) + (0 if base is None else len(base))

    def _compute_idf(self) -> dict[str, float]:
        n = len(self._docs)
        df: dict[str, int] = defaultdict(int)
        if self._building is not None:
            df.update(self._building.document_frequencies())
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

    def add_phrase(self, unit_id: str, phrase: str, duty: int | None = None) -> bool:
        """Teach: questions like ``phrase`` belong to ``unit_id`` (and, when given, its duty
        ``duty``, which the answer then cites). No rebuild needed."""
        unit = self.kb.unit(unit_id)
        terms = self.normalizer.terms(phrase)
        if not terms:
            return False
        cite = DutyRef(unit.id, duty) if duty is not None and unit.duty(duty) is not None else None
        target = _Target(unit.level, unit.id, self.config.learned_factor, cite)
        return self._add_doc([terms], [target], cite, learned=True, phrase=phrase) is not None

    def remove_phrase(self, unit_id: str, phrase: str) -> bool:
        """Undo :meth:`add_phrase`; True if something was removed."""
        for doc in self._docs:
            if doc.learned and doc.phrase == phrase and doc.targets and doc.targets[0].unit_id == unit_id:
                for term in doc.terms:
                    self._index[term].remove(doc.index)
                self._postings.clear()
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
        # Words about the bot ("bot ini pake AI apa") and the owner of a room ("AC ruang staf
        # teknis") are not the topic either.
        norm = norm.without(
            self._cues.spans(norm, Cue.CHITCHAT)
            + self._cues.spans(norm, Cue.ABOUT_BOT)
            + self._room_owner_spans(norm)
            + self._unknown_spans(norm, self._cues.spans(norm, Cue.REQUEST))
        )
        if not norm.groups:
            chatter = self._cues.has(norm, Cue.CHITCHAT) or self._cues.has(norm, Cue.ABOUT_BOT)
            reason = Reason.CHITCHAT if chatter else Reason.EMPTY
            if self._cues.computes(question):  # "berapa 12 x 350.000?"
                reason = Reason.BOT_TASK
            return MatchResult(question, norm.text, False, reason, corrections=norm.corrections)
        norm = norm.weighted(self._cues.subject_matter(norm), self.config.subject_matter_weight)
        named, name_spans = self._named_units(norm)
        if named:
            # The work described decides, not the unit the asker guessed: rank without the
            # unit's name first, and fall back to the name only when the rest says too little.
            described = self._judge(question, norm.without(name_spans), named, name_spans)
            if described.answered:
                return described
        return self._judge(question, norm, named, name_spans)

    def _judge(
        self, question: str, norm: Normalized, named: tuple[str, ...], name_spans: list[range]
    ) -> MatchResult:
        """Rank ``norm`` and decide; an empty ``norm`` is a question with nothing left to rank.

        ``name_spans``: where the question names units (their words stay in ``norm.words``).
        """
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
        reason = self._decide(question, norm, result, coverage, name_spans)
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

    def _room_owner_spans(self, norm: Normalized) -> list[range]:
        """Whose room a room is ("kursi di ruang staf teknis patah"): a place, not the work."""
        spans = []
        for i, word in enumerate(norm.words):
            if word not in _ROOMS:
                continue
            end = i + 1
            while (
                end < len(norm.words)
                and end - i <= _ROOM_OWNER_WORDS
                and (norm.words[end] in _UNIT_WORDS or norm.lemmas[end] in self._name_lemmas)
            ):
                end += 1
            if end > i + 1:
                spans.append(range(i + 1, end))
        return spans

    def _addressed_to_unit(self, norm: Normalized, spans: list[range]) -> bool:
        """The message opens by naming a unit ("Divisi Data, tolong ..."): it is for that unit."""
        stopwords = self.kb.lexicon.stopwords
        return any(all(word in stopwords for word in norm.words[: span.start]) for span in spans)

    @staticmethod
    def _claimed(norm: Normalized, spans: list[range]) -> bool:
        """A unit named as the owner of the work ("urusan subbag umum ya?", "tugasnya divisi
        hukum kan?"): the asker wants to know who handles it, even without a question word."""
        return any(span.start > 0 and norm.words[span.start - 1] in _OWNERSHIP for span in spans)

    def _named_units(self, norm: Normalized) -> tuple[tuple[str, ...], list[range]]:
        """Units the question names ("Divisi Hukum", "subbag keuangan") and where."""
        ids: list[str] = []
        spans: list[range] = []
        lemmas = norm.lemmas
        keys: set[tuple[str, ...]] = {(SURFACE + word,) for word in norm.words}
        for size in range(1, self._longest_name + 1):
            keys.update(tuple(lemmas[i : i + size]) for i in range(len(lemmas) - size + 1))
        for unit_id in _candidates(keys, self._names_by_key):
            found = phrase_spans(norm, self._unit_names[unit_id])
            if found:
                ids.append(unit_id)
                spans += found
        for unit_id in _candidates(keys, self._aliases_by_key):
            phrases = self._unit_aliases[unit_id]
            found = [
                span
                for span in phrase_spans(norm, phrases)
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

    def _coverage(self, norm: Normalized) -> tuple[Mapping[int, float], float, set[str]]:
        """:meth:`_coverage_dict` for small indexes, the same sums in numpy for large ones."""
        if self._compact is None:
            return self._coverage_dict(norm)
        import numpy as np

        mass, total, query_terms = self._coverage_array(norm)
        touched = np.flatnonzero(mass)
        # Best first (the ranking visits in this order; ties are settled by the heap).
        touched = touched[np.argsort(-mass[touched], kind="stable")]
        return _Masses(mass, touched), total, query_terms

    def _plain_term(self, group: Group) -> str | None:
        """The word's one term when it has no other reading and no prefix-related KB words:
        most words, credited in one pass (the same sums as the general path)."""
        if len(group.options) == 1 and len(group.options[0]) == 1:
            term = group.options[0][0]
            if not self._related(term):
                return term
        return None

    def _options(self, group: Group) -> tuple[tuple[str, ...], ...]:
        """The readings of a question word to credit.

        An acronym the KB itself uses ("sirekap") means what the KB says it means; its
        spelled-out words ("... rekapitulasi") would pull in other duties.
        """
        options = group.options
        if len(options) > 1 and len(options[0]) == 1 and self._doc_count(options[0][0]) >= 2:
            return options[:1]
        return options

    def _coverage_array(self, norm: Normalized) -> tuple[np.ndarray, float, set[str]]:
        """:meth:`_coverage_dict` with numpy posting lists: the same additions in the same order."""
        import numpy as np

        idf = self.idf
        query_terms = set(norm.terms)
        size = len(self._docs)
        covered = np.zeros(size)
        total = 0.0
        for group in norm.groups:
            term = self._plain_term(group)
            if term is not None:
                weight = idf(term) * group.weight
                total += weight
                postings = self._posting(term)
                if postings is not None:
                    covered[postings] += weight
                continue
            credit = np.zeros(size)
            weight = 0.0
            for option in self._options(group):
                weights = [idf(t) for t in option]
                weight = max(weight, sum(weights) / len(weights))
                denominator = sum(weights) or 1.0
                hits = np.zeros(size)
                for term, w in zip(option, weights, strict=True):
                    postings = self._posting(term)
                    if postings is not None:
                        hits[postings] += w
                    related = self._related(term)
                    query_terms.update(related)
                    soft = [p for p in map(self._posting, related) if p is not None]
                    if soft:
                        # Each document once, however many related words it has.
                        softly = np.zeros(size, dtype=bool)
                        for postings in soft:
                            softly[postings] = True
                        hits[softly] += w * self.config.related_credit
                np.maximum(credit, hits / denominator, out=credit)
            weight *= group.weight
            total += weight
            covered += weight * credit
        return covered, total or 1.0, query_terms

    def _coverage_dict(self, norm: Normalized) -> tuple[dict[int, float], float, set[str]]:
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
            term = self._plain_term(group)
            if term is not None:
                weight = idf(term) * group.weight
                total += weight
                for index in self._index.get(term, ()):
                    covered[index] += weight
                continue
            credit: dict[int, float] = {}
            weight = 0.0
            for option in self._options(group):
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
            weight *= group.weight
            total += weight
            for index, share in credit.items():
                covered[index] += weight * share
        return covered, total or 1.0, query_terms

    def _field_cover(self, index: int, query_terms: set[str], query_idf: dict[str, float]) -> float:
        """The best share of one field's IDF mass of duty ``index`` that the question matches."""
        doc = self._docs[index]
        hits = doc.terms & query_terms
        denominators = doc.denominators
        best = 0.0
        if len(hits) == 1:  # most duties share one word with a question: no sums
            (term,) = hits
            weight = query_idf[term]
            for position in doc.term_fields[term]:
                share = weight / denominators[position]
                if share > best:
                    best = share
            return best
        # Only the fields a question term hits (the others cover nothing).
        mass: dict[int, float] = {}
        for term in sorted(hits):  # a fixed order: same sums on every run
            weight = query_idf[term]
            for position in doc.term_fields[term]:
                mass[position] = mass.get(position, 0.0) + weight
        for position, m in mass.items():
            share = m / denominators[position]
            if share > best:
                best = share
        return best

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
        covers = self._compact.field_covers(query_idf) if self._compact is not None else None
        score_of = _DutyScorer(self, covered, total, query_terms, query_idf, covers)
        # The upper bound of a duty's score (field cover 1) grows with its mass: visit by mass
        # (the compact path's coverage comes sorted so already, ties in index order).
        if isinstance(covered, _Masses):
            order = covered.order
        else:
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
                heapq.heappush(scored, (-score_of(index), index))
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
        for level in (Level.DIVISI, Level.SUBBAG):
            rankings[level] = tuple(self._cite(c, score_of) for c in rankings[level])
        top_mass = covered.best if isinstance(covered, _Masses) else max(covered.values())
        return rankings, top_mass / total

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
            if not score or score < best_rank[0]:
                continue
            # Ties (several duties list the same words) go to the duty whose SOP text says it.
            rank = (score, score_of.text_cover(index))
            if rank > best_rank:
                best_score, best_rank, best_ref = score, rank, self._docs[index].targets[0].cite
        duty: DutyRef | None = candidate.duty
        if best_ref is not None and best_score >= self.config.own_duty_share * candidate.score:
            duty = best_ref
        return replace(candidate, duty=duty)

    def _decide(
        self, question: str, norm: Normalized, result: MatchResult, coverage: float, name_spans: list[range]
    ) -> Reason:
        """The scope gate first (what this bot never answers), then the evidence."""
        cues = self._cues
        handler = cues.handler(norm) or cues.asks_who_does(norm, question) or self._claimed(norm, name_spans)
        asks = cues.question_word(norm)
        if handler and not asks and cues.asks_number_or_time(norm):
            handler = False  # "PKPU nomor berapa yang ngatur kampanye?" asks a number, not who
        request = cues.has(norm, Cue.REQUEST)
        if cues.at_other_office(norm) and not cues.has(norm, Cue.THIS_OFFICE):
            return Reason.OTHER_OFFICE
        if cues.at_other_agency(norm) and not (
            handler and (cues.has(norm, Cue.THIS_OFFICE) or result.score >= self.config.elsewhere_duty_score)
        ):
            # "sengketa di Bawaslu, yang ngurus dari KPU kita siapa?" is this office's work, as is
            # a who-handles question that names one of its duties plainly
            return Reason.OTHER_AGENCY
        if cues.has(norm, Cue.SERVICE):
            return Reason.OTHER_AGENCY
        if cues.bot_is_subject(norm):
            # "bot ini dibikin siapa?", "kamu bisa jawab apa aja?" are about the bot; "bot,
            # siapa yang ngurus gaji?" only addresses it and goes on like any question.
            return Reason.CHITCHAT
        if cues.bot_task(question, leading=True):  # "rekapin dong ..., kirim ke sini"
            return Reason.BOT_TASK
        if not handler:
            # "hitung 2,5% dari 1.350.000"; but "Divisi Data, tolong bikinin poster" asks a unit
            if (cues.bot_task(question) or cues.computes(question)) and not self._addressed_to_unit(
                norm, name_spans
            ):
                return Reason.BOT_TASK
            if cues.has(norm, Cue.WISH) and not asks:  # "mohon maaf lahir batin" is no request
                return Reason.CHITCHAT
            if cues.has(norm, Cue.PERSONAL):  # "foto nikahan di HP kehapus", "kuota abis"
                return Reason.CHITCHAT
            if cues.has(norm, Cue.DEFINITION):
                return Reason.DEFINITION
            if cues.has(norm, Cue.VALUE) and not cues.asks_for_action(question) and cues.only_which(norm):
                # "password wifi apa?", "link zoom rapat mana?"; "reset password ke siapa?" asks who
                return Reason.FACT_QUESTION
            if cues.ends_with_what(norm):
                # "Sirekap itu aplikasi apa?" asks what a thing is; "passwordnya apa?" a fact.
                return Reason.DEFINITION if cues.points_at_a_term(norm) else Reason.FACT_QUESTION
            # "tolong dicek kenapa gaji saya kurang" asks for something to be done, not why
            fact = cues.has(norm, Cue.FACT) and not (
                cues.asks_for_action(question) and cues.asks_only_why(norm)
            )
            if fact or (asks and cues.has(norm, Cue.FACT_TOPIC)):
                return Reason.FACT_QUESTION
            # Another office or agency named with no request and no handler phrase: declined
            # outright without a question word, and with a bare one ("... di mana?") answered
            # only on the strong evidence an uncued question needs.
            elsewhere = None
            if not request and cues.about(norm, Cue.OFFICE):
                elsewhere = Reason.OTHER_OFFICE
            elif not request and cues.about(norm, Cue.AGENCY):
                elsewhere = Reason.OTHER_AGENCY
            if elsewhere is not None:
                if not asks or not self._strong(result, coverage):
                    return elsewhere
            # A greeting with a word or two left over ("apa kabar hari ini") is small talk;
            # "selamat pagi, SPJ perjalanan dinas?" still gets its answer.
            elif (
                not asks
                and not request
                and cues.has(norm, Cue.CHITCHAT)
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


class _Masses(Mapping[int, float]):
    """Question coverage from a compact index: the documents a question touches, best first,
    read from the array (a dict of thousands of documents costs more than the question)."""

    def __init__(self, mass: np.ndarray, order: np.ndarray) -> None:
        self._mass = mass
        self.order: list[int] = order.tolist()
        self.best = float(mass[self.order[0]]) if self.order else 0.0

    def __getitem__(self, index: int) -> float:
        return float(self._mass[index])

    def get(self, index: int, default: float | None = 0.0) -> float:  # type: ignore[override]
        return float(self._mass[index])  # an untouched document's mass is 0.0

    def __iter__(self) -> Iterator[int]:
        return iter(self.order)

    def __len__(self) -> int:
        return len(self.order)


class _DutyScorer:
    """Scores single duties for one question (the same formula as the ranking)."""

    def __init__(
        self,
        matcher: Matcher,
        covered: Mapping[int, float],
        total: float,
        query_terms: set[str],
        query_idf: dict[str, float],
        covers: _FieldCovers | None = None,
    ) -> None:
        self._matcher = matcher
        self._covered = covered
        self._total = total
        self._query_terms = query_terms
        self._query_idf = query_idf
        self._covers = covers
        cfg = matcher.config
        self._alpha, self._beta = cfg.question_coverage_weight, cfg.field_cover_weight
        self._gamma = 1.0 - self._alpha - self._beta
        self._saturation = cfg.evidence_saturation
        # Scores already computed: citing a duty re-scores the duties the ranking visited.
        self._scores: dict[int, float] = {}

    def text_cover(self, index: int) -> float:
        """How much of the question the duty's own SOP wording (its first field) explains."""
        compact = self._matcher._compact
        text = compact.text(index) if compact is not None and index < compact.size else None
        if text is None:
            text = self._matcher._docs[index].text
        return math.fsum(self._query_idf[t] for t in text & self._query_terms) / self._total

    def field_cover(self, index: int) -> float:
        covers = self._covers
        if covers is not None and index < covers.size:
            return covers.of(index)
        return self._matcher._field_cover(index, self._query_terms, self._query_idf)

    def __call__(self, index: int) -> float:
        score = self._scores.get(index)
        if score is None:
            mass = self._covered.get(index, 0.0)
            score = 0.0
            if mass:
                score = (
                    self._alpha * mass / self._total
                    + self._beta * self.field_cover(index)
                    + self._gamma * min(1.0, mass / self._saturation)
                )
            self._scores[index] = score
        return score


class _CompactBuilder:
    """Collects the documents of a large index as flat integer arrays while the KB is read."""

    def __init__(self) -> None:
        self.term_ids: dict[str, int] = {}
        self.terms: list[str] = []
        self.field_starts = array("q", [0])
        self.field_terms = array("i")
        self.field_docs = array("i")
        self.first_fields = array("i")
        self.posting_terms = array("i")
        self.posting_docs = array("i")
        self.counts: dict[int, int] = defaultdict(int)

    def _id(self, term: str) -> int:
        found = self.term_ids.get(term)
        if found is None:
            found = self.term_ids[term] = len(self.terms)
            self.terms.append(term)
        return found

    def add(self, index: int, fields: list[frozenset[str]], *, counted: bool) -> None:
        """Document ``index`` (the next one) with ``fields``; ``counted`` toward document frequencies."""
        self.first_fields.append(len(self.field_docs))
        ids: set[int] = set()
        for terms in fields:
            field_ids = [self._id(t) for t in terms]
            ids.update(field_ids)
            self.field_terms.extend(field_ids)
            self.field_starts.append(len(self.field_terms))
            self.field_docs.append(index)
        for term_id in sorted(ids):
            self.posting_terms.append(term_id)
            self.posting_docs.append(index)
            if counted:
                self.counts[term_id] += 1

    def document_frequencies(self) -> dict[str, int]:
        return {self.terms[term_id]: count for term_id, count in self.counts.items()}

    def finish(self, idf: Callable[[str], float]) -> _CompactIndex:
        import numpy as np

        weights = [idf(t) for t in self.terms]
        starts = self.field_starts
        # fsum: the same denominators as the set-based index (order does not matter).
        denominators = np.fromiter(
            (
                math.fsum(map(weights.__getitem__, self.field_terms[starts[i] : starts[i + 1]])) or 1.0
                for i in range(len(self.field_docs))
            ),
            dtype=np.float64,
            count=len(self.field_docs),
        )
        field_starts = np.frombuffer(starts, dtype=np.int64)
        field_terms = np.frombuffer(self.field_terms, dtype=np.int32)
        entry_fields = np.repeat(np.arange(len(self.field_docs), dtype=np.int32), np.diff(field_starts))
        term_fields = _csr(field_terms, entry_fields, len(self.terms))
        # Of a document's fields only the first (the SOP wording) is read again, by its terms.
        first = np.frombuffer(self.first_fields, dtype=np.int32)
        text_lengths = field_starts[first + 1] - field_starts[first]
        text_starts = np.zeros(len(first) + 1, dtype=np.int64)
        np.cumsum(text_lengths, out=text_starts[1:])
        text_terms = np.concatenate([field_terms[field_starts[f] : field_starts[f + 1]] for f in first])
        postings = _csr(
            np.frombuffer(self.posting_terms, dtype=np.int32),
            np.frombuffer(self.posting_docs, dtype=np.int32),
            len(self.terms),
        )
        return _CompactIndex(
            term_ids=self.term_ids,
            terms=self.terms,
            postings=postings,
            term_fields=term_fields,
            field_docs=np.frombuffer(self.field_docs, dtype=np.int32).copy(),
            denominators=denominators,
            texts=(text_starts, text_terms),
        )


def _csr(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """``values`` grouped by ``keys`` (each group keeps its order): (starts, values)."""
    import numpy as np

    order = np.argsort(keys, kind="stable")
    starts = np.zeros(size + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=size), out=starts[1:])
    return starts, values[order]


@dataclass(frozen=True, slots=True)
class _CompactIndex:
    """The documents of a large KB as arrays: posting lists, each term's fields, each field's
    document and IDF mass, each field's terms. A few MiB where sets and dicts per document
    took hundreds, and the field cover of every document a question touches in one pass."""

    term_ids: dict[str, int]
    terms: list[str]
    postings: tuple[np.ndarray, np.ndarray]
    term_fields: tuple[np.ndarray, np.ndarray]
    field_docs: np.ndarray
    denominators: np.ndarray
    texts: tuple[np.ndarray, np.ndarray]

    @property
    def size(self) -> int:
        return len(self.texts[0]) - 1

    def documents(self, term: str) -> np.ndarray | None:
        """The documents containing ``term``, ascending (None when none)."""
        term_id = self.term_ids.get(term)
        if term_id is None:
            return None
        starts, docs = self.postings
        return docs[starts[term_id] : starts[term_id + 1]]

    def text(self, index: int) -> frozenset[str]:
        """The terms of the document's first field (a duty's SOP wording)."""
        starts, terms = self.texts
        return frozenset(self.terms[i] for i in terms[starts[index] : starts[index + 1]].tolist())

    def field_covers(self, query_idf: dict[str, float]) -> _FieldCovers:
        """:meth:`Matcher._field_cover` of every document at once: each field's mass summed
        term by term in the same (sorted) order, then the best field share per document."""
        import numpy as np

        mass = np.zeros(len(self.field_docs))
        hit = np.zeros(len(self.field_docs), dtype=bool)
        starts, fields = self.term_fields
        for term in sorted(query_idf):
            term_id = self.term_ids.get(term)
            if term_id is not None:
                found = fields[starts[term_id] : starts[term_id + 1]]
                mass[found] += query_idf[term]
                hit[found] = True
        covers = np.zeros(self.size)
        touched = np.flatnonzero(hit)
        if len(touched):
            docs = self.field_docs[touched]
            first = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
            shares = mass[touched] / self.denominators[touched]
            covers[docs[first]] = np.maximum.reduceat(shares, first)
        return _FieldCovers(covers)


class _FieldCovers:
    """Field cover per document of a compact index, for one question."""

    def __init__(self, covers: np.ndarray) -> None:
        self._covers = covers
        self.size = len(covers)

    def of(self, index: int) -> float:
        return float(self._covers[index])


def _return_free_memory() -> None:
    """Give the C heap's free pages back to the OS (glibc only; elsewhere nothing).

    Building a large index frees tens of MiB of scratch arrays in the middle of the heap;
    glibc keeps them mapped, so without this the process stays ~20 MiB larger for its life.
    """
    import ctypes

    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc (or no process symbols)
        return


def _all(phrases: Phrases) -> list[tuple[str, ...]]:
    return [phrase for group in phrases.values() for phrase in group]


def _units_by_key(table: dict[str, Phrases]) -> dict[tuple[str, ...], list[tuple[int, str]]]:
    """Phrase -> (position in ``table``, unit id) of the units it names. A phrase kept as typed
    (:data:`SURFACE`) matches by its first word alone, as in :func:`phrase_spans`."""
    by_key: dict[tuple[str, ...], list[tuple[int, str]]] = defaultdict(list)
    for order, (unit_id, phrases) in enumerate(table.items()):
        for phrase in _all(phrases):
            key = phrase[:1] if phrase[0].startswith(SURFACE) else phrase
            by_key[key].append((order, unit_id))
    return dict(by_key)


_ByKey = dict[tuple[str, ...], list[tuple[int, str]]]


def _candidates(keys: set[tuple[str, ...]], by_key: _ByKey) -> list[str]:
    """The units any of ``keys`` may start a phrase of, in table order."""
    found = {entry for key in keys for entry in by_key.get(key, ())}
    return [unit_id for _, unit_id in sorted(found)]


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


def _vocabulary(kb: KnowledgeBase) -> list[str]:
    """Every word the KB uses: what typos are corrected towards."""
    texts: list[str] = []
    for unit in kb.units:
        texts += [unit.name, unit.short_name, *unit.aliases, *unit.keywords]
        for duty in unit.duties:
            texts += [duty.text, *duty.terms]
    lex = kb.lexicon
    texts += list(lex.acronyms.values())
    # Typos of the scope gate's topic words count too: "pemenag" is "pemenang".
    texts += [*lex.fact_topics, *lex.other_services, *lex.personal_life]
    return texts
