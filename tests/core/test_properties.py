"""Property-based: any Unicode goes through normalisation and matching without harm."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answer import build_answer
from bot.core.matcher import Matcher
from bot.text.plain import render_plain

questions = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=400,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=questions)
def test_any_text_matches_without_error(shared_matcher: Matcher, text: str) -> None:
    result = shared_matcher.match(text)
    for ranking in (result.divisi, result.subbag, result.bagian):
        assert all(0.0 <= c.score <= 1.0 for c in ranking)
    if result.answered:
        assert result.divisi or result.subbag
    rendered = render_plain(build_answer(result, shared_matcher.kb))
    assert rendered.strip()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=questions)
def test_normalisation_is_deterministic_and_idempotent_on_its_output(
    shared_matcher: Matcher, text: str
) -> None:
    normalizer = shared_matcher.normalizer
    first = normalizer.normalize(text)
    assert first == normalizer.normalize(text)
    again = normalizer.normalize(" ".join(first.words))
    assert again.words == first.words
