"""End to end, issue 14 part A, against the real ``python -m bot run`` process:
contacts set with /kontak and asked for, a question handed to the admin and answered in
the group as a reply, and a fact question that names the unit to ask."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.bot_process import (
    REPLY_TIMEOUT,
    BotProcess,
    message_to,
    plain,
    wait_until_ready,
    wait_while_alive,
)
from tests.support.fake_bot_api import Call, FakeBotApi

pytestmark = pytest.mark.e2e

ADMIN = 42  # ADMIN_IDS in the process's environment


def _buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def _sent_id(call: Call) -> Any:
    return call.params.get("message_id") or call.result["message_id"]


def test_an_admin_sets_a_contact_and_staff_get_it(fake_api: FakeBotApi, bot_process: BotProcess) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    api.send_command(ADMIN, "kontak", "subbag keuangan Kasubbag: Rina Marlina, @rina_keu, 0254-200123")
    wait_while_alive(
        api, bot, message_to(ADMIN, lambda c: "Disimpan" in plain(c.params["text"])), REPLY_TIMEOUT, "saved"
    )

    asker = 700_201
    api.send_private_text(asker, "siapa kasubbag keuangan sekarang?")
    reply = wait_while_alive(api, bot, message_to(asker), REPLY_TIMEOUT, "the contact answer")
    text = str(reply.params["text"])
    assert "Rina Marlina" in text and "0254-200123" in text
    assert 'href="https://t.me/rina_keu"' in text and "@rina_keu" not in text


def test_a_group_question_handed_to_the_admin_is_answered_as_a_reply(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    group = -700_301
    asked = api.send_group_mention(group, "siapa yang urus klub mancing")
    question_id = asked["message"]["message_id"]
    answer = wait_while_alive(api, bot, message_to(group), REPLY_TIMEOUT, "the unsure answer")
    (handoff,) = [data for label, data in _buttons(answer) if label == "🙋 Tanyakan ke admin"]

    api.press_button(answer.result, handoff)  # pressed by the asker (the same test user)
    wait_while_alive(
        api,
        bot,
        message_to(group, lambda c: "diteruskan ke admin" in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "ok",
    )
    to_admin = wait_while_alive(
        api,
        bot,
        message_to(ADMIN, lambda c: "klub mancing" in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "hand-off",
    )
    assert "Grup Uji" in plain(to_admin.params["text"])
    (jawab,) = [data for label, data in _buttons(to_admin) if label.startswith("🎓 Jawab")]
    api.press_button(to_admin.result, jawab)
    menu = wait_while_alive(
        api,
        bot,
        message_to(ADMIN, lambda c: "Ajarkan jawaban" in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "menu",
    )
    (unit,) = [data for _, data in _buttons(menu) if data.endswith(":subbag-umum-logistik")]
    api.press_button(int(_sent_id(menu)), unit, chat_id=ADMIN)

    delivered = wait_while_alive(
        api,
        bot,
        message_to(group, lambda c: "Jawaban dari admin" in plain(c.params["text"])),
        REPLY_TIMEOUT,
        "answer",
    )
    assert "Umum dan Logistik" in plain(delivered.params["text"])
    assert f"'message_id': {question_id}" in str(delivered.params.get("reply_parameters")).replace('"', "'")


def test_a_fact_question_names_the_unit_to_ask(fake_api: FakeBotApi, bot_process: BotProcess) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    asker = 700_401
    api.send_private_text(asker, "kapan batas akhir upload SPJ bulan ini?")
    reply = wait_while_alive(api, bot, message_to(asker), REPLY_TIMEOUT, "the referral")
    text = plain(reply.params["text"])
    assert "tidak bisa memastikan tanggal" in text and "Sub Bagian Keuangan" in text
