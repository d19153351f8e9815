"""At-least-once, answered-once delivery: our own long polling over an inbox in the database.

python-telegram-bot's updater confirms a batch to Telegram (the next ``getUpdates``
offset) as soon as it fetches the next one, and parses the whole batch at once: a hard
stop loses what was fetched but not answered, and one update it cannot parse is fetched
again forever. So the bot polls itself:

1. :class:`Poller` fetches raw updates (``getUpdates`` as JSON), queues each new one for
   the inbox table (:meth:`~bot.storage.Database.record_received`) and waits until it is
   stored (:data:`RECORD_WAIT` at most) before handing it to the application. Telegram
   learns an update arrived (offset past it) only once it is stored.
2. :class:`ChatOrderedProcessor` handles updates of different chats at the same time
   (one chat's in order), and marks each one handled when its handlers are done.
3. At start-up the inbox's received-but-unhandled updates are handled first; an update
   Telegram sends again that the inbox already knows is skipped.

An update that cannot be parsed is skipped once, with one log line naming its id.
When the database cannot be written (locked, full), updates are still answered
(unrecorded, so not confirmed; Telegram keeps sending them and the poller skips them by
id) and confirmed once the writer catches up; with :data:`POLL_LIMIT` unrecorded
updates the poller waits for the database.

With a webhook (``WEBHOOK_URL``) :class:`RecordingQueue` gives the same guarantee: the
POST is answered only once the update is stored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import warnings
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

from telegram import Update
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import BaseUpdateProcessor
from telegram.warnings import PTBUserWarning
from tornado.web import HTTPError

from bot.storage import Database
from bot.storage.writer import current_update_id
from bot.telegram.context import App

logger = logging.getLogger(__name__)

POLL_TIMEOUT = 10  # seconds Telegram holds a getUpdates open when there is nothing new (PTB's default)
POLL_LIMIT = 100  # updates per getUpdates (Telegram's maximum)
RECORD_WAIT = 1.0  # seconds an update waits to be stored before it is answered anyway
IN_FLIGHT = 32  # updates handed to the handlers at once; the rest wait in the inbox (or at Telegram)
MAX_CONCURRENT_UPDATES = IN_FLIGHT
MAX_BACKOFF = 30.0  # seconds between getUpdates retries after network errors
MAX_KNOWN = 10_000  # update ids remembered before the confirmed ones are forgotten

# do_api_request("getUpdates") is how PTB gives the raw JSON; it warns that get_updates exists.
warnings.filterwarnings("ignore", message=r"Please use 'Bot\.getUpdates'", category=PTBUserWarning)


def chat_key(update: object) -> int | None:
    """What must be handled in order: one chat (or one user outside chats)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    return update.effective_user.id if update.effective_user is not None else None


class ChatOrderedProcessor(BaseUpdateProcessor):
    """Updates of different chats at once, one chat's in arrival order; marks each handled.

    A slow update (an admin report, a vote while the database is locked) then never holds
    up other people's questions.
    """

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT_UPDATES) -> None:
        super().__init__(max_concurrent_updates)
        self.journal: Database | None = None
        self.finished: Callable[[int], None] | None = None
        """Called with the update id when an update is done (the poller frees its slot)."""
        self._chains: dict[int | None, asyncio.Future[None]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        previous = self._chains.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._chains[key] = mine
        update_id = update.update_id if isinstance(update, Update) else None
        token = current_update_id.set(update_id)
        try:
            if previous is not None and key is not None:
                await asyncio.shield(previous)
            await coroutine
            if update_id is not None and self.journal is not None:
                self.journal.mark_handled(update_id)
        finally:
            current_update_id.reset(token)
            mine.set_result(None)
            if self._chains.get(key) is mine:
                del self._chains[key]
            if update_id is not None and self.finished is not None:
                self.finished(update_id)

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to tear down."""


class Poller:
    """Long polling that tells Telegram an update arrived only once the inbox holds it."""

    def __init__(self, application: App, journal: Database | None, stop: asyncio.Event) -> None:
        self.application = application
        self.journal = journal
        self.stop = stop
        self.offset = 0  # the next getUpdates offset: every update below it is stored
        self._known: set[int] = set()  # update ids stored or being handled in this process
        self._unrecorded: dict[int, asyncio.Future[None]] = {}
        self._highest = 0
        self._outage_logged = False
        self._slots = asyncio.Semaphore(IN_FLIGHT)
        self._in_flight: set[int] = set()
        processor = application.update_processor
        if isinstance(processor, ChatOrderedProcessor):
            processor.journal = journal
            processor.finished = self._finished

    async def recover(self) -> int:
        """Handle what the inbox received but did not finish (before a crash); how many."""
        if self.journal is None:
            return 0
        known, unfinished = await self.journal.open_inbox()
        self._known |= known
        for update_id, payload in unfinished:
            if not await self._dispatch(update_id, payload):
                break
        if unfinished:
            logger.info("handling %d update(s) received before the last stop", len(unfinished))
        return len(unfinished)

    async def run(self) -> None:
        """Fetch and hand over updates until ``stop`` is set."""
        stop = self.stop
        backoff = 1.0
        while not stop.is_set():
            fetch = asyncio.ensure_future(self._fetch(POLL_TIMEOUT))
            stopping = asyncio.ensure_future(stop.wait())
            await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if not fetch.done():
                fetch.cancel()
                await asyncio.gather(fetch, return_exceptions=True)
                break
            try:
                batch = fetch.result()
            except RetryAfter as exc:
                await self._sleep(stop, float(exc.retry_after if isinstance(exc.retry_after, int) else 1))
                continue
            except Conflict as exc:
                logger.error("getUpdates: %s (is another copy of the bot running?)", exc)
                await self._sleep(stop, MAX_BACKOFF)
                continue
            except InvalidToken:
                raise  # the token was revoked: nothing to retry
            except (NetworkError, TelegramError) as exc:
                logger.warning("getUpdates failed: %s; retrying in %.0fs", exc, backoff)
                await self._sleep(stop, backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            fresh = await self._take(batch)
            if not fresh and self._unrecorded and len(batch) >= POLL_LIMIT:
                # Telegram sends only what we have not confirmed: wait for the database.
                await asyncio.wait(set(self._unrecorded.values()), timeout=RECORD_WAIT)

    async def confirm(self) -> None:
        """Tell Telegram which updates are stored (on the way out; best effort)."""
        self._advance()
        if self.offset == 0:
            return
        try:
            await self._request(offset=self.offset, hold=0, limit=1)
        except TelegramError as exc:
            logger.warning("could not confirm the last updates to Telegram: %s", exc)

    async def _fetch(self, hold: int) -> list[dict[str, Any]]:
        self._advance()
        return await self._request(offset=self.offset, hold=hold, limit=POLL_LIMIT)

    async def _request(self, *, offset: int, hold: int, limit: int) -> list[dict[str, Any]]:
        """``getUpdates`` as raw JSON; Telegram holds it up to ``hold`` seconds when there is nothing."""
        result = await self.application.bot.do_api_request(
            "getUpdates",
            api_kwargs={
                "offset": offset,
                "timeout": hold,
                "limit": limit,
                "allowed_updates": Update.ALL_TYPES,
            },
            read_timeout=hold + 10,
        )
        return [item for item in result if isinstance(item, dict)] if isinstance(result, list) else []

    async def _take(self, batch: list[dict[str, Any]]) -> int:
        """Store and hand over the updates of ``batch`` not seen before; how many were new."""
        fresh: list[tuple[int, str]] = []
        for raw in batch:
            update_id = raw.get("update_id")
            if not isinstance(update_id, int):
                continue
            self._highest = max(self._highest, update_id)
            if update_id in self._known:
                continue
            self._known.add(update_id)
            fresh.append((update_id, json.dumps(raw, ensure_ascii=True)))
        if not fresh:
            return 0
        if self.journal is not None:
            record = self.journal.record_received
            stored = {update_id: record(update_id, payload) for update_id, payload in fresh}
            _, waiting = await asyncio.wait(set(stored.values()), timeout=RECORD_WAIT)
            for update_id, future in stored.items():
                if future in waiting or future.cancelled():
                    self._unrecorded[update_id] = future
                    future.add_done_callback(functools.partial(self._recorded, update_id))
                elif future.exception() is not None:
                    self._recorded(update_id, future)
            if waiting and not self._outage_logged:
                self._outage_logged = True
                logger.warning(
                    "the database does not store updates in time; answering them anyway and "
                    "confirming them to Telegram once stored"
                )
        for update_id, payload in fresh:
            if not await self._dispatch(update_id, payload):
                break  # stopping: the rest waits in the inbox (or, unrecorded, at Telegram)
        return len(fresh)

    def _recorded(self, update_id: int, future: asyncio.Future[None]) -> None:
        if future.cancelled():
            return  # not stored: it stays unconfirmed, and Telegram sends it again after a restart
        if future.exception() is not None:  # the inbox refused it (the writer logged why): confirm anyway
            logger.error("update %d could not be stored in the inbox; handled without a record", update_id)
        self._unrecorded.pop(update_id, None)
        if not self._unrecorded:
            self._outage_logged = False

    def _advance(self) -> None:
        """The offset: past every update seen, but not past the first one not stored yet."""
        if self._highest == 0:
            return
        self.offset = min(self._unrecorded) if self._unrecorded else self._highest + 1
        if len(self._known) > MAX_KNOWN:  # Telegram never sends an update below the offset again
            self._known = {update_id for update_id in self._known if update_id >= self.offset}

    async def _dispatch(self, update_id: int, payload: str) -> bool:
        """Parse one update and hand it to the handlers once a slot is free; False when stopping.

        What cannot be parsed is skipped, once, with one log line naming its id.
        """
        try:
            update = Update.de_json(json.loads(payload), self.application.bot)
        except Exception as exc:  # any field PTB refuses: the text of the update stays out of the log
            logger.warning("skipped update %d: it cannot be read (%s)", update_id, type(exc).__name__)
            if self.journal is not None:
                self.journal.mark_handled(update_id)
            return True
        slot = asyncio.ensure_future(self._slots.acquire())
        stopping = asyncio.ensure_future(self.stop.wait())
        await asyncio.wait({slot, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not slot.done():
            slot.cancel()
            await asyncio.gather(slot, return_exceptions=True)
        if self.stop.is_set():
            if slot.done() and not slot.cancelled():
                self._slots.release()
            return False
        self._in_flight.add(update_id)
        await self.application.update_queue.put(update)
        return True

    def _finished(self, update_id: int) -> None:
        if update_id in self._in_flight:
            self._in_flight.discard(update_id)
            self._slots.release()

    @staticmethod
    async def _sleep(stop: asyncio.Event, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=seconds)


class RecordingQueue(asyncio.Queue[object]):
    """The update queue in webhook mode: Telegram's POST is answered only once the update is stored.

    python-telegram-bot's webhook server answers 200 when ``put`` returns, so ``put`` stores
    the update first; if the database does not take it within :data:`RECORD_WAIT` seconds
    the POST gets a 503 and Telegram sends the update again later. An update the inbox
    already knows (sent again) is not handled twice.
    """

    def __init__(self) -> None:
        super().__init__()
        self.journal: Database | None = None
        self.known: set[int] = set()

    async def put(self, item: object) -> None:
        if isinstance(item, Update) and self.journal is not None:
            if item.update_id in self.known:
                return
            payload = json.dumps(item.to_dict(), ensure_ascii=True)
            stored = self.journal.record_received(item.update_id, payload)
            try:
                await asyncio.wait_for(asyncio.shield(stored), RECORD_WAIT)
            except Exception as exc:  # not stored (yet): Telegram must send it again
                logger.warning(
                    "update %d not stored in time; asking Telegram to send it again", item.update_id
                )
                raise HTTPError(HTTPStatus.SERVICE_UNAVAILABLE, reason="update not stored yet") from exc
            self.known.add(item.update_id)
            if len(self.known) > MAX_KNOWN:  # Telegram retries a webhook for a day at most
                self.known = set(sorted(self.known)[MAX_KNOWN // 2 :])
        await super().put(item)


async def prepare_webhook(application: App, journal: Database | None) -> None:
    """Webhook mode at start-up: mark handled updates, skip known ones, handle the unfinished."""
    processor = application.update_processor
    if isinstance(processor, ChatOrderedProcessor):
        processor.journal = journal
    queue = application.update_queue
    if journal is None or not isinstance(queue, RecordingQueue):
        return
    known, unfinished = await journal.open_inbox()
    queue.known = known
    for update_id, payload in unfinished:
        try:
            update = Update.de_json(json.loads(payload), application.bot)
        except Exception as exc:
            logger.warning("skipped update %d: it cannot be read (%s)", update_id, type(exc).__name__)
            journal.mark_handled(update_id)
            continue
        await asyncio.Queue.put(queue, update)  # already stored
    queue.journal = journal
    if unfinished:
        logger.info("handling %d update(s) received before the last stop", len(unfinished))
