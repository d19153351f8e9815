"""Questions about people: asked for a unit's people, a role in passing, or nothing of the kind."""

from __future__ import annotations

import pytest
import yaml

from bot.core.matcher import Matcher
from bot.core.people import People, PeopleQuestion
from tests.support import DATA


@pytest.fixture(scope="module")
def people(shared_matcher: Matcher) -> People:
    return People(shared_matcher)


def read(people: People, question: str) -> PeopleQuestion:
    matcher = people.matcher
    return people.read(matcher.normalizer.normalize(question), matcher.match(question))


@pytest.mark.parametrize(
    ("question", "unit"),
    [
        ("siapa kasubbag keuangan sekarang?", "subbag-keuangan"),
        ("kontak subbag hukum", "subbag-hukum"),
        ("nomor wa subbag keuangan?", "subbag-keuangan"),
        ("siapa ketua divisi teknis?", "div-teknis"),
        ("nomor telepon sekretariat", "sekretariat"),
        ("no hp pak kabag keuangan ada yg punya?", "bag-keuangan-umum-logistik"),
        ("Siapa nama Kasubbag Keuangan yang sekarang?", "subbag-keuangan"),
    ],
)
def test_questions_for_a_units_people(people: People, question: str, unit: str) -> None:
    assert read(people, question) == PeopleQuestion(asked=True, units=(unit,))


@pytest.mark.parametrize(
    "question",
    [
        "hubungi siapa untuk SPJ perjalanan dinas?",  # how to reach whoever handles a topic
        "ada yg punya kontak sekretaris KPU Kab Lebak?",  # another office's people: not ours
    ],
)
def test_asking_how_to_reach_without_a_unit_of_ours(people: People, question: str) -> None:
    assert read(people, question) == PeopleQuestion(asked=True)


@pytest.mark.parametrize(
    "question",
    [
        "Saya Kadiv Hukum. Buat sengketa hasil pilkada di MK, staf mana yang ngumpulin bahan jawaban termohon?",
        "diklat teknis buat staf sekretariat siapa yg nyiapin?",
        "Komputer di ruang sekretaris kena virus, IT support nya siapa?",
        "selamat ulang tahun bu sekretaris, sehat selalu 🎂",
        "siapa yang mengurus kenaikan gaji berkala pegawai?",
    ],
)
def test_a_role_in_passing_is_not_a_question_about_people(people: People, question: str) -> None:
    assert read(people, question) == PeopleQuestion(asked=False)


def test_no_labeled_who_handles_question_is_answered_with_a_contact_card(people: People) -> None:
    """Every labeled in-scope question keeps its unit answer (the contact card is for people)."""
    cards = []
    for path in sorted(DATA.glob("*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("questions") or []:
            if (item.get("divisi") or item.get("subbag")) and read(people, item["q"]).units:
                cards.append(item["q"])
    assert cards == []
