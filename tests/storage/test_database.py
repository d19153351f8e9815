"""The queries: feedback, the review list, learned phrases, reports and retention."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.storage import (
    EXPORT_COLUMNS,
    Coverage,
    Database,
    DayCount,
    LearnedPhrase,
)
from bot.text.exports import rows_to_csv
from tests.support.storage import NOW, disk_full, raw, rec, store

# ---------------------------------------------------------------------------- feedback


async def test_feedback_one_vote_per_user_changeable(qlog: Database, db_path: Path) -> None:
    await store(qlog, rec(id="q"))
    assert await qlog.set_feedback("q", 1, 1) == 1
    assert await qlog.set_feedback("q", 2, -1) == -1
    assert await qlog.set_feedback("q", 1, -1) == -1  # user 1 changes their mind
    assert await qlog.feedback("q") == {1: -1, 2: -1}
    assert raw(db_path, "SELECT COUNT(*) FROM feedback") == [(2,)]
    with pytest.raises(ValueError, match="vote"):
        await qlog.set_feedback("q", 1, 0)


async def test_feedback_before_the_row_is_written(qlog: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    disk_full(monkeypatch, qlog)
    qlog.log(rec(id="late", answered=True))
    await qlog.flush()
    assert await qlog.count_queries() == 0
    assert await qlog.set_feedback("late", 5, -1) == -1  # writer is behind: still accepted
    monkeypatch.undo()
    await qlog.flush()
    rows = {row["id"]: row["net_vote"] for row in await qlog.export_rows()}
    assert rows == {"late": -1}


# ------------------------------------------------------------------------------ review


async def test_unanswered_groups_and_ordering(qlog: Database) -> None:
    await store(
        qlog,
        rec(
            id="g1",
            normalized="urus gaji",
            text="urus gaji?",
            answered=False,
            asked_at=NOW - timedelta(hours=5),
        ),
        rec(
            id="g2",
            normalized="urus gaji",
            text="Urus GAJI",
            answered=False,
            asked_at=NOW - timedelta(hours=1),
        ),
        rec(
            id="g3",
            normalized="urus gaji",
            text="gaji siapa",
            answered=False,
            asked_at=NOW - timedelta(hours=3),
        ),
        rec(
            id="atk",
            normalized="beli atk",
            text="beli ATK",
            answered=False,
            asked_at=NOW - timedelta(hours=2),
        ),
        rec(id="ok", normalized="jadwal pemilu", answered=True, asked_at=NOW),
        rec(
            id="bad",
            normalized="logistik",
            text="Logistik?",
            answered=True,
            asked_at=NOW - timedelta(minutes=30),
        ),
        rec(id="liked", normalized="arsip", answered=True, asked_at=NOW - timedelta(minutes=10)),
    )
    await qlog.set_feedback("bad", 1, 1)
    await qlog.set_feedback("bad", 2, -1)  # one 👎 among 👍 still needs review
    await qlog.set_feedback("liked", 1, 1)
    await qlog.set_feedback("liked", 2, 1)

    groups = await qlog.unanswered(days=None, limit=10, offset=0)
    assert [g.normalized for g in groups] == ["logistik", "urus gaji", "beli atk"]
    gaji = groups[1]
    assert gaji.count == 3
    assert gaji.example == "Urus GAJI"  # the newest one
    assert gaji.ids == ("g2", "g3", "g1")
    assert gaji.last_asked == (NOW - timedelta(hours=1))
    assert gaji.downvoted == 0
    assert groups[0].downvoted == 1
    assert groups[0].ids == ("bad",)
    assert await qlog.count_unanswered_groups(None) == 3


async def test_unanswered_excludes_resolved_and_old(qlog: Database) -> None:
    await store(
        qlog,
        rec(id="old", normalized="lama", answered=False, asked_at=NOW - timedelta(days=10)),
        rec(id="new", normalized="baru", answered=False, asked_at=NOW - timedelta(days=1)),
        rec(id="fixed", normalized="diperbaiki", answered=False),
    )
    assert await qlog.mark_resolved("diperbaiki", by=99) == 1
    recent = await qlog.unanswered(days=7, limit=10, offset=0)
    assert [g.normalized for g in recent] == ["baru"]
    assert await qlog.count_unanswered_groups(7) == 1
    everything = await qlog.unanswered(days=None, limit=10, offset=0)
    assert [g.normalized for g in everything] == ["baru", "lama"]
    resolved = await qlog.query("fixed")
    assert resolved is not None
    assert resolved.resolved_by == 99
    assert resolved.resolved_at is not None


async def test_unanswered_paging(qlog: Database) -> None:
    await store(
        qlog,
        *(
            rec(
                id=f"p{i}",
                normalized=f"tanya {i}",
                answered=False,
                asked_at=NOW - timedelta(minutes=i),
            )
            for i in range(7)
        ),
    )
    assert await qlog.count_unanswered_groups(None) == 7
    pages = [await qlog.unanswered(None, limit=3, offset=off) for off in (0, 3, 6, 9)]
    assert [[g.normalized for g in page] for page in pages] == [
        ["tanya 0", "tanya 1", "tanya 2"],
        ["tanya 3", "tanya 4", "tanya 5"],
        ["tanya 6"],
        [],
    ]


async def test_mark_resolved_only_touches_rows_needing_review(qlog: Database) -> None:
    await store(
        qlog,
        rec(id="u1", normalized="gaji", answered=False),
        rec(id="u2", normalized="gaji", answered=False),
        rec(id="a1", normalized="gaji", answered=True),
        rec(id="a2", normalized="gaji", answered=True),
        rec(id="other", normalized="atk", answered=False),
    )
    await qlog.set_feedback("a2", 3, -1)
    assert await qlog.mark_resolved("gaji", by=1) == 3  # u1, u2 and the 👎 a2
    untouched = await qlog.query("a1")
    assert untouched is not None
    assert untouched.resolved_at is None
    assert await qlog.mark_resolved("gaji", by=1) == 0  # already resolved
    assert [g.normalized for g in await qlog.unanswered(None, 10, 0)] == ["atk"]


async def test_mark_resolved_includes_rows_not_yet_written(qlog: Database) -> None:
    qlog.log(rec(id="fresh", normalized="baru saja", answered=False))
    assert await qlog.mark_resolved("baru saja", by=1) == 1


# ----------------------------------------------------------------------------- learned


async def test_learned_add_list_remove(qlog: Database) -> None:
    first = await qlog.add_learned("Pengadaan ATK", "adaan atk", "subbag-umum", "subbag", 11)
    second = await qlog.add_learned("Data pemilih", "data pilih", "div-data-informasi", "divisi", 12)
    phrases = await qlog.learned_phrases()
    assert [p.id for p in phrases] == [first, second]
    assert phrases[0] == LearnedPhrase(
        id=first,
        phrase="Pengadaan ATK",
        normalized="adaan atk",
        unit_id="subbag-umum",
        level="subbag",
        created_by=11,
        created_at=phrases[0].created_at,
        removed_at=None,
    )
    assert abs(phrases[0].created_at - datetime.now(UTC)) < timedelta(minutes=1)

    removed = await qlog.remove_learned(first)
    assert removed is not None
    assert removed.id == first
    assert removed.phrase == "Pengadaan ATK"
    assert removed.removed_at is not None
    assert [p.id for p in await qlog.learned_phrases()] == [second]
    assert await qlog.remove_learned(first) is None  # already removed
    assert await qlog.remove_learned(12345) is None  # unknown

    with pytest.raises(ValueError, match="level"):
        await qlog.add_learned("x", "x", "sekretariat", "sekretariat", 1)


async def test_undoing_a_teaching_reopens_its_questions(qlog: Database) -> None:
    await store(qlog, rec(id="u", normalized="gaji", answered=False))
    learned = await qlog.add_learned("gaji", "gaji", "subbag-keuangan", "subbag", 1)
    assert await qlog.mark_resolved("gaji", by=1, learned_id=learned) == 1
    assert await qlog.unanswered(None, 10, 0) == []
    await qlog.remove_learned(learned)
    assert [g.ids for g in await qlog.unanswered(None, 10, 0)] == [("u",)]


# ----------------------------------------------------------------------------- reports


async def fill_report_data(log: Database) -> None:
    day1 = datetime(2024, 3, 1, 10, tzinfo=UTC)
    day2 = datetime(2024, 3, 2, 20, tzinfo=UTC)
    await store(
        log,
        rec(
            id="r1",
            asked_at=day1,
            answered=True,
            divisi_id="div-a",
            subbag_id="sub-x",
            duty_ref="sub-x#1",
        ),
        rec(
            id="r2",
            asked_at=day1,
            answered=True,
            divisi_id="div-a",
            subbag_id="sub-y",
            duty_ref="sub-y#2",
        ),
        rec(
            id="r3",
            asked_at=day1,
            answered=False,
            normalized="beli atk kantor",
            divisi_id="div-b",
            subbag_id=None,
            duty_ref=None,
        ),
        rec(
            id="r4",
            asked_at=day2,
            answered=True,
            divisi_id="div-b",
            subbag_id="sub-x",
            duty_ref="sub-x#1",
        ),
        rec(
            id="r5",
            asked_at=day2,
            answered=False,
            normalized="atk rusak",
            divisi_id=None,
            subbag_id=None,
            duty_ref=None,
        ),
    )
    await log.set_feedback("r1", 1, 1)
    await log.set_feedback("r1", 2, 1)
    await log.set_feedback("r2", 1, -1)
    await log.set_feedback("r4", 1, 1)


async def test_stats_numbers(qlog: Database) -> None:
    await fill_report_data(qlog)
    qlog.clock = lambda: datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    report = await qlog.report(None)
    assert (report.total, report.answered) == (5, 3)
    assert report.answer_rate == pytest.approx(0.6)
    assert (report.thumbs_up, report.thumbs_down) == (3, 1)
    # every calendar day up to today, the empty ones as zeros
    assert report.per_day == [
        DayCount("2024-03-01", 3, 2),
        DayCount("2024-03-02", 2, 1),
        DayCount("2024-03-03", 0, 0),
        DayCount("2024-03-04", 0, 0),
    ]
    assert [(w.start, w.questions, w.answered) for w in report.per_week] == [
        ("2024-02-26", 5, 3),
        ("2024-03-04", 0, 0),
    ]
    assert report.declined == [] and report.missed == 2
    assert report.top_divisi == [("div-a", 2), ("div-b", 1)]  # answered only: r3 not counted
    assert report.top_subbag == [("sub-x", 2), ("sub-y", 1)]
    assert report.unanswered_terms[0] == ("atk", 2)
    assert set(report.unanswered_terms) == {("atk", 2), ("beli", 1), ("kantor", 1), ("rusak", 1)}


async def test_stats_window_offset_and_empty(qlog: Database) -> None:
    empty = await qlog.report(7)
    assert (empty.total, empty.answer_rate) == (0, 0.0)
    assert len(empty.per_day) == 7 and not any(d.questions for d in empty.per_day)  # 7 calendar days
    await fill_report_data(qlog)
    await store(qlog, rec(id="today", answered=False, normalized="hari ini"))
    recent = await qlog.report(7)
    assert (recent.total, recent.answered, recent.thumbs_up) == (1, 0, 0)
    wib = await qlog.report(None, utc_offset=timedelta(hours=7))
    # 2024-03-02 20:00 UTC is 2024-03-03 03:00 WIB
    assert [(d.day, d.questions) for d in wib.per_day][:3] == [
        ("2024-03-01", 3),
        ("2024-03-02", 0),
        ("2024-03-03", 2),
    ]


async def test_stats_count_deliberate_declines_by_reason_apart_from_misses(qlog: Database) -> None:
    await store(
        qlog,
        rec(id="f1", answered=False, normalized="kapan pleno", reason="fact_question"),
        rec(id="f2", answered=False, normalized="jadwal pleno", reason="fact_question"),
        rec(id="o1", answered=False, normalized="kpu jabar", reason="other_office"),
        rec(id="m1", answered=False, normalized="parkir tamu", reason="no_match"),
        rec(id="a1"),
    )
    report = await qlog.report(7)
    assert report.declined == [("fact_question", 2), ("other_office", 1)]
    assert (report.declined_total, report.missed, report.answered) == (3, 1, 1)
    assert report.in_scope_rate == pytest.approx(0.5)
    assert report.unanswered_terms == [("parkir", 1), ("tamu", 1)]  # "pleno" was declined on purpose
    assert report.per_day[-1].declined == 3 and report.per_day[-1].missed == 1


async def test_coverage_counts_answered_only(qlog: Database) -> None:
    await fill_report_data(qlog)
    coverage = await qlog.coverage()
    assert coverage == Coverage(
        units={"div-a": 2, "div-b": 1, "sub-x": 2, "sub-y": 1},
        duties={"sub-x#1": 2, "sub-y#2": 1},
    )


async def test_export_rows_have_all_columns_and_net_vote(qlog: Database) -> None:
    await fill_report_data(qlog)
    rows = await qlog.export_rows(None)
    assert [row["id"] for row in rows] == ["r1", "r2", "r3", "r4", "r5"]
    assert all(tuple(row) == EXPORT_COLUMNS for row in rows)
    votes = {row["id"]: row["net_vote"] for row in rows}
    assert votes == {"r1": 2, "r2": -1, "r3": 0, "r4": 1, "r5": 0}
    assert rows[0]["duty_ref"] == "sub-x#1"
    assert rows[0]["latency_ms"] == 12.5
    assert await qlog.export_rows(7) == []


async def test_csv_of_real_export_round_trips(qlog: Database) -> None:
    await store(qlog, rec(id="c", text='a,b "c"\nd'))
    parsed = list(csv.DictReader(io.StringIO(rows_to_csv(await qlog.export_rows()))))
    assert parsed[0]["text"] == 'a,b "c"\nd'
    assert parsed[0]["answered"] == "1"


# --------------------------------------------------------------------------- retention


async def test_purge_older_than(qlog: Database, db_path: Path) -> None:
    await store(
        qlog,
        rec(id="old1", asked_at=NOW - timedelta(days=100)),
        rec(id="old2", asked_at=NOW - timedelta(days=40)),
        rec(id="new", asked_at=NOW - timedelta(days=5)),
    )
    await qlog.set_feedback("old1", 1, 1)
    await qlog.set_feedback("new", 1, -1)
    assert await qlog.purge_older_than(30) == 2
    assert [row["id"] for row in await qlog.export_rows()] == ["new"]
    assert raw(db_path, "SELECT query_id FROM feedback") == [("new",)]
    assert await qlog.purge_older_than(30) == 0
    with pytest.raises(ValueError, match="days"):
        await qlog.purge_older_than(-1)


async def test_purge_removes_old_orphan_feedback(qlog: Database, db_path: Path, monkeypatch) -> None:
    await qlog.set_feedback("never-written", 1, 1)
    monkeypatch.setattr(qlog, "clock", lambda: NOW + timedelta(days=60))
    assert await qlog.purge_older_than(30) == 0
    assert raw(db_path, "SELECT COUNT(*) FROM feedback") == [(0,)]


async def test_unanswered_skips_questions_declined_on_purpose(qlog: Database) -> None:
    qlog.log(rec(text="makasih", normalized="", answered=False, reason="chitchat"))
    qlog.log(rec(text="berapa dpt?", normalized="dpt", answered=False, reason="fact_question"))
    qlog.log(rec(text="parkir tamu?", normalized="parkir tamu", answered=False, reason="no_match"))
    qlog.log(rec(text="lama", normalized="lama", answered=False, reason=None))  # rows from schema v2
    await qlog.flush()
    assert sorted(g.example for g in await qlog.unanswered()) == ["lama", "parkir tamu?"]
    assert (await qlog.query((await qlog.unanswered())[0].ids[0])).reason in ("no_match", None)


async def test_a_dismissed_question_stays_off_the_review_list_even_when_asked_again(qlog: Database) -> None:
    await store(
        qlog, rec(id="a1", text="mau tanya dong", normalized="mau tanya", answered=False, reason="no_match")
    )
    await store(
        qlog, rec(id="b1", text="parkir tamu?", normalized="parkir tamu", answered=False, reason="no_match")
    )
    assert await qlog.dismiss("mau tanya", "mau tanya dong", by=5) is True
    assert await qlog.dismiss("mau tanya", "mau tanya dong", by=5) is False  # once is enough
    await store(
        qlog, rec(id="a2", text="Mau tanya dong!", normalized="mau tanya", answered=False, reason="no_match")
    )
    assert [g.normalized for g in await qlog.unanswered()] == ["parkir tamu"]
    assert await qlog.count_unanswered_groups() == 1


async def test_a_downvoted_group_carries_the_answer_that_was_given(qlog: Database) -> None:
    await store(
        qlog,
        rec(
            id="d1",
            asked_at=NOW - timedelta(hours=2),
            subbag_id="subbag-keuangan",
            duty_ref="subbag-keuangan#8",
        ),
        rec(id="d2", asked_at=NOW - timedelta(hours=1), answered=False, divisi_id=None, subbag_id=None),
    )
    await qlog.set_feedback("d1", 9, -1)
    (group,) = await qlog.unanswered()
    assert group.downvoted == 1 and group.answer is not None
    assert (group.answer.id, group.answer.subbag_id, group.answer.duty_ref) == (
        "d1",
        "subbag-keuangan",
        "subbag-keuangan#8",
    )


async def test_coverage_counts_the_duty_shown_at_each_level(qlog: Database) -> None:
    await store(
        qlog,
        rec(
            id="b1",
            divisi_id="div-a",
            subbag_id="sub-x",
            duty_ref="sub-x#1",
            divisi_duty="div-a#5",
            subbag_duty="sub-x#1",
        ),
        rec(id="b2", divisi_id="div-a", subbag_id=None, duty_ref="div-a#5", divisi_duty="div-a#5"),
        rec(id="old", divisi_id="div-b", subbag_id="sub-y", duty_ref="sub-y#2"),  # before schema 4: one duty
    )
    coverage = await qlog.coverage()
    assert coverage.duties == {"div-a#5": 2, "sub-x#1": 1, "sub-y#2": 1}
    assert coverage.units == {"div-a": 2, "div-b": 1, "sub-x": 1, "sub-y": 1}
