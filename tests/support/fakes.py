"""A recording fake of the Bot API and builders for the updates Telegram would send.

``FakeRequest`` plugs into PTB as its HTTP layer (``ApplicationBuilder().request(...)``):
it answers the methods the bot uses, records every call as ``(method, parameters)``
and fails the test on any method it does not know. Builders return update payloads
(plain dicts, as Telegram sends them); :func:`to_update` turns one into an ``Update``.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest
from telegram import Bot, Update
from telegram.request import BaseRequest, RequestData

from bot.storage import QueryRecord

BOT_ID = 999
BOT_USERNAME = "TupoksiBot"
TOKEN = "123456789:AAFakeTokenForTestsOnly_abcdefghijklmn"
USER_ID = 4242
GROUP_ID = -1001234567890

_update_ids = itertools.count(1)
_message_ids = itertools.count(500)


@dataclass(frozen=True)
class ApiError:
    """How the fake fails one method: an HTTP status and Telegram's description."""

    status: int
    description: str
    retry_after: int | None = None

    def body(self) -> bytes:
        payload: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            payload["parameters"] = {"retry_after": self.retry_after}
        return json.dumps(payload).encode()


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded (``params["photo"]``, ``params["document"]`` of a recorded call)."""

    filename: str | None
    content: bytes


class FakeRequest(BaseRequest):
    """The Bot API, in memory: answers known methods, records every call, fails on the rest.

    :meth:`fail` makes a method fail from now on; :meth:`inject` makes its next calls
    fail once each (an API error or a raised exception, e.g. a timeout).
    """

    def __init__(self, *, bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> None:
        self.bot_user = {"id": bot_id, "is_bot": True, "first_name": "Tupoksi", "username": username}
        self.records: list[tuple[str, dict[str, Any]]] = []
        self.errors: dict[str, ApiError] = {}
        self.unexpected: list[str] = []
        self.faults: dict[str, deque[ApiError | Exception]] = {}
        self._message_ids = itertools.count(1)
        self.sent_messages: list[dict[str, Any]] = []
        """Every message sendMessage returned, as Telegram returns it (to reply to, or press under)."""

    # -- BaseRequest -------------------------------------------------------------------

    @property
    def read_timeout(self) -> float | None:
        return 1.0

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        queue = self.faults.get(api_method)
        if queue:
            fault = queue.popleft()
            self.records.append((api_method, dict(request_data.parameters) if request_data else {}))
            if isinstance(fault, Exception):
                raise fault
            return fault.status, fault.body()
        parameters = dict(request_data.parameters) if request_data else {}
        for name, (filename, content, _mimetype) in (
            request_data.multipart_data if request_data else {}
        ).items():
            # An uploaded file (sendPhoto, sendDocument): keep its name and bytes for asserts.
            data = content if isinstance(content, bytes) else content.read()
            parameters[name] = Upload(filename, data)
        self.records.append((api_method, parameters))
        if api_method in self.errors:
            error = self.errors[api_method]
            return error.status, error.body()
        answer = getattr(self, f"_api_{api_method}", None)
        if answer is None:
            self.unexpected.append(api_method)
            pytest.fail(f"the bot called a Bot API method the fake does not know: {api_method}")
        return 200, json.dumps({"ok": True, "result": answer(parameters)}).encode()

    # -- the Bot API ---------------------------------------------------------------------

    def _api_getMe(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.bot_user

    def _api_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        sent = self._message(params)
        self.sent_messages.append(sent)
        return sent

    def _api_editMessageText(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        return self._message(params, message_id=params["message_id"])

    def _api_answerCallbackQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_editMessageReplyMarkup(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if "inline_message_id" in params:
            return True
        return self._message(params, message_id=params["message_id"])

    def _api_sendPhoto(self, params: dict[str, Any]) -> dict[str, Any]:
        photo = {"file_id": "photo1", "file_unique_id": "p1", "width": 800, "height": 400}
        return {**self._message(params), "photo": [photo], "caption": params.get("caption", "")}

    def _api_sendDocument(self, params: dict[str, Any]) -> dict[str, Any]:
        upload = params.get("document")
        name = upload.filename if isinstance(upload, Upload) else "file"
        document = {"file_id": "doc1", "file_unique_id": "d1", "file_name": name}
        return {**self._message(params), "document": document, "caption": params.get("caption", "")}

    def _api_answerInlineQuery(self, params: dict[str, Any]) -> bool:
        return True

    def _api_setMyCommands(self, params: dict[str, Any]) -> bool:
        return True

    def _api_deleteWebhook(self, params: dict[str, Any]) -> bool:
        return True

    def _api_leaveChat(self, params: dict[str, Any]) -> bool:
        return True

    def _message(self, params: dict[str, Any], message_id: int | None = None) -> dict[str, Any]:
        chat_id = int(params["chat_id"])
        chat = (
            {"id": chat_id, "type": "supergroup", "title": "Kantor"}
            if chat_id < 0
            else {"id": chat_id, "type": "private", "first_name": "Budi"}
        )
        message = {
            "message_id": message_id or next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": self.bot_user,
            "text": params.get("text", ""),
        }
        if isinstance(params.get("reply_markup"), dict):
            message["reply_markup"] = params["reply_markup"]
        return message

    # -- controlling and inspecting ----------------------------------------------------

    def fail(self, method: str, status: int = 400, description: str = "Bad Request", **kw: Any) -> None:
        """Make ``method`` fail from now on (400 bad request, 403 blocked, 429 with retry_after)."""
        self.errors[method] = ApiError(status, description, **kw)

    def inject(self, method: str, *faults: ApiError | Exception) -> None:
        """The next calls of ``method`` fail with ``faults``, one each, then work again."""
        self.faults.setdefault(method, deque()).extend(faults)

    def texts_to(self, chat_id: int) -> list[str]:
        """Texts sent to ``chat_id`` (including attempts that failed)."""
        return [p["text"] for m, p in self.records if m == "sendMessage" and int(p["chat_id"]) == chat_id]

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """Parameters of every call of ``method`` (every call at all when None)."""
        return [p for m, p in self.records if method is None or m == method]

    def methods(self) -> list[str]:
        """The methods called, in order."""
        return [m for m, _ in self.records]

    def sent_texts(self) -> list[str]:
        """Texts the user saw arrive or change: sendMessage and editMessageText, in order."""
        return [p["text"] for m, p in self.records if m in ("sendMessage", "editMessageText")]

    def last_text(self) -> str:
        """The newest text sent or edited; fails when there is none."""
        texts = self.sent_texts()
        assert texts, f"nothing was sent; calls: {self.methods()}"
        return texts[-1]

    def reset(self) -> None:
        """Forget the calls so far (e.g. after start-up)."""
        self.records.clear()


def buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, callback_data)`` of the inline keyboard in a call's parameters."""
    markup = params.get("reply_markup") or {}
    return [
        (button["text"], button.get("callback_data", ""))
        for row in markup.get("inline_keyboard", [])
        for button in row
    ]


# -- update builders -------------------------------------------------------------------


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def user(user_id: int = USER_ID, first_name: str = "Budi", *, is_bot: bool = False) -> dict[str, Any]:
    """A Telegram user."""
    return {"id": user_id, "is_bot": is_bot, "first_name": first_name, "username": f"user{user_id}"}


def bot_user(bot_id: int = BOT_ID, username: str = BOT_USERNAME) -> dict[str, Any]:
    """The bot itself, as the author of its messages."""
    return {"id": bot_id, "is_bot": True, "first_name": "Tupoksi", "username": username}


def private_chat(user_id: int = USER_ID) -> dict[str, Any]:
    """A private chat with ``user_id``."""
    return {"id": user_id, "type": "private", "first_name": "Budi"}


def group_chat(chat_id: int = GROUP_ID, chat_type: str = "supergroup") -> dict[str, Any]:
    """The office group."""
    return {"id": chat_id, "type": chat_type, "title": "Kantor KPU Banten"}


def message(
    text: str,
    *,
    chat: dict[str, Any],
    sender: dict[str, Any],
    entities: Iterable[dict[str, Any]] = (),
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A text message payload."""
    payload: dict[str, Any] = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": chat,
        "from": sender,
        "text": text,
    }
    if entities:
        payload["entities"] = list(entities)
    if reply_to is not None:
        payload["reply_to_message"] = reply_to
    return payload


def _update(**content: Any) -> dict[str, Any]:
    return {"update_id": next(_update_ids), **content}


def private_text(text: str, *, user_id: int = USER_ID, chat_id: int | None = None) -> dict[str, Any]:
    """Someone writes ``text`` to the bot in a private chat."""
    chat = private_chat(user_id if chat_id is None else chat_id)
    return _update(message=message(text, chat=chat, sender=user(user_id)))


def group_text(
    text: str,
    *,
    user_id: int = USER_ID,
    chat_id: int = GROUP_ID,
    entities: Iterable[dict[str, Any]] = (),
    reply_to: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Someone writes ``text`` in the group."""
    msg = message(text, chat=group_chat(chat_id), sender=user(user_id), entities=entities, reply_to=reply_to)
    return _update(message=msg)


def command(
    text: str, *, group: bool = False, user_id: int = USER_ID, chat_id: int | None = None
) -> dict[str, Any]:
    """A command (``/tanya@Bot apa``): a ``bot_command`` entity over the first word."""
    length = _utf16(text.split(maxsplit=1)[0])
    entity = {"type": "bot_command", "offset": 0, "length": length}
    chat = group_chat(chat_id or GROUP_ID) if group else private_chat(chat_id or user_id)
    return _update(message=message(text, chat=chat, sender=user(user_id), entities=[entity]))


def mention(
    text: str, *, username: str = BOT_USERNAME, user_id: int = USER_ID, chat_id: int = GROUP_ID
) -> dict[str, Any]:
    """A group message with a ``mention`` entity on ``@username`` (which must be in ``text``)."""
    handle = f"@{username}"
    index = text.index(handle)
    entity = {"type": "mention", "offset": _utf16(text[:index]), "length": _utf16(handle)}
    return group_text(text, user_id=user_id, chat_id=chat_id, entities=[entity])


def bot_message(text: str = "🏛 Divisi: ...", *, chat: dict[str, Any] | None = None) -> dict[str, Any]:
    """A message the bot sent earlier (to reply to, or to carry buttons)."""
    return message(text, chat=chat or group_chat(), sender=bot_user())


def reply_to_bot(text: str, *, user_id: int = USER_ID, chat_id: int = GROUP_ID) -> dict[str, Any]:
    """A group message replying to one of the bot's messages."""
    return group_text(text, user_id=user_id, chat_id=chat_id, reply_to=bot_message(chat=group_chat(chat_id)))


def reply_to_sent(text: str, sent: dict[str, Any], *, user_id: int = USER_ID) -> dict[str, Any]:
    """Someone replies ``text`` to ``sent``, a message the bot sent (see ``FakeRequest.sent_messages``)."""
    chat = sent["chat"]
    sender = user(user_id)
    return _update(message=message(text, chat=chat, sender=sender, reply_to=sent))


def reply_to_user(
    text: str, original: str, *, user_id: int = USER_ID, other_id: int = 5151
) -> dict[str, Any]:
    """A group message replying to another person's message ``original``."""
    reply_to = message(original, chat=group_chat(), sender=user(other_id, "Siti"))
    return group_text(text, user_id=user_id, reply_to=reply_to)


def callback(data: str, *, message: dict[str, Any] | None = None, user_id: int = USER_ID) -> dict[str, Any]:
    """Someone presses an inline button with ``data`` under ``message`` (a bot message)."""
    pressed = message or bot_message(chat=private_chat(user_id))
    return _update(
        callback_query={
            "id": str(next(_update_ids)),
            "from": user(user_id),
            "chat_instance": "42",
            "data": data,
            "message": pressed,
        }
    )


def inline_query(query: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    """Someone types ``@bot query`` in any chat."""
    return _update(
        inline_query={"id": str(next(_update_ids)), "from": user(user_id), "query": query, "offset": ""}
    )


def chosen_inline_result(result_id: str, query: str, *, user_id: int = USER_ID) -> dict[str, Any]:
    """Someone picked inline result ``result_id`` for ``query``."""
    return _update(chosen_inline_result={"result_id": result_id, "from": user(user_id), "query": query})


def edited(payload: dict[str, Any]) -> dict[str, Any]:
    """The same message, as an edit."""
    return _update(edited_message={**payload["message"], "edit_date": int(time.time())})


def to_update(payload: dict[str, Any], bot: Bot) -> Update:
    """An ``Update`` wired to ``bot`` (so ``message.reply_text`` works)."""
    update = Update.de_json(payload, bot)
    assert update is not None
    return update


# -- checking what users see -----------------------------------------------------------

_TAG = re.compile(r"<(/?)([a-z-]+)((?:\s+[a-z-]+=\"[^\"<>]*\")*)\s*>")
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
TELEGRAM_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "code",
        "pre",
        "blockquote",
        "tg-emoji",
    }
)


def html_problems(text: str) -> list[str]:
    """Why ``text`` is not valid Telegram HTML (empty when it is): tags, nesting, entities."""
    problems: list[str] = []
    stack: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "<":
            tag = _TAG.match(text, i)
            if not tag or tag.group(2) not in TELEGRAM_TAGS:
                problems.append(f"bad tag at {i}: {text[i : i + 20]!r}")
                i += 1
                continue
            name = tag.group(2)
            if tag.group(1):
                if not stack or stack[-1] != name:
                    problems.append(f"</{name}> at {i} closes {stack[-1:] or 'nothing'}")
                else:
                    stack.pop()
            else:
                stack.append(name)
            i = tag.end()
        elif char == "&":
            entity = _ENTITY.match(text, i)
            if not entity:
                problems.append(f"bare & at {i}: {text[i : i + 12]!r}")
                i += 1
                continue
            i = entity.end()
        elif char == ">":
            problems.append(f"bare > at {i}")
            i += 1
        else:
            i += 1
    if stack:
        problems.append(f"unclosed tags: {stack}")
    return problems


class RecordingLog:
    """A query log that keeps the records in a list (instead of SQLite)."""

    def __init__(self) -> None:
        self.records: list[QueryRecord] = []

    def log(self, record: QueryRecord) -> None:
        self.records.append(record)
