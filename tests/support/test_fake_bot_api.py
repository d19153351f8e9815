"""Fast tests of the fake Bot API server used by the end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, RetryAfter

from tests.support.fake_bot_api import BOT_USERNAME, Call, FakeBotApi, UploadedFile

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789"


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi(TOKEN) as api:
        yield api


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy configured in the environment must not see 127.0.0.1.
    with httpx.Client(trust_env=False, timeout=10) as c:
        yield c


def url(fake: FakeBotApi, method: str, token: str = TOKEN) -> str:
    return f"{fake.base_url}{token}/{method}"


def test_get_me_returns_a_full_bot_user(fake: FakeBotApi, client: httpx.Client) -> None:
    body = client.get(url(fake, "getMe")).json()
    assert body["ok"] is True
    me = body["result"]
    assert me["id"] == 123456
    assert me["is_bot"] is True
    assert me["first_name"]
    assert me["username"] == BOT_USERNAME
    assert fake.base_url.startswith("http://127.0.0.1:")
    assert fake.base_url.endswith("/bot")


async def test_long_poll_returns_early_when_an_update_is_pushed(fake: FakeBotApi) -> None:
    async with httpx.AsyncClient(trust_env=False, timeout=30) as client:
        started = time.monotonic()
        poll = asyncio.create_task(client.post(url(fake, "getUpdates"), json={"timeout": 20}))
        await asyncio.to_thread(fake.wait_until_polling, 5)
        assert not poll.done()
        pushed = fake.send_private_text(1001, "halo")
        response = await asyncio.wait_for(poll, 5)
    elapsed = time.monotonic() - started
    assert elapsed < 5
    result = response.json()["result"]
    assert [u["update_id"] for u in result] == [pushed["update_id"]]
    assert result[0]["message"]["text"] == "halo"
    assert result[0]["message"]["chat"] == {
        "id": 1001,
        "type": "private",
        "first_name": "Penguji",
        "username": "user1001",
    }


def test_long_poll_waits_for_the_timeout_when_idle(fake: FakeBotApi, client: httpx.Client) -> None:
    started = time.monotonic()
    body = client.post(url(fake, "getUpdates"), data={"timeout": "0.3"}).json()
    elapsed = time.monotonic() - started
    assert body == {"ok": True, "result": []}
    assert 0.25 <= elapsed < 3


def test_offset_acknowledges_earlier_updates_and_limit_caps(fake: FakeBotApi, client: httpx.Client) -> None:
    ids = [fake.send_private_text(2000 + i, f"pesan {i}")["update_id"] for i in range(3)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 3

    def get(**params: object) -> list[int]:
        body = client.post(url(fake, "getUpdates"), json=params).json()
        assert body["ok"] is True
        return [u["update_id"] for u in body["result"]]

    assert get() == ids  # no offset: nothing acknowledged
    assert get() == ids
    assert get(limit=1) == ids[:1]
    assert get(offset=ids[1]) == ids[1:]  # acknowledges ids[0]
    assert get() == ids[1:]
    assert get(offset=ids[2] + 1, timeout=0) == []
    assert fake.pending_updates() == []


def test_offset_and_timeout_accepted_as_query_string(fake: FakeBotApi, client: httpx.Client) -> None:
    first = fake.send_private_text(1, "a")["update_id"]
    second = fake.send_private_text(1, "b")["update_id"]
    body = client.get(url(fake, "getUpdates"), params={"offset": second, "timeout": 0}).json()
    assert [u["update_id"] for u in body["result"]] == [second]
    assert first < second


def test_unknown_method_is_404(fake: FakeBotApi, client: httpx.Client) -> None:
    response = client.post(url(fake, "sendTelepathy"), json={"chat_id": 1})
    assert response.status_code == 404
    assert response.json() == {
        "ok": False,
        "error_code": 404,
        "description": "Not Found: method not found",
    }
    assert fake.calls("sendTelepathy")[0].status == 404


def test_wrong_token_is_401(fake: FakeBotApi, client: httpx.Client) -> None:
    response = client.post(url(fake, "getMe", token="999:WRONG"))
    assert response.status_code == 401
    assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    assert fake.calls() == []


def test_path_outside_the_bot_api_is_404(fake: FakeBotApi, client: httpx.Client) -> None:
    response = client.get(f"{fake.url}/")
    assert response.status_code == 404
    assert response.json()["ok"] is False


def test_multipart_upload_is_recorded(fake: FakeBotApi, client: httpx.Client) -> None:
    content = b"%PDF-1.4 laporan\n" * 100
    response = client.post(
        url(fake, "sendDocument"),
        data={"chat_id": "555", "caption": "<b>Laporan</b>", "parse_mode": "HTML"},
        files={"document": ("laporan.pdf", content, "application/pdf")},
    )
    body = response.json()
    assert body["ok"] is True, body
    message = body["result"]
    assert message["chat"]["id"] == 555
    assert message["document"]["file_name"] == "laporan.pdf"
    assert message["document"]["file_size"] == len(content)
    assert message["caption"] == "Laporan"

    call = fake.wait_for("sendDocument", timeout=5)
    upload = call.params["document"]
    assert isinstance(upload, UploadedFile)
    assert (upload.filename, upload.size, upload.content_type) == (
        "laporan.pdf",
        len(content),
        "application/pdf",
    )
    assert upload.content == content
    assert call.params["chat_id"] == 555
    assert call.params["caption"] == "<b>Laporan</b>"

    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    photo = client.post(
        url(fake, "sendPhoto"),
        data={"chat_id": "555"},
        files={"photo": ("grafik.png", png, "image/png")},
    ).json()["result"]
    assert photo["photo"][0]["file_size"] == len(png)
    assert photo["message_id"] == message["message_id"] + 1
    recorded = fake.calls("sendPhoto")[0].params["photo"]
    assert (recorded.filename, recorded.size) == ("grafik.png", len(png))


def test_send_message_returns_full_messages_numbered_per_chat(fake: FakeBotApi, client: httpx.Client) -> None:
    keyboard = {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}
    first = client.post(
        url(fake, "sendMessage"),
        data={
            "chat_id": "77",
            "text": "<b>Divisi</b> &amp; Sub Bagian",
            "parse_mode": "HTML",
            "reply_markup": json.dumps(keyboard),
        },
    ).json()["result"]
    second = client.post(url(fake, "sendMessage"), json={"chat_id": 77, "text": "42"}).json()
    other = client.get(url(fake, "sendMessage"), params={"chat_id": -88, "text": "x"}).json()

    assert first["message_id"] == 1
    assert second["result"]["message_id"] == 2
    assert other["result"]["message_id"] == 1
    assert other["result"]["chat"]["type"] == "group"
    assert first["text"] == "Divisi & Sub Bagian"
    assert first["from"]["is_bot"] is True
    assert first["from"]["username"] == BOT_USERNAME
    assert first["chat"] == {"id": 77, "type": "private", "first_name": "Penguji", "username": "user77"}
    assert abs(first["date"] - time.time()) < 60  # seconds, not milliseconds
    assert first["reply_markup"] == keyboard

    calls = fake.calls("sendMessage")
    assert calls[0].params["reply_markup"] == keyboard  # JSON-encoded form value decoded
    assert calls[0].params["text"] == "<b>Divisi</b> &amp; Sub Bagian"
    assert calls[1].params["text"] == "42"  # text stays a string
    assert [m["message_id"] for m in fake.sent_messages(77)] == [1, 2]
    assert len(fake.sent_messages()) == 3


def test_empty_text_is_a_bad_request(fake: FakeBotApi, client: httpx.Client) -> None:
    response = client.post(url(fake, "sendMessage"), json={"chat_id": 1, "text": " "})
    assert response.status_code == 400
    assert response.json()["description"] == "Bad Request: message text is empty"


def test_builders_make_mentions_commands_and_callbacks(fake: FakeBotApi) -> None:
    mention = fake.make_group_mention(-100, "siapa yang mengurus arsip?")["message"]
    assert mention["text"] == "@TupoksiBot siapa yang mengurus arsip?"
    assert mention["entities"] == [{"type": "mention", "offset": 0, "length": 11}]
    assert mention["chat"]["type"] == "group"
    assert mention["from"]["id"] != mention["chat"]["id"]

    command = fake.make_command(5, "divisi", "semua")["message"]
    assert command["text"] == "/divisi semua"
    assert command["entities"] == [{"type": "bot_command", "offset": 0, "length": 7}]
    addressed = fake.make_command(-100, "/divisi", chat_type="group", mention_bot=True)
    assert addressed["message"]["text"] == "/divisi@TupoksiBot"
    assert addressed["message"]["entities"][0]["length"] == len("/divisi@TupoksiBot")

    with pytest.raises(KeyError):
        fake.make_callback_query(999, "x", chat_id=5)


def test_edit_and_callback_query_on_a_sent_message(fake: FakeBotApi, client: httpx.Client) -> None:
    keyboard = {"inline_keyboard": [[{"text": "Teknis", "callback_data": "div:teknis"}]]}
    sent = client.post(
        url(fake, "sendMessage"), json={"chat_id": 9, "text": "pilih", "reply_markup": keyboard}
    ).json()["result"]

    update = fake.press_button(sent, "div:teknis")
    query = update["callback_query"]
    assert query["data"] == "div:teknis"
    assert query["chat_instance"]
    assert query["message"]["message_id"] == sent["message_id"]
    assert query["message"]["reply_markup"] == keyboard
    assert query["from"]["id"] == 9

    edited = client.post(
        url(fake, "editMessageText"),
        json={"chat_id": 9, "message_id": sent["message_id"], "text": "Divisi Teknis"},
    ).json()
    assert edited["ok"] is True
    assert edited["result"]["text"] == "Divisi Teknis"
    assert "edit_date" in edited["result"]
    assert "reply_markup" not in edited["result"]
    assert fake.sent_messages(9)[0]["text"] == "Divisi Teknis"

    same = client.post(
        url(fake, "editMessageText"),
        json={"chat_id": 9, "message_id": sent["message_id"], "text": "Divisi Teknis"},
    )
    assert same.status_code == 400
    assert "message is not modified" in same.json()["description"]
    missing = client.post(url(fake, "editMessageText"), json={"chat_id": 9, "message_id": 404, "text": "x"})
    assert missing.json()["description"] == "Bad Request: message to edit not found"
    assert client.post(url(fake, "answerCallbackQuery"), json={"callback_query_id": "1"}).json() == {
        "ok": True,
        "result": True,
    }


def test_commands_set_get_delete(fake: FakeBotApi, client: httpx.Client) -> None:
    commands = [{"command": "divisi", "description": "Daftar divisi"}]
    assert client.post(url(fake, "setMyCommands"), json={"commands": commands}).json()["result"]
    assert client.post(url(fake, "getMyCommands")).json()["result"] == commands
    assert fake.commands() == commands
    assert client.post(url(fake, "deleteMyCommands")).json()["result"] is True
    assert client.post(url(fake, "getMyCommands")).json()["result"] == []
    bad = client.post(url(fake, "setMyCommands"), json={"commands": [{"command": "Bad Cmd"}]})
    assert bad.status_code == 400


def test_simple_methods_answer_true(fake: FakeBotApi, client: httpx.Client) -> None:
    for method in (
        "deleteWebhook",
        "setWebhook",
        "answerInlineQuery",
        "leaveChat",
        "sendChatAction",
    ):
        assert client.post(url(fake, method), json={"chat_id": 1}).json() == {
            "ok": True,
            "result": True,
        }, method
    chat = client.post(url(fake, "getChat"), json={"chat_id": -5}).json()["result"]
    assert chat["id"] == -5
    assert chat["type"] == "group"


def test_delete_webhook_can_drop_pending_updates(fake: FakeBotApi, client: httpx.Client) -> None:
    fake.send_private_text(1, "lama")
    client.post(url(fake, "deleteWebhook"), data={"drop_pending_updates": "true"})
    assert fake.pending_updates() == []


def test_injected_faults_then_recovery(fake: FakeBotApi, client: httpx.Client) -> None:
    fake.inject_fault("sendMessage", status=429, retry_after=3)
    fake.inject_fault("sendMessage", status=403)
    throttled = client.post(url(fake, "sendMessage"), json={"chat_id": 1, "text": "a"})
    assert throttled.status_code == 429
    assert throttled.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    blocked = client.post(url(fake, "sendMessage"), json={"chat_id": 1, "text": "a"})
    assert blocked.json()["description"] == "Forbidden: bot was blocked by the user"
    assert client.post(url(fake, "sendMessage"), json={"chat_id": 1, "text": "a"}).is_success
    assert [c.status for c in fake.calls("sendMessage")] == [429, 403, 200]

    fake.inject_fault("getMe", delay=0.2)
    started = time.monotonic()
    assert client.get(url(fake, "getMe")).is_success
    assert time.monotonic() - started >= 0.15


def test_wait_for_times_out_with_a_summary(fake: FakeBotApi, client: httpx.Client) -> None:
    client.get(url(fake, "getMe"))
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="getMe"):
        fake.wait_for(lambda c: c.method == "sendMessage", timeout=0.2)
    assert time.monotonic() - started < 2
    mark = fake.mark()
    assert fake.wait_for("getMe", timeout=0.1).method == "getMe"
    with pytest.raises(TimeoutError):
        fake.wait_for("getMe", timeout=0.1, since=mark)


def test_wait_for_wakes_up_on_a_call_from_another_thread(fake: FakeBotApi, client: httpx.Client) -> None:
    client.get(url(fake, "getMe"))
    waiting = threading.Event()

    def later() -> None:
        # Post only once the waiter has scanned the calls so far (it then blocks).
        assert waiting.wait(10)
        with httpx.Client(trust_env=False) as c:
            c.post(url(fake, "sendMessage"), json={"chat_id": 3, "text": "halo"})

    def is_reply(call: Call) -> bool:
        waiting.set()
        return call.method == "sendMessage" and call.params["chat_id"] == 3

    thread = threading.Thread(target=later)
    thread.start()
    try:
        call = fake.wait_for(is_reply, 10)
    finally:
        thread.join()
    assert call.result["text"] == "halo"


def test_stop_ends_long_polls_joins_threads_and_closes_the_socket() -> None:
    before = threading.active_count()
    api = FakeBotApi(TOKEN).start()
    port = api.port
    results: list[httpx.Response] = []

    def poll() -> None:
        with httpx.Client(trust_env=False, timeout=30) as c:
            results.append(c.post(f"{api.base_url}{TOKEN}/getUpdates", json={"timeout": 25}))

    poller = threading.Thread(target=poll)
    poller.start()
    api.wait_until_polling(5)
    # An idle keep-alive connection must not keep stop() waiting either.
    idle = httpx.Client(trust_env=False)
    assert idle.get(f"{api.base_url}{TOKEN}/getMe").is_success
    started = time.monotonic()
    api.stop()
    assert time.monotonic() - started < 5
    poller.join(5)
    idle.close()
    assert not poller.is_alive()
    assert results[0].json() == {"ok": True, "result": []}
    assert threading.active_count() == before
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
        pass
    api.stop()  # idempotent


async def test_ptb_bot_talks_to_the_fake(fake: FakeBotApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real PTB client (form-encoded parameters) against the fake."""
    # RetryAfter reads retry_after in __init__; without the opt-in PTB 22 warns.
    monkeypatch.setenv("PTB_TIMEDELTA", "1")
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("Teknis", callback_data="div:teknis")]])
    async with Bot(TOKEN, base_url=fake.base_url) as bot:
        assert bot.username == BOT_USERNAME
        message = await bot.send_message(
            4242, "<b>Sub Bagian</b> Umum", parse_mode=ParseMode.HTML, reply_markup=markup
        )
        assert message.text == "Sub Bagian Umum"
        assert message.reply_markup == markup
        assert message.from_user.id == bot.id
        edited = await bot.edit_message_text("ok", chat_id=4242, message_id=message.message_id)
        assert edited.text == "ok"
        document = await bot.send_document(4242, b"a,b\n1,2\n", filename="log.csv")
        assert document.document.file_name == "log.csv"
        assert document.document.file_size == 8

        pushed = fake.send_command(4242, "divisi")
        updates = await bot.get_updates(timeout=5)
        assert [u.update_id for u in updates] == [pushed["update_id"]]
        assert updates[0].message.text == "/divisi"
        assert updates[0].message.entities[0].type == "bot_command"

        callback = fake.press_button(message.to_dict(), "div:teknis")
        updates = await bot.get_updates(offset=pushed["update_id"] + 1, timeout=5)
        assert updates[0].callback_query.data == "div:teknis"
        assert updates[0].callback_query.message.message_id == message.message_id
        assert updates[0].update_id == callback["update_id"]
        assert await bot.answer_callback_query(updates[0].callback_query.id)

        fake.inject_fault("sendMessage", retry_after=7)
        with pytest.raises(RetryAfter) as throttled:
            await bot.send_message(4242, "x")
        assert throttled.value.retry_after.total_seconds() == 7
        fake.inject_fault("sendMessage", status=403)
        with pytest.raises(Forbidden):
            await bot.send_message(4242, "x")
        fake.inject_fault("sendMessage", status=400)
        with pytest.raises(BadRequest):
            await bot.send_message(4242, "x")

    upload = fake.calls("sendDocument")[0].params["document"]
    assert (upload.filename, upload.size) == ("log.csv", 8)
    assert fake.calls("sendMessage")[0].params["chat_id"] == 4242


def test_held_requests_wait_unrecorded_and_can_fail_unprocessed(
    fake: FakeBotApi, client: httpx.Client
) -> None:
    """hold/release: requests on their way to Telegram when the bot dies never reach it."""
    fake.hold("sendMessage")
    results: list[int] = []

    def send() -> None:
        response = client.post(url(fake, "sendMessage"), json={"chat_id": 7, "text": "halo"})
        results.append(response.status_code)

    sender = threading.Thread(target=send)
    sender.start()
    deadline = time.monotonic() + 10
    while fake.held("sendMessage") == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.held("sendMessage") == 1
    assert fake.sent_messages(7) == []  # nothing processed while held
    fake.release("sendMessage", fail=True)
    sender.join(10)
    assert results == [502] and fake.sent_messages(7) == []
    assert client.post(url(fake, "sendMessage"), json={"chat_id": 7, "text": "lagi"}).status_code == 200
