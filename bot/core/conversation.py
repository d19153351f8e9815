"""How a message relates to the conversation: which kind of small talk, and whether it follows up.

The scope gate (:mod:`bot.core.cues`) says *that* a message is small talk; this says which
kind, so the reply can fit ("makasih" gets "sama-sama", "mau tanya dong" an invitation to
ask), and whether a short message continues the previous question ("kalau distribusinya
ke kab/kota?"). The word lists are the lexicon's conversation cues.
"""

from __future__ import annotations

from enum import StrEnum

from bot.core.cues import Cue, compile_phrases, phrase_spans
from bot.core.model import Lexicon
from bot.core.normalize import Normalizer

# A word ending so points back at something named before ("distribusinya", "SPJ-nya").
_POINTING_SUFFIX = "nya"
_MIN_POINTING_WORD = 5


class SmallTalk(StrEnum):
    """The kinds of small talk that get a reply of their own."""

    ASK_INTENT = "ask_intent"
    THANKS = "thanks"
    GREETING = "greeting"
    ACKNOWLEDGEMENT = "acknowledgement"
    OTHER = "other"


# Which cue says which kind, in the order they are tried: one reply per message.
_KIND_CUES = (
    (SmallTalk.ASK_INTENT, Cue.ASK_INTENT),
    (SmallTalk.THANKS, Cue.THANKS),
    (SmallTalk.GREETING, Cue.GREETING),
    (SmallTalk.ACKNOWLEDGEMENT, Cue.ACKNOWLEDGEMENT),
)


class Conversation:
    """The lexicon's conversation cues, compiled once per knowledge base."""

    def __init__(self, normalizer: Normalizer, lexicon: Lexicon) -> None:
        self._normalizer = normalizer
        self._stopwords = lexicon.stopwords
        lists = {
            Cue.ASK_INTENT: lexicon.ask_intent,
            Cue.THANKS: lexicon.thanks,
            Cue.GREETING: lexicon.greetings,
            Cue.ACKNOWLEDGEMENT: lexicon.acknowledgements,
            Cue.FOLLOW_UP_OPENER: lexicon.follow_up_openers,
            Cue.FOLLOW_UP_POINTER: lexicon.follow_up_pointers,
        }
        self._kinds = [(kind, compile_phrases(normalizer, lists[cue])) for kind, cue in _KIND_CUES]
        self._openers = [self._words(o) for o in lists[Cue.FOLLOW_UP_OPENER]]
        self._pointers = [self._words(p) for p in lists[Cue.FOLLOW_UP_POINTER]]

    def _words(self, text: str) -> list[str]:
        return self._normalizer.standard_words(text, fix_typos=False)[0]

    def small_talk(self, text: str) -> SmallTalk | None:
        """The kind of small talk ``text`` contains, the most useful to answer first; None if none."""
        norm = self._normalizer.normalize(text)
        for kind, phrases in self._kinds:
            spans = phrase_spans(norm, phrases)
            if kind is SmallTalk.ACKNOWLEDGEMENT:  # "oke siap" only: "kamu robot ya" is no "siap"
                covered = {i for span in spans for i in span}
                words = [i for i, w in enumerate(norm.words) if w not in self._stopwords]
                spans = spans if words and all(i in covered for i in words) else []
            if spans:
                return kind
        return None

    def follows_up(self, text: str) -> bool:
        """``text`` opens like a continuation ("kalau ...", "terus ...") or points back ("itu", "-nya")."""
        words = self._words(text)
        if any(words[: len(o)] == o for o in self._openers if o):
            return True
        if any(_contains(words, p) for p in self._pointers if p):
            return True
        return any(w.endswith(_POINTING_SUFFIX) and len(w) >= _MIN_POINTING_WORD for w in words) or (
            _POINTING_SUFFIX in words
        )


def _contains(words: list[str], phrase: list[str]) -> bool:
    return any(words[i : i + len(phrase)] == phrase for i in range(len(words) - len(phrase) + 1))
