"""What users read: answers, cards, the structure tree, help, and message splitting."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.answer import Answer, Assignment, build_answer
from bot.core.matcher import Matcher, Reason
from bot.core.model import KnowledgeBase, Level
from bot.text.answers import (
    ADMIN_COMMANDS,
    EXAMPLES,
    PUBLIC_COMMANDS,
    Button,
    answer_buttons,
    answer_html,
    assignment_html,
    example_buttons,
    help_html,
    structure_html,
    unit_card_buttons,
    unit_card_html,
    unit_list_buttons,
)
from bot.text.callback_data import MAX_CALLBACK_DATA, callback_data, parse_callback
from bot.text.html import split_message, utf16_length
from tests.support.fakes import html_problems

HOSTILE = '<b>bold</b> & <a href="x">link</a> &amp; <script>'


def _answer(matcher: Matcher, question: str) -> Answer:
    return build_answer(matcher.match(question), matcher.kb, matcher.config.ambiguity_margin)


def _visible(text: str) -> str:
    """The text Telegram would show, whitespace removed (cuts may drop it)."""
    return re.sub(r"\s+", "", html.unescape(re.sub(r"<[^>]+>", "", text)))


# -- answers ---------------------------------------------------------------------------


def test_answer_names_both_units_the_bagian_the_duty_and_how_sure(shared_matcher: Matcher) -> None:
    text = answer_html(_answer(shared_matcher, "siapa yang mengurus kenaikan gaji berkala pegawai?"))
    lines = text.splitlines()
    assert lines[0] == "🏛 <b>Divisi</b>: Divisi Sumber Daya Manusia dan Litbang"
    assert lines[1].startswith("📌 Tugas #") and "<i>" in lines[1]
    subbag = next(line for line in lines if line.startswith("🗂"))
    assert subbag == (
        "🗂 <b>Sub Bagian</b>: Sub Bagian Sumber Daya Manusia (Bagian Program, Data, Organisasi dan SDM)"
    )
    assert re.search(r"Tingkat keyakinan: <b>(sangat yakin|cukup yakin|kurang yakin, mohon dicek)</b>", text)
    assert html_problems(text) == []


def test_answer_marks_the_division_held_by_the_chair(shared_matcher: Matcher) -> None:
    text = answer_html(_answer(shared_matcher, "siapa yang mengelola arsip surat masuk?"))
    assert "Divisi Keuangan, Umum dan Rumah Tangga (dipegang Ketua)" in text


def test_echoed_question_is_escaped_and_shortened(shared_matcher: Matcher) -> None:
    question = HOSTILE + " arsip surat masuk " + "x" * 500
    text = answer_html(_answer(shared_matcher, question), echo_question=True)
    first = text.splitlines()[0]
    assert first.startswith('❓ <i>&lt;b&gt;bold&lt;/b&gt; &amp; &lt;a href="x"&gt;link&lt;/a&gt; &amp;amp;')
    assert first.endswith("…</i>") and len(first) < 400
    assert html_problems(text) == []


def test_close_candidates_are_offered_as_unit_buttons(kb: KnowledgeBase) -> None:
    divisi = Assignment(kb.unit("div-teknis"), kb.unit("div-teknis").duties[0], 0.7)
    other = Assignment(kb.unit("div-hukum-pengawasan"), None, 0.68)
    answer = Answer(
        question="q",
        answered=True,
        reason=Reason.ANSWERED,
        confidence=0.7,
        divisi=divisi,
        subbag=None,
        alternatives=(other,),
        ambiguous=True,
        nearest=(),
        corrections={"kpu": "KPU"},
    )
    text = answer_html(answer)
    assert "🤔 Mungkin maksud Anda: Divisi Hukum dan Pengawasan" in text
    assert "SOP tidak menyebut Sub Bagian" in text
    assert "Dibaca sebagai: kpu → KPU" in text
    assert answer_buttons(answer) == ((Button("Divisi Hukum dan Pengawasan", "u1:div-hukum-pengawasan"),),)


def test_unanswered_offers_nearest_units_the_hint_and_says_it_was_kept(kb: KnowledgeBase) -> None:
    nearest = (kb.unit("subbag-sdm"), kb.unit("div-sdm-litbang"))
    answer = Answer(
        question="q",
        answered=False,
        reason=Reason.LOW_SCORE,
        confidence=0.3,
        divisi=None,
        subbag=None,
        alternatives=(),
        ambiguous=False,
        nearest=nearest,
        corrections={},
    )
    text = answer_html(answer, noted=True)
    assert text.startswith("🙏 Maaf, saya belum yakin")
    assert "Unit yang paling mendekati: Subbag SDM, Divisi SDM dan Litbang" in text
    assert "💡 <i>Coba sebut urusannya" in text
    assert "dicatat" in text
    assert "dicatat" not in answer_html(answer)  # only when a log really keeps it
    assert [row[0].data for row in answer_buttons(answer)] == ["u1:subbag-sdm", "u1:div-sdm-litbang"]


def test_small_talk_gets_no_buttons_and_no_hint(shared_matcher: Matcher) -> None:
    answer = _answer(shared_matcher, "halo")
    assert answer.reason is Reason.CHITCHAT
    assert answer_buttons(answer) == ()
    assert "💡" not in answer_html(answer)


def test_unit_focused_card_for_inline_mode(kb: KnowledgeBase) -> None:
    unit = kb.unit("subbag-sdm")
    card = assignment_html(kb, HOSTILE, Assignment(unit, unit.duties[10], 0.9, kb.unit(unit.parent)))
    assert card.startswith("❓ <i>&lt;b&gt;bold")
    assert f"📌 Tugas #11: <i>{html.escape(unit.duties[10].text, quote=False)}</i>" in card
    assert "🤝 Bersama: Divisi SDM dan Litbang" in card
    assert "Tingkat keyakinan: <b>sangat yakin</b>" in card


# -- cards, lists, structure -----------------------------------------------------------


@pytest.mark.parametrize("level", list(Level))
def test_every_card_lists_every_duty_in_order_and_is_valid_html(kb: KnowledgeBase, level: Level) -> None:
    for unit in kb.units_at(level):
        card = unit_card_html(kb, unit)
        numbers = [int(n) for n in re.findall(r"^(\d+)\. ", card, flags=re.M)]
        assert numbers == [d.number for d in unit.duties]
        assert html_problems(card) == []
        assert utf16_length(card) <= 4096


def test_divisi_card_links_its_sub_bagian_with_buttons(kb: KnowledgeBase) -> None:
    unit = kb.unit("div-teknis")
    card = unit_card_html(kb, unit)
    assert card.startswith("🏛 <b>Divisi Teknis Penyelenggaraan</b>")
    assert "🤝 <b>Sub Bagian terkait</b>: " in card
    data = [b.data for row in unit_card_buttons(kb, unit) for b in row]
    assert {f"u1:{u.id}" for u in kb.counterparts(unit.id)} <= set(data)
    assert data[-1] == "l1:divisi"


def test_subbag_card_shows_the_bagian_above(kb: KnowledgeBase) -> None:
    card = unit_card_html(kb, kb.unit("subbag-keuangan"))
    lines = card.splitlines()
    assert lines[0] == "🏢 Sekretariat KPU Provinsi Banten ›"
    assert lines[1] == "🏢 Bagian Keuangan, Umum, dan Logistik ›"
    assert lines[2] == "🗂 <b>Sub Bagian Keuangan</b>"
    assert "🤝 <b>Divisi terkait</b>: Divisi Keuangan, Umum dan Rumah Tangga" in card


def test_bagian_card_links_down_to_its_sub_bagian_and_up(kb: KnowledgeBase) -> None:
    unit = kb.unit("bag-keuangan-umum-logistik")
    data = [b.data for row in unit_card_buttons(kb, unit) for b in row]
    assert data == ["u1:subbag-keuangan", "u1:subbag-umum-logistik", "u1:sekretariat"]


def test_division_list_puts_the_chairs_division_first(kb: KnowledgeBase) -> None:
    rows = unit_list_buttons(kb, Level.DIVISI)
    assert len(rows) == 7
    assert rows[0][0].data == "u1:div-keuangan-umum-rt"


def test_structure_lists_all_units_by_level_without_a_drawn_tree(kb: KnowledgeBase) -> None:
    tree = structure_html(kb)
    assert html_problems(tree) == []
    for unit in (*kb.units_at(Level.DIVISI), *kb.units_at(Level.SUBBAG)):
        assert re.search(rf"^• {re.escape(unit.short_name)}", tree, re.MULTILINE)
    for unit in kb.units_at(Level.BAGIAN):
        assert f"\n<b>{unit.short_name}</b>\n• Subbag" in tree  # its Sub Bagian right below
    assert "• Subbag Umum dan Logistik\n  ↔ <i>Divisi Keuangan, Umum dan RT</i>\n" in tree


# -- help, buttons, callback data ------------------------------------------------------


def test_help_lists_the_commands(kb: KnowledgeBase) -> None:
    text = help_html(kb, bot_username="TupoksiBot")
    for name, _ in PUBLIC_COMMANDS:
        assert f"/{name}" in text or name == "help"
    assert "/muatulang" not in text
    assert "/tanya &lt;pertanyaan&gt;" in text
    assert html_problems(text) == []


def test_help_shows_admin_commands_to_admins_in_private_only(kb: KnowledgeBase) -> None:
    private = help_html(kb, bot_username="TupoksiBot", is_admin=True)
    group = help_html(kb, bot_username="TupoksiBot", is_admin=True, in_group=True)
    for name, _ in ADMIN_COMMANDS:
        assert f"/{name}" in private
        assert f"/{name} " not in group
    assert "@TupoksiBot" in group


def test_example_buttons_ask_the_examples() -> None:
    rows = example_buttons()
    assert [r[0].text for r in rows] == [label for label, _ in EXAMPLES]
    assert [parse_callback(r[0].data) for r in rows] == [("q1", str(i)) for i in range(3)]


def test_callback_data_fits_telegram_for_every_unit(kb: KnowledgeBase) -> None:
    for unit in kb.units:
        data = callback_data("u1", unit.id)
        assert len(data.encode()) <= MAX_CALLBACK_DATA
        assert parse_callback(data) == ("u1", unit.id)
    with pytest.raises(ValueError, match="64 bytes"):
        callback_data("u1", "x" * 70)
    assert parse_callback("garbage") is None
    assert parse_callback(None) is None


# -- splitting -------------------------------------------------------------------------


def test_short_messages_are_not_split() -> None:
    assert split_message("<b>halo</b>") == ["<b>halo</b>"]


def test_split_prefers_paragraphs_then_lines() -> None:
    paragraph = "\n".join(f"baris {i} " + " ".join(["kata"] * 10) for i in range(5))
    text = "\n\n".join([paragraph] * 6)
    limit = len(paragraph) * 2 + 10
    parts = split_message(text, limit=limit)
    assert len(parts) == 3
    assert all(p == f"{paragraph}\n\n{paragraph}" for p in parts)
    # A paragraph longer than the limit is cut between lines.
    lines = split_message(paragraph, limit=len(paragraph) // 2)
    assert len(lines) > 1
    assert all(p.startswith("baris ") and p.endswith("kata") for p in lines)
    assert _visible("".join(lines)) == _visible(paragraph)


def test_split_inside_a_tag_closes_and_reopens_it() -> None:
    text = "<i>" + " ".join(f"kata{i}" for i in range(100)) + "</i>"
    parts = split_message(text, limit=120)
    assert len(parts) > 1
    for part in parts:
        assert part.startswith("<i>") and part.endswith("</i>")
        assert html_problems(part) == []
        assert utf16_length(part) <= 120
    assert _visible("".join(parts)) == _visible(text)


def test_split_never_cuts_an_entity_and_counts_emoji_as_two() -> None:
    text = "&amp;" * 300 + "🏛" * 300
    parts = split_message(text, limit=100)
    for part in parts:
        assert html_problems(part) == []
        assert utf16_length(part) <= 100
    assert "".join(parts) == text


_WORD = st.sampled_from(["kata", "&amp;", "&lt;x&gt;", "🏛", "SOP", "a", "tugas-panjang" * 3])
_LINE = st.lists(_WORD, min_size=1, max_size=12).map(" ".join)
_STYLED = st.one_of(_LINE, _LINE.map(lambda s: f"<b>{s}</b>"), _LINE.map(lambda s: f"<i>x <b>{s}</b></i>"))
_DOC = st.lists(st.tuples(_STYLED, st.sampled_from(["\n", "\n\n", " "])), min_size=1, max_size=60).map(
    lambda pairs: "".join(a + b for a, b in pairs)
)


@settings(max_examples=150, deadline=None)
@given(text=_DOC, limit=st.integers(min_value=60, max_value=600))
def test_split_parts_are_valid_within_the_limit_and_lose_nothing(text: str, limit: int) -> None:
    parts = split_message(text, limit=limit)
    for part in parts:
        assert utf16_length(part) <= limit
        assert html_problems(part) == []
        assert part.strip()
    assert _visible("".join(parts)) == _visible(text)
