"""End to end, staff in a conversation with the real ``python -m bot run`` process.

Buttons pressed by someone else never rewrite an answer, follow-ups are read with the
question they follow, small talk gets a short reply and stays off the review list, and
the replies fit a phone.
"""

from __future__ import annotations

from collections.abc import Callable

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

GROUP = -100_777
ASKER, COLLEAGUE, ADMIN = 800_001, 800_002, 42  # 42 is ADMIN_IDS in the process's environment
CLOSE_CALL = "monev keuangan kab/kota tugas siapa?"
BALLOT_BOXES = "siapa yang mengurus pengadaan kotak suara?"
DISTRIBUTION = "kalau distribusinya ke kab/kota?"


def buttons(call: Call) -> list[tuple[str, str]]:
    markup = call.params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def says(text: str) -> Callable[[Call], bool]:
    return lambda c: text in plain(c.params.get("text"))


def test_a_colleague_pressing_an_alternative_leaves_the_answer_intact(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    asker = api.user(ASKER, "Dedi")
    api.push_update(api.make_group_mention(GROUP, CLOSE_CALL, user=asker))
    answer = wait_while_alive(
        api, bot, message_to(GROUP, says("Divisi Keuangan")), REPLY_TIMEOUT, "the group answer"
    )
    (alternative,) = [data for _, data in buttons(answer) if data.startswith("a1:")]
    before = api.mark()

    api.press_button(answer.result, alternative, user=api.user(COLLEAGUE, "Sari"))
    card = wait_while_alive(
        api,
        bot,
        message_to(GROUP, lambda c: "📌 Tugas" in plain(c.params["text"]) and c is not answer),
        REPLY_TIMEOUT,
        "the alternative's card",
    )
    assert "Divisi Perencanaan dan Logistik" in plain(card.params["text"])
    assert card.result["reply_to_message"]["message_id"] == answer.result["message_id"]
    assert not [c for c in api.calls()[before:] if c.method.startswith("editMessage")]
    # The answer as Telegram keeps it: same text, still with its 👍/👎.
    kept = api.make_callback_query(answer.result, "noop")["callback_query"]["message"]
    assert kept["text"] == answer.result["text"]
    assert any(
        b["callback_data"].startswith("f1:") for row in kept["reply_markup"]["inline_keyboard"] for b in row
    )


def test_follow_ups_in_private_and_as_a_reply_in_the_group(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    api.send_private_text(ASKER, BALLOT_BOXES)
    wait_while_alive(api, bot, message_to(ASKER, says("Umum dan Logistik")), REPLY_TIMEOUT, "the answer")
    api.send_private_text(ASKER, "itu siapa sih yang ngurus?")
    follow_up = wait_while_alive(
        api, bot, message_to(ASKER, says("Menyambung pertanyaan")), REPLY_TIMEOUT, "the follow-up"
    )
    assert "Sub Bagian Umum dan Logistik" in plain(follow_up.params["text"])

    api.push_update(api.make_group_mention(GROUP, BALLOT_BOXES, user=api.user(ASKER)))
    answer = wait_while_alive(api, bot, message_to(GROUP, says("Umum dan Logistik")), REPLY_TIMEOUT, "answer")
    reply = api.make_message(
        api.group_chat(GROUP), DISTRIBUTION, user=api.user(COLLEAGUE), reply_to_message=answer.result
    )
    api.push_update(reply)
    combined = wait_while_alive(
        api, bot, message_to(GROUP, says("Menyambung pertanyaan")), REPLY_TIMEOUT, "the group follow-up"
    )
    assert "Divisi Perencanaan dan Logistik" in plain(combined.params["text"])


def test_small_talk_is_answered_briefly_and_not_put_up_for_review(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    for text, reply in (("makasih ya min", "Sama-sama"), ("pagi min", "Halo"), ("mau tanya dong", "Silakan")):
        api.send_private_text(ASKER, text)
        got = wait_while_alive(
            api, bot, message_to(ASKER, says(reply)), REPLY_TIMEOUT, f"a reply to {text!r}"
        )
        assert len(plain(got.params["text"])) < 160
    api.send_private_text(ASKER, "siapa yang urus klub mancing")
    wait_while_alive(api, bot, message_to(ASKER, says("dicatat")), REPLY_TIMEOUT, "the miss")

    api.send_command(ADMIN, "tinjau")
    review = wait_while_alive(api, bot, message_to(ADMIN, says("klub mancing")), REPLY_TIMEOUT, "the review")
    text = plain(review.params["text"])
    assert "mau tanya" not in text and "makasih" not in text and "pagi min" not in text


def test_short_on_a_phone_start_help_struktur_and_a_compact_group_answer_with_detail(
    fake_api: FakeBotApi, bot_process: BotProcess
) -> None:
    api, bot = fake_api, bot_process
    wait_until_ready(api, bot)
    api.send_command(ASKER, "start")
    start = wait_while_alive(api, bot, message_to(ASKER, says("Halo")), REPLY_TIMEOUT, "/start")
    assert len(buttons(start)) == 3 and all(len(label) <= 30 for label, _ in buttons(start))
    api.send_command(ASKER, "help")
    help_ = wait_while_alive(api, bot, message_to(ASKER, says("Perintah")), REPLY_TIMEOUT, "/help")
    assert plain(help_.params["text"]) != plain(start.params["text"]) and "/struktur" in plain(
        help_.params["text"]
    )
    api.send_command(ASKER, "struktur")
    tree = wait_while_alive(api, bot, message_to(ASKER, says("Struktur")), REPLY_TIMEOUT, "/struktur")
    assert not set("│├└") & set(plain(tree.params["text"]))

    api.push_update(api.make_group_mention(GROUP, BALLOT_BOXES, user=api.user(ASKER)))
    answer = wait_while_alive(api, bot, message_to(GROUP, says("Keyakinan")), REPLY_TIMEOUT, "the answer")
    assert len(plain(answer.params["text"]).splitlines()) <= 5
    (detail,) = [data for label, data in buttons(answer) if label == "🔎 Detail"]
    before = api.mark()
    api.press_button(answer.result, detail, user=api.user(COLLEAGUE))
    full = wait_while_alive(
        api, bot, message_to(GROUP, says("Tingkat keyakinan")), REPLY_TIMEOUT, "the full answer"
    )
    assert full.result["reply_to_message"]["message_id"] == answer.result["message_id"]
    assert "Sub Bagian Umum dan Logistik" in plain(full.params["text"])
    assert not [c for c in api.calls()[before:] if c.method.startswith("editMessage")]
