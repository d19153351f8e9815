"""Hand-off to a human and fact questions that name the unit to ask.

"Tanyakan ke admin" under an unsure answer: the question reaches the admins (their private
chats, or the ADMIN_CHAT_ID group) with the asker's name and chat; when an admin teaches the
unit, the asker gets the answer as a reply to their question, in the chat where they asked.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.model import KnowledgeBase
from bot.storage import Database, open_database
from tests.support import fakes
from tests.support.fakes import GROUP_ID, USER_ID, buttons
from tests.support.harness import ADMIN_ID, Harness, running, with_database

UNKNOWN = "siapa yang urus klub mancing"
OTHER_ID = 4343
ADMIN_GROUP = -100555


@pytest.fixture
async def bot(kb: KnowledgeBase, store: Database) -> AsyncIterator[Harness]:
    async with with_database(kb, store) as harness:
        yield harness


def handoff_button(params: dict[str, Any]) -> str:
    (data,) = [d for label, d in buttons(params) if label == "🙋 Tanyakan ke admin"]
    return data


def to_chat(bot: Harness, chat_id: int) -> list[dict[str, Any]]:
    return [p for p in bot.sent() if p["chat_id"] == chat_id]


async def ask_in_group(bot: Harness, text: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    """A group question mentioning the bot; returns the question payload."""
    update = fakes.mention(f"@TupoksiBot {text}", user_id=user_id)
    await bot.send(update)
    return update["message"]


async def press_in_group(bot: Harness, data: str, *, user_id: int = USER_ID) -> None:
    pressed = fakes.bot_message(chat=fakes.group_chat())
    await bot.send(fakes.callback(data, message=pressed, user_id=user_id))


async def teach(
    bot: Harness, admin_message: dict[str, Any], unit_id: str, *, chat_id: int = ADMIN_ID
) -> None:
    """The admin presses "Jawab" under the hand-off, then the unit in the teach menu."""
    (answer,) = [d for label, d in buttons(admin_message) if label.startswith("🎓 Jawab")]
    where = fakes.private_chat(ADMIN_ID) if chat_id == ADMIN_ID else fakes.group_chat(chat_id)
    await bot.send(fakes.callback(answer, message=fakes.bot_message(chat=where), user_id=ADMIN_ID))
    menu = bot.sent()[-1]
    (unit,) = [d for _, d in buttons(menu) if d.endswith(f":{unit_id}")]
    await bot.send(fakes.callback(unit, message=fakes.bot_message(chat=where), user_id=ADMIN_ID))


async def test_a_group_question_handed_to_the_admin_is_answered_as_a_reply_in_the_group(
    bot: Harness, store: Database
) -> None:
    question = await ask_in_group(bot, UNKNOWN)
    answer = bot.sent()[-1]
    data = handoff_button(answer)

    # Someone else cannot hand over another person's question.
    await press_in_group(bot, data, user_id=OTHER_ID)
    assert "untuk yang bertanya" in bot.toast()
    assert to_chat(bot, ADMIN_ID) == []

    await press_in_group(bot, data)
    assert bot.toast() == "Diteruskan ke admin"
    confirmation = bot.sent()[-1]
    assert confirmation["chat_id"] == GROUP_ID and "diteruskan ke admin" in confirmation["text"]
    assert confirmation["reply_parameters"]["message_id"] == question["message_id"]
    (to_admin,) = to_chat(bot, ADMIN_ID)
    assert (
        "Budi" in to_admin["text"] and "Kantor KPU Banten" in to_admin["text"] and UNKNOWN in to_admin["text"]
    )

    # Pressed again: nothing new reaches the admins.
    await press_in_group(bot, data)
    assert "sudah diteruskan" in bot.toast() and len(to_chat(bot, ADMIN_ID)) == 1

    await teach(bot, to_admin, "subbag-umum-logistik")
    delivered = [p for p in to_chat(bot, GROUP_ID) if "Jawaban dari admin" in p["text"]]
    assert len(delivered) == 1
    assert "Sub Bagian Umum dan Logistik" in delivered[0]["text"]
    assert delivered[0]["reply_parameters"]["message_id"] == question["message_id"]
    assert "Jawaban dikirim ke 1 penanya" in bot.last()

    # Learned: the same question now gets the unit directly, and no second delivery happens.
    await ask_in_group(bot, UNKNOWN)
    assert "Umum dan Logistik" in bot.sent()[-1]["text"]
    assert (await store.pending_handoffs(question_text_normalized(bot, UNKNOWN))) == []


def question_text_normalized(bot: Harness, text: str) -> str:
    return bot.service.matcher.match(text).normalized


async def test_a_pending_hand_off_survives_a_restart(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "restart" / "tupoksi.sqlite3"
    async with await open_database(path) as first, with_database(kb, first) as bot:
        await bot.send(fakes.private_text(UNKNOWN))
        question_id = handoff_button(bot.sent()[-1])
        await bot.press(question_id, user_id=USER_ID)
        (to_admin,) = to_chat(bot, ADMIN_ID)
        asked_in = int(question_id.rsplit(":", 1)[1])
    async with await open_database(path) as second, with_database(kb, second) as bot:
        await teach(bot, to_admin, "subbag-sdm")
        (delivered,) = [p for p in to_chat(bot, USER_ID) if "Jawaban dari admin" in p["text"]]
        assert "Sumber Daya Manusia" in delivered["text"]
        assert delivered["reply_parameters"]["message_id"] == asked_in


async def test_hand_offs_go_to_the_admin_group_and_are_answered_there(
    kb: KnowledgeBase, store: Database
) -> None:
    async with with_database(kb, store, admin_chat_id=ADMIN_GROUP) as bot:
        await bot.send(fakes.private_text(UNKNOWN))
        await bot.press(handoff_button(bot.sent()[-1]), user_id=USER_ID)
        assert to_chat(bot, ADMIN_ID) == []
        (to_group,) = to_chat(bot, ADMIN_GROUP)
        await teach(bot, to_group, "subbag-hukum", chat_id=ADMIN_GROUP)
        assert any("Jawaban dari admin" in p["text"] for p in to_chat(bot, USER_ID))


async def test_answers_the_bot_is_sure_of_offer_no_hand_off(bot: Harness) -> None:
    await bot.send(fakes.private_text("siapa yang mengurus kenaikan gaji berkala pegawai?"))
    assert not [label for label, _ in buttons(bot.sent()[-1]) if "admin" in label]
    await bot.send(fakes.private_text("makasih"))
    assert not [label for label, _ in buttons(bot.sent()[-1]) if "admin" in label]


async def test_no_hand_off_without_admins(kb: KnowledgeBase, store: Database) -> None:
    async with running(kb, None, store, rate_limiter=False, rate_limit_per_minute=0) as bot:
        await bot.send(fakes.private_text(UNKNOWN))
        assert not [label for label, _ in buttons(bot.sent()[-1]) if "admin" in label]


async def test_when_no_admin_can_be_reached_the_asker_is_told_and_may_try_again(
    bot: Harness, store: Database
) -> None:
    await bot.send(fakes.private_text(UNKNOWN))
    data = handoff_button(bot.sent()[-1])
    bot.api.fail("sendMessage", 400, "Bad Request: chat not found")
    await bot.press(data, user_id=USER_ID)
    assert "belum bisa dihubungi" in bot.toast()
    assert await store.handoff(data.split(":")[1]) is None


# -- fact questions ---------------------------------------------------------------------------


async def test_a_fact_question_with_a_clear_topic_names_the_unit_to_ask(bot: Harness) -> None:
    await bot.admin("/kontak subbag keuangan Kasubbag: Rina Marlina")
    await bot.send(fakes.private_text("kapan batas akhir upload SPJ bulan ini?"))
    reply = bot.last()
    assert "tidak bisa memastikan tanggal" in reply
    assert "Sub Bagian Keuangan" in reply and "Rina Marlina" in reply


@pytest.mark.parametrize(
    "question",
    ["kapan pemilu 2029?", "siapa yang menang pilkada lebak?", "alamat kantor KPU Kabupaten Lebak?"],
)
async def test_other_fact_questions_stay_short(bot: Harness, question: str) -> None:
    await bot.send(fakes.private_text(question))
    reply = bot.last()
    assert "Maaf" in reply and "<b>" not in reply and len(reply.splitlines()) == 1


async def test_an_answer_the_bot_is_not_sure_of_offers_the_hand_off_beside_the_votes(bot: Harness) -> None:
    await bot.send(
        fakes.private_text("Berita di portal online soal KPU Banten salah kutip, perlu hak jawab segera.")
    )
    answer = bot.sent()[-1]
    assert "kurang yakin" in answer["text"]
    labels = [label for label, _ in buttons(answer)]
    assert "🙋 Tanyakan ke admin" in labels and "👍" in labels and "👎" in labels
