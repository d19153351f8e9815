"""The Telegram bot, offline: real KB and matcher, a recording fake of the Bot API.

Each test feeds the updates Telegram would send and asserts what a user would
see: the texts, the buttons, what was edited in place, and what was kept for
the admins. Every text the bot sends is also checked to be valid Telegram HTML
within the 4096-character limit.
"""

from __future__ import annotations

import io
import logging
import re
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from telegram import Update
from telegram.error import InvalidToken
from telegram.ext import Application

from bot.config import RedactingFilter, Settings
from bot.core.matcher import Matcher
from bot.core.model import Duty, KnowledgeBase, Level
from bot.storage import QueryRecord
from bot.telegram import app as telegram_app
from bot.telegram.app import build_application, run_bot
from bot.telegram.context import deps
from bot.text.answers import ADMIN_COMMANDS, EXAMPLE_QUESTIONS, PUBLIC_COMMANDS
from bot.text.html import utf16_length
from tests.support import fakes
from tests.support.fakes import BOT_USERNAME, GROUP_ID, TOKEN, USER_ID, FakeRequest, buttons

ADMIN_ID = 777
SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
ARSIP_QUESTION = "siapa yang mengelola arsip surat masuk?"
DAPIL_QUESTION = "penataan daerah pemilihan dan alokasi kursi"
CHATTER = "nanti siang makan di mana ya? ada yang mau nitip kopi?"


@dataclass
class Harness:
    """The application plus what it said (``api``) and what it logged (``log``)."""

    app: Application
    api: FakeRequest
    log: fakes.RecordingLog

    async def send(self, payload: dict[str, Any]) -> None:
        await self.app.process_update(fakes.to_update(payload, self.app.bot))

    def sent(self) -> list[dict[str, Any]]:
        return self.api.calls("sendMessage")


async def _harness(kb: KnowledgeBase, matcher: Matcher, **settings: Any) -> AsyncIterator[Harness]:
    api = FakeRequest()
    log = fakes.RecordingLog()
    app = build_application(
        Settings(token=TOKEN, **settings), kb, matcher, log, request=api, updates_request=api
    )
    async with app:
        assert app.post_init is not None
        await app.post_init(app)  # run_polling would call it; tests must do it themselves
        harness = Harness(app, api, log)
        yield harness
    assert not api.unexpected
    for text in api.sent_texts():
        assert utf16_length(text) <= 4096
        assert fakes.html_problems(text) == [], text


@pytest.fixture
async def bot(kb: KnowledgeBase, shared_matcher: Matcher) -> AsyncIterator[Harness]:
    async for harness in _harness(kb, shared_matcher, admin_ids=frozenset({ADMIN_ID})):
        harness.api.reset()  # forget start-up (getMe, setMyCommands)
        yield harness


# -- start-up ---------------------------------------------------------------------------


async def test_start_up_sets_public_commands_for_everyone_and_admin_ones_for_admins(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    async for h in _harness(kb, shared_matcher, admin_ids=frozenset({ADMIN_ID, 778})):
        menus = {(c["scope"]["type"], c["scope"].get("chat_id")): c for c in h.api.calls("setMyCommands")}
        public = [c["command"] for c in menus[("default", None)]["commands"]]
        assert public == [name for name, _ in PUBLIC_COMMANDS]
        assert "reload" not in public
        for admin in (ADMIN_ID, 778):
            admin_menu = {c["command"]: c["description"] for c in menus[("chat", admin)]["commands"]}
            assert set(admin_menu) == {n for n, _ in PUBLIC_COMMANDS + ADMIN_COMMANDS}
            assert admin_menu["divisi"].startswith("Daftar Divisi")


async def test_start_up_survives_an_admin_who_never_opened_the_bot(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    api = FakeRequest()
    app = build_application(
        Settings(token=TOKEN, admin_ids=frozenset({ADMIN_ID})),
        kb,
        shared_matcher,
        request=api,
        updates_request=api,
    )
    api.fail("setMyCommands", 400, "Bad Request: chat not found")
    async with app:
        await app.post_init(app)
    assert len(api.calls("setMyCommands")) == 2  # both menus tried, nothing raised


# -- /start and /help -------------------------------------------------------------------


async def test_start_introduces_the_bot_with_three_example_buttons(bot: Harness) -> None:
    await bot.send(fakes.command("/start"))
    (reply,) = bot.sent()
    assert "Tupoksi Bot" in reply["text"]
    assert "/divisi" in reply["text"] and "/struktur" in reply["text"]
    assert "/reload" not in reply["text"]  # not an admin
    labels = [label for label, _ in buttons(reply)]
    assert labels == list(EXAMPLE_QUESTIONS)
    assert all(data.startswith("q1:") for _, data in buttons(reply))


async def test_help_lists_admin_commands_only_for_admins_in_private(bot: Harness) -> None:
    await bot.send(fakes.command("/help", user_id=ADMIN_ID))
    assert "/reload" in bot.api.last_text() and "/unanswered" in bot.api.last_text()


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
    await bot.send(fakes.private_text("resep rendang padang yang enak"))
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

    api = FakeRequest()
    app = build_application(
        Settings(token=TOKEN), kb, shared_matcher, Broken(), request=api, updates_request=api
    )
    async with app:
        await app.process_update(fakes.to_update(fakes.private_text(SDM_QUESTION), app.bot))
    assert "Sub Bagian Sumber Daya Manusia" in api.last_text()
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
    assert "Divisi Teknis Penyelenggaraan" in reply["text"]
    assert bot.log.records[-1].source == "group"
    assert bot.log.records[-1].text == DAPIL_QUESTION


async def test_group_mention_in_the_middle_of_a_sentence(bot: Harness) -> None:
    await bot.send(fakes.mention(f"tolong @{BOT_USERNAME} {ARSIP_QUESTION}"))
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()


async def test_group_reply_to_the_bot_is_answered(bot: Harness) -> None:
    await bot.send(fakes.reply_to_bot(SDM_QUESTION))
    assert "Sub Bagian Sumber Daya Manusia" in bot.api.last_text()


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
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()
    assert bot.log.records[-1].text == ARSIP_QUESTION


async def test_tanya_addressed_to_this_bot_is_answered(bot: Harness) -> None:
    await bot.send(fakes.command(f"/tanya@{BOT_USERNAME} {ARSIP_QUESTION}", group=True))
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()


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
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()


async def test_bare_mention_under_a_colleagues_question_answers_it(bot: Harness) -> None:
    payload = fakes.reply_to_user(f"@{BOT_USERNAME}", ARSIP_QUESTION)
    payload["message"]["entities"] = [{"type": "mention", "offset": 0, "length": len(BOT_USERNAME) + 1}]
    await bot.send(payload)
    assert "Sub Bagian Umum dan Logistik" in bot.api.last_text()


async def test_unknown_commands_in_groups_stay_silent(bot: Harness) -> None:
    await bot.send(fakes.command("/apaini", group=True))
    assert bot.api.records == []


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


async def test_struktur_shows_every_unit_in_a_tree(bot: Harness, kb: KnowledgeBase) -> None:
    await bot.send(fakes.command("/struktur"))
    text = bot.api.last_text()
    for unit in kb.units:
        assert unit.short_name in text or unit.name in text
    assert "├" in text and "└" in text


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
    async for h in _harness(big, Matcher(big)):
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
        async for h in _harness(kb, shared_matcher):
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


# -- building and running ---------------------------------------------------------------


async def test_api_base_url_points_the_bot_at_another_server(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    settings = Settings(token=TOKEN, api_base_url="http://127.0.0.1:8081/bot")
    app = build_application(
        settings, kb, shared_matcher, request=FakeRequest(), updates_request=FakeRequest()
    )
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{TOKEN}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{TOKEN}"
    assert app.bot.defaults is not None and app.bot.defaults.parse_mode == "HTML"


class _Runs:
    """Stands in for PTB's run_polling/run_webhook and records how they were called."""

    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.error = error

    def polling(self, app: Application, **kwargs: Any) -> None:
        self.calls.append(("polling", kwargs))
        if self.error:
            raise self.error

    def webhook(self, app: Application, **kwargs: Any) -> None:
        self.calls.append(("webhook", kwargs))


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> _Runs:
    recorder = _Runs()
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)  # keep pytest's logging
    # Plain functions, so they bind to the application like the methods they replace.
    monkeypatch.setattr(Application, "run_polling", lambda app, **kw: recorder.polling(app, **kw))
    monkeypatch.setattr(Application, "run_webhook", lambda app, **kw: recorder.webhook(app, **kw))
    return recorder


def test_run_long_polls_all_update_types_and_stops_on_sigint_and_sigterm(runs: _Runs) -> None:
    assert run_bot(Settings(token=TOKEN)) == 0
    ((mode, kwargs),) = runs.calls
    assert mode == "polling"
    assert kwargs["allowed_updates"] == Update.ALL_TYPES
    assert {signal.SIGINT, signal.SIGTERM} <= set(kwargs["stop_signals"])


def test_run_uses_a_webhook_when_one_is_configured(runs: _Runs) -> None:
    settings = Settings(
        token=TOKEN, webhook_url="https://bot.example.org/tg/hook", webhook_port=9000, webhook_secret="s3cret"
    )
    assert run_bot(settings) == 0
    ((mode, kwargs),) = runs.calls
    assert mode == "webhook"
    assert kwargs["webhook_url"] == "https://bot.example.org/tg/hook"
    assert (kwargs["url_path"], kwargs["port"], kwargs["secret_token"]) == ("tg/hook", 9000, "s3cret")


def test_run_with_a_rejected_token_says_so_in_one_line(
    runs: _Runs, capsys: pytest.CaptureFixture[str]
) -> None:
    runs.error = InvalidToken(f"The token `{TOKEN}` was rejected by the server.")
    assert run_bot(Settings(token=TOKEN)) == 2
    err = capsys.readouterr().err
    assert err == "tupoksi: Telegram rejected TELEGRAM_BOT_TOKEN: check it with @BotFather\n"
