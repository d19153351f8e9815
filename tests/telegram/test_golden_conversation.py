"""A recorded conversation: every Bot API call the bot makes, compared byte for byte.

One representative conversation (private and group questions, every public command,
buttons, inline mode, feedback, declines, and the admin commands with teaching and
/reload) runs through the real application in front of the recording fake Bot API and
a real SQLite database. Every outgoing call (method and parameters) is written as one
JSON line and compared with ``tests/data/golden_conversation.jsonl``.

Only what cannot repeat between runs is replaced before comparing: question ids and
message ids become ordinals in order of first appearance, timestamps and dates become
placeholders, and uploaded files are reduced to their name (the CSV export is kept,
scrubbed the same way). Regenerate the file only from a run of unchanged behaviour:
``UPDATE_GOLDEN=1 python -m pytest tests/telegram/test_golden_conversation.py``.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from pathlib import Path
from typing import Any

from bot.core.model import KnowledgeBase
from bot.storage import open_database
from tests.support import DATA, fakes
from tests.support.fakes import Upload
from tests.support.harness import ADMIN_ID, running

GOLDEN = DATA / "golden_conversation.jsonl"
OTHER_ID = 4343

_QUESTION_ID = re.compile(r"\b[0-9a-f]{16}\b")
_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")
_CLOCK = re.compile(r"\b\d{2}:\d{2}\b")
_DATE = re.compile(
    r"\b\d{4}-\d{2}-\d{2}\b|\b\d{2}-\d{2}\b|\b\d{8}\b"
    r"|\b\d{1,2} (?:Jan|Feb|Mar|Apr|Mei|Jun|Jul|Agu|Sep|Okt|Nov|Des)\b"  # 20 Nov (stats days)
)
# The asker's message id in a hand-off button depends on how many messages earlier tests built.
_HANDOFF_MESSAGE = re.compile(r"(h1:<Q\d+>:)\d+")
_ORDINAL_KEYS = ("message_id", "callback_query_id", "inline_query_id", "reply_to_message_id")


class _Scrubber:
    """Replaces run-dependent values with stable placeholders, numbered by first appearance."""

    def __init__(self) -> None:
        self.ids: dict[str, str] = {}
        self.ordinals: dict[tuple[str, str], str] = {}

    def text(self, value: str) -> str:
        value = _QUESTION_ID.sub(lambda m: self.ids.setdefault(m.group(), f"<Q{len(self.ids) + 1}>"), value)
        value = _HANDOFF_MESSAGE.sub(r"\1<MESSAGE>", value)
        value = _TIMESTAMP.sub("<TIME>", value)
        value = _DATE.sub("<DATE>", value)
        return _CLOCK.sub("<HH:MM>", value)

    def csv(self, content: bytes) -> str:
        """The exported CSV with its (timing-dependent) latency column blanked."""
        rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
        for row in rows:
            row["latency_ms"] = "<LATENCY>"
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else [])
        writer.writeheader()
        writer.writerows(rows)
        return self.text(out.getvalue())

    def xlsx(self, content: bytes) -> str:
        """The exported workbook's cells as CSV text, its (timing-dependent) latency column blanked."""
        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content)).active
        rows = [["" if v is None else str(v) for v in line] for line in sheet.iter_rows(values_only=True)]
        latency = rows[0].index("Latensi (ms)")
        for row in rows[1:]:
            row[latency] = "<LATENCY>"
        out = io.StringIO()
        csv.writer(out).writerows(rows)
        return self.text(out.getvalue())

    def value(self, key: str, value: Any) -> Any:
        if key in _ORDINAL_KEYS and isinstance(value, int | str):
            slot = (key, str(value))
            return self.ordinals.setdefault(slot, f"<{key}{sum(k == key for k, _ in self.ordinals) + 1}>")
        if isinstance(value, Upload):
            if value.filename and value.filename.endswith(".csv"):
                return {"upload": self.text(value.filename), "content": self.csv(value.content)}
            if value.filename and value.filename.endswith(".xlsx"):
                return {"upload": self.text(value.filename), "content": self.xlsx(value.content)}
            return {"upload": self.text(value.filename or "")}
        if isinstance(value, dict):
            return {k: self.value(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(key, v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def _sticker(user_id: int = fakes.USER_ID) -> dict[str, Any]:
    update = fakes.private_text("x", user_id=user_id)
    del update["message"]["text"]
    update["message"]["sticker"] = {
        "file_id": "s1",
        "file_unique_id": "s1u",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return update


def _data_of(params: dict[str, Any], prefix: str) -> list[str]:
    return [data for _, data in fakes.buttons(params) if data.startswith(prefix)]


async def _converse(kb: KnowledgeBase, database: Path) -> list[tuple[str, dict[str, Any]]]:
    store = await open_database(database)
    harness = running(
        kb,
        None,
        store,
        forget_start=False,  # start-up calls (getMe, the command menus) are part of the recording
        rate_limiter=False,
        admin_ids=frozenset({ADMIN_ID}),
        rate_limit_per_minute=0,
    )
    try:
        async with harness as bot:
            api, send = bot.api, bot.send

            def last_sent() -> dict[str, Any]:
                return api.calls("sendMessage")[-1]

            async def press(data: str, after: dict[str, Any], user_id: int = fakes.USER_ID) -> None:
                await bot.press(data, after=after, user_id=user_id)

            # -- everyone, private chat
            await send(fakes.command("/start"))
            start = last_sent()
            await send(fakes.command("/help"))
            for data in _data_of(start, "q1:")[:2]:
                await press(data, start)
            await send(fakes.command("/divisi"))
            await press(_data_of(last_sent(), "u1:")[0], last_sent())
            await send(fakes.command("/divisi hukum"))
            await press(_data_of(last_sent(), "l1:")[0], last_sent())
            await send(fakes.command("/subbag"))
            await send(fakes.command("/subbag keuangan"))
            await send(fakes.command("/divisi zzzz qwerty"))
            await send(fakes.command("/struktur"))
            await send(fakes.command("/tanya"))
            await send(fakes.command("/perintahaneh"))
            await send(_sticker())
            for question in (
                "siapa yang mengurus kenaikan gaji berkala pegawai?",
                "min, yg ngurusin SPJ perjalanan dinas siapa ya?",
                "monev keuangan kab/kota tugas siapa?",
                "siapa yang mengelola arsip surat masuk?",
                "kapan pemilu 2029?",
                "berapa jumlah DPT banten",
                "halo selamat pagi",
                "terima kasih ya",
                "resep rendang padang yang enak",
                "siapa yang urus tiket pesawat dinas",
                '<script>alert("x")</script> & <b>tebal</b>',
            ):
                await send(fakes.private_text(question))
            answer = api.calls("sendMessage")[-8]  # the arsip answer, with 👍/👎
            feedback = _data_of(answer, "f1:")
            await press(feedback[0], answer)
            await press(feedback[1], answer)
            await press(feedback[1], answer, user_id=OTHER_ID)
            await press("zz:stale", answer)
            await press("u1:no-such-unit", answer)
            await send(fakes.command("/tanya siapa yang ngurus pengadaan barang?"))
            # -- the group
            await send(fakes.mention("@TupoksiBot siapa yang ngurus pemutakhiran data pemilih?"))
            await send(fakes.mention("@TupoksiBot"))
            await send(fakes.command("/tanya@TupoksiBot siapa yang mengurus arsip?", group=True))
            await send(fakes.reply_to_bot("makasih"))
            await send(fakes.reply_to_bot("kalau urusan gaji pegawai ke mana?"))
            await send(fakes.reply_to_user("/tanya", "siapa yang mengurus sengketa hukum pemilu?"))
            await send(fakes.group_text("nanti siang makan di mana ya?"))
            await send(fakes.command("/divisi teknis", group=True))
            await send(fakes.command("/stats", group=True, user_id=ADMIN_ID))
            # -- inline mode
            await send(fakes.inline_query(""))
            await send(fakes.inline_query("siapa yang mengurus arsip"))
            await send(fakes.inline_query("resep rendang"))
            await send(fakes.chosen_inline_result("subbag-umum", "siapa yang mengurus arsip"))
            # -- admins
            await send(fakes.command("/unanswered", user_id=OTHER_ID))
            await send(fakes.command("/unanswered", user_id=ADMIN_ID))
            review = last_sent()
            teach = _data_of(review, "t1:")
            await press(teach[0], review, user_id=ADMIN_ID)
            menu = last_sent()
            choices = [d for d in _data_of(menu, "t1:") if not d.endswith(":-")]
            await press(choices[0], menu, user_id=ADMIN_ID)
            await press(choices[0], menu, user_id=ADMIN_ID)
            await press(_data_of(menu, "t1:")[-1], menu, user_id=ADMIN_ID)
            await send(fakes.command("/unanswered 7", user_id=ADMIN_ID))
            await send(fakes.command("/unanswered abc", user_id=ADMIN_ID))
            await send(fakes.command("/lupakan", user_id=ADMIN_ID))
            await send(fakes.command("/lupakan 99", user_id=ADMIN_ID))
            await send(fakes.command("/lupakan 1", user_id=ADMIN_ID))
            # 7 days: one line per calendar day (a 30-day window lists weeks, whose number depends on the weekday)
            await send(fakes.command("/statistik 7", user_id=ADMIN_ID))
            await send(fakes.command("/stats 7", user_id=ADMIN_ID))
            await send(fakes.command("/coverage", user_id=ADMIN_ID))
            await send(fakes.command("/export", user_id=ADMIN_ID))
            await send(fakes.command("/reload", user_id=ADMIN_ID))
            await send(fakes.command("/reload now", user_id=ADMIN_ID))
            await send(fakes.edited(fakes.private_text("siapa yang mengurus arsip?")))
    finally:
        await store.close()
    assert not api.unexpected
    return api.records


def _lines(records: list[tuple[str, dict[str, Any]]]) -> list[str]:
    scrub = _Scrubber()
    return [
        json.dumps([method, scrub.value("", params)], ensure_ascii=False, sort_keys=True)
        for method, params in records
    ]


async def test_the_recorded_conversation_is_unchanged(kb: KnowledgeBase, tmp_path: Path) -> None:
    lines = _lines(await _converse(kb, tmp_path / "tupoksi.sqlite3"))
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text("\n".join(lines) + "\n", encoding="utf-8")
    expected = GOLDEN.read_text(encoding="utf-8").splitlines()
    for number, (got, want) in enumerate(zip(lines, expected, strict=False), start=1):
        assert got == want, f"call {number} differs"
    assert len(lines) == len(expected)
