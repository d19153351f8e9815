"""Inline mode: likely units as answer cards, the examples, and logging chosen results."""

from __future__ import annotations

from bot.text.answers import EXAMPLE_QUESTIONS
from tests.support import fakes
from tests.support.harness import Harness

SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"


# -- inline mode ------------------------------------------------------------------------


async def test_inline_query_offers_likely_units_that_post_answer_cards(bot: Harness) -> None:
    await bot.send(fakes.inline_query(SDM_QUESTION))
    (answer,) = bot.api.calls("answerInlineQuery")
    results = answer["results"]
    assert 1 <= len(results) <= 5
    assert answer["cache_time"] <= 60
    assert len({r["id"] for r in results}) == len(results)
    titles = [r["title"] for r in results]
    assert any("Subbag SDM" in t for t in titles)
    card = next(r for r in results if "Subbag SDM" in r["title"])["input_message_content"]
    assert SDM_QUESTION in card["message_text"]
    assert "Sub Bagian Sumber Daya Manusia" in card["message_text"]
    assert card["parse_mode"] == "HTML"


async def test_empty_inline_query_offers_the_examples(bot: Harness) -> None:
    await bot.send(fakes.inline_query(""))
    (answer,) = bot.api.calls("answerInlineQuery")
    assert [r["title"] for r in answer["results"]] == list(EXAMPLE_QUESTIONS)


async def test_inline_query_without_a_match_offers_the_private_chat(bot: Harness) -> None:
    await bot.send(fakes.inline_query("resep rendang padang"))
    (answer,) = bot.api.calls("answerInlineQuery")
    assert answer["results"] == []
    assert answer["button"]["start_parameter"] == "tanya"


async def test_chosen_inline_result_is_logged_as_inline(bot: Harness) -> None:
    await bot.send(fakes.chosen_inline_result("subbag-sdm", SDM_QUESTION))
    (record,) = bot.log.records
    assert (record.source, record.text, record.answered) == ("inline", SDM_QUESTION, True)
