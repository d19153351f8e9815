"""The contact line admins type and the rule for changing a unit's list."""

from __future__ import annotations

import pytest

from bot.core.contacts import Contact, ContactError, parse_contact, with_contact, without_contact


def test_a_contact_line_with_every_part_in_any_order() -> None:
    assert parse_contact(" Kasubbag :  Rina  Marlina , 0254-200123 ext. 12, @rina_keu") == Contact(
        "Kasubbag", "Rina Marlina", "rina_keu", "0254-200123 ext. 12"
    )
    assert parse_contact("Staf: Dedi, t.me/dedi_kpu").username == "dedi_kpu"
    assert parse_contact("Ketua Divisi: Ahmad") == Contact("Ketua Divisi", "Ahmad")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("Rina", "no_role"),
        (": Rina", "no_role"),
        ("Kasubbag:", "no_name"),
        ("Kasubbag: Rina, @ab", "username"),
        ("Kasubbag: Rina, 1a2b", "phone"),
        ("Kasubbag: Rina, di lantai dua", "extra"),
        ("Kasubbag: Rina, @rina_keu, @rina_dua", "extra"),
        ("Kasubbag: " + "x" * 81, "name_too_long"),
    ],
)
def test_lines_that_cannot_be_used_say_why(line: str, problem: str) -> None:
    with pytest.raises(ContactError) as raised:
        parse_contact(line)
    assert raised.value.problem == problem


def test_one_holder_per_role_but_several_staff() -> None:
    people = (Contact("Kasubbag", "Lama"), Contact("Staf", "Sari"))
    people = with_contact(people, Contact("kasubbag", "Baru"))
    assert [c.name for c in people] == ["Baru", "Sari"]
    people = with_contact(people, Contact("Staf", "Dedi"))
    assert [c.name for c in people] == ["Baru", "Sari", "Dedi"]
    people = with_contact(people, Contact("Staf", "sari", phone="12"))  # the same person, updated
    assert [(c.name, c.phone) for c in people] == [("Baru", None), ("sari", "12"), ("Dedi", None)]
    assert [c.name for c in without_contact(people, "STAF")] == ["Baru"]
    assert [c.name for c in without_contact(people, "dedi")] == ["Baru", "sari"]
