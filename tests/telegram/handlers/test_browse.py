"""Browsing the organisation: /start, /help, /divisi, /subbag, /struktur and the unit buttons."""

from __future__ import annotations

import re

import pytest

from bot.core.model import KnowledgeBase, Level
from bot.telegram.context import deps
from bot.text.answers import EXAMPLE_QUESTIONS, EXAMPLES
from tests.support import fakes
from tests.support.fakes import BOT_USERNAME, buttons
from tests.support.harness import ADMIN_ID, Harness

# -- /start and /help -------------------------------------------------------------------


PHONE_BUTTON = 30  # characters a full-width button shows on a phone without cutting
PHONE_SCREEN_LINES = 8  # a welcome that fits above its buttons without scrolling


async def test_start_is_a_short_welcome_with_three_example_buttons_that_fit_a_phone(bot: Harness) -> None:
    await bot.send(fakes.command("/start"))
    (reply,) = bot.sent()
    assert "Tupoksi Bot" in reply["text"] and "/help" in reply["text"]
    assert reply["text"].count("\n") < PHONE_SCREEN_LINES
    assert not any(q in reply["text"] for q in EXAMPLE_QUESTIONS)  # the examples are the buttons
    labels = [label for label, _ in buttons(reply)]
    assert labels == [label for label, _ in EXAMPLES]
    assert all(len(label) <= PHONE_BUTTON for label in labels)
    assert all(data.startswith("q1:") for _, data in buttons(reply))


async def test_help_is_the_commands_not_the_welcome(bot: Harness) -> None:
    await bot.send(fakes.command("/start"))
    await bot.send(fakes.command("/help"))
    start, help_ = (m["text"] for m in bot.sent())
    assert start != help_
    assert "/divisi" in help_ and "/struktur" in help_ and "/tanya" in help_
    assert "/muatulang" not in help_ and "/reload" not in help_  # not an admin
    assert "Halo" not in help_ and buttons(bot.sent()[-1]) == []


async def test_help_lists_admin_commands_only_for_admins_in_private(bot: Harness) -> None:
    await bot.send(fakes.command("/help", user_id=ADMIN_ID))
    assert "/muatulang" in bot.api.last_text() and "/tinjau [hari]" in bot.api.last_text()
    assert "/unanswered" not in bot.api.last_text()  # the English aliases work but are not advertised


async def test_help_in_a_group_explains_mention_reply_and_tanya(bot: Harness) -> None:
    await bot.send(fakes.command(f"/help@{BOT_USERNAME}", group=True))
    text = bot.api.last_text()
    assert f"@{BOT_USERNAME}" in text and "balas pesan saya" in text and "/tanya" in text


async def test_example_button_posts_the_answer_to_that_question(bot: Harness) -> None:
    await bot.send(fakes.callback("q1:0"))
    assert bot.api.calls("answerCallbackQuery")
    text = bot.api.last_text()
    assert EXAMPLE_QUESTIONS[0] in text
    assert "Sub Bagian Sumber Daya Manusia" in text
    assert bot.log.records[-1].text == EXAMPLE_QUESTIONS[0]


# -- /divisi, /subbag, /struktur --------------------------------------------------------


async def test_divisi_lists_the_seven_divisions_as_buttons(bot: Harness) -> None:
    await bot.send(fakes.command("/divisi"))
    (reply,) = bot.sent()
    assert "7 Divisi" in reply["text"]
    data = [d for _, d in buttons(reply)]
    assert sorted(data) == sorted(f"u1:{u.id}" for u in deps(bot.app).service.kb.units_at(Level.DIVISI))


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("teknis", "Divisi Teknis Penyelenggaraan"),
        ("hukum", "Divisi Hukum dan Pengawasan"),
        ("Datin", "Divisi Data dan Informasi"),
        ("sdm", "Divisi Sumber Daya Manusia dan Litbang"),
    ],
)
async def test_divisi_with_a_name_shows_that_card(bot: Harness, query: str, name: str) -> None:
    await bot.send(fakes.command(f"/divisi {query}"))
    (reply,) = bot.sent()
    assert f"🏛 <b>{name}</b>" in reply["text"]
    assert "\n1. " in reply["text"] and "\n2. " in reply["text"]  # numbered duties
    assert "Sub Bagian terkait" in reply["text"]
    assert ("« Semua Divisi", "l1:divisi") in buttons(reply)


async def test_subbag_card_has_its_bagian_above_and_linked_divisi(bot: Harness) -> None:
    await bot.send(fakes.command("/subbag umum"))
    text = bot.api.last_text()
    bagian = text.index("Bagian Keuangan, Umum, dan Logistik")
    title = text.index("🗂 <b>Sub Bagian Umum dan Logistik</b>")
    assert bagian < title
    assert "Divisi terkait</b>: Divisi Keuangan, Umum dan Rumah Tangga" in text
    labels = [label for label, _ in buttons(bot.sent()[-1])]
    assert "Divisi Perencanaan dan Logistik" in labels


async def test_subbag_lists_the_six_sub_bagian(bot: Harness) -> None:
    await bot.send(fakes.command("/subbag"))
    assert len(buttons(bot.sent()[-1])) == 6


async def test_unknown_unit_name_says_so_and_offers_the_list(bot: Harness) -> None:
    await bot.send(fakes.command("/divisi zzqx"))
    reply = bot.sent()[-1]
    assert "tidak ditemukan" in reply["text"]
    assert len(buttons(reply)) == 7


async def test_struktur_shows_every_unit_readable_at_phone_width(bot: Harness, kb: KnowledgeBase) -> None:
    await bot.send(fakes.command("/struktur"))
    text = bot.api.last_text()
    for unit in kb.units:
        assert unit.short_name in text
    # Telegram's font is proportional: no drawn connectors that only line up in a fixed font.
    assert not set("│├└┌┐┘┬┴┼─") & set(text)
    plain_lines = [re.sub(r"<[^>]+>", "", line) for line in text.splitlines()]
    assert max(len(line) for line in plain_lines) <= 45  # a phone shows ~40: at most a short wrap
    # Every Sub Bagian sits under its Bagian, with the Divisi it works with right below it.
    for subbag in kb.units_at(Level.SUBBAG):
        line = plain_lines.index(f"• {subbag.short_name}")
        bagian = kb.unit(subbag.parent or "")
        assert max(i for i, x in enumerate(plain_lines[:line]) if x == bagian.short_name) < line
        partners = [x.removeprefix("  ↔ ") for x in plain_lines[line + 1 :] if x.startswith("  ↔ ")]
        for partner in kb.counterparts(subbag.id):
            assert partner.short_name in partners


# -- buttons ----------------------------------------------------------------------------


async def test_unit_button_opens_the_card_in_place(bot: Harness) -> None:
    pressed = fakes.bot_message("Mungkin maksud Anda ...", chat=fakes.private_chat())
    await bot.send(fakes.callback("u1:subbag-sdm", message=pressed))
    assert bot.api.methods() == ["answerCallbackQuery", "editMessageText"]
    (edit,) = bot.api.calls("editMessageText")
    assert edit["message_id"] == pressed["message_id"]
    assert "🗂 <b>Sub Bagian Sumber Daya Manusia</b>" in edit["text"]
    assert ("« Semua Sub Bagian", "l1:subbag") in buttons(edit)


async def test_list_button_shows_the_list_in_place(bot: Harness) -> None:
    await bot.send(fakes.callback("l1:divisi"))
    (edit,) = bot.api.calls("editMessageText")
    assert len(buttons(edit)) == 7


async def test_pressing_the_same_button_twice_is_harmless(bot: Harness) -> None:
    bot.api.fail("editMessageText", 400, "Bad Request: message is not modified")
    await bot.send(fakes.callback("u1:div-teknis"))
    assert bot.api.methods() == ["answerCallbackQuery", "editMessageText"]


@pytest.mark.parametrize("data", ["u1:no-such-unit", "zz:whatever", "q1:99", "l1:bagian"])
async def test_stale_buttons_are_answered_and_change_nothing(bot: Harness, data: str) -> None:
    await bot.send(fakes.callback(data))
    (answered,) = bot.api.calls("answerCallbackQuery")
    assert "tidak berlaku" in answered["text"]
    assert bot.api.sent_texts() == []
