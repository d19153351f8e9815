"""Find units by name or by what a question describes: ``/divisi <nama>``, ``/kontak`` and inline mode.

Pure: works on the knowledge base and a matcher, no Telegram and no I/O.
"""

from __future__ import annotations

from rapidfuzz import fuzz, process, utils

from bot.core.answer import Assignment, assignment_for
from bot.core.matcher import Matcher, MatchResult
from bot.core.model import KnowledgeBase, Level, Unit

INLINE_MAX_RESULTS = 5
# Inline results: units scoring below this share of the best one are not "likely".
INLINE_MIN_RELATIVE_SCORE = 0.6
# /divisi <name>: how close (0-100, rapidfuzz WRatio) a name must be to count as meant.
UNIT_NAME_CUTOFF = 80
_LEVEL_WORDS = frozenset({"divisi", "div", "sub", "bagian", "subbag", "subbagian", "kasubbag", "kabag"})


def find_unit(kb: KnowledgeBase, matcher: Matcher, wanted: str, level: Level) -> Unit | None:
    """The unit of ``level`` that ``wanted`` names (fuzzy), or whose duties it describes."""
    names: dict[str, str] = {}
    for unit in kb.units_at(level):
        for name in (unit.name, unit.short_name, *unit.aliases):
            if key := _unit_words(name):
                names.setdefault(key, unit.id)
    found = process.extractOne(
        _unit_words(wanted), list(names), scorer=fuzz.WRatio, score_cutoff=UNIT_NAME_CUTOFF
    )
    if found:
        return kb.unit(names[found[0]])
    ranking = matcher.match(wanted).ranking(level)
    if ranking and ranking[0].score >= matcher.config.answer_threshold:
        return kb.unit(ranking[0].unit_id)
    return None


def _unit_words(name: str) -> str:
    """A unit name without the words every unit of a level shares ("Divisi", "Sub Bagian")."""
    words = utils.default_process(name).split()
    return " ".join(w for w in words if w not in _LEVEL_WORDS)


def likely_units(kb: KnowledgeBase, result: MatchResult) -> list[Assignment]:
    """Up to five units for inline mode, best first, Divisi and Sub Bagian together."""
    if not result.answered:
        return []
    ranked = sorted((*result.divisi, *result.subbag), key=lambda c: -c.score)
    floor = ranked[0].score * INLINE_MIN_RELATIVE_SCORE if ranked else 0.0
    return [assignment_for(kb, c) for c in ranked[:INLINE_MAX_RESULTS] if c.score >= floor]


def unit_named_first(kb: KnowledgeBase, text: str) -> tuple[Unit, str] | None:
    """The unit whose id, name, short name or alias ``text`` starts with (the longest such
    name), and the rest of ``text``: ``/kontak subbag keuangan Kasubbag: ...``.

    Exact words, case and punctuation aside; "sub bagian" and "subbagian" read as "subbag".
    """
    words = text.split()
    keys = _name_keys(kb)
    for end in range(len(words), 0, -1):
        unit = keys.get(_key(" ".join(words[:end])))
        if unit is not None:
            return unit, " ".join(words[end:])
    return None


def _key(name: str) -> str:
    key = " ".join(utils.default_process(name.replace("-", " ")).split())
    return key.replace("sub bagian", "subbag").replace("subbagian", "subbag")


def _name_keys(kb: KnowledgeBase) -> dict[str, Unit]:
    keys: dict[str, Unit] = {}
    for unit in kb.units:
        for name in (unit.id, unit.name, unit.short_name, *unit.aliases):
            keys.setdefault(_key(name), unit)
    return keys
