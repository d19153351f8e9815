"""Button data: every kind written and read back, and the 64-byte limit for all of them."""

from __future__ import annotations

import pytest

from bot.core.model import KnowledgeBase
from bot.text import callback_data as cb


def test_every_kind_round_trips(kb: KnowledgeBase) -> None:
    unit = kb.units[0]
    assert cb.parse_value(cb.unit_data(unit.id), cb.CB_UNIT) == unit.id
    assert cb.parse_value(cb.list_data("divisi"), cb.CB_LIST) == "divisi"
    assert cb.parse_value(cb.example_data(2), cb.CB_EXAMPLE) == "2"
    assert cb.parse_feedback(cb.feedback_data("0123456789abcdef", -1)) == ("0123456789abcdef", -1)
    assert cb.parse_review_page(cb.review_page_data(None, 3)) == (None, 3)
    assert cb.parse_review_page(cb.review_page_data(30, 0)) == (30, 0)
    assert cb.parse_teach(cb.teach_data("0123456789abcdef")) == ("0123456789abcdef", None)
    assert cb.parse_teach(cb.teach_data("0123456789abcdef", unit.id)) == ("0123456789abcdef", unit.id)
    assert cb.parse_teach(cb.teach_data("0123456789abcdef", cb.TEACH_DONE)) == ("0123456789abcdef", "-")


def test_a_kind_is_only_read_by_its_own_parser() -> None:
    assert cb.parse_value(cb.unit_data("x"), cb.CB_LIST) is None
    assert cb.parse_feedback(cb.teach_data("0123456789abcdef", "x")) is None
    assert cb.parse_teach(cb.feedback_data("0123456789abcdef", 1)) is None
    assert cb.parse_review_page("p1:99999999:0") is None  # a window nobody means


@pytest.mark.parametrize(
    "encode",
    [
        lambda: cb.unit_data("u" * 70),
        lambda: cb.teach_data("0123456789abcdef", "u" * 50),
        lambda: cb.feedback_data("f" * 70, 1),
    ],
)
def test_every_encoder_refuses_data_over_64_bytes(encode: object) -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        encode()  # type: ignore[operator]


def test_every_handler_pattern_matches_its_own_kind_only() -> None:
    import re

    assert re.match(cb.pattern(cb.CB_UNIT), cb.unit_data("subbag-sdm"))
    assert not re.match(cb.pattern(cb.CB_UNIT), cb.list_data("divisi"))
