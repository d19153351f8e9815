"""Read the duty lists straight out of the SOP text.

The SOP copy in ``knowledge/sources/`` is an export of a Word table with HTML
fragments and page breaks inside cells. This parser recovers, for every unit
heading, its numbered duties, so the knowledge base can be checked against the
source (``tupoksi check-kb`` and the faithfulness test) instead of trusting a
hand copy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_DIVISI_ROW = re.compile(r"^(Divisi [^\t]+?)\s*\t(.*)$")
_SECRETARIAT_ROW = re.compile(r"^\d+\.\t([^\t]+)\t(.*)$")
_CONTINUATION = re.compile(r"^\t\t(.*)$")
_HELD_BY_KETUA = re.compile(r"\s*\(Ketua\)\s*$")


@dataclass(frozen=True)
class SourceUnit:
    """One unit heading of the SOP with its duties, numbered as in the source."""

    name: str
    duties: tuple[tuple[int, str], ...]
    held_by_ketua: bool = False


def clean_cell(text: str) -> str:
    """Strip HTML fragments and collapse whitespace, as a reader sees the cell."""
    return _SPACE.sub(" ", _TAG.sub(" ", text)).strip()


def split_numbered(text: str) -> list[tuple[int, str]]:
    """Split ``1. foo 2. bar`` into numbered items, following the numbering in order.

    Only the next expected number starts a new item, so numbers inside a duty
    (years, regulation numbers) never split it. A cell without numbering is one
    item numbered 1 (the Bagian rows state a single function).
    """
    text = clean_cell(text)
    starts: list[tuple[int, int, int]] = []
    expected, pos = 1, 0
    while True:
        match = re.compile(rf"(?:^|\s){expected}\.\s").search(text, pos)
        if match is None:
            break
        starts.append((expected, match.start(), match.end()))
        expected, pos = expected + 1, match.end()
    if not starts:
        return [(1, _trim(text))] if text else []
    items = []
    for index, (number, _start, end) in enumerate(starts):
        stop = starts[index + 1][1] if index + 1 < len(starts) else len(text)
        items.append((number, _trim(text[end:stop])))
    return items


def _trim(duty: str) -> str:
    """Drop the list punctuation that joins items ("...;", "...; dan")."""
    duty = duty.strip().removesuffix(" dan").strip()
    return duty.rstrip(";.").strip()


def parse_sop(text: str) -> list[SourceUnit]:
    """Return every unit of the SOP's two duty tables, in document order."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if (match := _DIVISI_ROW.match(line)) or (match := _SECRETARIAT_ROW.match(line)):
            rows.append([match.group(1).strip(), match.group(2)])
        elif rows and (match := _CONTINUATION.match(line)):
            rows[-1][1] += " " + match.group(1)
    units = []
    for heading, cell in rows:
        held = bool(_HELD_BY_KETUA.search(heading))
        name = _HELD_BY_KETUA.sub("", heading).strip()
        units.append(SourceUnit(name=name, duties=tuple(split_numbered(cell)), held_by_ketua=held))
    return units


def load_sop(path: Path) -> list[SourceUnit]:
    """Parse the SOP file at ``path``."""
    return parse_sop(path.read_text(encoding="utf-8"))
