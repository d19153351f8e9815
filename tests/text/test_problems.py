"""Knowledge-base problems in Indonesian for /muatulang, with file:line kept."""

from __future__ import annotations

import pytest

from bot.knowledge.loader import Problem
from bot.text.problems import problem_message, problem_text


@pytest.mark.parametrize(
    ("english", "indonesian"),
    [
        ("invalid YAML: expected ',' or ']', but got ':'", "YAML tidak valid"),
        ("works_with 'subbag-sdm' is not a known unit", "works_with 'subbag-sdm' bukan unit yang ada di KB"),
        (
            "SOP unit 'Sub Bagian Sumber Daya Manusia' has no unit in the KB (match 'name' or 'source_name')",
            "unit SOP 'Sub Bagian Sumber Daya Manusia' belum punya berkas unit di KB",
        ),
        ("duty 8 is not in the SOP", "tugas 8 tidak ada di SOP"),
        ("missing key 'level' in unit", "kunci 'level' belum ada di unit"),
        (
            "duty 3: link div-x#2 points to an unknown unit",
            "tugas 3: tautan div-x#2 menunjuk unit yang tidak ada",
        ),
        (
            "duty 8 differs from the SOP; SOP says 'Melaksanakan X' "
            "(put the SOP wording in source_text when fixing a typo)",
            "tugas 8 berbeda dari SOP; SOP menulis 'Melaksanakan X'",
        ),
    ],
)
def test_loader_problems_are_said_in_indonesian(english: str, indonesian: str) -> None:
    assert problem_message(english).startswith(indonesian)


def test_the_location_is_kept_and_unknown_messages_are_marked_not_lost() -> None:
    assert problem_text(Problem("knowledge/units/a.yaml", 12, "duty 2 is not in the SOP")) == (
        "knowledge/units/a.yaml:12: tugas 2 tidak ada di SOP"
    )
    assert problem_text(Problem("knowledge/kb.yaml", None, "something new")) == (
        "knowledge/kb.yaml: something new (pesan teknis)"
    )
