"""The guards: the per-user rate limit and ``ALLOWED_CHAT_IDS``, with a fake clock.

Every text the bot sends in these tests is checked to be valid Telegram HTML of at
most 4096 UTF-16 units (by the harness).
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.telegram.guards import INLINE_FACTOR, MAX_TRACKED, QuestionRateLimit
from bot.text.answers import (
    PRIVATE_BOT_HTML,
)
from tests.support import fakes
from tests.support.fakes import BOT_USERNAME, GROUP_ID, USER_ID, ApiError
from tests.support.harness import ADMIN_ID

ERROR_CHAT = -1009999
OTHER_GROUP = -1005550001
STRANGER = 5555
SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"


# -- rate limit ---------------------------------------------------------------------------


async def test_rate_limit_gives_one_notice_per_burst_then_serves_again(make_bot: Any, errors: Any) -> None:
    async with make_bot(rate_limit_per_minute=3) as bot:
        for _ in range(3):
            await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.sent()) == 3
        for _ in range(5):  # over the limit: one notice, then silence
            await bot.send(fakes.private_text(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 4 and "Pelan-pelan" in texts[3] and "3 kali" in texts[3]
        assert len(bot.log.records) == 3  # dropped questions are not asked
        # Someone else is not affected.
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=4343))
        assert "Sumber Daya Manusia" in bot.api.last_text()
        # A minute later the user is served again, and a new burst gets a new notice.
        bot.advance(60)
        for _ in range(5):
            await bot.send(fakes.private_text(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()][5:]
        assert [("Pelan-pelan" in t) for t in texts] == [False, False, False, True]
    assert errors() == []


async def test_rate_limit_counts_group_questions_and_commands_but_not_chatter(make_bot: Any) -> None:
    async with make_bot(rate_limit_per_minute=2) as bot:
        for _ in range(10):
            await bot.send(fakes.group_text("nanti siang makan di mana?"))  # not for the bot
        await bot.send(fakes.command("/tanya@OtherBot apa", group=True))  # another bot's command
        assert bot.sent() == []
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"))
        await bot.send(fakes.command(f"/divisi@{BOT_USERNAME}", group=True))
        await bot.send(fakes.reply_to_bot(SDM_QUESTION))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 3 and "Pelan-pelan" in texts[2]


async def test_rate_limit_counts_button_presses_too(make_bot: Any) -> None:
    """100 presses of an example question in a minute: as many answers as the limit, no more."""
    async with make_bot(rate_limit_per_minute=3) as bot:
        for _ in range(100):
            await bot.press("q1:0", user_id=USER_ID)
        answers = [p for p in bot.sent() if "Sumber Daya" in p["text"] or "Divisi" in p["text"]]
        assert len(answers) == 3 and len(bot.log.records) == 3
        toasts = [c.get("text") for c in bot.api.calls("answerCallbackQuery")]
        assert len(toasts) == 100  # every press is answered (no endless spinner)
        assert sum("Pelan-pelan" in (t or "") for t in toasts) == 1  # one notice per burst
        # Typed questions share the same window.
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert len(bot.log.records) == 3
        bot.advance(60)
        await bot.press("q1:0", user_id=USER_ID)
        assert len(bot.log.records) == 4


async def test_rate_limit_counts_inline_queries_with_a_budget_of_their_own(make_bot: Any) -> None:
    async with make_bot(rate_limit_per_minute=2) as bot:
        for _ in range(20):
            await bot.send(fakes.inline_query(SDM_QUESTION, user_id=USER_ID))
        answered = bot.api.calls("answerInlineQuery")
        assert len(answered) == 20
        with_results = [c for c in answered if c.get("results")]
        assert len(with_results) == 2 * INLINE_FACTOR
        for n in range(20):
            await bot.send(fakes.chosen_inline_result(f"r{n}", SDM_QUESTION, user_id=USER_ID))
        assert len(bot.log.records) <= 2 * INLINE_FACTOR


async def test_default_rate_limit_is_20_a_minute_and_0_turns_it_off(make_bot: Any) -> None:
    async with make_bot() as bot:
        for _ in range(21):
            await bot.send(fakes.private_text("a"))
        texts = [p["text"] for p in bot.sent()]
        assert len(texts) == 21 and "Pelan-pelan" in texts[20] and "20 kali" in texts[20]
    async with make_bot(rate_limit_per_minute=0) as bot:
        for _ in range(40):
            await bot.send(fakes.private_text("a"))
        assert not any("Pelan-pelan" in p["text"] for p in bot.sent())
        assert len(bot.sent()) == 40


@pytest.mark.parametrize("step", [0.01, 0.0], ids=["users come and go", "all at once"])
def test_rate_limit_memory_is_bounded(step: float) -> None:
    clock = [0.0]
    limit = QuestionRateLimit(1, clock=lambda: clock[0])
    for user_id in range(3 * MAX_TRACKED):
        clock[0] += step
        assert limit.check(user_id) == "allow"
        assert limit.tracked <= MAX_TRACKED
    assert limit.check(3 * MAX_TRACKED - 1) == "notify"  # the newest users are still counted


# -- allowed chats ------------------------------------------------------------------------


def bot_added(chat_id: int, status: str = "member") -> dict[str, Any]:
    """A my_chat_member update: the bot's status in group ``chat_id`` changed to ``status``."""
    me = fakes.bot_user()
    return {
        "update_id": 10**7 + abs(chat_id) % 1000 + len(status),
        "my_chat_member": {
            "chat": fakes.group_chat(chat_id),
            "from": fakes.user(),
            "date": int(time.time()),
            "old_chat_member": {"user": me, "status": "left"},
            "new_chat_member": {"user": me, "status": status},
        },
    }


async def test_a_foreign_group_is_told_once_and_left(make_bot: Any, errors: Any) -> None:
    async with make_bot(allowed_chat_ids=frozenset({GROUP_ID})) as bot:
        await bot.send(bot_added(OTHER_GROUP))
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}", chat_id=OTHER_GROUP))
        await bot.send(fakes.command("/divisi", group=True, chat_id=OTHER_GROUP))
        assert bot.api.texts_to(OTHER_GROUP) == [PRIVATE_BOT_HTML]
        assert [p["chat_id"] for p in bot.api.calls("leaveChat")][:1] == [OTHER_GROUP]
        assert bot.log.records == []
        # Telegram then reports the bot left: nothing more is said.
        await bot.send(bot_added(OTHER_GROUP, status="left"))
        assert bot.api.texts_to(OTHER_GROUP) == [PRIVATE_BOT_HTML]
        # The allowed group, and private chats (the list names no user), are served.
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}"))
        assert "Subbag SDM" in bot.api.texts_to(GROUP_ID)[-1]
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert "Sumber Daya Manusia" in bot.api.texts_to(STRANGER)[-1]
    assert [r for r in errors() if r.name != "bot.telegram.guards"] == []


async def test_the_admin_group_for_hand_offs_is_never_left(make_bot: Any) -> None:
    admin_group = -100_777
    async with make_bot(allowed_chat_ids=frozenset({GROUP_ID}), admin_chat_id=admin_group) as bot:
        await bot.send(bot_added(admin_group))
        assert not bot.api.calls("leaveChat")
        await bot.send(bot_added(OTHER_GROUP))
        assert bot.api.calls("leaveChat")


async def test_leaving_survives_a_group_where_the_bot_cannot_write(make_bot: Any, errors: Any) -> None:
    async with make_bot(allowed_chat_ids=frozenset({GROUP_ID})) as bot:
        bot.api.inject("sendMessage", ApiError(403, "Forbidden: bot is not a member of the supergroup chat"))
        await bot.send(bot_added(OTHER_GROUP))
        assert bot.api.calls("leaveChat")
    assert not any(r.name == "bot.telegram.error_handler" for r in errors())


async def test_without_allowed_chat_ids_every_chat_is_served(make_bot: Any) -> None:
    async with make_bot() as bot:
        await bot.send(fakes.mention(f"@{BOT_USERNAME} {SDM_QUESTION}", chat_id=OTHER_GROUP))
        assert "Subbag SDM" in bot.api.texts_to(OTHER_GROUP)[-1]
        assert not bot.api.calls("leaveChat")


async def test_private_chats_are_restricted_when_the_list_names_users(make_bot: Any, errors: Any) -> None:
    allowed = frozenset({GROUP_ID, USER_ID})
    async with make_bot(allowed_chat_ids=allowed, error_chat_id=ERROR_CHAT) as bot:
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sumber Daya Manusia" in bot.api.texts_to(USER_ID)[-1]
        for _ in range(3):  # a stranger is refused once, not once per message
            await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.texts_to(STRANGER) == [PRIVATE_BOT_HTML]
        bot.advance(601)
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.texts_to(STRANGER) == [PRIVATE_BOT_HTML] * 2
        await bot.send(fakes.callback("u1:div-teknis", user_id=STRANGER))
        assert bot.api.calls("answerCallbackQuery")[-1]["show_alert"] is True
        await bot.send(fakes.inline_query(SDM_QUESTION, user_id=STRANGER))
        assert bot.api.calls("answerInlineQuery")[-1]["results"] == []
        assert not bot.api.calls("leaveChat") and bot.log.records[-1].user_id == USER_ID
        # Admins may always use the bot in private; the error chat is never left.
        await bot.send(fakes.private_text(SDM_QUESTION, user_id=ADMIN_ID))
        assert "Sumber Daya Manusia" in bot.api.texts_to(ADMIN_ID)[-1]
        await bot.send(bot_added(ERROR_CHAT))
        assert not bot.api.calls("leaveChat")
    assert [r for r in errors() if r.name != "bot.telegram.guards"] == []
