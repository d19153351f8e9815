"""Admin reports: what was asked, what is never asked, and the chart."""

from __future__ import annotations

from datetime import UTC, datetime

import yaml

from bot.config import time_zone
from bot.core.model import KnowledgeBase
from bot.storage import Coverage, DayCount, LearnedPhrase, QueryRecord, Source, Stats, UnansweredGroup
from bot.text.reports import (
    coverage_lines,
    coverage_report,
    learned_yaml,
    local_date,
    local_time,
    stats_chart_png,
    stats_lines,
    unanswered_lines,
)

NOW = datetime(2026, 11, 20, 8, 30, tzinfo=UTC)
JAKARTA = time_zone("Asia/Jakarta")


def _stats() -> Stats:
    return Stats(
        days=7,
        total=10,
        answered=8,
        answer_rate=0.8,
        thumbs_up=3,
        thumbs_down=1,
        per_day=[DayCount("2026-11-19", 4, 3), DayCount("2026-11-20", 6, 5)],
        top_divisi=[("div-keuangan-umum-rt", 5)],
        top_subbag=[("subbag-keuangan", 4)],
        unanswered_terms=[("parkir", 2)],
    )


def test_unanswered_lines_show_count_time_and_question(kb: KnowledgeBase) -> None:
    groups = [UnansweredGroup("parkir tamu", 3, NOW, "parkir tamu di mana?", ("a", "b", "c"), 0)]
    assert unanswered_lines(groups, kb=kb, tz=JAKARTA, offset=10) == [
        "11. (3×, terakhir 2026-11-20 15:30 WIB) parkir tamu di mana?"
    ]


def test_downvoted_lines_show_the_answer_that_was_given(kb: KnowledgeBase) -> None:
    answer = QueryRecord(
        source=Source.PRIVATE,
        text="spj perjalanan dinas",
        normalized="spj jalan dinas",
        answered=True,
        divisi_id="div-keuangan-umum-rt",
        subbag_id="subbag-keuangan",
        duty_ref="subbag-keuangan#8",
    )
    groups = [UnansweredGroup("spj jalan dinas", 1, NOW, "spj perjalanan dinas", ("a",), 1, answer)]
    assert unanswered_lines(groups, kb=kb, tz=JAKARTA) == [
        "1. (1×, terakhir 2026-11-20 15:30 WIB 👎) spj perjalanan dinas",
        "    ↳ dijawab: Divisi Keuangan, Umum dan RT · Subbag Keuangan (Tugas #8)",
    ]


def test_times_are_shown_on_the_office_clock() -> None:
    late = datetime(2026, 11, 20, 20, 5, tzinfo=UTC)  # already the next day in Jakarta
    assert local_time(late, JAKARTA) == "2026-11-21 03:05 WIB"
    assert local_date(late, JAKARTA) == "2026-11-21"
    assert local_time(late, time_zone("Asia/Makassar")) == "2026-11-21 04:05 WITA"
    assert local_time(late, time_zone("UTC")) == "2026-11-20 20:05 UTC"


def test_stats_lines_name_units_and_rates(kb: KnowledgeBase) -> None:
    text = "\n".join(stats_lines(kb, _stats()))
    assert "Pertanyaan: 10: terjawab 8, ditolak sengaja 0, belum bisa dijawab 2" in text
    assert "Tingkat terjawab (tanpa yang ditolak sengaja): 80%" in text
    assert "Divisi Keuangan, Umum dan RT (5)" in text
    assert "Subbag Keuangan (4)" in text
    assert "parkir (2)" in text
    assert "20 Nov: 6 / 5 / 0" in text


def test_coverage_lists_units_and_duties_never_asked(kb: KnowledgeBase) -> None:
    report = coverage_report(
        kb, Coverage(units={"subbag-keuangan": 4, "div-keuangan-umum-rt": 4}, duties={"subbag-keuangan#7": 4})
    )
    assert ("subbag-keuangan", 4) in report.unit_counts
    assert "subbag-hukum" in report.units_never and "subbag-keuangan" not in report.units_never
    assert report.duty_counts == [("subbag-keuangan#7", 4)]
    assert "subbag-keuangan#7" not in report.duties_never
    assert "subbag-keuangan#17" not in report.duties_never  # generic duties are not coverage gaps
    assert "subbag-hukum#14" in report.duties_never
    assert any("berita acara rapat pleno" in line for line in coverage_lines(kb, report))


def test_learned_yaml_round_trips_grouped_by_unit(kb: KnowledgeBase) -> None:
    phrases = [
        LearnedPhrase(1, "parkir motor tamu", "parkir motor tamu", "div-keuangan-umum-rt", "divisi", 42, NOW),
        LearnedPhrase(2, "lahan parkir", "lahan parkir", "div-keuangan-umum-rt", "divisi", 42, NOW),
    ]
    data = yaml.safe_load(learned_yaml(kb, phrases))
    assert data == {
        "learned_phrases": [
            {
                "unit": "div-keuangan-umum-rt",
                "name": "Divisi Keuangan, Umum dan RT",
                "duty": None,
                "phrases": ["lahan parkir", "parkir motor tamu"],
            }
        ]
    }


def test_stats_chart_is_a_png() -> None:
    png = stats_chart_png(_stats())
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 2000


def test_learned_yaml_groups_phrases_under_the_duty_they_mean(kb: KnowledgeBase) -> None:
    phrases = [
        LearnedPhrase(1, "spj perdin", "spj dinas", "subbag-keuangan", "subbag", 42, NOW, duty=5),
        LearnedPhrase(2, "gaji telat", "gaji telat", "subbag-keuangan", "subbag", 42, NOW, duty=8),
    ]
    entries = yaml.safe_load(learned_yaml(kb, phrases))["learned_phrases"]
    assert [(e["unit"], e["duty"], e["phrases"]) for e in entries] == [
        ("subbag-keuangan", 5, ["spj perdin"]),
        ("subbag-keuangan", 8, ["gaji telat"]),
    ]
    assert entries[1]["duty_text"] == kb.unit("subbag-keuangan").duty(8).text
