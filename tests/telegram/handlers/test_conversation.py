"""Staff in a conversation: buttons that never rewrite an answer, follow-ups, small talk.

Through the real application and the recording fake Bot API: what the asker and the
others in the chat would see, and what reaches the admins' review list.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.core.model import KnowledgeBase
from bot.storage import Database
from bot.telegram.memory import KEEP_SECONDS
from bot.text.answers import STALE_BUTTON_TEXT
from tests.support import fakes
from tests.support.fakes import GROUP_ID, USER_ID, buttons
from tests.support.harness import ADMIN_ID, Harness, running

OTHER_ID = 5151
CLOSE_CALL = "monev keuangan kab/kota tugas siapa?"  # answered, with a close Divisi as an alternative
BALLOT_BOXES = "siapa yang mengurus pengadaan kotak suara?"
DISTRIBUTION = "kalau distribusinya ke kab/kota?"
WHO_THEN = "itu siapa sih yang ngurus?"
OWN_TOPIC = "terus kalau yang ngurus SPJ-nya?"
EDITS = ("editMessageText", "editMessageReplyMarkup")


@pytest.fixture
async def bot(kb: KnowledgeBase, store: Database) -> AsyncIterator[Harness]:
    async with running(
        kb, None, store, rate_limiter=False, admin_ids=frozenset({ADMIN_ID}), rate_limit_per_minute=0
    ) as harness:
        yield harness


def data_of(message: dict[str, Any], prefix: str) -> list[str]:
    return [data for _, data in buttons(message) if data.startswith(prefix)]


async def press(bot: Harness, data: str, message: dict[str, Any], user_id: int) -> None:
    await bot.send(fakes.callback(data, message=message, user_id=user_id))


# -- 1. buttons answer the presser and never rewrite the answer ------------------------------


async def test_a_second_user_pressing_an_alternative_in_the_group_leaves_the_answer_intact(
    bot: Harness,
) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {CLOSE_CALL}"))
    answer = bot.api.sent_messages[-1]
    assert "Divisi Keuangan, Umum dan RT" in answer["text"]
    (alternative,) = data_of(answer, "a1:")
    assert alternative.endswith(":div-perencanaan-logistik")
    assert data_of(answer, "f1:")  # the answer carries 👍/👎
    bot.api.reset()

    await press(bot, alternative, answer, user_id=OTHER_ID)

    assert not [m for m in bot.api.methods() if m in EDITS]  # nobody's answer changes
    (card,) = bot.sent()
    assert card["chat_id"] == GROUP_ID
    assert card["reply_parameters"]["message_id"] == answer["message_id"]  # shown under that answer
    assert "Divisi Perencanaan dan Logistik" in card["text"]
    assert "📌 Tugas #" in card["text"]  # the duty of that unit that covers the question
    assert CLOSE_CALL in card["text"]  # ... for this question
    # The asker can still vote on the answer, which still carries its buttons.
    await press(bot, data_of(answer, "f1:")[0], answer, user_id=USER_ID)
    assert bot.toast().startswith("Terima kasih")


async def test_in_private_an_alternative_comes_as_a_new_message_and_the_answer_stays(bot: Harness) -> None:
    await bot.send(fakes.private_text(CLOSE_CALL))
    answer = bot.api.sent_messages[-1]
    bot.api.reset()
    await press(bot, data_of(answer, "a1:")[0], answer, user_id=USER_ID)
    assert not [m for m in bot.api.methods() if m in EDITS]
    (card,) = bot.sent()
    assert card["reply_parameters"]["message_id"] == answer["message_id"]
    assert "Divisi Perencanaan dan Logistik" in card["text"]


async def test_an_alternative_the_chat_no_longer_remembers_shows_the_whole_unit_card(bot: Harness) -> None:
    await bot.send(fakes.private_text(CLOSE_CALL))
    answer = bot.api.sent_messages[-1]
    bot.advance(KEEP_SECONDS + 1)
    bot.api.reset()
    await press(bot, data_of(answer, "a1:")[0], answer, user_id=USER_ID)
    assert not [m for m in bot.api.methods() if m in EDITS]
    assert "<b>Tugas menurut SOP</b>" in bot.last()  # the card, with every duty


@pytest.mark.parametrize("data", ["a1:0123456789abcdef:no-such-unit", "a1:XYZ:subbag-keuangan", "a1:abc"])
async def test_odd_alternative_buttons_are_stale_and_change_nothing(bot: Harness, data: str) -> None:
    await press(bot, data, fakes.bot_message(chat=fakes.group_chat()), user_id=OTHER_ID)
    assert bot.toast() == STALE_BUTTON_TEXT
    assert bot.api.methods() == ["answerCallbackQuery"]


async def test_a_unit_button_under_an_old_answer_adds_a_message_instead_of_rewriting_it(bot: Harness) -> None:
    # Answers sent before this version carried u1 buttons: they must not rewrite the answer either.
    await bot.send(fakes.private_text(CLOSE_CALL))
    answer = bot.api.sent_messages[-1]
    old = {**answer, "reply_markup": {"inline_keyboard": [
        [{"text": "Divisi Perencanaan", "callback_data": "u1:div-perencanaan-logistik"}],
        *answer["reply_markup"]["inline_keyboard"][-1:],
    ]}}  # fmt: skip
    bot.api.reset()
    await press(bot, "u1:div-perencanaan-logistik", old, user_id=USER_ID)
    assert not [m for m in bot.api.methods() if m in EDITS]
    assert "Divisi Perencanaan dan Logistik" in bot.sent()[-1]["text"]


async def test_browsing_in_a_group_adds_messages_and_in_private_browses_in_place(bot: Harness) -> None:
    await bot.send(fakes.command("/divisi", group=True))
    listing = bot.api.sent_messages[-1]
    bot.api.reset()
    await press(bot, data_of(listing, "u1:")[0], listing, user_id=OTHER_ID)
    assert bot.api.methods() == ["answerCallbackQuery", "sendMessage"]
    card = bot.api.sent_messages[-1]
    bot.api.reset()
    await press(bot, data_of(card, "l1:")[0], card, user_id=OTHER_ID)
    assert bot.api.methods() == ["answerCallbackQuery", "sendMessage"]

    await bot.send(fakes.command("/divisi"))
    listing = bot.api.sent_messages[-1]
    bot.api.reset()
    await press(bot, data_of(listing, "u1:")[0], listing, user_id=USER_ID)
    assert bot.api.methods() == ["answerCallbackQuery", "editMessageText"]  # own list, own chat


# -- 2. follow-ups -----------------------------------------------------------------------------


async def test_a_private_follow_up_is_read_with_the_previous_question_and_logged_so(
    bot: Harness, store: Database
) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    await bot.send(fakes.private_text(DISTRIBUTION))
    text = bot.last()
    assert "Menyambung pertanyaan" in text and BALLOT_BOXES in text
    assert "Sub Bagian Umum dan Logistik" in text and "Divisi Perencanaan dan Logistik" in text
    await store.flush()
    question_id = data_of(bot.sent()[-1], "f1:")[0].split(":")[1]
    logged = await store.query(question_id)
    assert logged is not None and logged.answered
    assert BALLOT_BOXES in logged.text and DISTRIBUTION in logged.text  # admins see what was answered


async def test_a_follow_up_without_any_topic_is_answered_not_called_empty(bot: Harness) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    await bot.send(fakes.private_text(WHO_THEN))
    assert "kosong" not in bot.last()
    assert "Sub Bagian Umum dan Logistik" in bot.last()


async def test_a_follow_up_with_its_own_topic_is_answered_on_its_own(bot: Harness) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    await bot.send(fakes.private_text(OWN_TOPIC))
    assert "Menyambung" not in bot.last()
    assert "Sub Bagian Keuangan" in bot.last()


async def test_a_question_on_a_new_unknown_topic_is_not_mixed_with_the_previous_one(bot: Harness) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    await bot.send(fakes.private_text("siapa yang urus klub mancing"))
    assert bot.last().startswith("🙏 Maaf")


async def test_after_ten_minutes_a_short_message_no_longer_follows_the_answer(bot: Harness) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    bot.advance(9 * 60)
    await bot.send(fakes.private_text(WHO_THEN))
    assert "Menyambung" in bot.last()
    await bot.send(fakes.private_text(BALLOT_BOXES))
    bot.advance(10 * 60 + 1)
    await bot.send(fakes.private_text(WHO_THEN))
    assert "Menyambung" not in bot.last()
    assert "Umum dan Logistik" not in bot.last()


async def test_another_users_answer_in_private_memory_is_not_theirs(bot: Harness) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES))
    await bot.send(fakes.private_text(WHO_THEN, user_id=OTHER_ID))
    assert "Umum dan Logistik" not in bot.last()


async def test_in_the_group_a_reply_to_an_answer_follows_it_up(bot: Harness) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {BALLOT_BOXES}"))
    answer = bot.api.sent_messages[-1]
    await bot.send(fakes.mention("@TupoksiBot siapa yang mengurus arsip surat masuk?", user_id=OTHER_ID))
    await bot.send(fakes.reply_to_sent(DISTRIBUTION, answer, user_id=OTHER_ID))
    reply = bot.sent()[-1]
    assert "Menyambung pertanyaan" in reply["text"] and BALLOT_BOXES in reply["text"]
    assert "Subbag Umum dan Logistik" in reply["text"]
    # A mention that replies to nothing is a question of its own, even right after an answer.
    await bot.send(fakes.mention(f"@TupoksiBot {WHO_THEN}", user_id=OTHER_ID))
    assert "Menyambung" not in bot.last()


async def test_a_reply_to_a_message_the_bot_no_longer_remembers_is_asked_alone(bot: Harness) -> None:
    await bot.send(fakes.reply_to_bot(DISTRIBUTION))
    assert "Menyambung" not in bot.last()


# -- 3. small talk -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "reply"),
    [
        ("makasih ya min", "Sama-sama"),
        ("pagi min", "Halo 👋"),
        ("assalamualaikum", "Halo 👋"),
        ("mau tanya dong", "Silakan"),
        ("min mau nanya", "Silakan"),
        ("oke siap", "👍 Siap"),
    ],
)
async def test_small_talk_gets_a_short_kind_reply_of_its_kind(bot: Harness, message: str, reply: str) -> None:
    await bot.send(fakes.private_text(message))
    text = bot.last()
    assert text.startswith(reply)
    assert text.count("\n") <= 1 and len(text) < 160  # brief
    assert "kosong" not in text and "belum menemukan" not in text


async def test_an_invitation_to_ask_gives_one_example(bot: Harness) -> None:
    await bot.send(fakes.private_text("mau tanya dong"))
    assert "misalnya: siapa yang mengurus" in bot.last()


async def test_small_talk_never_reaches_the_review_list(bot: Harness, store: Database) -> None:
    for message in ("makasih ya min", "pagi min", "mau tanya dong"):
        await bot.send(fakes.private_text(message))
    await bot.send(fakes.private_text("siapa yang urus klub mancing"))  # a real miss, for contrast
    await store.flush()
    review = [group.example for group in await store.unanswered()]
    assert review == ["siapa yang urus klub mancing"]
    await bot.admin("/tinjau")
    assert "klub mancing" in bot.last() and "mau tanya" not in bot.last()


async def test_thanks_in_reply_to_an_answer_in_the_group_stays_quiet(bot: Harness) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {BALLOT_BOXES}"))
    answer = bot.api.sent_messages[-1]
    bot.api.reset()
    await bot.send(fakes.reply_to_sent("makasih ya min", answer))
    assert bot.sent() == []
    await bot.send(fakes.mention("@TupoksiBot makasih ya"))
    assert bot.last().startswith("Sama-sama")


# -- 4. short on a phone: compact group answers, the details a tap away ----------------------

GROUP_ANSWER_LINES = 5


@pytest.mark.parametrize(
    "question",
    [
        CLOSE_CALL,
        BALLOT_BOXES,
        "min, yg ngurusin SPJ perjalanan dinas siapa ya?",
        "siapa yang mengelola arsip?",
    ],
)
async def test_a_group_answer_is_at_most_five_lines_with_unit_duty_and_confidence(
    bot: Harness, question: str
) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {question}"))
    answer = bot.sent()[-1]
    lines = answer["text"].split("\n")
    assert len(lines) <= GROUP_ANSWER_LINES
    assert "Subbag" in lines[0] and "Divisi" in lines[0]  # both units, first
    assert any(line.startswith("📌 Tugas") for line in lines)
    assert lines[-1].startswith("Keyakinan:")
    assert [label for label, _ in buttons(answer)][-3:] == ["🔎 Detail", "👍", "👎"]


async def test_detail_sends_the_full_answer_to_whoever_taps_without_touching_the_compact_one(
    bot: Harness, store: Database
) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {CLOSE_CALL}"))
    answer = bot.api.sent_messages[-1]
    (detail,) = data_of(answer, "x1:")
    bot.api.reset()
    await press(bot, detail, answer, user_id=OTHER_ID)
    assert not [m for m in bot.api.methods() if m in EDITS]
    (full,) = bot.sent()
    assert full["reply_parameters"]["message_id"] == answer["message_id"]
    text = full["text"]
    assert CLOSE_CALL in text  # which question these details are for
    assert "<b>Divisi</b>: Divisi Keuangan, Umum dan Rumah Tangga" in text  # full names, both duties
    assert "<b>Sub Bagian</b>: Sub Bagian Keuangan" in text and text.count("📌 Tugas #") == 2
    await store.flush()
    assert await store.count_queries() == 1  # the detail is not a second question


async def test_detail_after_a_restart_reads_the_question_from_the_log(bot: Harness, store: Database) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {BALLOT_BOXES}"))
    answer = bot.api.sent_messages[-1]
    await store.flush()
    bot.app.drop_chat_data(GROUP_ID)  # what a restart forgets
    await press(bot, data_of(answer, "x1:")[0], answer, user_id=OTHER_ID)
    assert "<b>Sub Bagian</b>: Sub Bagian Umum dan Logistik" in bot.last()


async def test_an_unknown_detail_button_is_stale(bot: Harness) -> None:
    await press(bot, "x1:0123456789abcdef", fakes.bot_message(chat=fakes.group_chat()), user_id=OTHER_ID)
    assert bot.toast() == STALE_BUTTON_TEXT


async def test_private_answers_stay_in_full(bot: Harness) -> None:
    await bot.send(fakes.private_text(CLOSE_CALL))
    answer = bot.sent()[-1]
    assert "<b>Sub Bagian</b>: Sub Bagian Keuangan" in answer["text"]
    assert not data_of(answer, "x1:")


async def test_a_reply_to_the_details_follows_up_the_same_question(bot: Harness) -> None:
    await bot.send(fakes.mention(f"@TupoksiBot {BALLOT_BOXES}"))
    answer = bot.api.sent_messages[-1]
    await press(bot, data_of(answer, "x1:")[0], answer, user_id=OTHER_ID)
    details = bot.api.sent_messages[-1]
    await bot.send(fakes.reply_to_sent(DISTRIBUTION, details, user_id=OTHER_ID))
    assert "Menyambung pertanyaan" in bot.last() and BALLOT_BOXES in bot.last()


async def test_an_example_pressed_in_the_group_is_answered_compactly_with_its_question(bot: Harness) -> None:
    await bot.send(fakes.command("/start", group=True))
    start = bot.api.sent_messages[-1]
    await press(bot, data_of(start, "q1:")[0], start, user_id=OTHER_ID)
    answer = bot.sent()[-1]
    lines = answer["text"].split("\n")
    assert lines[0].startswith("❓") and len(lines) <= GROUP_ANSWER_LINES + 1
    assert "Subbag SDM" in answer["text"] and data_of(answer, "x1:")


async def test_a_forged_detail_button_never_shows_another_chats_question(
    bot: Harness, store: Database
) -> None:
    await bot.send(fakes.private_text(BALLOT_BOXES, user_id=OTHER_ID))  # someone's private question
    question_id = data_of(bot.sent()[-1], "f1:")[0].split(":")[1]
    await store.flush()
    forged = fakes.bot_message(chat=fakes.group_chat())
    forged["reply_markup"] = {
        "inline_keyboard": [[{"text": "🔎 Detail", "callback_data": f"x1:{question_id}"}]]
    }
    bot.api.reset()
    await press(bot, f"x1:{question_id}", forged, user_id=USER_ID)
    assert bot.toast() == STALE_BUTTON_TEXT and bot.sent() == []
