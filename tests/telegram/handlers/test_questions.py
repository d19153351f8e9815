"""Questions through the real application: private chats, groups (mention, reply, /tanya), hostile input.

Each test feeds the updates Telegram would send and asserts what a user would see and
what was kept for the admins; the harness checks every text is valid Telegram HTML.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import replace

import pytest

from bot.config import RedactingFilter
from bot.core.matcher import Matcher
from bot.core.model import Duty, KnowledgeBase
from bot.storage import QueryRecord
from bot.text.html import utf16_length
from tests.support import fakes
from tests.support.fakes import BOT_USERNAME, GROUP_ID, TOKEN, USER_ID, buttons
from tests.support.harness import Harness, running

SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
ARSIP_QUESTION = "siapa yang mengelola arsip surat masuk?"
DAPIL_QUESTION = "penataan daerah pemilihan dan alokasi kursi"
CHATTER = "nanti siang makan di mana ya? ada yang mau nitip kopi?"


# -- questions in a private chat --------------------------------------------------------


async def test_private_question_names_divisi_subbag_bagian_duty_and_confidence(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))
    (reply,) = bot.sent()
    text = reply["text"]
    assert reply["chat_id"] == USER_ID
    assert "<b>Divisi</b>: Divisi Sumber Daya Manusia dan Litbang" in text
    assert "<b>Sub Bagian</b>: Sub Bagian Sumber Daya Manusia (Bagian Program" in text
    assert re.search(r"📌 Tugas #\d+: <i>", text)
    assert "Tingkat keyakinan:" in text
    assert reply["parse_mode"] == "HTML"
    assert reply["link_preview_options"] == {"is_disabled": True}
    assert "reply_parameters" not in reply  # no quoting in a private chat


async def test_private_question_is_logged_with_a_query_id(bot: Harness) -> None:
    await bot.send(fakes.private_text(ARSIP_QUESTION))
    (record,) = bot.log.records
    assert re.fullmatch(r"[0-9a-f]{16}", record.id)  # bot.storage.new_query_id: fits callback data
    assert (record.source, record.chat_type, record.chat_id, record.user_id) == (
        "private",
        "private",
        USER_ID,
        USER_ID,
    )
    assert record.text == ARSIP_QUESTION and record.answered
    assert record.subbag_id == "subbag-umum-logistik"
    assert record.duty_ref and record.duty_ref.count("#") == 1
    assert record.latency_ms is not None and record.latency_ms >= 0
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()


async def test_not_found_is_polite_hints_how_to_ask_and_is_kept(bot: Harness) -> None:
    await bot.send(fakes.private_text("siapa yang urus klub mancing"))
    text = bot.api.last_text()
    assert text.startswith("🙏 Maaf")
    assert "kata kunci" in text  # the hint on how to ask
    assert "dicatat" in text  # kept for the admins
    assert bot.log.records[-1].answered is False
    for _, data in buttons(bot.sent()[-1]):
        assert data.startswith("u1:")  # nearest units, if any, open unit cards


async def test_a_broken_query_log_does_not_stop_the_answer(
    kb: KnowledgeBase, shared_matcher: Matcher, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken:
        def log(self, record: QueryRecord) -> None:
            raise RuntimeError("disk full")

    async with running(kb, shared_matcher, Broken()) as bot:
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sub Bagian Sumber Daya Manusia" in bot.last()
    assert "query log failed" in caplog.text


async def test_edited_messages_are_not_answered_again(bot: Harness) -> None:
    await bot.send(fakes.edited(fakes.private_text(SDM_QUESTION)))
    assert bot.sent() == []


async def test_unknown_command_in_private_points_to_help(bot: Harness) -> None:
    await bot.send(fakes.command("/apaini"))
    assert "/help" in bot.api.last_text()


# -- groups -----------------------------------------------------------------------------


async def test_group_mention_is_answered_as_a_reply_without_the_mention(bot: Harness) -> None:
    payload = fakes.mention(f"@{BOT_USERNAME} {DAPIL_QUESTION}")
    await bot.send(payload)
    (reply,) = bot.sent()
    assert reply["chat_id"] == GROUP_ID
    assert reply["reply_parameters"]["message_id"] == payload["message"]["message_id"]
    assert "Divisi Teknis" in reply["text"]
    assert bot.log.records[-1].source == "group"
    assert bot.log.records[-1].text == DAPIL_QUESTION


async def test_group_mention_in_the_middle_of_a_sentence(bot: Harness) -> None:
    await bot.send(fakes.mention(f"tolong @{BOT_USERNAME} {ARSIP_QUESTION}"))
    assert "Subbag Umum dan Logistik" in bot.api.last_text()


async def test_group_reply_to_the_bot_is_answered(bot: Harness) -> None:
    await bot.send(fakes.reply_to_bot(SDM_QUESTION))
    assert "Subbag SDM" in bot.api.last_text()


async def test_group_chatter_is_ignored(bot: Harness) -> None:
    await bot.send(fakes.group_text(CHATTER))
    await bot.send(fakes.group_text(SDM_QUESTION))  # a question, but not for the bot
    await bot.send(fakes.reply_to_user(SDM_QUESTION, "siapa tahu?"))
    await bot.send(fakes.mention(f"@someone_else {SDM_QUESTION}", username="someone_else"))
    assert bot.api.records == []
    assert bot.log.records == []


async def test_thanks_in_reply_to_the_bot_gets_no_reply(bot: Harness) -> None:
    await bot.send(fakes.reply_to_bot("terima kasih"))
    assert bot.sent() == []


async def test_bare_mention_explains_how_to_ask(bot: Harness) -> None:
    await bot.send(fakes.mention(f"@{BOT_USERNAME}"))
    assert "Tulis pertanyaannya" in bot.api.last_text()


async def test_tanya_in_a_group_is_answered(bot: Harness) -> None:
    await bot.send(fakes.command(f"/tanya {ARSIP_QUESTION}", group=True))
    assert "Subbag Umum dan Logistik" in bot.api.last_text()
    assert bot.log.records[-1].text == ARSIP_QUESTION


async def test_tanya_addressed_to_this_bot_is_answered(bot: Harness) -> None:
    await bot.send(fakes.command(f"/tanya@{BOT_USERNAME} {ARSIP_QUESTION}", group=True))
    assert "Subbag Umum dan Logistik" in bot.api.last_text()


async def test_commands_for_another_bot_are_ignored(bot: Harness) -> None:
    for text in (f"/tanya@OtherBot {ARSIP_QUESTION}", "/divisi@OtherBot", "/start@OtherBot"):
        await bot.send(fakes.command(text, group=True))
    assert bot.api.records == []


async def test_empty_tanya_shows_how_to_use_it(bot: Harness) -> None:
    await bot.send(fakes.command("/tanya", group=True))
    assert "<code>/tanya" in bot.api.last_text()
    assert bot.log.records == []


async def test_tanya_as_a_reply_answers_the_colleagues_question(bot: Harness) -> None:
    payload = fakes.reply_to_user("/tanya", ARSIP_QUESTION)
    payload["message"]["entities"] = [{"type": "bot_command", "offset": 0, "length": 6}]
    await bot.send(payload)
    assert "Subbag Umum dan Logistik" in bot.api.last_text()


async def test_bare_mention_under_a_colleagues_question_answers_it(bot: Harness) -> None:
    payload = fakes.reply_to_user(f"@{BOT_USERNAME}", ARSIP_QUESTION)
    payload["message"]["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    await bot.send(payload)
    assert "Subbag Umum dan Logistik" in bot.api.last_text()


async def test_unknown_commands_in_groups_stay_silent(bot: Harness) -> None:
    await bot.send(fakes.command("/apaini", group=True))
    assert bot.api.records == []


# -- hostile input, long messages, secrets ----------------------------------------------

HOSTILE = '<script>alert("x")</script> & <b>tebal</b> &amp;'


async def test_hostile_input_is_escaped_everywhere_it_is_echoed(bot: Harness) -> None:
    await bot.send(fakes.command(f"/divisi {HOSTILE}"))
    await bot.send(fakes.inline_query(f"{HOSTILE} {SDM_QUESTION}"))
    await bot.send(fakes.private_text(HOSTILE))
    await bot.send(fakes.mention(f"@{BOT_USERNAME} {HOSTILE}"))
    not_found = bot.sent()[0]["text"]
    assert '&lt;script&gt;alert("x")&lt;/script&gt; &amp; &lt;b&gt;tebal&lt;/b&gt; &amp;amp;' in not_found
    inline = bot.api.calls("answerInlineQuery")[0]["results"]
    assert inline, "the SDM question should still be recognised"
    for result in inline:
        assert "&lt;script&gt;" in result["input_message_content"]["message_text"]
        assert "<script>" not in result["input_message_content"]["message_text"]
    for text in bot.api.sent_texts():
        assert "<script>" not in text and "<b>tebal" not in text


def _kb_with_many_duties(kb: KnowledgeBase, unit_id: str, copies: int) -> KnowledgeBase:
    unit = kb.unit(unit_id)
    duties = tuple(
        Duty(unit_id, n, f"{unit.duties[(n - 1) % len(unit.duties)].text} <&> bagian {n}")
        for n in range(1, copies + 1)
    )
    units = tuple(replace(u, duties=duties) if u.id == unit_id else u for u in kb.units)
    return replace(kb, units=units)


async def test_a_card_longer_than_telegram_allows_is_split_cleanly(kb: KnowledgeBase) -> None:
    big = _kb_with_many_duties(kb, "subbag-sdm", 120)
    async with running(big, Matcher(big), forget_start=False) as h:
        h.api.reset()
        await h.send(fakes.command("/subbag sdm"))
        parts = h.sent()
        assert len(parts) >= 2
        assert all(utf16_length(p["text"]) <= 4096 for p in parts)
        assert all(not buttons(p) for p in parts[:-1]) and buttons(parts[-1])
        whole = "\n".join(p["text"] for p in parts)
        assert all(f"\n{n}. " in whole for n in range(2, 121))
        assert "Divisi terkait" in parts[-1]["text"]
        # The same card from a button: the first part replaces the message, the rest follow.
        h.api.reset()
        await h.send(fakes.callback("u1:subbag-sdm"))
        assert h.api.methods()[:2] == ["answerCallbackQuery", "editMessageText"]
        assert "sendMessage" in h.api.methods()[2:]


async def test_the_token_never_reaches_the_logs(kb: KnowledgeBase, shared_matcher: Matcher) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter([TOKEN]))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        async with running(kb, shared_matcher, forget_start=False) as h:
            await h.send(fakes.private_text(SDM_QUESTION))
            await h.send(fakes.callback("u1:div-teknis"))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    output = stream.getvalue()
    assert "<redacted>" in output  # PTB logs the API URL (with the token) at DEBUG
    assert TOKEN not in output and TOKEN.partition(":")[2] not in output


async def test_a_user_who_blocked_the_bot_is_logged_not_raised(
    bot: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    bot.api.fail("sendMessage", 403, "Forbidden: bot was blocked by the user")
    await bot.send(fakes.private_text(SDM_QUESTION))
    assert bot.api.methods() == ["sendMessage"]
    assert "error while handling an update" in caplog.text
    assert len(bot.log.records) == 1  # the question is still kept
