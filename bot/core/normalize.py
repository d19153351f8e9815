"""Turn Indonesian as people type it into comparable terms.

Pipeline: Unicode NFKC and case folding, invisible characters and punctuation
removed, informal spellings and English words mapped to standard Indonesian,
colloquial verb forms reduced to their root (``nyiapin`` -> ``siap``), typos
corrected against the knowledge base vocabulary, acronyms expanded (the acronym
is kept too), stopwords dropped, and Sastrawi stemming with the surface form kept
where the stem would erase the word (``pengadaan`` -> ``ada``).

A token becomes a *group* of alternative term sequences: ``dpt`` is matched as
``dpt`` or as ``daftar pemilih tetap``, whichever fits the duty better.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import DamerauLevenshtein
from Sastrawi.Dictionary.ArrayDictionary import ArrayDictionary
from Sastrawi.Stemmer.Stemmer import Stemmer
from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

from bot.core.model import Lexicon

# Tokens shorter than this are never typo-corrected: they are acronyms or particles.
MIN_TYPO_LENGTH = 4
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\u00ad]")
_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
# Punctuation, symbols (emoji), controls and separators: anything not a letter, digit or mark.
_NON_WORD = re.compile(r"[^\w\u0300-\u036f]|_", re.UNICODE)
_REDUPLICATION_SUFFIX = re.compile(r"^([^\W\d_]{3,})2$")
# A doubled question word is an indefinite pronoun, not a question: "ga bisa upload apa2"
# (anything), "jangan kasih ke siapa-siapa" (anyone).
_INDEFINITE = {"apa": "apapun", "siapa": "siapapun", "mana": "manapun", "kapan": "kapanpun"}
_VOWELS = "aeiou"
# Laughter as typed in chat: wkwk, hahaha, hehe, hihi, awokwok, xixi; read as one word.
_LAUGHTER = re.compile(r"^(?:(?:wk)+w?|(?:ha)+h?|(?:he)+h?|(?:hi)+h?|a?(?:wo?k)+|(?:xi)+|(?:ck)+|lol)$")
_LAUGHTER_MIN = 4
# Words that only English sentences use: two of them (or of the lexicon's English words) make
# a sentence English, where "it" is a pronoun.
_ENGLISH_FUNCTION_WORDS = frozenset(
    {
        "the",
        "a",
        "an",
        "is",
        "are",
        "was",
        "were",
        "of",
        "to",
        "for",
        "with",
        "and",
        "my",
        "your",
        "our",
        "i",
        "you",
        "we",
        "that",
        "this",
        "really",
        "thanks",
        "thank",
        "please",
        "who",
        "what",
        "which",
        "does",
        "do",
    }
)
# Hyphenated words whose halves mean something else alone: "perundang-undangan" is
# legislation, but "undangan" alone is an invitation.
_COMPOUNDS = {("perundang", "undangan"): "perundangan"}


@dataclass(frozen=True)
class Group:
    """One word of the question as alternative term sequences (acronym or its expansion)."""

    surface: str
    options: tuple[tuple[str, ...], ...]
    position: int = 0
    """Index of the word in :attr:`Normalized.words`."""
    weight: float = 1.0
    """How much the word counts: less for the subject matter of an activity ("training
    <soal kearsipan>"), whose owner is the activity's unit."""

    @property
    def terms(self) -> frozenset[str]:
        """Every term any option of this group contributes."""
        return frozenset(t for option in self.options for t in option)


@dataclass(frozen=True)
class Normalized:
    """A question after normalisation."""

    words: tuple[str, ...]
    groups: tuple[Group, ...]
    corrections: dict[str, str] = field(default_factory=dict)
    lemmas: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Canonical form for logging and grouping near-duplicate questions."""
        return " ".join(g.options[0][0] if len(g.options[0]) == 1 else g.surface for g in self.groups)

    @property
    def terms(self) -> frozenset[str]:
        """All terms of all groups."""
        return frozenset(t for g in self.groups for t in g.terms)

    def weighted(self, spans: list[range], weight: float) -> Normalized:
        """The same question with the words inside ``spans`` counting ``weight`` times."""
        groups = tuple(
            replace(g, weight=weight) if any(g.position in span for span in spans) else g for g in self.groups
        )
        return replace(self, groups=groups)

    def without(self, spans: list[range]) -> Normalized:
        """The same question minus the words inside ``spans`` (e.g. a greeting)."""
        groups = tuple(g for g in self.groups if not any(g.position in span for span in spans))
        return replace(self, groups=groups)


def has_visible_text(text: str) -> bool:
    """True when ``text`` shows anything (a word, an emoji), not just spaces or invisibles."""
    return bool(_INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).strip())


def clean_text(text: str) -> str:
    """NFKC, lowercase, no invisible characters, markup and punctuation as spaces."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    return _NON_WORD.sub(" ", text).casefold()


def tokenize(text: str) -> list[str]:
    """Split cleaned text into word tokens; ``desa2`` -> ``desa``; bare numbers are dropped."""
    tokens: list[str] = []
    for token in _TOKEN.findall(clean_text(text)):
        if token.isdigit():
            continue
        if match := _REDUPLICATION_SUFFIX.match(token):
            token = _INDEFINITE.get(match.group(1), match.group(1))
        if (len(token) >= _LAUGHTER_MIN or token == "lol") and _LAUGHTER.match(token):
            token = "haha"
        if tokens and tokens[-1] == token:  # "masalah-masalah" -> one word
            tokens[-1] = _INDEFINITE.get(token, token)
            continue
        if tokens and (tokens[-1], token) in _COMPOUNDS:  # "perundang-undangan" -> one word
            tokens[-1] = _COMPOUNDS[tokens[-1], token]
            continue
        tokens.append(token)
    return tokens


class Normalizer:
    """Normalises questions and KB text the same way, so their terms compare."""

    def __init__(
        self, lexicon: Lexicon, vocabulary: Iterable[str] = (), stems: Mapping[str, str] | None = None
    ) -> None:
        self.lexicon = lexicon
        # Sastrawi's answers known in advance (e.g. from an earlier run): stemming is most
        # of building a matcher. Any word not in it is stemmed as usual, so it is only a cache.
        self._stems: dict[str, str] = dict(stems or {})
        words = StemmerFactory().get_words()
        self._dictionary = ArrayDictionary(words)
        self._stemmer = Stemmer(self._dictionary)
        self._stopwords = lexicon.stopwords
        self._vocabulary: frozenset[str] = frozenset()
        self._vocabulary_list: list[str] = []
        self._stem_cached = lru_cache(maxsize=50_000)(self._stem_uncached)
        self._correct_cached = lru_cache(maxsize=20_000)(self._correct_uncached)
        self.set_vocabulary(vocabulary)

    def set_vocabulary(self, vocabulary: Iterable[str]) -> None:
        """Words typos are corrected towards (KB words and lexicon forms)."""
        words: set[str] = set()
        for text in vocabulary:
            words.update(t for t in tokenize(text) if len(t) >= MIN_TYPO_LENGTH)
        words.update(k for k in self.lexicon.informal if len(k) >= MIN_TYPO_LENGTH)
        words.update(w for w in self._stopwords if len(w) >= MIN_TYPO_LENGTH)
        self._vocabulary = frozenset(words)
        self._vocabulary_list = sorted(words)
        self._known_stems = frozenset(self.stem(w) for w in words)
        self._correct_cached.cache_clear()

    # -- words -------------------------------------------------------------------------

    def is_known(self, word: str) -> bool:
        """A word we should not "correct": in the KB, the lexicon or the Indonesian dictionary."""
        lex = self.lexicon
        return (
            word in self._vocabulary
            or word in lex.informal
            or word in lex.english
            or word in lex.acronyms
            or word in self._stopwords
            or self._dictionary.contains(word)
            or self._dictionary.contains(self._stem_cached(word))
        )

    def _stem_uncached(self, word: str) -> str:
        stem = self._stems.get(word)
        if stem is None:
            stem = self._stems[word] = self._stemmer.stem(word)
        return stem

    def stem_table(self) -> dict[str, str]:
        """Every word Sastrawi has stemmed for this normaliser (or was given), with its stem."""
        return dict(self._stems)

    def stem(self, word: str) -> str:
        """Sastrawi stem, unless that would erase or blur a key word."""
        if word in self.lexicon.protected or word in self.lexicon.acronyms or len(word) <= 3:
            return word
        stem = self._stem_cached(word)
        if not stem or len(stem) < 3 or stem in self._stopwords:
            return word
        return stem

    def _without_nya(self, token: str) -> str:
        """Drop the clitic "-nya" from an acronym or a mapped word: "spjnya" -> "spj".

        Sastrawi strips it from Indonesian words; acronyms, English and chat words it does
        not know, so "wifinya" or "websitenya" would otherwise stay unknown.
        """
        if not token.endswith("nya") or len(token) < 5:
            return token
        base = token[:-3]
        lex = self.lexicon
        if base in lex.acronyms or base in lex.english or base in lex.informal:
            return base
        return token

    def colloquial_root(self, word: str) -> str | None:
        """Map Jakarta-style verb forms to a standard word: nyiapin -> siapkan, dicatet -> dicatat."""
        if len(word) < 5 or self.is_known(word):
            return None
        for candidate in _colloquial_candidates(word):
            if candidate == word:
                continue
            if candidate in self._vocabulary or (
                # A dictionary word only when the KB or the lexicon uses its root: "samsek"
                # must not become "samsak" (a punching bag) just because that is a word.
                self._dictionary.contains(candidate) and self.stem(candidate) in self._known_stems
            ):
                return candidate
        return None

    def _correct_uncached(self, word: str) -> str | None:
        if len(word) < MIN_TYPO_LENGTH or not self._vocabulary_list:
            return None
        cutoff = 86.0 if len(word) <= 5 else 80.0
        found = process.extract(word, self._vocabulary_list, scorer=fuzz.ratio, score_cutoff=cutoff, limit=5)
        if not found:
            return None
        # Typos rarely change the first letter ("posting" is "postingan", not "hosting"); among
        # near words that keep it, the fewest edits wins, a swap of two letters counting once
        # ("parati" is "partai", not "aparat"); then the closer ratio.
        best = min(
            found,
            key=lambda hit: (
                hit[0][0] != word[0],
                DamerauLevenshtein.distance(word, hit[0]),
                -hit[1],
                hit[0],
            ),
        )
        return best[0]

    def correct(self, word: str) -> str | None:
        """The KB word ``word`` is most likely a typo of, or None."""
        if self.is_known(word) or word.isdigit():
            return None
        return self._correct_cached(word)

    # -- text --------------------------------------------------------------------------

    def standard_words(self, text: str, *, fix_typos: bool = True) -> tuple[list[str], dict[str, str]]:
        """Tokens mapped to standard Indonesian (informal, English, colloquial, typos)."""
        lex = self.lexicon
        words: list[str] = []
        corrections: dict[str, str] = {}
        tokens = tokenize(text)
        # In an English sentence "it" is a pronoun ("who handles it?"), not IT.
        english = sum(token in lex.english or token in _ENGLISH_FUNCTION_WORDS for token in tokens) >= 2
        for token in tokens:
            if english and token == "it":
                continue
            token = self._without_nya(token)
            mapped = lex.informal.get(token) or lex.english.get(token)
            if mapped is None and not self.is_known(token):
                # Colloquial forms are reduced in cue phrases too ("nitip beliin" matches
                # "nitip beliin pulsa"); only typos are left alone there.
                mapped = self.colloquial_root(token)
                if mapped is None and fix_typos:
                    mapped = self.correct(token)
                    if mapped is not None:
                        mapped = lex.informal.get(mapped) or lex.english.get(mapped) or mapped
                if mapped is not None:
                    corrections[token] = mapped
            words.extend((mapped or token).split())
        return words, corrections

    def normalize(self, text: str) -> Normalized:
        """Full pipeline for a question or a KB phrase."""
        words, corrections = self.standard_words(text)
        groups = []
        for position, word in enumerate(words):
            if word in self._stopwords or len(word) < 2:  # a lone letter names no topic
                continue
            options: list[tuple[str, ...]] = [(self.stem(word),)]
            expansion = self.lexicon.acronyms.get(word)
            if expansion:
                expanded = tuple(self.stem(w) for w in tokenize(expansion) if w not in self._stopwords)
                if expanded and expanded not in options:
                    options.append(expanded)
            groups.append(Group(surface=word, options=tuple(options), position=position))
        lemmas = tuple(self.lemma(w) for w in words)
        return Normalized(tuple(words), tuple(groups), corrections, lemmas)

    def lemma(self, word: str) -> str:
        """Stem for cue matching: "menyusun", "susun" and "disusun" compare equal."""
        if word in self.lexicon.protected or len(word) <= 3:
            return word
        return self._stem_cached(word) or word

    def phrase(self, text: str) -> tuple[str, ...]:
        """A cue phrase as stemmed words, comparable with :attr:`Normalized.lemmas`.

        Cue phrases are written correctly, so they are never typo-corrected: "kemenag" must
        stay itself, not become the nearest KB word.
        """
        words, _ = self.standard_words(text, fix_typos=False)
        return tuple(self.lemma(w) for w in words)

    def terms(self, text: str) -> frozenset[str]:
        """All terms of ``text`` (for indexing KB phrases)."""
        return self.normalize(text).terms


def _colloquial_candidates(word: str) -> list[str]:
    """Standard forms a colloquial word may stand for, most likely first."""
    stems = [word]
    # Jakarta -in, Sundanese -keun (= -kan) and possessive -na, Javanese -ke (= -kan) and -ne.
    suffixes = (
        ("innya", ("kannya", "nya", "")),
        ("keun", ("kan", "")),
        ("in", ("kan", "i", "")),
        ("ke", ("kan", "")),
        ("na", ("nya", "")),
        ("ne", ("nya", "")),
    )
    for suffix, replacements in suffixes:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stems += [word[: -len(suffix)] + r for r in replacements]
            break
    bases: list[str] = []
    for stem in stems:
        bases.append(stem)
        if stem.startswith("di") and len(stem) > 5:
            bases.append(stem[2:])
        if stem.startswith(("nge", "nga")) and len(stem) > 5:  # Jakarta nge-, Sundanese nga-
            bases.append(stem[3:])
        if stem.startswith("ny") and len(stem) > 4:
            bases += ["s" + stem[2:], "meny" + stem[2:]]
        elif stem.startswith("ng") and len(stem) > 4:
            bases += [stem[2:], "k" + stem[2:], "meng" + stem[2:]]
        elif stem.startswith("m") and len(stem) > 4 and stem[1] in _VOWELS:
            bases.append("p" + stem[1:])
    candidates: list[str] = []
    for base in bases:
        candidates.append(base)
        # Jakarta speech turns a final-syllable "a" into "e": simpen -> simpan, catet -> catat.
        vowel_swapped = re.sub(r"e([^aeiou]*)$", r"a\1", base)
        if vowel_swapped != base:
            candidates.append(vowel_swapped)
    return list(dict.fromkeys(candidates))
