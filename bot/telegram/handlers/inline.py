"""Inline mode: ``@bot <pertanyaan>`` in any chat offers the likely units (and their people) as cards."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineQueryResultArticle, InlineQueryResultsButton, InputTextMessageContent, Update
from telegram.ext import ContextTypes

from bot.core.answer import Assignment
from bot.core.lookup import likely_units
from bot.core.model import KnowledgeBase
from bot.service import Service
from bot.storage import Source
from bot.telegram.context import deps
from bot.text.answers import (
    EXAMPLE_QUESTIONS,
    NO_INLINE_RESULT_TEXT,
    answer_html,
    assignment_html,
    example_article_description,
    unit_article_texts,
)
from bot.text.html import split_message

INLINE_CACHE_SECONDS = 10


def _article(result_id: str, title: str, description: str, html: str) -> InlineQueryResultArticle:
    return InlineQueryResultArticle(
        id=result_id,
        title=title,
        description=description,
        input_message_content=InputTextMessageContent(split_message(html)[0]),
    )


def _example_articles(service: Service) -> list[InlineQueryResultArticle]:
    articles = []
    for index, question in enumerate(EXAMPLE_QUESTIONS):
        html = answer_html(service.answer(question), echo_question=True)
        articles.append(_article(f"ex{index}", question, example_article_description(), html))
    return articles


def _unit_article(kb: KnowledgeBase, question: str, assignment: Assignment) -> InlineQueryResultArticle:
    title, description = unit_article_texts(assignment)
    return _article(assignment.unit.id, title, description, assignment_html(kb, question, assignment))


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """@bot <pertanyaan>: up to five likely units, each posting its answer card."""
    inline = update.inline_query
    service = deps(context).service
    question = " ".join(inline.query.split())
    if not question:
        await inline.answer(_example_articles(service), cache_time=INLINE_CACHE_SECONDS)
        return
    kb = service.kb
    units = [
        replace(a, contacts=service.contacts(a.unit.id))
        for a in likely_units(kb, service.matcher.match(question))
    ]
    results = [_unit_article(kb, question, a) for a in units]
    button = None if results else InlineQueryResultsButton(NO_INLINE_RESULT_TEXT, start_parameter="tanya")
    await inline.answer(results, cache_time=INLINE_CACHE_SECONDS, button=button)


async def chosen_inline_result(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """An inline answer was posted: log the question (needs /setinlinefeedback in BotFather)."""
    chosen = update.chosen_inline_result
    deps(context).service.ask(chosen.query, source=Source.INLINE, user_id=chosen.from_user.id)
