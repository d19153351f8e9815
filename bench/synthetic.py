"""Synthetic multi-office knowledge bases for scale benchmarks, built in memory.

``scaled_kb(kb, offices)`` returns a KB holding the real KB's units unchanged
(office 0) plus ``offices - 1`` copies, one per imaginary office.  Each copy:

* suffixes every unit id with the office (``subbag-keuangan@kab-lebak-3``) and
  remaps parents, ``works_with`` and duty links to the same office's units;
* appends a neutral office tag to the unit names (``... l003``), so profiles
  differ per office without adding words that dev questions use (a place name
  such as "Pandeglang" would steer the questions that mention it, which is a
  KB-design effect, not a scale effect);
* rewords every duty: a few words of the text substituted with words of the
  same unit's own vocabulary and two neighbouring words swapped; some terms
  dropped and some with one word substituted the same way.  Substituting
  within the unit keeps each copy on its topic, so a copy of the wrong unit
  does not win by chance and the accuracy check (ids mapped back with
  :func:`original_id`) measures scale, not noise.

Deterministic: the same ``seed`` gives the same KB.
"""

from __future__ import annotations

import random
import re
from dataclasses import replace

from bot.core.model import Duty, DutyRef, KnowledgeBase, Unit

OFFICE_SEP = "@"
_PLACES = (
    ("kab", "lebak"),
    ("kab", "pandeglang"),
    ("kab", "serang"),
    ("kab", "tangerang"),
    ("kota", "serang"),
    ("kota", "tangerang"),
    ("kota", "cilegon"),
    ("kota", "tangsel"),
)
_WORD = re.compile(r"[A-Za-z]{4,}")


def office_name(index: int) -> str:
    """``kab-lebak-1``, ``kab-pandeglang-1``, ... cycling through Banten's regencies and cities."""
    kind, place = _PLACES[(index - 1) % len(_PLACES)]
    return f"{kind}-{place}-{(index - 1) // len(_PLACES) + 1}"


def original_id(unit_id: str) -> str:
    """The real KB's unit id behind a synthetic one (strips the office suffix)."""
    return unit_id.partition(OFFICE_SEP)[0]


def _unit_vocabulary(unit: Unit) -> list[str]:
    words: set[str] = set()
    for duty in unit.duties:
        for text in (duty.text, *duty.terms):
            words.update(w.lower() for w in _WORD.findall(text))
    return sorted(words)


def _substitute(text: str, vocabulary: list[str], count: int, rng: random.Random, *, swap: bool) -> str:
    words = text.split()
    slots = [i for i, w in enumerate(words) if _WORD.fullmatch(w)]
    for i in rng.sample(slots, min(count, len(slots))):
        words[i] = rng.choice(vocabulary)
    if swap and len(words) > 2:
        i = rng.randrange(len(words) - 1)
        words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def _reword(duty: Duty, unit_id: str, suffix: str, vocabulary: list[str], rng: random.Random) -> Duty:
    text = _substitute(duty.text, vocabulary, 2, rng, swap=True)
    terms = []
    for term in duty.terms:
        roll = rng.random()
        if roll < 0.15:
            continue  # dropped
        terms.append(_substitute(term, vocabulary, 1, rng, swap=False) if roll < 0.4 else term)
    links = tuple(DutyRef(ref.unit_id + suffix, ref.number) for ref in duty.links)
    return replace(duty, unit_id=unit_id, text=text, source_text=None, terms=tuple(terms), links=links)


def _office_units(kb: KnowledgeBase, index: int, rng: random.Random) -> list[Unit]:
    suffix = OFFICE_SEP + office_name(index)
    tag = f"{office_name(index).split('-')[1][:1]}{index:03d}"  # neutral token, e.g. "l003"
    units = []
    for unit in kb.units:
        uid = unit.id + suffix
        vocabulary = _unit_vocabulary(unit) or ["kegiatan"]
        units.append(
            replace(
                unit,
                id=uid,
                name=f"{unit.name} {tag}",
                short_name=f"{unit.short_name} {tag}",
                duties=tuple(_reword(d, uid, suffix, vocabulary, rng) for d in unit.duties),
                parent=unit.parent + suffix if unit.parent else None,
                works_with=tuple(w + suffix for w in unit.works_with),
                source_name=None,
            )
        )
    return units


def scaled_kb(kb: KnowledgeBase, offices: int, seed: int = 20210115) -> KnowledgeBase:
    """The real KB plus ``offices - 1`` reworded copies (``offices=1`` is the real KB itself)."""
    if offices <= 1:
        return kb
    rng = random.Random(seed)
    units = list(kb.units)
    for index in range(1, offices):
        units += _office_units(kb, index, rng)
    return replace(kb, units=tuple(units), version=f"{kb.version}+synthetic{offices}")
