"""Admin features in Telegram, offline: review, teaching, feedback, reports, export, reload, storage.

A real query log (SQLite under ``tmp_path``) behind the real application and the
recording fake of the Bot API in front; updates are fed in as Telegram sends them.
Every text the bot sends is checked to be valid Telegram HTML within 4096 characters.
"""

from __future__ import annotations

import asyncio
import io
import re
import threading
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from telegram.error import NetworkError
from telegram.ext import Application, CallbackContext

from bot import service
from bot.config import Settings, time_zone
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase, Level
from bot.service import NoQuestionLog, QuestionLog
from bot.storage import Database, QueryRecord, StorageError, open_database
from bot.telegram import app as telegram_app
from bot.telegram.app import build_application, run_bot
from bot.telegram.context import deps
from bot.telegram.handlers.admin import ADMIN_COMMAND_HANDLERS
from bot.telegram.lifecycle import PURGE_JOB, open_storage, purge_old_questions
from bot.text import reports
from bot.text.admin import (
    ALREADY_DISMISSED_TEXT,
    DISMISSED_TEXT,
    NO_STORAGE_TEXT,
    NOT_TEACHABLE_TEXT,
    PAGE_SIZE,
    PRIVATE_ONLY_TEXT,
    REFUSAL_TEXT,
    STALE_REVIEW_TEXT,
    STORAGE_ERROR_TEXT,
)
from bot.text.answers import ADMIN_ALIASES, ADMIN_COMMANDS, STALE_BUTTON_TEXT, listable_units
from tests.support import fakes
from tests.support.fakes import TOKEN, USER_ID, FakeRequest, Upload, buttons
from tests.support.harness import ADMIN_ID, Harness, running

OTHER_ID = 4343
PHONE_FULL_ROW = 32  # characters a phone shows on a full-width button
PHONE_HALF_ROW = 14  # ... and on each of two buttons in a row
SDM_QUESTION = "siapa yang mengurus kenaikan gaji berkala pegawai?"
ARSIP_QUESTION = "siapa yang mengelola arsip surat masuk?"
UNKNOWN_QUESTION = "siapa yang urus klub mancing"
LOW_QUESTION = "siapa yang urus arisan ibu ibu kantor"
FACT_QUESTION = "berapa jumlah DPT banten"
HOSTILE = '<script>alert("x")</script> & <b>tebal</b>'


def admin_bot(
    kb: KnowledgeBase, store: QuestionLog | None, **settings: Any
) -> AbstractAsyncContextManager[Harness]:
    """The harness with an admin, a fresh matcher, ``store`` as the question log, no rate limits."""
    settings.setdefault("rate_limit_per_minute", 0)  # the guards are tested in tests/telegram/test_guards.py
    return running(
        kb, None, store or NoQuestionLog(), rate_limiter=False, admin_ids=frozenset({ADMIN_ID}), **settings
    )


@pytest.fixture
async def bot(kb: KnowledgeBase, store: Database) -> AsyncIterator[Harness]:
    async with admin_bot(kb, store) as harness:
        yield harness


def record(text: str, *, answered: bool = False, ago: timedelta = timedelta(0), **fields: Any) -> QueryRecord:
    return QueryRecord(
        source="private",
        text=text,
        normalized=fields.pop("normalized", text.lower()),
        answered=answered,
        asked_at=datetime.now(UTC) - ago,
        chat_id=USER_ID,
        chat_type="private",
        user_id=USER_ID,
        **fields,
    )


async def stored(store: Database, *records: QueryRecord) -> None:
    for item in records:
        store.log(item)
    await store.flush()


def teach_data(params: dict[str, Any]) -> list[str]:
    return [data for label, data in buttons(params) if label.startswith("🎓")]


def unit_button(params: dict[str, Any], unit_id: str) -> str:
    (data,) = [d for _, d in buttons(params) if d.endswith(f":{unit_id}")]
    return data


# -- registration and access ------------------------------------------------------------------


def test_every_admin_menu_entry_has_a_handler() -> None:
    assert set(ADMIN_COMMAND_HANDLERS) == {name for name, _ in ADMIN_COMMANDS}
    assert set(ADMIN_ALIASES.values()) <= set(ADMIN_COMMAND_HANDLERS)


@pytest.mark.parametrize(("english", "indonesian"), sorted(ADMIN_ALIASES.items()))
async def test_indonesian_command_names_and_their_english_aliases_do_the_same(
    bot: Harness, english: str, indonesian: str
) -> None:
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    replies = []
    for name in (indonesian, english):
        bot.api.reset()
        await bot.admin(f"/{name} abc")  # every one of them refuses this argument the same way
        replies.append(bot.last())
    assert replies[0] == replies[1]
    assert replies[0].startswith(f"Cara pakai: <code>/{indonesian}")


ADMIN_COMMAND_LINES = [
    "/tinjau",
    "/statistik 7",
    "/cakupan",
    "/ekspor",
    "/muatulang",
    "/unanswered",
    "/unanswered 7",
    "/stats",
    "/stats 30",
    "/coverage",
    "/export",
    "/export abc",
    "/diluarcakupan",
    "/lupakan",
    "/lupakan 1",
    "/reload",
]


@pytest.mark.parametrize("command", ADMIN_COMMAND_LINES)
async def test_non_admins_get_a_polite_refusal_that_reveals_nothing(bot: Harness, command: str) -> None:
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    await bot.store.add_learned(UNKNOWN_QUESTION, UNKNOWN_QUESTION, "subbag-sdm", "subbag", ADMIN_ID)
    matcher = bot.d.service.matcher
    bot.api.reset()
    await bot.send(fakes.command(command, user_id=OTHER_ID))
    assert bot.api.methods() == ["sendMessage"]
    text = bot.last()
    assert text == REFUSAL_TEXT
    assert not re.search(r"\d", text) and UNKNOWN_QUESTION not in text
    assert bot.d.service.matcher is matcher  # /reload did nothing
    assert len(await bot.store.learned_phrases()) == 1  # /lupakan did nothing


async def test_admin_rights_come_from_the_numeric_id_never_the_username(bot: Harness) -> None:
    payload = fakes.command("/stats", user_id=OTHER_ID)
    payload["message"]["from"]["username"] = f"user{ADMIN_ID}"  # the admin's username
    await bot.send(payload)
    assert bot.last() == REFUSAL_TEXT


@pytest.mark.parametrize(
    "data", ["p1:0:1", "t1:0123456789abcdef", "t1:0123456789abcdef:subbag-sdm", "d1:0123456789abcdef:0:0"]
)
async def test_non_admins_cannot_press_admin_buttons(bot: Harness, data: str) -> None:
    await bot.press(data, user_id=OTHER_ID)
    assert bot.api.methods() == ["answerCallbackQuery"]
    assert bot.toast() == REFUSAL_TEXT
    assert await bot.store.learned_phrases() == []


async def test_admin_commands_in_a_group_ask_for_the_private_chat(bot: Harness) -> None:
    await bot.send(fakes.group_text(UNKNOWN_QUESTION))
    await bot.send(fakes.command("/unanswered@TupoksiBot", group=True, user_id=ADMIN_ID))
    assert bot.last() == PRIVATE_ONLY_TEXT
    await bot.send(fakes.command("/export@TupoksiBot", group=True, user_id=OTHER_ID))
    assert bot.last() == REFUSAL_TEXT
    assert bot.api.calls("sendDocument") == []


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        ("/tinjau -5", "/tinjau [hari]"),
        ("/unanswered abc", "/tinjau [hari]"),
        ("/tinjau 0", "/tinjau [hari]"),
        ("/tinjau ٣", "/tinjau [hari]"),  # an Arabic-Indic digit is not a day count
        ("/statistik x", "/statistik [hari]"),
        ("/stats 99999999999999999999", "/statistik [hari]"),
        ("/cakupan 1.5", "/cakupan [hari]"),
        ("/ekspor abc", "/ekspor [hari]"),
        ("/lupakan xyz", "/lupakan &lt;id&gt;"),
        ("/lupakan -3", "/lupakan &lt;id&gt;"),
        ("/muatulang sekarang", "/muatulang"),
        ("/reload sekarang", "/muatulang"),
    ],
)
async def test_odd_arguments_get_a_usage_message(bot: Harness, command: str, usage: str) -> None:
    await bot.admin(command)
    assert bot.api.methods() == ["sendMessage"]
    assert bot.last().startswith("Cara pakai: <code>" + usage)


async def test_without_a_database_admin_commands_say_so_and_answers_have_no_vote_buttons(
    kb: KnowledgeBase,
) -> None:
    async with admin_bot(kb, None) as bot:
        for command in ("/unanswered", "/stats", "/coverage", "/export", "/lupakan 1"):
            await bot.admin(command)
            assert bot.last() == NO_STORAGE_TEXT
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert not [d for _, d in buttons(bot.sent()[-1]) if d.startswith("f1:")]
        await bot.press("f1:0123456789abcdef:1", user_id=USER_ID)
        assert bot.toast() == STALE_BUTTON_TEXT


async def test_a_database_failure_is_reported_politely(bot: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise StorageError("computing stats failed: disk I/O error")

    monkeypatch.setattr(bot.store, "report", broken)
    await bot.admin("/stats")
    assert bot.last() == STORAGE_ERROR_TEXT


# -- /unanswered ------------------------------------------------------------------------------


async def test_unanswered_with_nothing_to_review(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))  # answered, no 👎
    await bot.admin("/unanswered")
    assert "Tidak ada pertanyaan yang perlu ditinjau" in bot.last()


async def test_unanswered_groups_counts_and_pages_newest_first(bot: Harness) -> None:
    questions = [record(f"{HOSTILE} nomor {i}", ago=timedelta(minutes=i)) for i in range(PAGE_SIZE + 2)]
    repeat = record(f"{HOSTILE} nomor 0", ago=timedelta(hours=1), normalized=questions[0].normalized)
    old = record("pertanyaan lama sekali", ago=timedelta(days=10))
    await stored(bot.store, *questions, repeat, old)

    await bot.admin("/unanswered 7")
    (first,) = bot.sent()
    text = first["text"]
    assert f"{PAGE_SIZE + 2} kelompok" in text and "halaman 1/2" in text
    assert "&lt;script&gt;" in text and "<script>" not in text  # questions are escaped
    assert text.index("nomor 0") < text.index("nomor 1") < text.index(f"nomor {PAGE_SIZE - 1}")
    assert "(2×," in text  # nomor 0 was asked twice
    assert f"nomor {PAGE_SIZE}" not in text and "lama sekali" not in text  # next page; outside 7 days
    assert len(teach_data(first)) == PAGE_SIZE
    assert ("Berikutnya »", "p1:7:1") in buttons(first)

    await bot.press("p1:7:1", after=first)
    (page2,) = bot.api.calls("editMessageText")
    assert f"{PAGE_SIZE + 1}. " in page2["text"] and "halaman 2/2" in page2["text"]
    assert len(teach_data(page2)) == 2
    assert ("« Sebelumnya", "p1:7:0") in buttons(page2)

    bot.api.reset()
    await bot.admin("/unanswered")  # all time: the old question too
    assert "lama sekali" not in bot.last()  # it is on page 2 now
    assert f"{PAGE_SIZE + 3} kelompok" in bot.last()


async def test_a_page_past_the_end_shows_the_last_page(bot: Harness) -> None:
    await stored(bot.store, record("pertanyaan satu"))
    await bot.press("p1:0:9")
    assert "halaman 1/1" in bot.api.calls("editMessageText")[0]["text"]


async def test_review_times_are_office_time_and_follow_the_tz_setting(
    kb: KnowledgeBase, store: Database
) -> None:
    late = datetime(2026, 11, 20, 20, 5, tzinfo=UTC)  # 03:05 the next morning in Jakarta
    await stored(store, replace(record("parkir tamu di mana"), asked_at=late))
    await store.add_learned("parkir tamu", "parkir tamu", "subbag-umum-logistik", "subbag", ADMIN_ID)
    async with admin_bot(kb, store) as bot:
        await bot.admin("/unanswered")
        assert "terakhir 2026-11-21 03:05 WIB)" in bot.last() and "UTC" not in bot.last()
    async with admin_bot(kb, store, tz=time_zone("Asia/Jayapura")) as bot:
        await bot.admin("/unanswered")
        assert "terakhir 2026-11-21 05:05 WIT)" in bot.last()
    row = await store.query(store_id := (await store.unanswered())[0].ids[0])
    assert row is not None and row.asked_at == late, store_id  # the database keeps UTC


async def test_downvoted_answers_are_listed_for_review(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))
    query_id = bot.sent()[-1]["reply_markup"]["inline_keyboard"][-1][0]["callback_data"].split(":")[1]
    await bot.store.set_feedback(query_id, USER_ID, -1)
    await bot.admin("/tinjau")
    assert SDM_QUESTION in bot.last() and "👎)" in bot.last()
    # what the bot answered, which is what the 👎 is about
    assert "↳ dijawab: Divisi SDM dan Litbang" in bot.last() and "· Subbag SDM (Tugas #" in bot.last()


async def test_review_buttons_fit_a_phone_two_per_row(bot: Harness) -> None:
    await stored(bot.store, *(record(f"pertanyaan aneh nomor {i}") for i in range(PAGE_SIZE + 1)))
    await bot.admin("/tinjau")
    rows = bot.sent()[-1]["reply_markup"]["inline_keyboard"]
    assert all(len(b["text"]) <= PHONE_HALF_ROW for row in rows for b in row)
    assert [b["text"] for b in rows[0]] == ["🎓 Ajarkan 1", "🙈 Abaikan 1"]


async def test_dismiss_takes_the_question_off_the_list_for_good(bot: Harness) -> None:
    await stored(bot.store, record("mau tanya dong", normalized="mau tanya", reason="no_match"))
    await stored(bot.store, record("parkir tamu di mana"))
    await bot.admin("/tinjau 7")
    listing = bot.sent()[-1]
    (mau_tanya,) = [g for g in await bot.store.unanswered() if g.example == "mau tanya dong"]
    (dismiss,) = [d for label, d in buttons(listing) if label.startswith("🙈") and mau_tanya.ids[0] in d]
    assert dismiss.endswith(":7:0")
    assert "mau tanya dong" in listing["text"]
    await bot.press(dismiss, after=listing)
    assert bot.toast() == DISMISSED_TEXT
    edited = bot.api.calls("editMessageText")[-1]["text"]
    assert "mau tanya dong" not in edited and "parkir tamu" in edited and "1 kelompok" in edited
    await bot.press(dismiss, after=listing)  # an old button pressed again
    assert bot.toast() == ALREADY_DISMISSED_TEXT
    # asked again, in other words that normalise the same: it stays off the list
    await stored(bot.store, record("Mau tanya dong!", normalized="mau tanya", reason="no_match"))
    await bot.admin("/tinjau")
    assert "mau tanya" not in bot.last().lower() and "parkir tamu" in bot.last()
    await bot.press("d1:zz:0:0")
    assert bot.toast() == STALE_BUTTON_TEXT
    await bot.press("d1:0123456789abcdef:0:0")
    assert bot.toast() == STALE_REVIEW_TEXT


# -- teaching ---------------------------------------------------------------------------------


async def test_teach_flow_end_to_end(bot: Harness) -> None:
    # A user asks something the bot cannot answer (twice); it is kept for the admins.
    for _ in range(2):
        await bot.send(fakes.private_text(UNKNOWN_QUESTION))
        assert bot.last().startswith("🙏 Maaf") and "dicatat" in bot.last()
    bot.api.reset()

    # The admin sees it in /unanswered and presses 🎓.
    await bot.admin("/unanswered")
    (listing,) = bot.sent()
    assert UNKNOWN_QUESTION in listing["text"] and "(2×," in listing["text"]
    (teach,) = teach_data(listing)
    await bot.press(teach, after=listing)
    menu = bot.sent()[-1]
    assert "Ajarkan jawaban" in menu["text"] and UNKNOWN_QUESTION in menu["text"]
    units = [d for _, d in buttons(menu) if d.count(":") == 2 and not d.endswith(":-")]
    assert len(units) == 7 + 6
    assert ("Selesai", f"{teach}:-") in buttons(menu)

    # The admin picks a Sub Bagian: stored (who, when, which unit), resolved, confirmed.
    await bot.press(unit_button(menu, "subbag-umum-logistik"), after=menu)
    assert bot.toast().startswith("✅ Diajarkan")
    (phrase,) = await bot.store.learned_phrases()
    assert (phrase.phrase, phrase.unit_id, phrase.level, phrase.created_by) == (
        UNKNOWN_QUESTION,
        "subbag-umum-logistik",
        "subbag",
        ADMIN_ID,
    )
    edit = bot.api.calls("editMessageText")[-1]
    assert f"/lupakan {phrase.id}" in edit["text"] and "2 pertanyaan ditandai selesai" in edit["text"]
    assert "⚠️" not in edit["text"]
    assert await bot.store.unanswered() == []

    # Then its duty: one short button per duty of that unit; the phrase becomes a term of it.
    assert "Tugas Subbag Umum dan Logistik yang mana?" in edit["text"]
    duty_labels = [label for label, _ in buttons(edit)]
    assert duty_labels[0].startswith("#1 ") and duty_labels[-1] == "Lewati"
    assert all(len(label) <= PHONE_FULL_ROW for label in duty_labels)
    (pick,) = [d for label, d in buttons(edit) if label.startswith("#2 ")]
    await bot.press(pick, after=edit)
    assert bot.toast() == "✅ Subbag Umum dan Logistik tugas #2"
    (phrase,) = await bot.store.learned_phrases()
    assert phrase.duty == 2
    back = bot.api.calls("editMessageText")[-1]
    assert "✅ Subbag Umum dan Logistik" in [label for label, _ in buttons(back)]  # the teach menu again
    assert "Sub Bagian Umum dan Logistik tugas #2" in back["text"]
    exported = yaml.safe_load(reports.learned_yaml(bot.service.kb, await bot.store.learned_phrases()))
    assert exported["learned_phrases"] == [
        {
            "unit": "subbag-umum-logistik",
            "name": "Subbag Umum dan Logistik",
            "duty": 2,
            "duty_text": bot.service.kb.unit("subbag-umum-logistik").duty(2).text,
            "phrases": [UNKNOWN_QUESTION],
        }
    ]
    await bot.press(pick, after=edit)  # pressed again: the same, harmless
    await bot.press(pick.rsplit(":", 1)[0] + ":99", after=edit)  # no such duty
    assert bot.toast() == STALE_BUTTON_TEXT

    # The next identical question is answered with the taught unit, at once.
    bot.api.reset()
    await bot.send(fakes.private_text(UNKNOWN_QUESTION, user_id=OTHER_ID))
    assert "<b>Sub Bagian</b>: Sub Bagian Umum dan Logistik" in bot.last()

    # /lupakan undoes it: not answered any more, and back in the review list.
    await bot.admin(f"/lupakan {phrase.id}")
    assert f"Frasa #{phrase.id} dihapus" in bot.last()
    await bot.send(fakes.private_text(UNKNOWN_QUESTION, user_id=OTHER_ID))
    assert bot.last().startswith("🙏 Maaf")
    await bot.store.flush()
    (group,) = await bot.store.unanswered()
    assert group.count == 3  # the two reopened, plus the one just asked
    await bot.admin(f"/lupakan {phrase.id}")
    assert "tidak ditemukan atau sudah dihapus" in bot.last()


async def test_teaching_takes_one_divisi_and_one_subbag_then_selesai(bot: Harness) -> None:
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    await bot.store.flush()
    (group,) = await bot.store.unanswered()
    teach = f"t1:{group.ids[0]}"
    await bot.press(teach)
    menu = bot.sent()[-1]

    await bot.press(unit_button(menu, "div-keuangan-umum-rt"), after=menu)
    await bot.press(unit_button(menu, "div-teknis"), after=menu)  # a second Divisi: refused
    assert "sudah diajarkan" in bot.toast() and "/lupakan" in bot.toast()
    await bot.press(unit_button(menu, "subbag-keuangan"), after=menu)
    assert {p.unit_id for p in await bot.store.learned_phrases()} == {
        "div-keuangan-umum-rt",
        "subbag-keuangan",
    }

    await bot.press(f"{teach}:-", after=menu)
    done = bot.api.calls("editMessageText")[-1]
    assert "Selesai." in done["text"] and not buttons(done)
    assert "Divisi Keuangan, Umum dan Rumah Tangga" in done["text"]

    await bot.send(fakes.private_text(UNKNOWN_QUESTION, user_id=OTHER_ID))
    assert "<b>Divisi</b>: Divisi Keuangan, Umum dan Rumah Tangga" in bot.last()
    assert "<b>Sub Bagian</b>: Sub Bagian Keuangan" in bot.last()


async def test_declined_small_talk_and_fact_questions_need_no_review(bot: Harness) -> None:
    declined = {
        FACT_QUESTION: "fact_question",
        "makasih ya min": "chitchat",
        "selamat pagi": "chitchat",
        "oke siap 👍": "chitchat",
        "Sidalih itu apa ya?": "definition",
        "tolong ringkas notulen rapat tadi": "bot_task",
        "pendaftaran PPK di KPU Kabupaten Lebak lewat siapa?": "other_office",
        "perpanjang SIM di mana?": "other_agency",
    }
    for text in declined:
        await bot.send(fakes.private_text(text))
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    await bot.store.flush()
    assert [g.example for g in await bot.store.unanswered()] == [UNKNOWN_QUESTION]
    assert await bot.store.count_queries() == len(declined) + 1  # all logged, only one to review
    # Each deliberate decline keeps its reason, so admins can see what the SOP does not cover.
    reasons = {row["text"]: row["reason"] for row in await bot.store.export_rows()}
    assert {text: reasons[text] for text in declined} == declined


@pytest.mark.parametrize(
    ("data", "toast"),
    [
        ("t1:ffffffffffffffff", STALE_REVIEW_TEXT),
        ("t1:ffffffffffffffff:subbag-sdm", STALE_REVIEW_TEXT),
        ("t1:{id}:no-such-unit", STALE_BUTTON_TEXT),
        ("t1:{id}:bag-keuangan-umum-logistik", STALE_BUTTON_TEXT),  # only Divisi and Sub Bagian
        ("t1:{id}:subbag-sdm", NOT_TEACHABLE_TEXT),  # nothing left after normalising
        ("p1:x:1", STALE_BUTTON_TEXT),
    ],
)
async def test_stale_or_odd_teach_buttons_change_nothing(bot: Harness, data: str, toast: str) -> None:
    greeting = record("halo", normalized="")
    await stored(bot.store, greeting)
    await bot.press(data.format(id=greeting.id))
    assert bot.toast() == toast
    assert bot.api.sent_texts() == []
    assert await bot.store.learned_phrases() == []


async def test_lupakan_without_an_id_explains_and_lists_the_learned_phrases(bot: Harness) -> None:
    await bot.admin("/lupakan")
    assert "Cara pakai" in bot.last() and "Belum ada frasa" in bot.last()
    learned_id = await bot.store.add_learned(HOSTILE, "tebal", "subbag-sdm", "subbag", ADMIN_ID)
    await bot.admin("/lupakan")
    assert f"#{learned_id} “&lt;script&gt;" in bot.last() and "Sub Bagian Sumber Daya Manusia" in bot.last()
    await bot.admin(f"/lupakan #{learned_id}")
    assert f"Frasa #{learned_id} dihapus" in bot.last()


# -- feedback ---------------------------------------------------------------------------------


async def test_answers_carry_votes_stored_once_per_user_and_changeable(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))
    reply = bot.sent()[-1]
    votes = [(label, data) for label, data in buttons(reply) if data.startswith("f1:")]
    assert [label for label, _ in votes] == ["👍", "👎"]
    query_id = votes[0][1].split(":")[1]
    assert re.fullmatch(r"[0-9a-f]{16}", query_id) and all(len(d.encode()) <= 64 for _, d in votes)
    assert votes == [("👍", f"f1:{query_id}:1"), ("👎", f"f1:{query_id}:-1")]

    await bot.press(f"f1:{query_id}:1", after=reply, user_id=USER_ID)
    assert bot.toast() == "Terima kasih atas masukannya 👍"
    await bot.store.flush()  # votes go through the background writer
    assert await bot.store.feedback(query_id) == {USER_ID: 1}
    (marked,) = bot.api.calls("editMessageReplyMarkup")
    assert [label for label, d in buttons(marked) if d.startswith("f1:")] == ["👍 ✓", "👎"]

    await bot.press(f"f1:{query_id}:-1", after=reply, user_id=USER_ID)  # changed their mind
    assert "👎" in bot.toast()
    await bot.store.flush()
    assert await bot.store.feedback(query_id) == {USER_ID: -1}
    assert await bot.store.query(query_id) is not None  # the vote sits with the question

    # Someone else (here in a group) votes separately; group buttons are not relabelled.
    pressed = fakes.bot_message(reply["text"], chat=fakes.group_chat())
    pressed["reply_markup"] = reply["reply_markup"]
    await bot.send(fakes.callback(f"f1:{query_id}:1", message=pressed, user_id=OTHER_ID))
    await bot.store.flush()
    assert await bot.store.feedback(query_id) == {USER_ID: -1, OTHER_ID: 1}
    assert len(bot.api.calls("editMessageReplyMarkup")) == 2


async def test_unanswered_replies_have_no_vote_buttons(bot: Harness) -> None:
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    assert not [d for _, d in buttons(bot.sent()[-1]) if d.startswith("f1:")]


async def test_example_answers_carry_votes_too(bot: Harness) -> None:
    await bot.press("q1:0", user_id=USER_ID)
    assert [label for label, d in buttons(bot.sent()[-1]) if d.startswith("f1:")] == ["👍", "👎"]


async def test_forged_votes_change_nothing(bot: Harness) -> None:
    """A client can send any button data: a vote counts only for the answer it is attached to."""
    await bot.send(fakes.private_text(SDM_QUESTION))
    reply = bot.sent()[-1]
    (query_id,) = {d.split(":")[1] for _, d in buttons(reply) if d.startswith("f1:")}
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    other = bot.sent()[-1]  # another answer, without vote buttons
    forged = [
        ("f1:0123456789abcdef:-1", reply),  # a made-up question under a real answer
        (f"f1:{query_id}:-1", other),  # a real question under another message
        (f"f1:{query_id}:-1", None),  # under a message without buttons
    ]
    for data, message in forged:
        await bot.press(data, after=message, user_id=USER_ID)
        assert bot.toast() == STALE_BUTTON_TEXT
    await bot.store.flush()
    assert await bot.store.feedback(query_id) == {}
    assert await bot.store.feedback("0123456789abcdef") == {}
    assert all(group.downvoted == 0 for group in await bot.store.unanswered())  # nothing put up for review


@pytest.mark.parametrize("data", ["f1:0123456789abcdef:2", "f1:XYZ:1", "f1:0123456789abcdef"])
async def test_odd_vote_buttons_are_stale(bot: Harness, data: str) -> None:
    await bot.press(data, user_id=USER_ID)
    assert bot.toast() == STALE_BUTTON_TEXT


# -- /stats, /coverage, /export ---------------------------------------------------------------


async def test_stats_sends_the_numbers_and_a_chart(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))
    query_id = bot.sent()[-1]["reply_markup"]["inline_keyboard"][-1][0]["callback_data"].split(":")[1]
    await bot.store.set_feedback(query_id, USER_ID, 1)
    await bot.send(fakes.private_text(UNKNOWN_QUESTION))
    bot.api.reset()
    await bot.send(fakes.private_text(FACT_QUESTION))  # declined on purpose, not a miss
    await stored(bot.store, record("rapat pleno kapan", ago=timedelta(days=3), reason="fact_question"))
    bot.api.reset()
    await bot.admin("/statistik 7")
    assert bot.api.methods() == ["sendMessage", "sendPhoto"]
    text = bot.last()
    assert "Statistik 7 hari terakhir" in text
    assert "Pertanyaan: 4: terjawab 1, ditolak sengaja 2, belum bisa dijawab 1" in text and "👍 1" in text
    assert "Tingkat terjawab (tanpa yang ditolak sengaja): 50%" in text
    assert "Ditolak sengaja karena di luar cakupan: fakta, angka atau tanggal (2)" in text
    assert "Subbag SDM (1)" in text and "klub (1)" in text
    assert "pleno" not in text.split("belum bisa dijawab:")[1]  # declines are not misses
    # every one of the 7 calendar days, the empty ones too
    per_day = text.split("Per hari: pertanyaan / terjawab / ditolak sengaja\n")[1].splitlines()
    assert len(per_day) == 7 and sum(line.endswith(": 0 / 0 / 0") for line in per_day) == 5
    (photo,) = bot.api.calls("sendPhoto")
    assert isinstance(photo["photo"], Upload) and photo["photo"].content.startswith(b"\x89PNG")
    assert "per hari" in photo["caption"] and "per minggu" in photo["caption"]


async def test_stats_over_90_days_lists_weeks_with_answer_rate_and_votes(bot: Harness) -> None:
    await stored(
        bot.store,
        *(record(f"soal {i}", answered=True, ago=timedelta(days=i)) for i in range(0, 90, 3)),
    )
    await bot.admin("/statistik 90")
    text = bot.api.calls("sendMessage")[-1]["text"]
    weeks = text.split("Per minggu (mulai Senin): pertanyaan, terjawab, 👍/👎\n")[1].splitlines()
    assert 13 <= len(weeks) <= 14 and all("👍 0 👎 0" in line for line in weeks)
    assert all(", 100%, " in line for line in weeks if ": 0, " not in line)
    assert all(", -, " in line for line in weeks if ": 0, " in line)  # no rate without questions
    assert "Per hari" not in text


async def test_stats_without_questions_sends_no_chart(bot: Harness) -> None:
    await bot.admin("/stats")
    assert "Statistik 30 hari terakhir" in bot.last() and "Belum ada pertanyaan" in bot.last()
    assert bot.api.calls("sendPhoto") == []


async def test_stats_without_matplotlib_still_sends_the_numbers(
    bot: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def missing(stats: Any) -> bytes:
        raise ImportError("No module named 'matplotlib'")

    monkeypatch.setattr(reports, "stats_chart_png", missing)
    await bot.send(fakes.private_text(SDM_QUESTION))
    await bot.admin("/stats")
    assert bot.api.calls("sendPhoto") == []
    assert "Pertanyaan: 1" in bot.sent()[-2]["text"] and "Grafik tidak tersedia" in bot.last()


async def test_coverage_counts_answers_per_unit_and_lists_what_was_never_asked(bot: Harness) -> None:
    await bot.send(fakes.private_text(SDM_QUESTION))
    bot.api.reset()
    await bot.admin("/cakupan")
    assert bot.api.methods() == ["sendMessage", "sendPhoto"]  # one message, then the picture
    text = bot.last()
    assert "Cakupan (semua waktu)" in text
    assert "Subbag SDM 1" in text and "Divisi SDM dan Litbang 1" in text
    assert "sdm" not in text.replace("SDM", "")  # names, never raw ids
    # both duties shown in the answer count, the Divisi's and the Sub Bagian's
    assert "1× Divisi SDM dan Litbang #5" in text and "1× Subbag SDM #11" in text
    assert "Tugas yang belum pernah ditampilkan (" in text and "Subbag Hukum: #1, #2" in text
    (photo,) = bot.api.calls("sendPhoto")
    assert photo["photo"].content.startswith(b"\x89PNG") and "Struktur organisasi" in photo["caption"]


async def test_out_of_scope_lists_what_was_declined_and_why_grouped(bot: Harness) -> None:
    await bot.admin("/diluarcakupan")
    assert "0 pertanyaan sengaja tidak dijawab." in bot.last()
    for _ in range(3):
        await bot.send(fakes.private_text(FACT_QUESTION))
    await stored(
        bot.store,
        record("alamat kpu jabar di mana", reason="other_office"),
        record(HOSTILE, reason="other_office"),
        record("pertanyaan lama", ago=timedelta(days=40), reason="other_office"),
        record(UNKNOWN_QUESTION, reason="no_match"),
    )
    await bot.admin("/diluarcakupan")
    text = bot.last()
    assert text.startswith("🚫 <b>Di luar cakupan</b> (30 hari terakhir): 5 pertanyaan sengaja tidak dijawab")
    assert text.index("Fakta, angka atau tanggal (3 pertanyaan):") < text.index(
        "Kantor KPU lain (2 pertanyaan):"
    )
    assert f"• 3× {FACT_QUESTION} (terakhir " in text and " WIB)" in text
    assert "&lt;script&gt;" in text  # escaped
    assert "klub mancing" not in text and "pertanyaan lama" not in text  # a real miss; outside 30 days
    await bot.admin("/diluarcakupan 90")
    assert "pertanyaan lama" in bot.last()


async def test_out_of_scope_fits_one_message_however_much_was_declined(bot: Harness) -> None:
    reasons = ["fact_question", "other_office", "other_agency", "definition", "bot_task", "chitchat"]
    await stored(
        bot.store,
        *(record(f"{'x' * 150} {r} {i}", reason=r) for r in reasons for i in range(20)),
    )
    await bot.admin("/diluarcakupan")
    text = bot.last()
    assert "120 pertanyaan" in text and all("(20 pertanyaan)" in text for _ in reasons)
    assert "pertanyaan lain" in text  # the rest is counted, not listed


async def test_export_sends_the_log_as_an_excel_workbook(bot: Harness) -> None:
    from openpyxl import load_workbook

    await bot.send(fakes.private_text(SDM_QUESTION))
    await bot.send(fakes.private_text('=HYPERLINK("http://x") siapa?'))
    await stored(bot.store, record("pertanyaan lama", ago=timedelta(days=40)))
    bot.api.reset()
    await bot.admin("/ekspor 30")
    (call,) = bot.api.calls("sendDocument")
    upload = call["document"]
    assert re.fullmatch(r"tupoksi-log-\d{8}\.xlsx", upload.filename)
    assert "2 baris" in call["caption"] and "30 hari terakhir" in call["caption"] and "WIB" in call["caption"]
    sheet = load_workbook(io.BytesIO(upload.content)).active
    header = [c.value for c in sheet[1]]
    rows = [dict(zip(header, (c.value for c in line), strict=True)) for line in sheet.iter_rows(min_row=2)]
    assert [r["Pertanyaan"] for r in rows] == [SDM_QUESTION, '=HYPERLINK("http://x") siapa?']
    assert sheet.cell(3, 3).data_type == "s"  # a question, never a formula
    first = rows[0]
    assert (
        first["Terjawab"] == "ya"
        and first["Divisi"] == "Divisi SDM dan Litbang"
        and first["Sub Bagian"] == "Subbag SDM"
    )
    assert first["Tugas Divisi"].startswith("#") and first["Tugas Sub Bagian"].startswith(
        "#"
    )  # both cited duties
    assert isinstance(first["Waktu (WIB)"], datetime)
    asked = (await bot.store.query(first["ID pertanyaan"])).asked_at
    assert first["Waktu (WIB)"] == asked.astimezone(time_zone("Asia/Jakarta")).replace(
        tzinfo=None, microsecond=first["Waktu (WIB)"].microsecond
    )

    await bot.admin("/export")  # the English alias
    assert "3 baris" in bot.api.calls("sendDocument")[-1]["caption"]


async def test_export_of_an_empty_window_says_so(bot: Harness) -> None:
    await bot.admin("/export 1")
    assert bot.api.calls("sendDocument") == [] and "Tidak ada pertanyaan tersimpan" in bot.last()


# -- /reload ----------------------------------------------------------------------------------


async def test_reload_of_a_broken_kb_keeps_the_old_one_and_says_where(
    kb: KnowledgeBase, store: Database, kb_copy: Path
) -> None:
    (kb_copy / "units" / "subbag-sdm.yaml").write_text(
        "id: subbag-sdm\nlevel: [oops <b>&\n", encoding="utf-8"
    )
    (kb_copy / "units" / "subbag-hukum.yaml").write_text("id: subbag-hukum\n", encoding="utf-8")
    async with admin_bot(kb, store, kb_dir=kb_copy) as bot:
        matcher = bot.d.service.matcher
        await bot.admin("/reload")
        text = "\n".join(bot.api.sent_texts())
        assert "tidak valid" in text and "tetap memakai versi lama" in text
        assert "knowledge/units/subbag-sdm.yaml:3: YAML tidak valid" in text and "invalid YAML" not in text
        assert "knowledge/units/subbag-hukum.yaml:1: kunci 'level' belum ada di unit" in text
        assert "pesan teknis" not in text  # every problem was said in Indonesian
        assert bot.d.service.matcher is matcher
        await bot.send(fakes.private_text(SDM_QUESTION))
        assert "Sub Bagian Sumber Daya Manusia" in bot.last()


async def test_reload_swaps_in_a_valid_edited_kb_with_the_learned_phrases(
    kb: KnowledgeBase, store: Database, kb_copy: Path
) -> None:
    path = kb_copy / "units" / "subbag-umum-logistik.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("terms: [surat menyurat,", "terms: [zorblax, surat menyurat,", 1), encoding="utf-8"
    )
    normalized = Matcher(kb).match(UNKNOWN_QUESTION).normalized
    await store.add_learned(UNKNOWN_QUESTION, normalized, "subbag-keuangan", "subbag", ADMIN_ID)
    async with admin_bot(kb, store, kb_dir=kb_copy) as bot:
        await bot.send(fakes.private_text("siapa yang mengurus zorblax kantor"))
        assert bot.last().startswith("🙏 Maaf")
        await bot.admin("/reload")
        assert "Basis pengetahuan dimuat ulang" in bot.last()
        assert (
            f"{kb.content_hash}</code> → <code>" in bot.last()
            and "frasa ajaran yang diterapkan: 1" in bot.last()
        )
        assert (
            bot.d.service.kb.content_hash != kb.content_hash and bot.d.service.matcher.kb is bot.d.service.kb
        )
        await bot.send(fakes.private_text("siapa yang mengurus zorblax kantor"))
        assert "<b>Sub Bagian</b>: Sub Bagian Umum dan Logistik" in bot.last()
        await bot.send(fakes.private_text(UNKNOWN_QUESTION))  # taught before the reload
        assert "<b>Sub Bagian</b>: Sub Bagian Keuangan" in bot.last()


async def test_questions_during_a_reload_are_answered_from_the_old_kb(
    kb: KnowledgeBase, store: Database, kb_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()
    real_load = service.load_kb

    def slow_load(path: Path) -> KnowledgeBase:
        started.set()
        assert release.wait(10)
        return real_load(path)

    monkeypatch.setattr(service, "load_kb", slow_load)
    async with admin_bot(kb, store, kb_dir=kb_copy) as bot:
        old = bot.d.service.matcher
        reload = asyncio.create_task(bot.admin("/reload"))
        assert await asyncio.to_thread(started.wait, 10)
        await bot.send(fakes.private_text(SDM_QUESTION))  # served while the new KB loads
        assert "Sub Bagian Sumber Daya Manusia" in bot.last() and bot.d.service.matcher is old
        release.set()
        await reload
        assert bot.d.service.matcher is not old and "dimuat ulang" in bot.last()


# -- storage: retention, concurrency, lifecycle -----------------------------------------------


async def test_the_daily_job_purges_questions_older_than_the_retention(
    kb: KnowledgeBase, store: Database
) -> None:
    async with admin_bot(kb, store, log_retention_days=30) as bot:
        (job,) = bot.app.job_queue.get_jobs_by_name(PURGE_JOB)
        assert job.job.trigger.interval == timedelta(days=1)
        old, recent = record("lama", ago=timedelta(days=31)), record("baru", ago=timedelta(days=29))
        await stored(store, old, recent)
        await store.set_feedback(old.id, USER_ID, -1)
        await purge_old_questions(CallbackContext(bot.app))
        assert await store.count_queries() == 1
        assert await store.query(recent.id) is not None and await store.feedback(old.id) == {}


async def test_200_concurrent_questions_all_end_up_as_rows(bot: Harness) -> None:
    questions = [SDM_QUESTION, ARSIP_QUESTION, UNKNOWN_QUESTION, LOW_QUESTION]
    updates = [
        fakes.to_update(fakes.private_text(questions[i % 4], user_id=10_000 + i), bot.app.bot)
        for i in range(200)
    ]
    await asyncio.gather(*(bot.app.process_update(u) for u in updates))
    await bot.store.flush()
    assert await bot.store.count_queries() == 200
    assert len(bot.sent()) == 200
    assert bot.store.stats.dropped == bot.store.stats.rejected == 0
    rows = await bot.store.export_rows()
    assert {r["user_id"] for r in rows} == {10_000 + i for i in range(200)}
    assert sum(r["answered"] for r in rows) == 100  # SDM and arsip answered, the others not
    voted = {d.split(":")[1] for p in bot.sent() for _, d in buttons(p) if d.startswith("f1:")}
    assert len(voted) == 100 and voted <= {r["id"] for r in rows}


async def test_the_application_opens_its_database_applies_learned_phrases_and_closes_it(
    kb: KnowledgeBase, tmp_path: Path
) -> None:
    path = tmp_path / "data" / "tupoksi.sqlite3"
    normalized = Matcher(kb).match(UNKNOWN_QUESTION).normalized
    async with await open_database(path) as earlier:  # a phrase taught in an earlier run
        await earlier.add_learned(UNKNOWN_QUESTION, normalized, "subbag-keuangan", "subbag", ADMIN_ID)
    api = FakeRequest()
    settings = Settings(token=TOKEN, database_path=path)
    app = build_application(
        settings, kb, Matcher(kb), request=api, updates_request=api, rate_limiter=False, database_path=path
    )
    async with app:
        await app.post_init(app)
        d = deps(app)
        assert isinstance(d.service.database, Database)
        await app.process_update(fakes.to_update(fakes.private_text(UNKNOWN_QUESTION), app.bot))
        assert "<b>Sub Bagian</b>: Sub Bagian Keuangan" in api.last_text()
    await app.post_shutdown(app)  # after shutdown, as run_polling does: writes and closes
    assert d.service.database is None
    async with await open_database(path) as reopened:
        (row,) = await reopened.export_rows()
        assert row["text"] == UNKNOWN_QUESTION and row["answered"] == 1


def test_run_reports_a_database_it_cannot_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)

    # Stand in for the polling: it runs post_init, which opens the database (here a folder).
    async def polling(app: Application) -> None:
        await app.post_init(app)

    monkeypatch.setattr(telegram_app, "serve_polling", polling)
    assert run_bot(Settings(token=TOKEN, database_path=tmp_path)) == 6
    err = capsys.readouterr().err
    assert err.startswith(f"tupoksi: cannot use the database {tmp_path}:") and TOKEN not in err


def test_run_closes_the_database_even_when_ptb_stops_half_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A stop signal during start-up can make PTB skip post_shutdown: run_bot still closes it.

    (An open database would keep the process alive: aiosqlite's thread is not a daemon.)
    """
    monkeypatch.setattr(telegram_app, "setup_logging", lambda settings: None)
    opened: list[Database | None] = []

    async def polling(app: Application) -> None:
        await open_storage(app)
        opened.append(deps(app).service.database)
        raise NetworkError("Unknown error in HTTP implementation")

    monkeypatch.setattr(telegram_app, "serve_polling", polling)
    assert run_bot(Settings(token=TOKEN, database_path=tmp_path / "tupoksi.sqlite3")) == 5
    (log,) = opened
    assert log is not None
    with pytest.raises(StorageError, match="closed"):
        asyncio.run(log.count_queries())
    assert "cannot reach the Bot API" in capsys.readouterr().err


def test_teach_menu_offers_every_divisi_and_sub_bagian(kb: KnowledgeBase) -> None:
    from bot.text.admin import teach_buttons

    keyboard = teach_buttons(kb, "0123456789abcdef", ["subbag-sdm"])
    assert all(len(row) == 1 for row in keyboard)  # one per row: a phone shows the whole name
    assert max(len(b.text) for row in keyboard for b in row) <= PHONE_FULL_ROW
    data = [b.data for row in keyboard for b in row]
    expected = [u.id for level in (Level.DIVISI, Level.SUBBAG) for u in listable_units(kb, level)]
    assert [d.split(":")[2] for d in data[:-1]] == expected
    assert data[-1] == "t1:0123456789abcdef:-"
    assert all(len(d.encode()) <= 64 for d in data)
