"""What kind of message a question is: the scope gate's evidence.

The lexicon's cue lists (``knowledge/lexicon.yaml``, ``cues:``) are matched here as whole-word
phrases, compared by stem, plus a few rules of Indonesian word order that no list can say
("dikumpulin siapa", "X itu ... apa?", "kirim ke KPU Kab X"). The matcher asks these
questions before any score counts; nothing here knows about duties or units.
"""

from __future__ import annotations

import re
from collections import defaultdict
from enum import StrEnum

from rapidfuzz import fuzz, process

from bot.core.model import Lexicon
from bot.core.normalize import Normalized, Normalizer, tokenize

Phrases = dict[str, list[tuple[str, ...]]]
"""Phrases indexed by their first word, for a left-to-right scan."""


class Cue(StrEnum):
    """The cue lists of the lexicon, one per kind of evidence."""

    HANDLER = "handler"
    QUESTION_WORD = "question_words"
    REQUEST = "request"
    FACT = "fact"
    FACT_TOPIC = "fact_topics"
    DEFINITION = "definition"
    CHITCHAT = "chitchat"
    ACKNOWLEDGEMENT = "acknowledgements"
    AGENCY = "other_agencies"
    SERVICE = "other_services"
    OFFICE = "other_offices"
    THIS_OFFICE = "this_office"
    WISH = "wishes"
    VALUE = "value_words"
    ABOUT_BOT = "about_bot"
    PERSONAL = "personal_life"
    # Not read by the scope gate: what kind of small talk, and whether a message follows up.
    THANKS = "thanks"
    GREETING = "greetings"
    ASK_INTENT = "ask_intent"
    FOLLOW_UP_OPENER = "follow_up_openers"
    FOLLOW_UP_POINTER = "follow_up_pointers"
    CONTACT = "contact_reach"
    """Asks how to reach someone; read by the service, not by the matcher."""
    ROLE = "contact_roles"
    """A person's role (``kasubbag``); read by the service, not by the matcher."""


# Marks a cue kept as typed (compared with standard words, not stems).
SURFACE = "~"

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

# Demonstratives after a word that make it the subject ("bot ini").
_THIS = frozenset({"ini", "itu", "tea", "iki", "kuwi", "kien", "ieu", "eta", "this", "that", "the"})

# Modal verbs between "yang" and the verb of doing ("yang bisa bikinin", "yang harus ngisi").
_MODALS = frozenset({"bisa", "dapat", "boleh", "harus", "perlu", "biasa", "biasanya", "akan", "sedang"})

# Bot task verbs this long or longer are recognised with a typo, at this rapidfuzz ratio.
_TASK_TYPO_LENGTH = 7
_TASK_TYPO_SCORE = 88.0

# Words that introduce the subject matter of an activity ("pelatihan soal arsip").
_ABOUT = frozenset({"soal", "tentang", "mengenai", "terkait", "perihal", "about", "regarding", "ngeunaan"})

# Numbers as typed ("1.350.000.000", "2,5") and what makes two of them a sum for the bot.
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_OPERATOR = re.compile(r"\d\s*(?:[x*/+=×÷]|%\s*(?:dari|of|x|kali))\s*\d")
_COMPUTING = frozenset(
    {"hitung", "hitungin", "itung", "itungin", "dikali", "dibagi", "ditambah", "calculate"}
)

# "Why" words: asked with "tolong dicek", they describe a complaint.
_WHY = frozenset({"kenapa", "mengapa", "why"})

# Words of a fact phrase that ask for a number or a time.
_NUMBER_OR_TIME = frozenset({"berapa", "kapan", "when", "many", "much"})

# Qualities: "yang bagus", "yang paling dekat" describe a thing, they name no doing.
_QUALITIES = frozenset(
    {
        "bagus",
        "enak",
        "murah",
        "mahal",
        "dekat",
        "terdekat",
        "jauh",
        "besar",
        "kecil",
        "terbaik",
        "paling",
        "cepat",
        "ramai",
        "sepi",
        "bersih",
        "nyaman",
        "lengkap",
        "oke",
        "mantap",
        "recommended",
        "rekomen",
        "top",
    }
)

# "buat" is a stopword as "for" ("buat kita") but the verb "make" after "yang" ("yang bikin").
_MAKE = frozenset({"buat"})

# "You" as people address a bot ("kamu bot ya?").
_YOU = frozenset({"kamu", "anda", "lu", "lo", "elu", "maneh", "sampeyan", "kowe", "sira"})

# Question words (standard forms) that may follow such a verb: "dikumpulin siapa".
_WHO_WHERE = frozenset({"siapa", "mana", "di mana", "ke mana", "dimana", "kemana"})

# Words before an office's or agency's name that make it the other end of this office's work.
_TOWARDS = frozenset({"ke", "dari", "untuk", "buat", "sama", "dengan", "kepada", "bagi", "oleh"})

# Sentence-final particles ("sih", "ya", "teh") that may follow the last real word.
_PARTICLES = frozenset({"sih", "ya", "yah", "kah", "dong", "deh", "teh", "nya", "tah", "yo"})


def by_first(phrases: list[tuple[str, ...]]) -> Phrases:
    """Phrases indexed by their first word."""
    indexed: Phrases = defaultdict(list)
    for phrase in phrases:
        indexed[phrase[0]].append(phrase)
    return dict(indexed)


def phrase_spans(norm: Normalized, phrases: Phrases) -> list[range]:
    """Where any of ``phrases`` occurs in the question, as ranges of word positions."""
    spans = []
    lemmas = norm.lemmas
    for start, lemma in enumerate(lemmas):
        for phrase in phrases.get(lemma, ()):
            if lemmas[start : start + len(phrase)] == phrase:
                spans.append(range(start, start + len(phrase)))
        if start < len(norm.words) and phrases.get(SURFACE + norm.words[start]):
            spans.append(range(start, start + 1))
    return spans


class Cues:
    """The lexicon's cue lists, compiled once per knowledge base."""

    def __init__(self, normalizer: Normalizer, lexicon: Lexicon) -> None:
        lists = {
            Cue.HANDLER: lexicon.handler_cues,
            Cue.QUESTION_WORD: lexicon.question_words,
            Cue.REQUEST: lexicon.request_cues,
            Cue.FACT: lexicon.fact_cues,
            Cue.FACT_TOPIC: lexicon.fact_topics,
            Cue.DEFINITION: lexicon.definition_cues,
            Cue.CHITCHAT: lexicon.chitchat_cues,
            Cue.ACKNOWLEDGEMENT: lexicon.acknowledgements,
            Cue.AGENCY: lexicon.other_agencies,
            Cue.SERVICE: lexicon.other_services,
            Cue.OFFICE: lexicon.other_offices,
            Cue.THIS_OFFICE: lexicon.this_office,
            Cue.WISH: lexicon.wishes,
            Cue.VALUE: lexicon.value_words,
            Cue.ABOUT_BOT: lexicon.about_bot,
            Cue.PERSONAL: lexicon.personal_life,
            Cue.CONTACT: lexicon.contact_cues,
            Cue.ROLE: lexicon.role_cues,
        }
        self._phrases = {cue: _compile(normalizer, items) for cue, items in lists.items()}
        offices = [normalizer.phrase(item) for item in lexicon.other_offices]
        self._at_offices = by_first([p for p in offices if p and p[0] == "di"])
        # Bot tasks are matched on the words as typed: "penghitungan" must not read as "hitung".
        self._bot_tasks = by_first([tuple(tokenize(t)) for t in lexicon.bot_tasks if tokenize(t)])
        self._is_known = normalizer.is_known
        self._task_verbs = sorted(verb for verb in self._bot_tasks if len(verb) >= _TASK_TYPO_LENGTH)
        self._stopwords = lexicon.stopwords
        self._informal = lexicon.informal

    def spans(self, norm: Normalized, cue: Cue) -> list[range]:
        """Where phrases of ``cue`` occur."""
        return phrase_spans(norm, self._phrases[cue])

    def has(self, norm: Normalized, cue: Cue) -> bool:
        """Whether any phrase of ``cue`` occurs."""
        return bool(self.spans(norm, cue))

    # -- who handles it? ------------------------------------------------------------------

    def handler(self, norm: Normalized) -> bool:
        """A handler phrase ("yang mengurus", "ke bagian mana") outside a fact phrase."""
        return bool(self._outside_facts(norm, Cue.HANDLER))

    def question_word(self, norm: Normalized) -> bool:
        """A bare who / where / which: a who-handles question unless the rest asks a fact."""
        return bool(self._outside_facts(norm, Cue.QUESTION_WORD))

    def _outside_facts(self, norm: Normalized, cue: Cue) -> list[range]:
        facts = self.spans(norm, Cue.FACT)
        return [
            span
            for span in self.spans(norm, cue)
            if not any(span.start >= f.start and span.stop <= f.stop for f in facts)
        ]

    def asks_who_does(self, norm: Normalized, question: str) -> bool:
        """A question word with a verb of doing: "yang nyusun ... siapa", "dikumpulin siapa".

        "siapa yang <verb>" and "yang <verb> ... siapa" ask who does the work, as does a
        verb (as typed: "dikumpulin", "nyusun") right before the question word; "yang menang
        ... siapa" or "partai mana yang paling banyak" ask a fact.
        """
        questions = self._outside_facts(norm, Cue.QUESTION_WORD)
        if not questions:
            return False
        if self._done_by_whom(question):  # "bahan pembelaannya dikumpulkan oleh siapa?"
            return True
        if self.has(norm, Cue.FACT_TOPIC):
            return False
        words, lemmas = norm.words, norm.lemmas
        asking = {span.start for span in questions}
        for i, word in enumerate(words[:-1]):
            following = i + 1
            if word == "yang" and words[following] in _MODALS:  # "yang bisa bikinin"
                following = min(following + 1, len(words) - 1)
            if (
                (lemmas[following] in self._stopwords and words[following] not in _MAKE)
                or following in asking
                or words[following] in _QUALITIES  # "bengkel yang bagus di mana": which, not who
            ):
                continue
            if word == "yang" or (i in asking and word in _WHO):
                return True
        tokens = tokenize(question)
        for i, token in enumerate(tokens):
            if token.startswith(_VERB_PREFIXES) and len(token) > 5 and token not in self._stopwords:
                after = (self._informal.get(t, t) for t in tokens[i + 1 : i + 3])
                if any(a in _WHO_WHERE for a in after):
                    return True
        return False

    def _done_by_whom(self, question: str) -> bool:
        """A passive verb with "oleh siapa" / "sama siapa": who does it, whatever the topic."""
        tokens = [self._informal.get(t, t) for t in tokenize(question)]
        return any(
            token.startswith("di")
            and len(token) > 5
            and tokens[i + 1 : i + 3] in (["oleh", "siapa"], ["sama", "siapa"])
            for i, token in enumerate(tokens)
        )

    # -- not a question for this bot ---------------------------------------------------------

    def small_talk(self, norm: Normalized) -> bool:
        """Every word is a ping, an acknowledgement, a greeting or a particle ("oke siap 🙏")."""
        covered: set[int] = set()
        for span in self.spans(norm, Cue.ACKNOWLEDGEMENT) + self.spans(norm, Cue.CHITCHAT):
            covered.update(span)
        return bool(covered) and all(
            i in covered or word in self._stopwords for i, word in enumerate(norm.words)
        )

    @staticmethod
    def computes(question: str) -> bool:
        """Arithmetic for the bot: two numbers and an operator or a word of computing."""
        if len(_NUMBER.findall(question)) < 2:
            return False
        words = set(tokenize(question))
        return bool(_OPERATOR.search(question)) or bool(words & _COMPUTING)

    def asks_only_why(self, norm: Normalized) -> bool:
        """Every fact phrase is a "why" ("kenapa", "mengapa")."""
        spans = self.spans(norm, Cue.FACT)
        return bool(spans) and all(set(norm.words[span.start : span.stop]) <= _WHY for span in spans)

    def asks_number_or_time(self, norm: Normalized) -> bool:
        """A fact phrase that asks how many, which number or when ("nomor berapa", "kapan")."""
        return any(
            _NUMBER_OR_TIME.intersection(norm.words[span.start : span.stop])
            for span in self.spans(norm, Cue.FACT)
        )

    def subject_matter(self, norm: Normalized) -> list[range]:
        """The words after "soal"/"tentang"/"about" when topic words come before them:
        "konsultasi hukum soal kontrak sewa gudang" is a legal consultation, "training
        pegawai about archives" a training; "mau tanya soal gaji" keeps "gaji" whole."""
        words = norm.words
        for i, word in enumerate(words):
            if word in _ABOUT and any(g.position < i for g in norm.groups):
                return [range(i + 1, len(words))]
        return []

    def bot_is_subject(self, norm: Normalized) -> bool:
        """The bot is what the message is about ("bot ini dibikin siapa?", "kamu bisa apa?",
        "pake AI apa?"), not just addressed by a bare "bot" ("bot, SPJ ke siapa?")."""
        words = norm.words
        for span in self.spans(norm, Cue.ABOUT_BOT):
            if words[span.start : span.stop] != ("bot",):
                return True
            before = words[span.start - 1] if span.start > 0 else ""
            after = words[span.stop] if span.stop < len(words) else ""
            if before in _THIS or before in _YOU or after in _THIS:
                return True
        return False

    def bot_task(self, question: str, *, leading: bool = False) -> bool:
        """Asks the bot to summarise, translate, remind, compute or write something.

        ``leading``: only as the message's first verb ("tolong rangkum ...", "rekapin dong"),
        an order to the bot even when a handler phrase follows ("kirim ke sini").
        """
        tokens = [self._task_word(token) for token in tokenize(question)]
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

    def _task_word(self, token: str) -> str:
        """A typo of a bot task's verb read as that verb ("terjemahkn" -> "terjemahkan")."""
        if token in self._bot_tasks or len(token) < _TASK_TYPO_LENGTH or self._is_known(token):
            return token
        found = process.extractOne(token, self._task_verbs, scorer=fuzz.ratio, score_cutoff=_TASK_TYPO_SCORE)
        return found[0] if found else token

    def about(self, norm: Normalized, cue: Cue) -> bool:
        """An office or agency is what the question is about, not the source or destination
        of this office's work ("surat dari Bawaslu", "kirim ke KPU Kab X")."""
        return any(
            span.start == 0 or norm.words[span.start - 1] not in _TOWARDS for span in self.spans(norm, cue)
        )

    def at_other_office(self, norm: Normalized) -> bool:
        """Something that happens at another KPU office ("... di KPU Kabupaten Lebak")."""
        return bool(phrase_spans(norm, self._at_offices))

    def at_other_agency(self, norm: Normalized) -> bool:
        """Something done at another agency ("KK belum jadi di Disdukcapil")."""
        return any(
            span.start > 0 and norm.words[span.start - 1] == "di" for span in self.spans(norm, Cue.AGENCY)
        )

    @staticmethod
    def asks_for_action(question: str) -> bool:
        """Asks someone to do something with a value ("mohon reset password"), not for it."""
        return any(token in _ACTION for token in tokenize(question))

    def only_which(self, norm: Normalized) -> bool:
        """No question word, or only a bare "mana" (which / where is it), not who or where to."""
        return all(norm.lemmas[span.start] == "mana" for span in self._outside_facts(norm, Cue.QUESTION_WORD))

    @staticmethod
    def ends_with_what(norm: Normalized) -> bool:
        """The question ends in "apa" (particles aside): it asks what something is or says."""
        words = [w for w in norm.words if w not in _PARTICLES]
        return len(words) >= 2 and words[-1] == "apa"

    @staticmethod
    def points_at_a_term(norm: Normalized) -> bool:
        """A demonstrative points at the term asked about: "X itu ... apa", "X teh naon"."""
        return any(w in _THAT for w in norm.words[:-1])


def compile_phrases(normalizer: Normalizer, items: tuple[str, ...]) -> Phrases:
    """Cue phrases ready for :func:`phrase_spans` (see :func:`_compile`)."""
    return _compile(normalizer, items)


def _compile(normalizer: Normalizer, items: tuple[str, ...]) -> Phrases:
    """Phrases compared by stem; a one-word cue in a derived form matches only itself.

    "terbanyak" must not fire on "banyak", "disiapkan" not on "persiapan", so such cues are
    kept as typed (marked with :data:`SURFACE`) and compared with the standard words.
    """
    compiled: list[tuple[str, ...]] = []
    for item in items:
        phrase = normalizer.phrase(item)
        words, _ = normalizer.standard_words(item, fix_typos=False)
        if len(phrase) == 1 and len(words) == 1 and phrase[0] != words[0]:
            phrase = (SURFACE + words[0],)
        if phrase:
            compiled.append(phrase)
    return by_first(compiled)
