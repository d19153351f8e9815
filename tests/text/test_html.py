"""Properties of the HTML rendering path: any question renders to valid parts; splitting keeps the text."""

from __future__ import annotations

import html
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.answer import assignment_for, build_answer
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase, Level
from bot.text.answers import (
    answer_html,
    assignment_html,
    unit_not_found_html,
)
from bot.text.html import split_message, utf16_length
from tests.support import fakes
from tests.support.harness import valid_telegram_html

# -- properties of the HTML rendering path ---------------------------------------------------

unicode_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=unicode_text, echo=st.booleans(), noted=st.booleans())
def test_any_question_renders_to_valid_telegram_html_parts(
    shared_matcher: Matcher, kb: KnowledgeBase, text: str, echo: bool, noted: bool
) -> None:
    result = shared_matcher.match(text)
    answer = build_answer(result, kb, shared_matcher.config.ambiguity_margin)
    pages = [
        answer_html(answer, echo_question=echo, noted=noted),
        unit_not_found_html(Level.DIVISI, text),
    ]
    for candidate in (*result.divisi[:1], *result.subbag[:1]):
        pages.append(assignment_html(kb, text, assignment_for(kb, candidate)))
    for page in pages:
        parts = split_message(page)
        assert parts
        for part in parts:
            assert valid_telegram_html(part) == [], part


# Leaves: escaped text with something visible; trees: up to three tags deep, as the bot nests.
html_leaves = (
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=120)
    .filter(lambda t: not t.isspace())
    .map(lambda t: html.escape(t, quote=False))
)


def html_trees(depth: int) -> st.SearchStrategy[str]:
    """Telegram HTML: text and allowed tags, nested at most ``depth`` deep."""
    if depth == 0:
        return html_leaves
    inner = html_trees(depth - 1)
    simple = st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler"])
    wrapped = st.tuples(simple, inner).map(lambda t: f"<{t[0]}>{t[1]}</{t[0]}>")
    link = inner.map(lambda c: f'<a href="https://kpu.go.id/?a=1&amp;b=2">{c}</a>')
    block = inner.map(lambda c: f"<blockquote>{c}</blockquote>")
    separator = st.sampled_from(["", " ", "\n", "\n\n"])
    piece = st.tuples(st.one_of(html_leaves, wrapped, link, block), separator).map("".join)
    return st.lists(piece, min_size=1, max_size=6).map("".join)


html_documents = html_trees(3)


def _visible(html_text: str) -> str:
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]*>", "", html_text)))


@settings(max_examples=300, deadline=None)
@given(document=html_documents, limit=st.integers(min_value=200, max_value=600))
def test_split_message_keeps_every_part_valid_short_and_the_text_whole(document: str, limit: int) -> None:
    parts = split_message(document, limit)
    for part in parts:
        assert utf16_length(part) <= limit, (limit, part)
        assert fakes.html_problems(part) == [], part
    assert _visible("".join(parts)) == _visible(document)
