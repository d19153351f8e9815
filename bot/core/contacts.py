"""The people to contact in a unit: who holds which role, and how to reach them.

Pure: the :class:`Contact` value, the one parser of the ``Role: Name, @username, phone``
line admins type in Telegram (and that ``knowledge/contacts.yaml`` fields are checked
against), and the rule for changing a unit's list. Where the lists come from (the file,
the database) and which one wins is :class:`bot.service.Service`'s business.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_ROLE_LENGTH = 40
MAX_NAME_LENGTH = 80
MAX_PHONE_LENGTH = 40
MAX_CONTACTS_PER_UNIT = 20

# Telegram's rule for usernames: 5-32 characters, letters, digits and underscores, a letter first.
USERNAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{4,31}")
# An office phone or extension as people write it: "021-5551234", "+62 254 123", "ext. 12".
PHONE = re.compile(
    r"(?:\+|(?:ext|ekst|eks)\.?\s*)?[0-9][0-9 ().\-/]*(?:(?:ext|ekst|eks)\.?\s*[0-9][0-9 ]*)?", re.IGNORECASE
)
_MIN_PHONE_DIGITS = 2
# Roles held by several people at once: a new name is added, not put in place of the others.
_SHARED_ROLE_WORDS = ("staf", "staff", "pelaksana", "operator", "anggota staf")


class ContactError(ValueError):
    """A contact line that cannot be used; the message says why (English, for logs and check-kb)."""

    def __init__(self, problem: str, message: str) -> None:
        super().__init__(message)
        self.problem = problem
        """One of :data:`CONTACT_PROBLEMS`: the text layer words it for people."""


CONTACT_PROBLEMS = ("no_role", "no_name", "role_too_long", "name_too_long", "username", "phone", "extra")


@dataclass(frozen=True)
class Contact:
    """One person of a unit: the role they hold, their name, and optional ways to reach them."""

    role: str
    name: str
    username: str | None = None
    """Telegram username without ``@``; shown as a link, never as a mention that notifies."""
    phone: str | None = None
    """Office phone or extension, as written."""

    @property
    def shared_role(self) -> bool:
        """Several people may hold this role (staf): adding one keeps the others."""
        return self.role.lower().startswith(_SHARED_ROLE_WORDS)


def clean_username(value: str) -> str:
    """``@name``, ``t.me/name`` or ``name`` → ``name``; ContactError if it is not a Telegram username."""
    text = value.strip()
    for prefix in ("https://", "http://"):
        text = text.removeprefix(prefix)
    text = text.removeprefix("t.me/").removeprefix("telegram.me/").removeprefix("@")
    if not USERNAME.fullmatch(text):
        raise ContactError("username", f"not a Telegram username: {value!r}")
    return text


def clean_phone(value: str) -> str:
    """A phone number or extension with its spacing tidied; ContactError if it is not one."""
    text = " ".join(value.split())
    digits = sum(ch.isdigit() for ch in text)
    if len(text) > MAX_PHONE_LENGTH or digits < _MIN_PHONE_DIGITS or not PHONE.fullmatch(text):
        raise ContactError("phone", f"not a phone number or extension: {value!r}")
    return text


def make_contact(role: str, name: str, username: str | None = None, phone: str | None = None) -> Contact:
    """A checked :class:`Contact` (spaces tidied); ContactError says what is wrong."""
    role, name = " ".join(role.split()), " ".join(name.split())
    if not role:
        raise ContactError("no_role", "the role is missing")
    if not name:
        raise ContactError("no_name", "the name is missing")
    if len(role) > MAX_ROLE_LENGTH:
        raise ContactError("role_too_long", f"the role is longer than {MAX_ROLE_LENGTH} characters")
    if len(name) > MAX_NAME_LENGTH or "@" in name:
        raise ContactError(
            "name_too_long", f"the name is longer than {MAX_NAME_LENGTH} characters or has '@'"
        )
    return Contact(
        role=role,
        name=name,
        username=clean_username(username) if username else None,
        phone=clean_phone(phone) if phone else None,
    )


def parse_contact(text: str) -> Contact:
    """``Kasubbag: Nama Lengkap, @username, 021-555 123`` → a Contact.

    After the name, in any order: a username (``@x`` or ``t.me/x``) and a phone number
    or extension. Commas separate the parts, so a name cannot hold one.
    """
    role, colon, rest = text.partition(":")
    if not colon:
        raise ContactError("no_role", "write the role, a colon, then the name")
    name, *extras = [part.strip() for part in rest.split(",")]
    username = phone = None
    for extra in filter(None, extras):
        if extra.startswith("@") or "t.me/" in extra:
            if username is not None:
                raise ContactError("extra", f"two usernames: {extra!r}")
            username = extra
        elif any(ch.isdigit() for ch in extra):
            if phone is not None:
                raise ContactError("extra", f"two phone numbers: {extra!r}")
            phone = extra
        else:
            raise ContactError("extra", f"neither a username nor a phone number: {extra!r}")
    return make_contact(role, name, username, phone)


def with_contact(contacts: Sequence[Contact], new: Contact) -> tuple[Contact, ...]:
    """The unit's list with ``new`` in it: it takes the place of the same person, else of the
    holder of the same role (one Kasubbag at a time), except in shared roles (staf), where it
    is added."""
    same_person = [
        i
        for i, c in enumerate(contacts)
        if c.role.lower() == new.role.lower() and c.name.lower() == new.name.lower()
    ]
    same_role = [i for i, c in enumerate(contacts) if c.role.lower() == new.role.lower()]
    replace = same_person or ([] if new.shared_role else same_role)
    if not replace:
        if len(contacts) >= MAX_CONTACTS_PER_UNIT:
            raise ContactError("extra", f"a unit holds at most {MAX_CONTACTS_PER_UNIT} contacts")
        return (*contacts, new)
    first = replace[0]
    return tuple(new if i == first else c for i, c in enumerate(contacts) if i == first or i not in replace)


def without_contact(contacts: Sequence[Contact], who: str) -> tuple[Contact, ...]:
    """The unit's list without the people whose role or name is ``who`` (case ignored)."""
    wanted = " ".join(who.split()).lower()
    return tuple(c for c in contacts if wanted not in (c.role.lower(), c.name.lower()))
