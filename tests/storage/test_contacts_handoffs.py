"""Contacts set in Telegram and hand-offs: stored, read back, kept across reopening."""

from __future__ import annotations

from pathlib import Path

from bot.core.contacts import Contact
from bot.storage import HandOff, open_database


async def test_contact_lists_replace_reset_and_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    async with await open_database(path) as db:
        await db.set_contact_list("subbag-hukum", [Contact("Kasubbag", "A", "user_a", "021-1")], by=1)
        await db.set_contact_list("subbag-hukum", [Contact("Staf", "B"), Contact("Staf", "C")], by=1)
        await db.set_contact_list("subbag-sdm", [], by=1)  # emptied in Telegram: still overrides the file
    async with await open_database(path) as db:
        assert await db.contact_lists() == {
            "subbag-hukum": (Contact("Staf", "B"), Contact("Staf", "C")),
            "subbag-sdm": (),
        }
        assert await db.drop_contact_list("subbag-hukum")
        assert not await db.drop_contact_list("subbag-hukum")
        assert await db.contact_lists() == {"subbag-sdm": ()}


async def test_a_hand_off_is_stored_once_and_closed_once(tmp_path: Path) -> None:
    handoff = HandOff("ab12", -100, 7, 42, "Budi (@budi)", "Grup", "siapa urus X", "urus x")
    async with await open_database(tmp_path / "t.sqlite3") as db:
        assert await db.add_handoff(handoff)
        assert not await db.add_handoff(handoff)
        (pending,) = await db.pending_handoffs("urus x")
        assert (pending.chat_id, pending.message_id, pending.asker) == (-100, 7, "Budi (@budi)")
        assert await db.close_handoff("ab12", by=9, unit_id="subbag-hukum")
        assert not await db.close_handoff("ab12", by=9, unit_id="subbag-hukum")
        assert await db.pending_handoffs("urus x") == []
        closed = await db.handoff("ab12")
        assert closed is not None and closed.unit_id == "subbag-hukum" and closed.answered_by == 9
