"""Contacts in Telegram: /kontak for admins, contact questions, contact lines in answers and cards.

A real database under ``tmp_path`` behind the real application; the KB is the real one with
``contacts.yaml`` filled in where a test needs the file's people.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from bot.core.contacts import Contact
from bot.core.model import KnowledgeBase
from bot.storage import Database, open_database
from tests.support import fakes
from tests.support.fakes import USER_ID
from tests.support.harness import ADMIN_ID, Harness, running, with_database

SET_KASUBBAG = "/kontak subbag keuangan Kasubbag: Rina Marlina, @rina_keu, 0254-200123 ext. 12"


@pytest.fixture
async def bot(kb: KnowledgeBase, store: Database) -> AsyncIterator[Harness]:
    async with with_database(kb, store) as harness:
        yield harness


def with_file_contacts(kb: KnowledgeBase, **people: tuple[Contact, ...]) -> KnowledgeBase:
    """The KB as if ``contacts.yaml`` listed ``people`` (unit ids with dashes as underscores)."""
    return replace(kb, contacts=tuple((unit.replace("_", "-"), c) for unit, c in people.items()))


async def test_an_admin_sets_a_contact_and_a_contact_question_answers_with_it(bot: Harness) -> None:
    await bot.send(fakes.private_text("siapa kasubbag keuangan sekarang?"))
    before = bot.last()
    assert "Sub Bagian Keuangan" in before and "Belum ada kontak yang tercatat" in before
    assert "Tugas #" not in before  # not a duty quoted as if it answered who the person is

    await bot.admin(SET_KASUBBAG)
    assert "✅ Disimpan: Kasubbag Rina Marlina" in bot.last()
    assert "diatur lewat Telegram" in bot.last()

    for question in (
        "siapa kasubbag keuangan sekarang?",
        "nomor wa subbag keuangan?",
        "kontak subbag keuangan",
    ):
        await bot.send(fakes.private_text(question))
        reply = bot.last()
        assert "Sub Bagian Keuangan" in reply and "Rina Marlina" in reply, question
        assert "0254-200123 ext. 12" in reply
        # The username is a link that notifies nobody: no "@rina_keu" mention in the text.
        assert '<a href="https://t.me/rina_keu">rina_keu</a>' in reply and "@rina_keu" not in reply


async def test_answers_and_unit_cards_show_the_units_people(bot: Harness) -> None:
    await bot.admin(SET_KASUBBAG)
    await bot.send(fakes.private_text("siapa yang mengurus SPJ perjalanan dinas?"))
    answer = bot.last()
    assert "Sub Bagian" in answer and "👤 Kasubbag: Rina Marlina" in answer

    await bot.send(fakes.command("/subbag keuangan"))
    card = bot.last()
    assert "<b>Kontak</b>" in card and "Rina Marlina" in card

    # A unit without people: its card says nothing about contacts, the answer neither.
    await bot.send(fakes.command("/subbag hukum"))
    assert "Kontak" not in bot.last()


async def test_in_the_group_a_short_answer_carries_a_contact_and_a_contact_question_its_people(
    bot: Harness,
) -> None:
    await bot.admin(SET_KASUBBAG)
    await bot.send(fakes.mention("@TupoksiBot siapa yang mengurus SPJ perjalanan dinas?"))
    short = bot.sent()[-1]
    assert short["chat_id"] == fakes.GROUP_ID
    assert "👤 Kasubbag: Rina Marlina" in short["text"] and len(short["text"].splitlines()) <= 5
    assert "🔎 Detail" in [label for label, _ in fakes.buttons(short)]

    await bot.send(fakes.mention("@TupoksiBot siapa kasubbag keuangan sekarang?"))
    people = bot.sent()[-1]
    assert "📇 <b>Kontak</b>" in people["text"] and "0254-200123 ext. 12" in people["text"]
    # The contact answer is whole already: no "Detail" that would only repeat it.
    assert "🔎 Detail" not in [label for label, _ in fakes.buttons(people)]


async def test_a_contact_question_about_a_divisi_and_about_a_unit_named_plainly(bot: Harness) -> None:
    await bot.admin("/kontak divisi teknis Ketua Divisi: Ahmad Fauzi")
    await bot.send(fakes.private_text("siapa ketua divisi teknis?"))
    assert "Divisi Teknis" in bot.last() and "Ketua Divisi: Ahmad Fauzi" in bot.last()

    await bot.send(fakes.private_text("nomor telepon sekretariat"))
    reply = bot.last()
    assert "Sekretariat" in reply and "Belum ada kontak yang tercatat" in reply


async def test_a_contact_question_answered_is_not_put_up_for_review(bot: Harness, store: Database) -> None:
    await bot.send(fakes.private_text("nomor wa subbag keuangan?"))
    await store.flush()
    assert await store.unanswered() == []


async def test_replacing_removing_and_resetting_contacts(kb: KnowledgeBase, store: Database) -> None:
    from_file = with_file_contacts(kb, subbag_hukum=(Contact("Kasubbag", "Dari Berkas"),))
    async with with_database(from_file, store) as bot:
        await bot.send(fakes.private_text("kontak subbag hukum"))
        assert "Dari Berkas" in bot.last()

        # Telegram wins for that unit; the file's people are its starting point.
        await bot.admin("/kontak subbag hukum Staf: Sari Dewi, 0254-1")
        await bot.admin("/kontak subbag hukum Staf: Dedi Kurnia")
        listing = bot.last()
        assert all(name in listing for name in ("Dari Berkas", "Sari Dewi", "Dedi Kurnia"))
        await bot.admin("/kontak subbag hukum Kasubbag: Orang Baru")
        assert "Dari Berkas" not in bot.last() and "Orang Baru" in bot.last()  # one Kasubbag

        await bot.admin("/kontak subbag hukum hapus Sari Dewi")
        assert "1 kontak dihapus" in bot.last() and "Sari Dewi" not in bot.last()
        await bot.admin("/kontak subbag hukum hapus Bendahara")
        assert "Tidak ada kontak" in bot.last()

        await bot.admin("/kontak")
        overview = bot.last()
        assert (
            "Subbag Hukum ✏️" in overview
            and "Orang Baru" in overview
            and "Subbag SDM: <i>belum ada</i>" in overview
        )

        await bot.admin("/kontak subbag hukum reset")
        assert "berkas KB" in bot.last() and "Dari Berkas" in bot.last()
        await bot.send(fakes.private_text("kontak subbag hukum"))
        assert "Dari Berkas" in bot.last() and "Orang Baru" not in bot.last()


async def test_contacts_set_in_telegram_survive_a_restart(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "restart" / "tupoksi.sqlite3"
    async with await open_database(path) as first, with_database(kb, first) as bot:
        await bot.admin(SET_KASUBBAG)
    async with await open_database(path) as second, with_database(kb, second) as bot:
        await bot.send(fakes.private_text("siapa kasubbag keuangan?"))
        assert "Rina Marlina" in bot.last()


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("/kontak subbag keuangan Rina Marlina", "Tulis perannya"),
        ("/kontak subbag keuangan Kasubbag:", "Namanya belum ada"),
        ("/kontak subbag keuangan Kasubbag: Rina, @ab", "Username Telegram"),
        ("/kontak subbag keuangan Kasubbag: Rina, 12 abc", "Nomor telepon"),
        ("/kontak subbag keuangan Kasubbag: Rina, alamat rumah", "Sesudah nama"),
        ("/kontak bagian antah berantah Kasubbag: Rina", "tidak saya kenali"),
        ("/kontak subbag keuangan : Rina", "Tulis perannya"),
    ],
)
async def test_bad_contact_lines_change_nothing_and_say_why(
    bot: Harness, store: Database, line: str, why: str
) -> None:
    await bot.admin(line)
    assert why in bot.last()
    assert await store.contact_lists() == {}


async def test_only_admins_set_contacts(bot: Harness, store: Database) -> None:
    await bot.send(fakes.command(SET_KASUBBAG, user_id=USER_ID))
    assert "khusus admin" in bot.last()
    assert await store.contact_lists() == {}


async def test_contact_text_is_escaped(bot: Harness) -> None:
    await bot.admin("/kontak subbag sdm Staf <b>: Nama <i>x</i> & co")
    await bot.send(fakes.private_text("kontak subbag sdm"))
    assert "Nama &lt;i&gt;x&lt;/i&gt; &amp; co" in bot.last()


async def test_the_admin_menu_lists_kontak(kb: KnowledgeBase, store: Database) -> None:
    async with with_database(kb, store, forget_start=False) as bot:
        admin_menus = [
            c for c in bot.api.calls("setMyCommands") if c.get("scope", {}).get("chat_id") == ADMIN_ID
        ]
        assert any(cmd["command"] == "kontak" for cmd in admin_menus[0]["commands"])


async def test_the_files_people_show_in_answers_and_inline_cards_without_a_database(
    kb: KnowledgeBase,
) -> None:
    from_file = with_file_contacts(kb, subbag_sdm=(Contact("Kasubbag", "Dari Berkas", "kasubbag_sdm"),))
    async with running(from_file, rate_limit_per_minute=0) as bot:
        await bot.send(fakes.private_text("siapa yang mengurus kenaikan gaji berkala pegawai?"))
        assert "👤 Kasubbag: Dari Berkas" in bot.last()
        await bot.send(fakes.inline_query("siapa yang mengurus kenaikan gaji berkala pegawai?"))
        (answer,) = bot.api.calls("answerInlineQuery")
        card = next(r for r in answer["results"] if "Subbag SDM" in r["title"])
        assert "Dari Berkas" in card["input_message_content"]["message_text"]
