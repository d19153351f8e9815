"""Load and validate the knowledge base from YAML.

Every problem is collected (not just the first) and reported as
``file:line: message`` so a maintainer can fix a broken edit in one pass.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz.distance import Levenshtein

from bot.core.contacts import MAX_CONTACTS_PER_UNIT, Contact, ContactError, make_contact
from bot.core.model import (
    Duty,
    DutyRef,
    KnowledgeBase,
    Level,
    Lexicon,
    SourceDocument,
    Unit,
)
from bot.knowledge.sop import clean_cell, load_sop


def _default_kb_dir() -> Path:
    """The knowledge base shipped with the code, wherever the working directory is.

    An installed package carries it as ``bot/_kbdata/`` (pyproject.toml maps the
    checkout's top-level ``knowledge/`` there); in a checkout or an editable install it
    is ``knowledge/`` beside ``bot/``. ``KB_DIR`` or ``--kb`` choose another one.
    """
    package = Path(__file__).resolve().parents[1]  # bot/ (this module is bot/knowledge/loader.py)
    installed = package / "_kbdata"
    return installed if installed.is_dir() else package.parent / "knowledge"


DEFAULT_KB_DIR = _default_kb_dir()
# A typo fix may change a few characters of the SOP wording, never the meaning.
MAX_TYPO_FIX_EDITS = 4

_KB_KEYS = {"schema_version", "kb_version", "source", "units_dir", "lexicon", "contacts"}
_SOURCE_KEYS = {
    "title",
    "organisation",
    "number",
    "created",
    "effective",
    "approved_by",
    "file",
    "legal_basis",
}
_UNIT_KEYS = {
    "id",
    "level",
    "name",
    "short_name",
    "source_name",
    "held_by_ketua",
    "parent",
    "aliases",
    "keywords",
    "works_with",
    "duties",
}
_DUTY_KEYS = {"number", "text", "source_text", "terms", "links", "generic"}
_LEXICON_KEYS = {
    "acronyms",
    "informal",
    "english",
    "stopwords",
    "protected",
    "cues",
    "regional",
    "contact_cues",
}
_CONTACTS_KEYS = {"units"}
_CONTACT_KEYS = {"role", "name", "telegram", "phone"}
_REGIONAL_KEYS = {"words", "particles"}
_CUE_KEYS = {
    "handler",
    "question_words",
    "request",
    "fact",
    "fact_topics",
    "definition",
    "chitchat",
    "acknowledgements",
    "bot_tasks",
    "other_agencies",
    "other_services",
    "other_offices",
    "this_office",
    "wishes",
    "value_words",
    "about_bot",
    "personal_life",
    "thanks",
    "greetings",
    "ask_intent",
    "follow_up_openers",
    "follow_up_pointers",
}
_UNIT_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_PARENT_LEVEL = {Level.SUBBAG: Level.BAGIAN, Level.BAGIAN: Level.SEKRETARIAT}
_COUNTERPART_LEVEL = {Level.DIVISI: Level.SUBBAG, Level.SUBBAG: Level.DIVISI}


@dataclass(frozen=True)
class Problem:
    """One validation finding, located in a file."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class KnowledgeBaseError(Exception):
    """The KB could not be loaded; ``problems`` lists every reason."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers the line of itself and of each key."""

    line: int = 0
    key_lines: dict[str, int]


class _List(list[Any]):
    """A YAML sequence that remembers the line of each item."""

    line: int = 0
    item_lines: list[int]


# libyaml's parser when PyYAML was built with it (~8x faster on the KB; same data, same lines).
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that keeps line numbers and rejects duplicate keys."""

    duplicate_keys: list[tuple[str, int]]

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> _Map:
        mapping = _Map()
        mapping.line = node.start_mark.line + 1
        mapping.key_lines = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in mapping:
                self.duplicate_keys.append((str(key), line))
            mapping[key] = self.construct_object(value_node, deep=True)
            mapping.key_lines[str(key)] = line
        return mapping

    def construct_sequence(self, node: yaml.SequenceNode, deep: bool = False) -> _List:
        items = _List(self.construct_object(child, deep=True) for child in node.value)
        items.line = node.start_mark.line + 1
        items.item_lines = [child.start_mark.line + 1 for child in node.value]
        return items


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _LineLoader.construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _LineLoader.construct_sequence)


class _Reader:
    """Collects problems while turning YAML files into model objects."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.problems: list[Problem] = []

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root.parent))
        except ValueError:
            return str(path)

    def problem(self, path: Path, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.rel(path), line, message))

    def load_yaml(self, path: Path) -> Any:
        """Parse one file; report syntax errors and duplicate keys with their line."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            self.problem(path, None, "file not found")
            return None
        except (OSError, UnicodeDecodeError) as exc:
            self.problem(path, None, f"cannot read file: {exc}")
            return None
        loader = _LineLoader(text)
        loader.duplicate_keys = []
        try:
            data = loader.get_single_data()
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else None
            self.problem(path, line, f"invalid YAML: {exc.problem or exc}")
            return None
        except yaml.YAMLError as exc:
            self.problem(path, None, f"invalid YAML: {exc}")
            return None
        finally:
            loader.dispose()
        for key, line in loader.duplicate_keys:
            self.problem(path, line, f"duplicate key {key!r}")
        return data

    def check_keys(self, path: Path, mapping: _Map, allowed: set[str], required: set[str], what: str) -> None:
        for key in mapping:
            if key not in allowed:
                self.problem(path, mapping.key_lines.get(str(key)), f"unknown key {key!r} in {what}")
        for key in sorted(required - set(mapping)):
            self.problem(path, mapping.line, f"missing key {key!r} in {what}")

    def string(self, path: Path, mapping: _Map, key: str, what: str, *, required: bool = True) -> str | None:
        value = mapping.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(path, mapping.key_lines.get(key), f"{what}: {key!r} must be a non-empty string")
            return None
        return value.strip()

    def strings(self, path: Path, mapping: _Map, key: str, what: str) -> tuple[str, ...]:
        value = mapping.get(key)
        if value is None:
            return ()
        if not isinstance(value, list):
            self.problem(path, mapping.key_lines.get(key), f"{what}: {key!r} must be a list of strings")
            return ()
        out = []
        for index, item in enumerate(value):
            if isinstance(item, str) and item.strip():
                out.append(item.strip())
            else:
                line = value.item_lines[index] if isinstance(value, _List) else mapping.key_lines.get(key)
                self.problem(path, line, f"{what}: {key!r} item {index + 1} must be a non-empty string")
        return tuple(out)

    def string_map(self, path: Path, mapping: _Map, key: str) -> dict[str, str]:
        value = mapping.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.problem(path, mapping.key_lines.get(key), f"{key!r} must be a mapping")
            return {}
        out = {}
        for k, v in value.items():
            if not isinstance(k, str) or not isinstance(v, str) or not v.strip():
                line = value.key_lines.get(str(k)) if isinstance(value, _Map) else None
                self.problem(path, line, f"{key}: {k!r} must map a word to a non-empty string")
                continue
            out[k.strip().lower()] = v.strip().lower()
        return out


def load_kb(root: Path | str = DEFAULT_KB_DIR, *, check_source: bool = True) -> KnowledgeBase:
    """Load, validate and return the KB in ``root``; raise KnowledgeBaseError listing every problem."""
    root = Path(root)
    reader = _Reader(root)
    kb_path = root / "kb.yaml"
    data = reader.load_yaml(kb_path)
    if not isinstance(data, _Map):
        if data is not None or not reader.problems:
            reader.problem(kb_path, None, "kb.yaml must be a mapping")
        raise KnowledgeBaseError(reader.problems)
    reader.check_keys(kb_path, data, _KB_KEYS, {"schema_version", "source"}, "kb.yaml")
    if data.get("schema_version") != 1:
        reader.problem(kb_path, data.key_lines.get("schema_version"), "schema_version must be 1")
    source = _read_source(reader, kb_path, data.get("source"))
    units_dir = root / str(data.get("units_dir") or "units")
    lexicon = _read_lexicon(reader, root / str(data.get("lexicon") or "lexicon.yaml"))
    units = _read_units(reader, units_dir)
    _check_references(reader, units_dir, units)
    contacts = _read_contacts(reader, root / str(data.get("contacts") or "contacts.yaml"), units)
    if check_source and source is not None:
        _check_against_source(reader, root / source.file, units, units_dir)
    if reader.problems:
        raise KnowledgeBaseError(reader.problems)
    assert source is not None
    files = sorted([kb_path, root / str(data.get("lexicon") or "lexicon.yaml"), *units_dir.glob("*.yaml")])
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return KnowledgeBase(
        source=source,
        units=tuple(unit for unit, _ in units),
        lexicon=lexicon,
        version=str(data.get("kb_version") or "unversioned"),
        content_hash=digest.hexdigest()[:12],
        contacts=contacts,
    )


def _read_contacts(
    reader: _Reader, path: Path, units: list[tuple[Unit, _Map]]
) -> tuple[tuple[str, tuple[Contact, ...]], ...]:
    """``contacts.yaml``: the people of each unit. Optional (no file: no contacts).

    Not part of the content hash: a new Kasubbag changes no answer's matching.
    """
    if not path.exists():
        return ()
    data = reader.load_yaml(path)
    if data is None:
        return ()
    if not isinstance(data, _Map):
        reader.problem(path, None, "contacts must be a mapping with the key 'units'")
        return ()
    reader.check_keys(path, data, _CONTACTS_KEYS, set(), "contacts")
    per_unit = data.get("units") or _Map()
    if not isinstance(per_unit, _Map):
        reader.problem(path, data.key_lines.get("units"), "'units' must map unit ids to lists of people")
        return ()
    known = {unit.id for unit, _ in units}
    out: list[tuple[str, tuple[Contact, ...]]] = []
    for unit_id, people in per_unit.items():
        line = per_unit.key_lines.get(str(unit_id))
        if unit_id not in known:
            reader.problem(path, line, f"unknown unit {unit_id!r}")
            continue
        if people is None:
            continue
        if not isinstance(people, _List):
            reader.problem(path, line, f"{unit_id}: must be a list of people (role, name, telegram, phone)")
            continue
        contacts = []
        for index, person in enumerate(people):
            where = people.item_lines[index]
            if not isinstance(person, _Map):
                reader.problem(path, where, f"{unit_id}: person {index + 1} must be a mapping")
                continue
            reader.check_keys(path, person, _CONTACT_KEYS, {"role", "name"}, f"{unit_id} person {index + 1}")
            fields = [
                reader.string(path, person, key, f"{unit_id} person {index + 1}") for key in _CONTACT_ORDER
            ]
            try:
                contacts.append(make_contact(*(f or "" for f in fields[:2]), *fields[2:]))
            except ContactError as exc:
                if all(fields[:2]):  # a missing role or name is reported above
                    reader.problem(path, where, f"{unit_id} person {index + 1}: {exc}")
        if len(contacts) > MAX_CONTACTS_PER_UNIT:
            reader.problem(path, line, f"{unit_id}: at most {MAX_CONTACTS_PER_UNIT} people per unit")
        if contacts:
            out.append((unit_id, tuple(contacts)))
    return tuple(out)


_CONTACT_ORDER = ("role", "name", "telegram", "phone")


def _read_source(reader: _Reader, path: Path, value: Any) -> SourceDocument | None:
    if not isinstance(value, _Map):
        reader.problem(path, None, "'source' must be a mapping")
        return None
    reader.check_keys(path, value, _SOURCE_KEYS, {"title", "number", "effective", "file"}, "source")
    fields = {k: reader.string(path, value, k, "source") or "" for k in _SOURCE_KEYS - {"legal_basis"}}
    return SourceDocument(**fields, legal_basis=reader.strings(path, value, "legal_basis", "source"))


def _read_lexicon(reader: _Reader, path: Path) -> Lexicon:
    data = reader.load_yaml(path)
    if not isinstance(data, _Map):
        if data is not None:
            reader.problem(path, None, "lexicon must be a mapping")
        return Lexicon()
    reader.check_keys(path, data, _LEXICON_KEYS, set(), "lexicon")
    contacts = data.get("contact_cues") or _Map()
    if not isinstance(contacts, _Map):
        reader.problem(path, data.key_lines.get("contact_cues"), "'contact_cues' must be a mapping")
        contacts = _Map()
    else:
        reader.check_keys(path, contacts, {"reach", "roles"}, set(), "contact_cues")
    cues = data.get("cues") or _Map()
    if not isinstance(cues, _Map):
        reader.problem(path, data.key_lines.get("cues"), "'cues' must be a mapping")
        cues = _Map()
    else:
        reader.check_keys(path, cues, _CUE_KEYS, set(), "cues")

    def lower(values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.lower() for v in values)

    informal = reader.string_map(path, data, "informal")
    stopwords = set(lower(reader.strings(path, data, "stopwords", "lexicon")))
    languages = _read_regional(reader, path, data, informal, stopwords)
    return Lexicon(
        acronyms=reader.string_map(path, data, "acronyms"),
        informal=informal,
        english=reader.string_map(path, data, "english"),
        stopwords=frozenset(stopwords),
        languages=languages,
        protected=frozenset(lower(reader.strings(path, data, "protected", "lexicon"))),
        handler_cues=lower(reader.strings(path, cues, "handler", "cues")),
        request_cues=lower(reader.strings(path, cues, "request", "cues")),
        fact_cues=lower(reader.strings(path, cues, "fact", "cues")),
        chitchat_cues=lower(reader.strings(path, cues, "chitchat", "cues")),
        other_agencies=lower(reader.strings(path, cues, "other_agencies", "cues")),
        question_words=lower(reader.strings(path, cues, "question_words", "cues")),
        fact_topics=lower(reader.strings(path, cues, "fact_topics", "cues")),
        definition_cues=lower(reader.strings(path, cues, "definition", "cues")),
        acknowledgements=lower(reader.strings(path, cues, "acknowledgements", "cues")),
        bot_tasks=lower(reader.strings(path, cues, "bot_tasks", "cues")),
        other_services=lower(reader.strings(path, cues, "other_services", "cues")),
        other_offices=lower(reader.strings(path, cues, "other_offices", "cues")),
        this_office=lower(reader.strings(path, cues, "this_office", "cues")),
        wishes=lower(reader.strings(path, cues, "wishes", "cues")),
        value_words=lower(reader.strings(path, cues, "value_words", "cues")),
        about_bot=lower(reader.strings(path, cues, "about_bot", "cues")),
        personal_life=lower(reader.strings(path, cues, "personal_life", "cues")),
        thanks=lower(reader.strings(path, cues, "thanks", "cues")),
        greetings=lower(reader.strings(path, cues, "greetings", "cues")),
        ask_intent=lower(reader.strings(path, cues, "ask_intent", "cues")),
        follow_up_openers=lower(reader.strings(path, cues, "follow_up_openers", "cues")),
        follow_up_pointers=lower(reader.strings(path, cues, "follow_up_pointers", "cues")),
        contact_cues=lower(reader.strings(path, contacts, "reach", "contact_cues")),
        role_cues=lower(reader.strings(path, contacts, "roles", "contact_cues")),
    )


def _read_regional(
    reader: _Reader, path: Path, data: _Map, informal: dict[str, str], stopwords: set[str]
) -> dict[str, frozenset[str]]:
    """Merge each regional language's words into ``informal`` and its particles into ``stopwords``.

    One spelling has one reading across all languages: a word that two sections map to
    different standard words is reported, because the normaliser could honour only one.
    Returns each language's own words (for reports on what people write).
    """
    regional = data.get("regional")
    if regional is None:
        return {}
    if not isinstance(regional, _Map):
        reader.problem(path, data.key_lines.get("regional"), "'regional' must be a mapping of languages")
        return {}
    origin = dict.fromkeys(informal, "informal")
    languages: dict[str, frozenset[str]] = {}
    for language, section in regional.items():
        where = f"regional.{language}"
        if not isinstance(section, _Map):
            reader.problem(path, regional.key_lines.get(str(language)), f"{where} must be a mapping")
            continue
        reader.check_keys(path, section, _REGIONAL_KEYS, set(), where)
        words = reader.string_map(path, section, "words")
        particles = {p.lower() for p in reader.strings(path, section, "particles", where)}
        for word, standard in words.items():
            if word in informal and informal[word] != standard:
                reader.problem(
                    path,
                    _key_line(section.get("words"), word),
                    f"{where}: {word!r} -> {standard!r} contradicts {origin[word]} ({informal[word]!r})",
                )
                continue
            informal.setdefault(word, standard)
            origin.setdefault(word, where)
        stopwords.update(particles - set(words))
        languages[str(language)] = frozenset(words) | frozenset(particles)
    return languages


def _key_line(mapping: Any, key: str) -> int | None:
    return mapping.key_lines.get(key) if isinstance(mapping, _Map) else None


def _read_units(reader: _Reader, units_dir: Path) -> list[tuple[Unit, _Map]]:
    paths = sorted(units_dir.glob("*.yaml"))
    if not paths:
        reader.problem(units_dir, None, "no unit files (*.yaml) found")
    units: list[tuple[Unit, _Map]] = []
    seen: dict[str, str] = {}
    for path in paths:
        data = reader.load_yaml(path)
        if data is None:
            continue
        if not isinstance(data, _Map):
            reader.problem(path, None, "a unit file must be a mapping")
            continue
        unit = _read_unit(reader, path, data)
        if unit is None:
            continue
        if unit.id in seen:
            reader.problem(
                path, data.key_lines.get("id"), f"duplicate unit id {unit.id!r} (also in {seen[unit.id]})"
            )
            continue
        if unit.id != path.stem:
            reader.problem(
                path, data.key_lines.get("id"), f"unit id {unit.id!r} must match the file name {path.stem!r}"
            )
        seen[unit.id] = reader.rel(path)
        units.append((unit, data))
    return units


def _read_unit(reader: _Reader, path: Path, data: _Map) -> Unit | None:
    reader.check_keys(path, data, _UNIT_KEYS, {"id", "level", "name", "short_name", "duties"}, "unit")
    unit_id = reader.string(path, data, "id", "unit")
    if unit_id is not None and not _UNIT_ID.match(unit_id):
        reader.problem(
            path,
            data.key_lines.get("id"),
            f"unit id {unit_id!r} must be lowercase letters, digits and '-', at most 40 characters "
            "(it goes into Telegram button data, which is limited to 64 bytes)",
        )
        unit_id = None
    level_text = data.get("level")
    try:
        level = Level(str(level_text))
    except ValueError:
        choices = ", ".join(lv.value for lv in Level)
        reader.problem(
            path, data.key_lines.get("level"), f"level must be one of {choices}, not {level_text!r}"
        )
        level = None
    name = reader.string(path, data, "name", "unit")
    short_name = reader.string(path, data, "short_name", "unit")
    held = data.get("held_by_ketua", False)
    if not isinstance(held, bool):
        reader.problem(path, data.key_lines.get("held_by_ketua"), "held_by_ketua must be true or false")
        held = False
    duties = _read_duties(reader, path, data, unit_id or path.stem)
    if not unit_id or level is None or not name or not short_name:
        return None
    return Unit(
        id=unit_id,
        level=level,
        name=name,
        short_name=short_name,
        duties=duties,
        aliases=tuple(a.lower() for a in reader.strings(path, data, "aliases", "unit")),
        keywords=tuple(k.lower() for k in reader.strings(path, data, "keywords", "unit")),
        parent=reader.string(path, data, "parent", "unit"),
        works_with=reader.strings(path, data, "works_with", "unit"),
        held_by_ketua=held,
        source_name=reader.string(path, data, "source_name", "unit"),
    )


def _read_duties(reader: _Reader, path: Path, data: _Map, unit_id: str) -> tuple[Duty, ...]:
    items = data.get("duties")
    if items is None:
        return ()
    if not isinstance(items, list) or not items:
        reader.problem(path, data.key_lines.get("duties"), "'duties' must be a non-empty list")
        return ()
    duties: list[Duty] = []
    for index, item in enumerate(items):
        line = items.item_lines[index] if isinstance(items, _List) else None
        if not isinstance(item, _Map):
            reader.problem(path, line, f"duty {index + 1} must be a mapping with number and text")
            continue
        reader.check_keys(path, item, _DUTY_KEYS, {"number", "text"}, f"duty {index + 1}")
        number = item.get("number")
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            reader.problem(
                path,
                item.key_lines.get("number", line),
                f"duty {index + 1}: number must be a positive integer",
            )
            continue
        if number != index + 1:
            reader.problem(
                path,
                item.key_lines.get("number", line),
                f"duty number {number} out of order (expected {index + 1}; "
                "numbers follow the SOP without gaps or repeats)",
            )
        text = reader.string(path, item, "text", f"duty {number}")
        if "text" in item and text is None:
            continue
        generic = item.get("generic", False)
        if not isinstance(generic, bool):
            reader.problem(
                path, item.key_lines.get("generic"), f"duty {number}: generic must be true or false"
            )
            generic = False
        links = []
        for raw in reader.strings(path, item, "links", f"duty {number}"):
            try:
                links.append(DutyRef.parse(raw))
            except ValueError as exc:
                reader.problem(path, item.key_lines.get("links"), f"duty {number}: {exc}")
        if text:
            duties.append(
                Duty(
                    unit_id=unit_id,
                    number=number,
                    text=text,
                    source_text=reader.string(path, item, "source_text", f"duty {number}"),
                    terms=tuple(t.lower() for t in reader.strings(path, item, "terms", f"duty {number}")),
                    links=tuple(links),
                    generic=generic,
                )
            )
    return tuple(duties)


def _check_references(reader: _Reader, units_dir: Path, units: list[tuple[Unit, _Map]]) -> None:
    """Parents, counterparts and duty links must point at units (and duties) that exist."""
    by_id = {unit.id: unit for unit, _ in units}
    for unit, data in units:
        path = units_dir / f"{unit.id}.yaml"
        expected_parent = _PARENT_LEVEL.get(unit.level)
        if unit.parent is not None:
            parent = by_id.get(unit.parent)
            if parent is None:
                reader.problem(
                    path, data.key_lines.get("parent"), f"parent {unit.parent!r} is not a known unit"
                )
            elif parent.level != expected_parent:
                reader.problem(
                    path,
                    data.key_lines.get("parent"),
                    f"parent of a {unit.level} must be a {expected_parent}, not {parent.level} {parent.id!r}",
                )
        elif expected_parent is not None:
            reader.problem(path, data.line, f"a {unit.level} needs a 'parent' ({expected_parent})")
        for other_id in unit.works_with:
            other = by_id.get(other_id)
            if other is None:
                reader.problem(
                    path, data.key_lines.get("works_with"), f"works_with {other_id!r} is not a known unit"
                )
            elif _COUNTERPART_LEVEL.get(unit.level) != other.level:
                reader.problem(
                    path,
                    data.key_lines.get("works_with"),
                    f"works_with links a divisi and a subbag; {other_id!r} is a {other.level}",
                )
        duty_lines = {}
        if isinstance(data.get("duties"), _List):
            for item, line in zip(data["duties"], data["duties"].item_lines, strict=False):
                if isinstance(item, _Map):
                    duty_lines[item.get("number")] = item.key_lines.get("links", line)
        for duty in unit.duties:
            for ref in duty.links:
                target = by_id.get(ref.unit_id)
                line = duty_lines.get(duty.number)
                if target is None:
                    reader.problem(path, line, f"duty {duty.number}: link {ref} points to an unknown unit")
                elif ref.number is not None and target.duty(ref.number) is None:
                    reader.problem(
                        path, line, f"duty {duty.number}: link {ref}: {target.id} has no duty {ref.number}"
                    )
                elif target.id == unit.id:
                    reader.problem(path, line, f"duty {duty.number}: link {ref} points to its own unit")


def _squash(text: str) -> str:
    return clean_cell(text).rstrip(";.").strip()


def _check_against_source(
    reader: _Reader, source_path: Path, units: list[tuple[Unit, _Map]], units_dir: Path
) -> None:
    """Every SOP unit and duty must be in the KB, worded as in the SOP (typo fixes aside)."""
    if not source_path.exists():
        reader.problem(source_path, None, "source document not found (see 'source.file' in kb.yaml)")
        return
    by_heading = {(unit.source_name or unit.name): unit for unit, _ in units}
    for source_unit in load_sop(source_path):
        unit = by_heading.get(source_unit.name)
        if unit is None:
            reader.problem(
                source_path,
                None,
                f"SOP unit {source_unit.name!r} has no unit in the KB (match 'name' or 'source_name')",
            )
            continue
        path = units_dir / f"{unit.id}.yaml"
        if source_unit.held_by_ketua != unit.held_by_ketua:
            reader.problem(
                path,
                None,
                f"held_by_ketua should be {str(source_unit.held_by_ketua).lower()} (as in the SOP)",
            )
        kb_duties = {d.number: d for d in unit.duties}
        for number, source_text in source_unit.duties:
            duty = kb_duties.pop(number, None)
            if duty is None:
                reader.problem(path, None, f"duty {number} of the SOP is missing: {source_text!r}")
                continue
            if _squash(duty.original_text) != _squash(source_text):
                reader.problem(
                    path,
                    None,
                    f"duty {number} differs from the SOP; SOP says {source_text!r} "
                    "(put the SOP wording in source_text when fixing a typo)",
                )
            elif (
                duty.source_text is not None
                and Levenshtein.distance(duty.text, duty.source_text) > MAX_TYPO_FIX_EDITS
            ):
                reader.problem(
                    path, None, f"duty {number}: text changes the SOP wording by more than a typo fix"
                )
        for number in kb_duties:
            reader.problem(path, None, f"duty {number} is not in the SOP")
