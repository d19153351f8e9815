"""End to end: the real ``python -m bot run`` process against the fake Bot API server.

A thin layer on top of the in-process handler tests: it proves that the process
starts from the environment alone, long-polls, answers over HTTP, and stops
cleanly on SIGTERM without ever printing the token.
"""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import pytest

from tests.support.bot_process import (
    REPLY_TIMEOUT,
    STOP_TIMEOUT,
    TOKEN,
    TOKEN_SECRET,
    BotProcess,
    button_count,
    mentions_sdm,
    message_to,
    plain,
    tail,
    wait_until_ready,
    wait_while_alive,
)
from tests.support.fake_bot_api import Call, FakeBotApi

pytestmark = pytest.mark.e2e


def test_real_bot_process_answers_and_stops_cleanly(fake_api: FakeBotApi, bot_process: BotProcess) -> None:
    api, bot = fake_api, bot_process

    # Start-up: getMe, the command menus, then long polling.
    wait_until_ready(api, bot)
    wait_while_alive(api, bot, lambda c: c.method == "getMe", 1, "getMe")
    assert api.commands(), "setMyCommands should publish a default command menu"

    # A private question is answered in HTML, naming the Sub Bagian.
    question_chat = 700_001
    api.send_private_text(question_chat, "siapa yang mengurus kenaikan gaji berkala pegawai?")
    answer = wait_while_alive(
        api,
        bot,
        message_to(question_chat, mentions_sdm),
        REPLY_TIMEOUT,
        "an answer naming Sub Bagian Sumber Daya Manusia",
    )
    assert str(answer.params.get("parse_mode", "")).upper() == "HTML"
    assert "divisi" in plain(answer.params["text"]).lower()

    # /divisi lists the seven Divisi as inline buttons.
    list_chat = 700_002
    api.send_command(list_chat, "divisi")
    listing = wait_while_alive(
        api,
        bot,
        message_to(list_chat, lambda c: button_count(c) == 7),
        REPLY_TIMEOUT,
        "a /divisi reply with 7 buttons",
    )

    # Pressing a button (a callback query with chat_instance) is answered and acted on.
    first_button = listing.params["reply_markup"]["inline_keyboard"][0][0]
    pressed = api.press_button(listing.result, first_button["callback_data"])
    query_id = pressed["callback_query"]["id"]
    wait_while_alive(
        api,
        bot,
        lambda c: c.method == "answerCallbackQuery" and c.params.get("callback_query_id") == query_id,
        REPLY_TIMEOUT,
        "answerCallbackQuery for the pressed button",
    )
    wait_while_alive(
        api,
        bot,
        lambda c: (
            c.ok
            and c.params.get("chat_id") == list_chat
            and (
                (c.method == "editMessageText" and c.params.get("message_id") == listing.result["message_id"])
                or (c.method == "sendMessage" and c is not listing)
            )
        ),
        REPLY_TIMEOUT,
        "the Divisi card after the button press",
    )

    # In a group, a message mentioning @TupoksiBot is answered in that group.
    group_chat = -700_003
    api.send_group_mention(group_chat, "siapa yang mengurus kenaikan gaji berkala pegawai?")
    wait_while_alive(api, bot, message_to(group_chat, mentions_sdm), REPLY_TIMEOUT, "an answer in the group")

    # SIGTERM: a clean stop with exit code 0.
    bot.proc.send_signal(signal.SIGTERM)
    try:
        code = bot.proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the bot did not exit within {STOP_TIMEOUT}s of SIGTERM")
    output = bot.output()
    assert code == 0, tail(output)
    assert TOKEN not in output
    assert TOKEN_SECRET not in output
    assert "Traceback" not in output, tail(output)

    # Long polling, not a busy loop: a handful of getUpdates calls, all but the last waiting.
    polls = api.calls("getUpdates")
    assert len(polls) < 50, f"{len(polls)} getUpdates calls: is the bot long polling?"
    assert all(float(c.params.get("timeout") or 0) > 0 for c in polls[:-1])
    assert not [c for c in api.calls() if c.status != 200 and c.method != "getUpdates"]


def _buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def test_review_teach_reask_and_export_in_the_real_process(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    """An admin reviews an unanswered question, teaches its unit and duty, the asker's next
    question is answered with that duty, and the export arrives as an Excel workbook."""
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    asker, admin = 700_101, 42  # 42 is ADMIN_IDS in the process's environment
    question = "siapa yang urus klub mancing"

    api.send_private_text(asker, question)
    wait_while_alive(
        api,
        bot,
        message_to(asker, lambda c: "dicatat" in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "not found",
    )

    api.send_command(admin, "tinjau")
    listing = wait_while_alive(
        api,
        bot,
        message_to(admin, lambda c: question in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "review list",
    )
    (teach,) = [data for label, data in _buttons(listing) if label.startswith("🎓")]
    api.press_button(listing.result, teach)

    def edited(check: str) -> Callable[[Call], bool]:
        return lambda c: (
            c.method in ("editMessageText", "sendMessage")
            and c.ok
            and c.params.get("chat_id") == admin
            and check in plain(c.params.get("text"))
        )

    menu = wait_while_alive(api, bot, edited("Ajarkan jawaban"), REPLY_TIMEOUT, "the teach menu")
    (unit,) = [data for _, data in _buttons(menu) if data.endswith(":subbag-sdm")]
    api.press_button(int(menu.params.get("message_id") or menu.result["message_id"]), unit, chat_id=admin)
    duties = wait_while_alive(api, bot, edited("Tugas Subbag SDM yang mana?"), REPLY_TIMEOUT, "the duty menu")
    (duty,) = [data for label, data in _buttons(duties) if label.startswith("#3 ")]
    api.press_button(int(duties.params["message_id"]), duty, chat_id=admin)
    wait_while_alive(
        api, bot, lambda c: c.method == "answerCallbackQuery" and "#3" in str(c.params), 10, "ok"
    )

    # The asker, asking in other words, now gets the taught unit and the duty picked.
    api.send_private_text(asker, "klub mancing pegawai dikelola siapa?")
    answer = wait_while_alive(api, bot, message_to(asker, mentions_sdm), REPLY_TIMEOUT, "the taught answer")
    assert "Tugas #3" in plain(answer.params["text"])

    api.send_command(admin, "ekspor")
    export = wait_while_alive(
        api,
        bot,
        lambda c: c.method == "sendDocument" and c.ok and c.params.get("chat_id") == admin,
        REPLY_TIMEOUT,
        "the export",
    )
    assert str(export.result["document"]["file_name"]).endswith(".xlsx")
