"""Matching: questions as staff type them reach the right Divisi and Sub Bagian, or are declined."""

from __future__ import annotations

import pytest

from bot.core.matcher import SURE, Matcher, Reason
from bot.core.model import KnowledgeBase, Level
from bot.evaluation import EvalReport, evaluate, load_labeled
from bot.knowledge.loader import DEFAULT_KB_DIR, load_kb
from tests.support import DATA


def top(matcher: Matcher, question: str) -> tuple[str | None, str | None]:
    result = matcher.match(question)
    assert result.answered, (question, result.reason, result.confidence)
    return (
        result.divisi[0].unit_id if result.divisi else None,
        result.subbag[0].unit_id if result.subbag else None,
    )


@pytest.mark.parametrize(
    ("question", "divisi", "subbag"),
    [
        ("siapa yang mengurus kenaikan gaji berkala pegawai?", "div-sdm-litbang", "subbag-sdm"),
        ("yg nyiapin berkas pensiun pns siapa ya", "div-sdm-litbang", "subbag-sdm"),
        ("arsip surat masuk disimpan di mana?", "div-keuangan-umum-rt", "subbag-umum-logistik"),
        ("pembayaran honorarium narasumber lewat siapa?", "div-keuangan-umum-rt", "subbag-keuangan"),
        ("penataan dapil dan alokasi kursi DPRD provinsi", "div-teknis", "subbag-teknis-hupmas"),
        ("siapa yang menyiapkan berkas PAW anggota DPRD provinsi?", "div-teknis", "subbag-teknis-hupmas"),
        ("draf SK keputusan KPU provinsi disusun siapa?", "div-hukum-pengawasan", "subbag-hukum"),
        ("pemutakhiran DPT berkelanjutan ditangani divisi apa?", "div-data-informasi", "subbag-program-data"),
        ("penyusunan RKA anggaran tahun depan ke siapa?", "div-perencanaan-logistik", "subbag-program-data"),
        (
            "siapa yang mengelola akun media sosial dan siaran pers?",
            "div-sosdiklih-parmas",
            "subbag-teknis-hupmas",
        ),
    ],
)
def test_everyday_questions_reach_both_levels(
    shared_matcher: Matcher, question: str, divisi: str, subbag: str
) -> None:
    assert top(shared_matcher, question) == (divisi, subbag)


def test_typos_still_match(shared_matcher: Matcher) -> None:
    assert top(shared_matcher, "pemutakhran data pemilh siapa yg pegang?")[1] == "subbag-program-data"
    assert top(shared_matcher, "kenaikn pangkat pegawe diurus siapa")[1] == "subbag-sdm"


def test_slang_and_acronyms_match(shared_matcher: Matcher) -> None:
    assert top(shared_matcher, "yg input SIMAK BMN siapa sih min?")[1] == "subbag-umum-logistik"
    assert top(shared_matcher, "KGB?")[1] == "subbag-sdm"


def test_english_questions_match(shared_matcher: Matcher) -> None:
    assert top(shared_matcher, "Who handles the voter list update?")[0] == "div-data-informasi"


def test_a_wrongly_named_unit_does_not_override_the_duty(shared_matcher: Matcher) -> None:
    assert top(shared_matcher, "surat keluar itu dicatat subbag keuangan ya?")[1] == "subbag-umum-logistik"


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("kapan pemilu 2029?", Reason.FACT_QUESTION),
        ("berapa gaji ketua KPU?", Reason.FACT_QUESTION),
        ("siapa presiden sekarang?", Reason.FACT_QUESTION),
        ("selamat pagi min", Reason.CHITCHAT),
        ("", Reason.EMPTY),
        ("🙏🙏", Reason.CHITCHAT),  # a lone emoji is a reaction, not an empty question
    ],
)
def test_questions_no_duty_covers_are_declined(
    shared_matcher: Matcher, question: str, reason: Reason
) -> None:
    result = shared_matcher.match(question)
    assert not result.answered
    assert result.reason == reason


@pytest.mark.parametrize(
    "question",
    ["jadwal kereta ke Serang jam berapa?", "rekomendasi tempat makan siang dong", "cuaca besok gimana?"],
)
def test_chatter_and_other_topics_are_declined(shared_matcher: Matcher, question: str) -> None:
    assert not shared_matcher.match(question).answered


def test_scores_are_in_range_sorted_and_name_the_duty(shared_matcher: Matcher) -> None:
    result = shared_matcher.match("siapa yang membuat daftar gaji pegawai?")
    for ranking in (result.divisi, result.subbag, result.bagian):
        scores = [c.score for c in ranking]
        assert scores == sorted(scores, reverse=True)
        assert all(0.0 <= s <= 1.0 for s in scores)
    assert str(result.subbag[0].duty) == "subbag-keuangan#7"
    assert result.bagian[0].unit_id == "bag-keuangan-umum-logistik"


def test_matching_is_deterministic(kb: KnowledgeBase) -> None:
    question = "monev pengelolaan keuangan kab/kota"
    first = Matcher(kb).match(question)
    second = Matcher(kb).match(question)
    assert first == second


def test_close_candidates_are_flagged_as_too_close_to_call(shared_matcher: Matcher) -> None:
    result = shared_matcher.match("monitoring dan evaluasi pengelolaan keuangan siapa yang siapkan?")
    assert result.ambiguous_at(Level.DIVISI, shared_matcher.config.ambiguity_margin)
    assert {c.unit_id for c in result.divisi[:2]} == {"div-keuangan-umum-rt", "div-perencanaan-logistik"}


def test_a_taught_phrase_is_used_at_once_and_can_be_removed() -> None:
    matcher = Matcher(load_kb(DEFAULT_KB_DIR))
    question = "siapa yang pegang urusan parkir motor tamu?"
    assert (
        matcher.match(question).subbag[:1] == ()
        or matcher.match(question).subbag[0].unit_id != "subbag-hukum"
    )
    assert matcher.add_phrase("subbag-hukum", "urusan parkir motor tamu")
    result = matcher.match(question)
    assert result.answered and result.subbag[0].unit_id == "subbag-hukum"
    assert result.subbag[0].learned
    assert matcher.remove_phrase("subbag-hukum", "urusan parkir motor tamu")
    assert not matcher.match(question).subbag or matcher.match(question).subbag[0].unit_id != "subbag-hukum"


# Per set: divisi@1, subbag@1, out-of-scope declined (at least), in-scope wrongly declined
# (at most), cited duty acceptable (at least). Each a little under today's figure, so a change
# that loses ground on any set fails here.
BARS = {
    "holdout.yaml": (0.95, 0.95, 0.95, 0.03, 0.0),
    "holdout2.yaml": (0.92, 0.92, 0.95, 0.03, 0.0),  # the hard cases
    "blind-a1.yaml": (0.95, 0.95, 0.95, 0.03, 0.93),
    "blind-a2.yaml": (0.95, 0.95, 0.95, 0.03, 0.93),
    "blind-b1.yaml": (0.95, 0.93, 0.95, 0.03, 0.93),
    "blind-b2.yaml": (0.95, 0.93, 0.95, 0.03, 0.93),
    "blind-c1.yaml": (0.95, 0.95, 0.95, 0.03, 0.93),
    "blind-c2.yaml": (0.93, 0.93, 0.95, 0.03, 0.93),
    "blind-d1.yaml": (0.95, 0.95, 0.95, 0.03, 0.93),
    "blind-d2.yaml": (0.95, 0.94, 0.95, 0.03, 0.93),
    "blind-e1.yaml": (0.95, 0.95, 0.95, 0.03, 0.93),
    "blind-e2.yaml": (0.94, 0.95, 0.95, 0.03, 0.93),
    "blind-f1.yaml": (0.93, 0.91, 0.95, 0.03, 0.93),
    "blind-f2.yaml": (0.93, 0.92, 0.95, 0.03, 0.93),
    "blind-g1.yaml": (0.93, 0.94, 0.95, 0.03, 0.92),
    "blind-g2.yaml": (0.92, 0.93, 0.95, 0.04, 0.93),
    "blind-h1.yaml": (0.94, 0.94, 0.97, 0.01, 0.95),
    "blind-h2.yaml": (0.98, 0.98, 0.97, 0.01, 0.94),
    "blind-i1.yaml": (0.93, 0.95, 0.97, 0.01, 0.95),
    "blind-i2.yaml": (0.96, 0.96, 0.95, 0.01, 0.96),
    "blind-j1.yaml": (0.94, 0.94, 0.97, 0.02, 0.93),
    "blind-j2.yaml": (0.96, 0.97, 0.97, 0.01, 0.94),
    "blind-k1.yaml": (0.96, 0.98, 0.97, 0.01, 0.96),
    "blind-k2.yaml": (0.95, 0.95, 0.97, 0.01, 0.93),
    "blind-l1.yaml": (0.96, 0.97, 0.96, 0.01, 0.93),  # misses not read
    "blind-l2.yaml": (0.94, 0.96, 0.99, 0.01, 0.97),  # misses not read
    "blind-m1.yaml": (0.95, 0.92, 0.99, 0.03, 0.97),  # misses not read
    "blind-m2.yaml": (0.97, 0.98, 0.98, 0.02, 0.96),  # misses not read
}


@pytest.mark.parametrize("name", sorted(BARS))
def test_accuracy_on_independent_sets(shared_matcher: Matcher, name: str) -> None:
    """Questions written without seeing the KB or the dev set (tests/data/, each with its brief)."""
    divisi, subbag, declined, wrongly_declined, evidence = BARS[name]
    report = evaluate(shared_matcher, DATA / name)
    assert report.top1["divisi"].rate >= divisi
    assert report.top1["subbag"].rate >= subbag
    assert report.out_of_scope_declined.rate >= declined
    assert report.wrongly_declined.rate <= wrongly_declined
    if report.evidence.total:
        assert report.evidence.rate >= evidence
    hits, total = _very_sure(report)
    assert hits >= 0.95 * total  # one slip in a set of ~50; all sets together below


def _very_sure(report: EvalReport) -> tuple[int, int]:
    """Right and all answers that users were told are "sangat yakin"."""
    sure = [tally for band, tally in report.bands.items() if float(band) >= SURE - 1e-9]
    return sum(t.hits for t in sure), sum(t.total for t in sure)


def test_very_sure_is_right_on_all_independent_sets_together(shared_matcher: Matcher) -> None:
    """ "sangat yakin" must be right at least 98 % of the time, over every set in tests/data."""
    pairs = [_very_sure(evaluate(shared_matcher, path)) for path in sorted(DATA.glob("*.yaml"))]
    hits, total = sum(h for h, _ in pairs), sum(n for _, n in pairs)
    assert total > 500
    assert hits >= 0.98 * total


@pytest.mark.parametrize(
    ("question", "subbag"),
    [
        ("tolong surat undangan rakor besok dikasih nomor", "subbag-umum-logistik"),
        ("gw mau ajukan kenaikan gaji berkala", "subbag-sdm"),
        ("internet kantor mati lagi", "subbag-program-data"),
    ],
)
def test_requests_and_complaints_without_a_question_word_are_answered(
    shared_matcher: Matcher, question: str, subbag: str
) -> None:
    assert top(shared_matcher, question)[1] == subbag


def test_a_fact_question_stays_declined_when_it_also_sounds_like_a_request(shared_matcher: Matcher) -> None:
    result = shared_matcher.match("cara daftar jadi anggota KPPS gimana kak? saya mau ikut")
    assert not result.answered
    assert result.reason == Reason.FACT_QUESTION


@pytest.mark.parametrize(
    ("question", "divisi", "subbag"),
    [
        ("hukum", "div-hukum-pengawasan", "subbag-hukum"),
        ("teknis", "div-teknis", "subbag-teknis-hupmas"),
        ("datin", "div-data-informasi", "subbag-program-data"),
    ],
)
def test_a_bare_unit_name_finds_that_unit(
    shared_matcher: Matcher, question: str, divisi: str, subbag: str
) -> None:
    assert top(shared_matcher, question) == (divisi, subbag)


def test_answers_do_not_depend_on_the_hash_seed() -> None:
    """Sums over word sets are taken in a fixed order: every run cites the same duty."""
    import os
    import subprocess
    import sys

    questions = "".join(
        e["q"].replace("\n", " ") + "\n"
        for name in ("blind-b1.yaml", "blind-c2.yaml", "blind-f2.yaml")
        for e in load_labeled(DATA / name)
    )
    runs = [
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "--jsonl"],
            input=questions,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    ]
    assert runs[0].count("\n") == questions.count("\n")
    assert runs[0] == runs[1] == runs[2]
