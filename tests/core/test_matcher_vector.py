"""The numpy posting lists (large KBs) give exactly the answers of the dict path (small KBs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core import matcher as matcher_module
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.evaluation import load_labeled

DATA = Path(__file__).resolve().parents[1] / "data"


def questions() -> list[str]:
    found: list[str] = []
    for path in sorted(DATA.glob("*.yaml")):
        found += [entry["q"] for entry in load_labeled(path)]
    return found


def test_every_labeled_question_gets_the_same_result_both_ways(
    kb: KnowledgeBase, shared_matcher: Matcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 0)
    vector = Matcher(kb)
    asked = questions()
    assert len(asked) > 500
    for question in asked:
        assert vector.match(question) == shared_matcher.match(question), question


def test_learned_phrases_reach_the_vector_index(kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 0)
    vector = Matcher(kb)
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 10**9)
    plain = Matcher(kb)
    question = "zoomcloud webinar tautan"
    for m in (vector, plain):
        assert m.add_phrase("subbag-teknis-hupmas", question)
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 0)
    learned = vector.match(question)
    assert learned.subbag and learned.subbag[0].unit_id == "subbag-teknis-hupmas"
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 10**9)
    assert plain.match(question) == learned
    for m in (vector, plain):
        assert m.remove_phrase("subbag-teknis-hupmas", question)
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 0)
    after = vector.match(question)
    monkeypatch.setattr(matcher_module, "VECTOR_DOCS", 10**9)
    assert plain.match(question) == after
