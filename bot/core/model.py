"""The knowledge-base model: units, duties and their links, as immutable values.

Kept free of I/O and of ``telegram`` so the matcher, the CLI and the bot all
share one picture of the organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from bot.core.contacts import Contact


class Level(StrEnum):
    """Where a unit sits: commissioner portfolio or one of the secretariat tiers."""

    DIVISI = "divisi"
    SEKRETARIAT = "sekretariat"
    BAGIAN = "bagian"
    SUBBAG = "subbag"


@dataclass(frozen=True)
class DutyRef:
    """A pointer to a unit, or to one numbered duty of it (``unit-id#3``)."""

    unit_id: str
    number: int | None = None

    @classmethod
    def parse(cls, text: str) -> DutyRef:
        """Parse ``unit-id`` or ``unit-id#N``; raise ValueError on anything else."""
        unit_id, sep, number = text.strip().partition("#")
        if not unit_id or (sep and not number.isdigit()):
            raise ValueError(f"not a duty reference: {text!r} (expected 'unit-id' or 'unit-id#N')")
        return cls(unit_id, int(number) if sep else None)

    def __str__(self) -> str:
        return self.unit_id if self.number is None else f"{self.unit_id}#{self.number}"


@dataclass(frozen=True)
class Duty:
    """One numbered duty ("tupoksi") of a unit, as the SOP states it."""

    unit_id: str
    number: int
    text: str
    source_text: str | None = None
    terms: tuple[str, ...] = ()
    links: tuple[DutyRef, ...] = ()
    generic: bool = False

    @property
    def ref(self) -> DutyRef:
        """This duty's own reference."""
        return DutyRef(self.unit_id, self.number)

    @property
    def original_text(self) -> str:
        """The wording exactly as in the SOP (before typo fixes)."""
        return self.source_text or self.text


@dataclass(frozen=True)
class Unit:
    """A Divisi, the Sekretariat, a Bagian or a Sub Bagian."""

    id: str
    level: Level
    name: str
    short_name: str
    duties: tuple[Duty, ...]
    aliases: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    parent: str | None = None
    works_with: tuple[str, ...] = ()
    held_by_ketua: bool = False
    source_name: str | None = None

    def duty(self, number: int) -> Duty | None:
        """The duty numbered ``number``, if the unit has one."""
        return next((d for d in self.duties if d.number == number), None)


@dataclass(frozen=True)
class SourceDocument:
    """The SOP the knowledge base was built from."""

    title: str
    organisation: str
    number: str
    created: str
    effective: str
    approved_by: str
    file: str
    legal_basis: tuple[str, ...]


@dataclass(frozen=True)
class Lexicon:
    """Language data for normalisation and question-type cues."""

    acronyms: dict[str, str] = field(default_factory=dict)
    informal: dict[str, str] = field(default_factory=dict)
    english: dict[str, str] = field(default_factory=dict)
    stopwords: frozenset[str] = frozenset()
    protected: frozenset[str] = frozenset()
    handler_cues: tuple[str, ...] = ()
    request_cues: tuple[str, ...] = ()
    fact_cues: tuple[str, ...] = ()
    chitchat_cues: tuple[str, ...] = ()
    other_agencies: tuple[str, ...] = ()
    question_words: tuple[str, ...] = ()
    """Bare who/where words: a handler cue unless the rest asks a fact (``siapa yang menang``)."""
    fact_topics: tuple[str, ...] = ()
    definition_cues: tuple[str, ...] = ()
    acknowledgements: tuple[str, ...] = ()
    """Pings and acknowledgements: a message made only of these is small talk."""
    bot_tasks: tuple[str, ...] = ()
    """Asks the bot itself to do something (summarise, translate); matched on surface words."""
    other_services: tuple[str, ...] = ()
    """Another agency's public service (``perpanjang sim``): declined even after ``di mana``."""
    other_offices: tuple[str, ...] = ()
    """Another KPU office's own business (``di kpu kabupaten``)."""
    this_office: tuple[str, ...] = ()
    """Words that bring a question about another office back to this one (``provinsi``)."""
    wishes: tuple[str, ...] = ()
    """Congratulations, condolences, holiday wishes: small talk without a question."""
    value_words: tuple[str, ...] = ()
    """Asks for a value (a password, an account number) when no who/where word is asked."""
    about_bot: tuple[str, ...] = ()
    """Words about the bot itself: small talk unless the rest is a strong question."""
    personal_life: tuple[str, ...] = ()
    """Life outside the office (a wedding, holiday travel, a diet, one's own phone quota):
    small talk unless a handler phrase asks who handles it."""
    thanks: tuple[str, ...] = ()
    """Small talk that thanks (``makasih``): answered with "sama-sama"."""
    greetings: tuple[str, ...] = ()
    """Small talk that greets (``pagi min``): greeted back."""
    ask_intent: tuple[str, ...] = ()
    """Small talk that announces a question (``mau tanya dong``): invited to ask it."""
    follow_up_openers: tuple[str, ...] = ()
    """First words of a message that continues the previous question (``kalau``, ``terus``)."""
    follow_up_pointers: tuple[str, ...] = ()
    """Words that point back at the previous question (``itu``, ``tersebut``)."""
    contact_cues: tuple[str, ...] = ()
    """Asks how to reach someone (``kontak``, ``nomor whatsapp``, ``hubungi``)."""
    role_cues: tuple[str, ...] = ()
    """A person's role (``kasubbag``, ``ketua divisi``, ``staf``): asks for the person only when
    nothing else is asked."""
    languages: dict[str, frozenset[str]] = field(default_factory=dict)
    """Words and particles of each regional language (already merged into the maps above)."""


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the matcher and the bot know, with lookups derived once."""

    source: SourceDocument
    units: tuple[Unit, ...]
    lexicon: Lexicon
    version: str
    content_hash: str
    contacts: tuple[tuple[str, tuple[Contact, ...]], ...] = ()
    """The people of each unit as ``knowledge/contacts.yaml`` lists them: ``(unit id, contacts)``."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_id", {u.id: u for u in self.units})
        object.__setattr__(self, "_contacts", dict(self.contacts))
        # Links are declared once and read both ways; only numbered links read backwards
        # (a whole-unit link names no duty).
        linked_from: dict[DutyRef, list[DutyRef]] = {}
        for unit in self.units:
            for duty in unit.duties:
                for link in duty.links:
                    if link.number is not None:
                        linked_from.setdefault(link, []).append(duty.ref)
        object.__setattr__(self, "_linked_from", linked_from)

    def unit(self, unit_id: str) -> Unit:
        """The unit with ``unit_id``; KeyError if unknown."""
        unit: Unit = self._by_id[unit_id]  # type: ignore[attr-defined]
        return unit

    def get(self, unit_id: str) -> Unit | None:
        """The unit with ``unit_id``, or None."""
        unit: Unit | None = self._by_id.get(unit_id)  # type: ignore[attr-defined]
        return unit

    def file_contacts(self, unit_id: str) -> tuple[Contact, ...]:
        """The unit's people as the KB file lists them (admins may override them in Telegram)."""
        contacts: tuple[Contact, ...] = self._contacts.get(unit_id, ())  # type: ignore[attr-defined]
        return contacts

    def units_at(self, level: Level) -> tuple[Unit, ...]:
        """Units of one level, in KB order."""
        return tuple(u for u in self.units if u.level == level)

    def duty(self, ref: DutyRef) -> Duty | None:
        """Resolve a duty reference (None for a whole-unit reference)."""
        unit = self.get(ref.unit_id)
        return unit.duty(ref.number) if unit and ref.number is not None else None

    def ancestors(self, unit_id: str) -> list[Unit]:
        """Parent chain of a unit, nearest first (Sub Bagian -> Bagian -> Sekretariat)."""
        chain, seen = [], {unit_id}
        unit = self.get(unit_id)
        while unit and unit.parent and unit.parent not in seen:
            seen.add(unit.parent)
            unit = self.get(unit.parent)
            if unit:
                chain.append(unit)
        return chain

    def children(self, unit_id: str) -> tuple[Unit, ...]:
        """Units whose parent is ``unit_id``."""
        return tuple(u for u in self.units if u.parent == unit_id)

    def counterparts(self, unit_id: str) -> tuple[Unit, ...]:
        """Units of the other level that work with this one (Divisi <-> Sub Bagian), both ways."""
        unit = self.unit(unit_id)
        ids = list(unit.works_with)
        ids += [u.id for u in self.units if unit_id in u.works_with and u.id not in ids]
        return tuple(self.unit(i) for i in ids if self.get(i))

    def linked_duties(self, duty: Duty) -> list[DutyRef]:
        """Counterpart duties of ``duty``: its own links plus every duty linking to it."""
        refs = list(duty.links)
        refs += [ref for ref in self._linked_from.get(duty.ref, ()) if ref not in refs]  # type: ignore[attr-defined]
        return refs

    @property
    def duty_count(self) -> int:
        """How many duties the KB holds."""
        return sum(len(u.duties) for u in self.units)
