"""A small Telegram Bot API server for the tests (standard library only).

It speaks just enough of the Bot API for python-telegram-bot v22 to run a real
bot process against it: ``getMe``, ``getUpdates`` with real long polling and
``offset`` acknowledgement, the sending methods the bot uses, and JSON errors
for everything else. Every request is recorded so tests can wait for the bot's
replies::

    with FakeBotApi(TOKEN) as api:
        env["TELEGRAM_API_BASE_URL"] = api.base_url   # PTB appends the token
        ...
        api.push_update(api.make_private_text(1001, "siapa yang mengurus arsip?"))
        call = api.wait_for(lambda c: c.method == "sendMessage", timeout=10)

The server runs in a background thread (``ThreadingHTTPServer``) on 127.0.0.1
and an OS-chosen port. :meth:`FakeBotApi.stop` wakes every long poll, shuts
down every open connection, joins every thread and closes the socket.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import html
import itertools
import json
import re
import socket
import threading
import time
import urllib.parse
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["BOT_USERNAME", "Call", "FakeBotApi", "Fault", "UploadedFile"]

BOT_USERNAME = "TupoksiBot"
BOT_FIRST_NAME = "Tupoksi Bot"

# Bot API parameters whose values are plain strings: never JSON-decode them
# (a message text "42" or "[x]" must stay a string).
_STRING_PARAMS = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "url",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "action",
        "secret_token",
        "ip_address",
        "language_code",
        "business_connection_id",
        "message_effect_id",
        "file_id",
        "description",
        "short_description",
        "name",
        "title",
        "emoji",
        "query",
    }
)
_FILE_PARAMS = ("document", "photo", "audio", "video", "voice", "animation", "sticker")
_TAG_RE = re.compile(r"<[^>]*>")
_MAX_BODY = 64 * 1024 * 1024


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded with multipart/form-data (content kept for asserts)."""

    filename: str | None
    size: int
    content_type: str | None
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class Call:
    """One request the bot made: Bot API ``method`` and its decoded ``params``.

    ``status`` is the HTTP status the fake answered with and ``response`` the
    JSON body it returned (``result`` for ok responses is in ``response["result"]``).
    """

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")


@dataclass
class Fault:
    """An injected failure for one method, consumed by the next ``times`` calls."""

    status: int | None = None
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    times: int = 1


@dataclass
class _Hold:
    """Requests of one method wait at the server until released (see :meth:`FakeBotApi.hold`)."""

    waiting: int = 0
    released: bool = False
    fail: bool = False


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_value(key: str, value: str) -> Any:
    """Undo PTB's form encoding: non-string values arrive JSON-encoded."""
    if key in _STRING_PARAMS:
        return value
    stripped = value.strip()
    if not stripped:
        return value
    if (
        stripped[0] in "{["
        or stripped in ("true", "false", "null")
        or re.fullmatch(r"-?\d+(\.\d+)?", stripped)
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _plain_from_html(text: str) -> str:
    return html.unescape(_TAG_RE.sub("", text))


class _Server(ThreadingHTTPServer):
    # Track handler threads so server_close() joins them (no daemon threads).
    daemon_threads = False
    block_on_close = True
    allow_reuse_address = False

    def __init__(self, fake: FakeBotApi) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Connections torn down by stop() or by the client are not errors.
        if self.fake.closing:
            return
        super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes
    server: _Server
    # Idle keep-alive connections are closed after this long (stop() does not wait for it).
    timeout = 120

    def setup(self) -> None:
        super().setup()
        self.server.fake._register_connection(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.fake._unregister_connection(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            raise _ApiError(413, "Request Entity Too Large")
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        fake = self.server.fake
        fake._request_started()
        try:
            self._respond(fake)
        finally:
            fake._request_finished()

    def _respond(self, fake: FakeBotApi) -> None:
        try:
            parsed = urllib.parse.urlsplit(self.path)
            body = self._read_body()
            status, payload, call = fake._handle_http(
                parsed.path, parsed.query, self.headers.get("Content-Type", ""), body
            )
        except _ApiError as exc:
            status, payload, call = exc.status, fake._error_payload(exc), None
        if call is not None:  # recorded before the client can see the response
            fake._record(call)
        data = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            if fake.closing:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


class FakeBotApi:
    """A Bot API server for one token. Use as a context manager or start()/stop().

    Test-facing API:

    * ``base_url`` -- ``http://127.0.0.1:PORT/bot`` (PTB ``base_url``; PTB appends the token);
      ``base_file_url`` likewise for files; ``url`` is the bare server root.
    * ``push_update(update)`` -- queue an update (``update_id`` assigned), returns it.
    * ``make_private_text``, ``make_group_mention``, ``make_command``,
      ``make_callback_query`` -- build update dicts (push them with ``push_update``);
      ``send_private_text`` etc. build and push in one step.
    * ``wait_for(predicate, timeout)`` -- first recorded :class:`Call` matching, with a deadline.
    * ``calls(method=None)``, ``sent_messages(chat_id=None)``, ``commands()``.
    * ``inject_fault(method, status=..., retry_after=..., delay=..., times=...)``.
    """

    def __init__(self, token: str, *, bot_id: int | None = None) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = bot_id if bot_id is not None else (int(prefix) if prefix.isdigit() else 1)
        self.bot_user: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._cond = threading.Condition()
        self._updates: deque[dict[str, Any]] = deque()
        self._next_update_id = 1
        self._calls: list[Call] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._message_ids: dict[int, itertools.count] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent: list[tuple[int, int]] = []
        self._commands: dict[str, list[dict[str, Any]]] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._holds: dict[str, _Hold] = {}
        self._ids = itertools.count(1)
        self._connections: set[socket.socket] = set()
        self._closing = threading.Event()
        self._active_polls = 0
        self._busy = 0  # requests being handled right now
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._handlers: dict[str, Callable[[dict[str, Any]], Any]] = {
            "getme": lambda p: dict(self.bot_user),
            "logout": lambda p: True,
            "close": lambda p: True,
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": lambda p: True,
            "getwebhookinfo": lambda p: {
                "url": "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            },
            "setmycommands": self._set_my_commands,
            "deletemycommands": self._delete_my_commands,
            "getmycommands": self._get_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "answercallbackquery": lambda p: True,
            "answerinlinequery": lambda p: True,
            "senddocument": lambda p: self._send_file(p, "document"),
            "sendphoto": lambda p: self._send_file(p, "photo"),
            "leavechat": lambda p: True,
            "sendchataction": lambda p: True,
            "getchat": self._get_chat,
        }

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeBotApi:
        if self._server is not None:
            raise RuntimeError("FakeBotApi already started")
        self._closing.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-bot-api",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._closing.set()
        with self._cond:
            self._cond.notify_all()  # wake long polls and waiters
        server.shutdown()  # stop accepting; returns when serve_forever has exited
        with self._cond:
            # Let requests in flight (woken long polls included) send their response.
            deadline = time.monotonic() + 5
            while self._busy and (remaining := deadline - time.monotonic()) > 0:
                self._cond.wait(remaining)
            connections = list(self._connections)
        for conn in connections:  # unblock handler threads idling on keep-alive reads
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        server.server_close()  # closes the listening socket, joins handler threads
        if thread is not None:
            thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def closing(self) -> bool:
        return self._closing.is_set()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeBotApi is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _register_connection(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.add(conn)

    def _unregister_connection(self, conn: socket.socket) -> None:
        with self._cond:
            self._connections.discard(conn)

    def _request_started(self) -> None:
        with self._cond:
            self._busy += 1

    def _request_finished(self) -> None:
        with self._cond:
            self._busy -= 1
            self._cond.notify_all()

    # ------------------------------------------------------------------ test API: updates

    def push_update(self, update: Mapping[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates; assigns and returns it with ``update_id``."""
        with self._cond:
            queued = dict(update)
            queued["update_id"] = self._next_update_id
            self._next_update_id += 1
            self._remember_incoming(queued)
            self._updates.append(queued)
            self._cond.notify_all()
            return queued

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet acknowledged by the bot (by a later ``offset``)."""
        with self._cond:
            return list(self._updates)

    def user(self, user_id: int, first_name: str = "Penguji", **extra: Any) -> dict[str, Any]:
        return {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "username": f"user{user_id}",
            "language_code": "id",
            **extra,
        }

    def private_chat(self, chat_id: int, first_name: str = "Penguji") -> dict[str, Any]:
        return {
            "id": chat_id,
            "type": "private",
            "first_name": first_name,
            "username": f"user{chat_id}",
        }

    def group_chat(self, chat_id: int, title: str = "Grup Uji", chat_type: str = "group") -> dict[str, Any]:
        return {"id": chat_id, "type": chat_type, "title": title}

    def make_message(
        self,
        chat: dict[str, Any],
        text: str,
        *,
        user: dict[str, Any] | None = None,
        entities: Iterable[dict[str, Any]] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        """An incoming ``message`` update (not queued) with a fresh per-chat message id."""
        if user is None:
            user = self.user(chat["id"]) if chat["type"] == "private" else self.user(1000)
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "date": int(time.time()),
            "chat": dict(chat),
            "from": dict(user),
            "text": text,
            **extra,
        }
        entities = list(entities)
        if entities:
            message["entities"] = entities
        return {"message": message}

    def make_private_text(
        self, chat_id: int, text: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        return self.make_message(self.private_chat(chat_id), text, user=user)

    def make_group_mention(
        self,
        chat_id: int,
        text: str,
        *,
        user: dict[str, Any] | None = None,
        title: str = "Grup Uji",
        chat_type: str = "group",
    ) -> dict[str, Any]:
        """A group message starting with ``@TupoksiBot`` (with a ``mention`` entity)."""
        mention = f"@{BOT_USERNAME}"
        entity = {"type": "mention", "offset": 0, "length": _utf16_len(mention)}
        return self.make_message(
            self.group_chat(chat_id, title, chat_type),
            f"{mention} {text}".rstrip(),
            user=user,
            entities=[entity],
        )

    def make_command(
        self,
        chat_id: int,
        command: str,
        args: str = "",
        *,
        user: dict[str, Any] | None = None,
        chat_type: str = "private",
        mention_bot: bool = False,
    ) -> dict[str, Any]:
        """``/command[@TupoksiBot] [args]`` with a ``bot_command`` entity at offset 0."""
        head = "/" + command.lstrip("/")
        if mention_bot:
            head += f"@{BOT_USERNAME}"
        text = f"{head} {args}".rstrip()
        chat = (
            self.private_chat(chat_id)
            if chat_type == "private"
            else self.group_chat(chat_id, chat_type=chat_type)
        )
        entity = {"type": "bot_command", "offset": 0, "length": _utf16_len(head)}
        return self.make_message(chat, text, user=user, entities=[entity])

    def make_callback_query(
        self,
        message: Mapping[str, Any] | int,
        data: str,
        *,
        chat_id: int | None = None,
        user: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A button press on a message the bot sent (a sent Message dict, or its id + chat_id)."""
        if isinstance(message, Mapping):
            chat_id = message["chat"]["id"]
            message_id = message["message_id"]
        else:
            if chat_id is None:
                raise ValueError("chat_id is required when message is a message_id")
            message_id = message
        with self._cond:
            stored = self._messages.get((chat_id, message_id))
            if stored is None:
                raise KeyError(f"no message {message_id} sent by the bot in chat {chat_id}")
            stored = json.loads(json.dumps(stored))
        if user is None:
            user = self.user(chat_id) if stored["chat"]["type"] == "private" else self.user(1000)
        return {
            "callback_query": {
                "id": str(next(self._ids) * 7919 + 100_000),
                "from": dict(user),
                "message": stored,
                "chat_instance": f"ci{abs(chat_id)}",
                "data": data,
            }
        }

    def send_private_text(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        return self.push_update(self.make_private_text(chat_id, text, **kw))

    def send_group_mention(self, chat_id: int, text: str, **kw: Any) -> dict[str, Any]:
        return self.push_update(self.make_group_mention(chat_id, text, **kw))

    def send_command(self, chat_id: int, command: str, args: str = "", **kw: Any) -> dict:
        return self.push_update(self.make_command(chat_id, command, args, **kw))

    def press_button(self, message: Mapping[str, Any] | int, data: str, **kw: Any) -> dict:
        return self.push_update(self.make_callback_query(message, data, **kw))

    # ------------------------------------------------------------------ test API: inspection

    def calls(self, method: str | None = None) -> list[Call]:
        with self._cond:
            if method is None:
                return list(self._calls)
            return [c for c in self._calls if c.method.lower() == method.lower()]

    def mark(self) -> int:
        """The number of calls so far: pass as ``since=`` to wait only for later calls."""
        with self._cond:
            return len(self._calls)

    def wait_for(
        self,
        predicate: Callable[[Call], bool] | str,
        timeout: float = 10.0,
        *,
        since: int = 0,
    ) -> Call:
        """The first recorded call (from index ``since``) matching ``predicate``.

        ``predicate`` may be a method name. Waits up to ``timeout`` seconds for it;
        raises ``TimeoutError`` listing the calls seen so far.
        """
        if isinstance(predicate, str):
            name = predicate.lower()

            def predicate(c: Call) -> bool:
                return c.method.lower() == name

        deadline = time.monotonic() + timeout
        checked = since
        with self._cond:
            while True:
                for call in self._calls[checked:]:
                    if predicate(call):
                        return call
                checked = max(checked, len(self._calls))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(c.method for c in self._calls[since:][-30:]) or "none"
                    raise TimeoutError(f"no matching Bot API call within {timeout}s; seen: {seen}")
                self._cond.wait(remaining)

    async def wait_for_async(
        self,
        predicate: Callable[[Call], bool] | str,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline for the worker thread
        *,
        since: int = 0,
    ) -> Call:
        """:meth:`wait_for` without blocking the running event loop."""
        import asyncio

        return await asyncio.to_thread(self.wait_for, predicate, timeout, since=since)

    def wait_until_polling(self, timeout: float = 30.0) -> None:
        """Wait until a getUpdates request is waiting at the server (the bot is ready)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active_polls == 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = ", ".join(c.method for c in self._calls[-30:]) or "none"
                    raise TimeoutError(f"the bot did not long-poll within {timeout}s; seen: {seen}")
                self._cond.wait(remaining)

    @property
    def polling(self) -> bool:
        """Whether a getUpdates request is waiting right now."""
        with self._cond:
            return self._active_polls > 0

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (current state, after edits), in sending order."""
        with self._cond:
            keys = [k for k in self._sent if chat_id is None or k[0] == chat_id]
            return [json.loads(json.dumps(self._messages[k])) for k in keys]

    def commands(self, scope: Mapping[str, Any] | None = None, language_code: str = "") -> list:
        with self._cond:
            return list(self._commands.get(self._commands_key(scope, language_code), []))

    def inject_fault(
        self,
        method: str,
        *,
        status: int | None = None,
        description: str | None = None,
        retry_after: int | None = None,
        delay: float = 0.0,
        times: int = 1,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` fail (or just wait ``delay`` seconds).

        ``status=429`` answers "Too Many Requests" with ``parameters.retry_after``;
        400 and 403 answer with the usual Telegram descriptions unless given one.
        """
        if status is None and retry_after is not None:
            status = 429
        fault = Fault(status, description, retry_after, delay, times)
        with self._cond:
            self._faults.setdefault(method.lower(), deque()).append(fault)
        return fault

    def hold(self, method: str) -> None:
        """From now on, requests of ``method`` wait at the server, unprocessed, until :meth:`release`.

        Like requests still on their way to Telegram: nothing is recorded or sent while
        they wait. ``held(method)`` says how many are waiting.
        """
        with self._cond:
            self._holds[method.lower()] = _Hold()

    def held(self, method: str) -> int:
        with self._cond:
            hold = self._holds.get(method.lower())
            return hold.waiting if hold is not None else 0

    def release(self, method: str, *, fail: bool = False) -> None:
        """Let held requests of ``method`` through; with ``fail`` they fail (502) unprocessed,
        as if they never reached Telegram (their sender is gone)."""
        with self._cond:
            hold = self._holds.pop(method.lower(), None)
            if hold is not None:
                hold.released, hold.fail = True, fail
            self._cond.notify_all()

    def _wait_if_held(self, method: str) -> None:
        with self._cond:
            hold = self._holds.get(method.lower())
            if hold is None:
                return
            hold.waiting += 1
            self._cond.notify_all()
            try:
                while not hold.released and not self.closing:
                    self._cond.wait()
            finally:
                hold.waiting -= 1
            if hold.fail or self.closing:
                raise _ApiError(502, "Bad Gateway")

    def clear_faults(self) -> None:
        with self._cond:
            self._faults.clear()

    # ------------------------------------------------------------------ HTTP plumbing

    def _error_payload(self, exc: _ApiError) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": exc.status,
            "description": exc.description,
        }
        if exc.parameters:
            payload["parameters"] = exc.parameters
        return payload

    def _parse_params(self, query: str, content_type: str, body: bytes) -> dict[str, Any]:
        params: dict[str, Any] = {}
        for key, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
            params[key] = _decode_value(key, value)
        ctype = content_type.split(";", 1)[0].strip().lower()
        if not body:
            return params
        if ctype == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise _ApiError(400, "Bad Request: can't parse JSON") from exc
            if not isinstance(data, dict):
                raise _ApiError(400, "Bad Request: JSON object expected")
            params.update(data)
        elif ctype == "multipart/form-data":
            params.update(self._parse_multipart(content_type, body))
        else:  # application/x-www-form-urlencoded (and anything form-like)
            text = body.decode("utf-8", errors="replace")
            for key, value in urllib.parse.parse_qsl(text, keep_blank_values=True):
                params[key] = _decode_value(key, value)
        return params

    def _parse_multipart(self, content_type: str, body: bytes) -> dict[str, Any]:
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        if not msg.is_multipart():
            raise _ApiError(400, "Bad Request: malformed multipart body")
        params: dict[str, Any] = {}
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                params[name] = UploadedFile(filename, len(payload), part.get_content_type(), payload)
                continue
            charset = part.get_content_charset() or "utf-8"
            params[name] = _decode_value(name, payload.decode(charset, errors="replace"))
        return params

    def _handle_http(
        self, path: str, query: str, content_type: str, body: bytes
    ) -> tuple[int, dict[str, Any], Call | None]:
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z0-9_]+)/?", path)
        if match is None:
            raise _ApiError(404, "Not Found")
        token, method = urllib.parse.unquote(match.group(1)), match.group(2)
        if token != self.token:
            raise _ApiError(401, "Unauthorized")
        params = self._parse_params(query, content_type, body)
        handler = self._handlers.get(method.lower())
        try:
            self._wait_if_held(method)
            fault = self._take_fault(method)
            if fault is not None and fault.delay > 0:
                self._closing.wait(fault.delay)
            if fault is not None and fault.status is not None:
                raise self._fault_error(fault)
            if handler is None:
                raise _ApiError(404, "Not Found: method not found")
            result = handler(params)
        except _ApiError as exc:
            status, payload = exc.status, self._error_payload(exc)
        except Exception as exc:  # a bug in the fake: answer (and record) it as a 500
            error = _ApiError(500, f"Internal Server Error: fake {method}: {exc!r}")
            status, payload = 500, self._error_payload(error)
        else:
            status, payload = 200, {"ok": True, "result": result}
        return status, payload, Call(method, params, status, payload, time.time())

    def _record(self, call: Call) -> None:
        with self._cond:
            self._calls.append(call)
            self._cond.notify_all()

    def _take_fault(self, method: str) -> Fault | None:
        with self._cond:
            queue = self._faults.get(method.lower())
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.popleft()
            return fault

    @staticmethod
    def _fault_error(fault: Fault) -> _ApiError:
        status = fault.status or 400
        if status == 429:
            retry = fault.retry_after if fault.retry_after is not None else 1
            return _ApiError(
                429,
                fault.description or f"Too Many Requests: retry after {retry}",
                {"retry_after": retry},
            )
        default = {
            400: "Bad Request: chat not found",
            401: "Unauthorized",
            403: "Forbidden: bot was blocked by the user",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(status)
        if default is None:
            try:
                default = HTTPStatus(status).phrase
            except ValueError:
                default = "Error"
        return _ApiError(status, fault.description or default)

    # ------------------------------------------------------------------ state helpers (locked)

    def _next_message_id(self, chat_id: int) -> int:
        with self._cond:
            counter = self._message_ids.setdefault(chat_id, itertools.count(1))
            return next(counter)

    def _remember_incoming(self, update: dict[str, Any]) -> None:
        for key in ("message", "edited_message", "channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat = message["chat"]
                self._chats.setdefault(chat["id"], dict(chat))
        query = update.get("callback_query")
        if isinstance(query, dict) and isinstance(query.get("message"), dict):
            chat = query["message"].get("chat")
            if isinstance(chat, dict):
                self._chats.setdefault(chat["id"], dict(chat))

    def _chat_for(self, chat_id: Any) -> dict[str, Any]:
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise _ApiError(400, "Bad Request: chat not found")
        with self._cond:
            known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return self.private_chat(chat_id)
        return self.group_chat(chat_id, chat_type="supergroup" if chat_id < -(10**12) else "group")

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> str:
        if isinstance(scope, str):
            with contextlib.suppress(ValueError):
                scope = json.loads(scope)
        scope = scope or {"type": "default"}
        return json.dumps([scope, language_code or ""], sort_keys=True)

    def _store_sent(self, message: dict[str, Any]) -> dict[str, Any]:
        key = (message["chat"]["id"], message["message_id"])
        with self._cond:
            self._messages[key] = message
            self._sent.append(key)
        return json.loads(json.dumps(message))

    def _new_bot_message(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params.get("chat_id"))
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat["id"]),
            "from": dict(self.bot_user),
            "date": int(time.time()),
            "chat": chat,
        }
        reply_to = params.get("reply_to_message_id")
        reply_params = params.get("reply_parameters")
        if isinstance(reply_params, dict):
            reply_to = reply_params.get("message_id")
        if isinstance(reply_to, int):
            with self._cond:
                original = self._messages.get((chat["id"], reply_to))
            if original is not None:
                message["reply_to_message"] = json.loads(json.dumps(original))
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        return message

    @staticmethod
    def _rendered_text(params: dict[str, Any], key: str) -> str:
        text = params.get(key)
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        if str(params.get("parse_mode", "")).upper() == "HTML":
            return _plain_from_html(text)
        return text

    # ------------------------------------------------------------------ Bot API methods

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        try:
            offset = int(params.get("offset") or 0)
            limit = int(params.get("limit") or 100)
            timeout = float(params.get("timeout") or 0)
        except (TypeError, ValueError) as exc:
            raise _ApiError(400, "Bad Request: invalid getUpdates parameters") from exc
        limit = max(1, min(limit, 100))
        allowed = params.get("allowed_updates")
        deadline = time.monotonic() + max(0.0, timeout)
        with self._cond:
            self._active_polls += 1
            self._cond.notify_all()
            try:
                return self._poll(offset, limit, allowed, deadline)
            finally:
                self._active_polls -= 1

    def _poll(self, offset: int, limit: int, allowed: Any, deadline: float) -> list[dict[str, Any]]:
        with self._cond:
            if offset > 0:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
            elif offset < 0:
                keep = -offset
                while len(self._updates) > keep:
                    self._updates.popleft()
            while True:
                if isinstance(allowed, list) and allowed:
                    # Telegram drops updates of types the bot did not ask for.
                    kept = [u for u in self._updates if any(k in u for k in allowed)]
                    self._updates = deque(kept)
                if self._updates or self.closing:
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            return [json.loads(json.dumps(u)) for u in itertools.islice(self._updates, limit)]

    def _delete_webhook(self, params: dict[str, Any]) -> bool:
        if params.get("drop_pending_updates") in (True, "true", 1, "1"):
            with self._cond:
                self._updates.clear()
        return True

    def _set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _ApiError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            if (
                not isinstance(command, dict)
                or not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", "")))
                or not str(command.get("description", "")).strip()
            ):
                raise _ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands[key] = [dict(c) for c in commands]
        return True

    def _delete_my_commands(self, params: dict[str, Any]) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code"))
        with self._cond:
            self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        text = self._rendered_text(params, "text")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            raise _ApiError(400, "Bad Request: message is too long")
        message = self._new_bot_message(params)
        message["text"] = text
        return self._store_sent(message)

    def _edit_message_text(self, params: dict[str, Any]) -> dict[str, Any] | bool:
        if params.get("inline_message_id"):
            return True
        chat = self._chat_for(params.get("chat_id"))
        message_id = params.get("message_id")
        text = self._rendered_text(params, "text")
        if not text.strip():
            raise _ApiError(400, "Bad Request: message text is empty")
        with self._cond:
            stored = self._messages.get((chat["id"], message_id))
            if stored is None:
                raise _ApiError(400, "Bad Request: message to edit not found")
            markup = params.get("reply_markup")
            new_markup = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
            if stored.get("text") == text and stored.get("reply_markup") == new_markup:
                raise _ApiError(
                    400,
                    "Bad Request: message is not modified: specified new message content "
                    "and reply markup are exactly the same as a current content and reply "
                    "markup of the message",
                )
            stored["text"] = text
            stored["edit_date"] = int(time.time())
            if new_markup is None:
                stored.pop("reply_markup", None)
            else:
                stored["reply_markup"] = new_markup
            return json.loads(json.dumps(stored))

    def _send_file(self, params: dict[str, Any], kind: str) -> dict[str, Any]:
        value = params.get(kind)
        if value is None or value == "":
            raise _ApiError(400, f"Bad Request: there is no {kind} in the request")
        message = self._new_bot_message(params)
        n = next(self._ids)
        if isinstance(value, UploadedFile):
            name, size = value.filename, value.size
        else:
            name, size = None, 0
        file_id = f"{kind[:3].upper()}{n:08d}"
        if kind == "photo":
            message["photo"] = [
                {
                    "file_id": file_id,
                    "file_unique_id": f"u{file_id}",
                    "width": 90,
                    "height": 90,
                    "file_size": size,
                }
            ]
        else:
            doc: dict[str, Any] = {"file_id": file_id, "file_unique_id": f"u{file_id}", "file_size": size}
            if name:
                doc["file_name"] = name
            if isinstance(value, UploadedFile) and value.content_type:
                doc["mime_type"] = value.content_type
            message[kind] = doc
        caption = self._rendered_text(params, "caption")
        if caption:
            message["caption"] = caption
        return self._store_sent(message)

    def _get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat_for(params.get("chat_id"))
        chat.setdefault("accent_color_id", 0)
        chat.setdefault("max_reaction_count", 11)
        return chat
