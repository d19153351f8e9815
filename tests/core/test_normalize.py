"""Normalisation: how people type becomes comparable terms."""

from __future__ import annotations

import pytest

from bot.core.matcher import Matcher
from bot.core.normalize import clean_text, tokenize


def test_clean_text_removes_zero_width_and_folds_width_and_case() -> None:
    assert clean_text("ＤＰＴ\u200b di\u200dmana?") == "dpt dimana "


def test_tokenize_drops_numbers_and_reduplication_marks() -> None:
    assert tokenize("masalah2 di desa-desa tahun 2024!") == ["masalah", "di", "desa", "tahun"]


def test_markup_is_just_punctuation() -> None:
    assert tokenize("<b>arsip</b> *surat*") == ["b", "arsip", "b", "surat"]


@pytest.mark.parametrize(
    ("typed", "standard"),
    [
        ("yg ngurusin gaji siapa", ["yang", "urus", "gaji", "siapa"]),
        ("gmn klo mau ngajuin kgb", ["bagaimana", "kalau", "mau", "aju", "kgb"]),
    ],
)
def test_informal_spellings_become_standard_words(
    shared_matcher: Matcher, typed: str, standard: list[str]
) -> None:
    words, _ = shared_matcher.normalizer.standard_words(typed)
    assert words == standard


def test_colloquial_verb_forms_reduce_to_a_real_word(shared_matcher: Matcher) -> None:
    normalizer = shared_matcher.normalizer
    for word in ("ditandatanganin", "ngumpulinnya"):
        assert word not in normalizer.lexicon.informal  # found by morphology, not by the word list
    assert normalizer.colloquial_root("ditandatanganin") == "ditandatangani"
    assert normalizer.colloquial_root("ngumpulinnya") == "kumpul"


def test_typos_are_corrected_towards_kb_words(shared_matcher: Matcher) -> None:
    norm = shared_matcher.normalizer.normalize("distribsi logistik kepegwaian")
    assert norm.corrections == {"distribsi": "distribusi", "kepegwaian": "kepegawaian"}


def test_real_words_and_short_acronyms_are_not_corrected(shared_matcher: Matcher) -> None:
    normalizer = shared_matcher.normalizer
    assert normalizer.correct("alamat") is None
    assert normalizer.correct("spt") is None


def test_acronyms_expand_and_stay(shared_matcher: Matcher) -> None:
    group = shared_matcher.normalizer.normalize("DPT").groups[0]
    assert group.options[0] == ("dpt",)
    assert ("daftar", "pilih", "tetap") in group.options or ("daftar", "pemilih", "tetap") in group.options


def test_stemming_keeps_words_the_stemmer_would_erase(shared_matcher: Matcher) -> None:
    normalizer = shared_matcher.normalizer
    assert normalizer.stem("pengadaan") == "pengadaan"
    assert normalizer.stem("kearsipan") == "arsip"


def test_stopwords_go_but_domain_words_stay(shared_matcher: Matcher) -> None:
    norm = shared_matcher.normalizer.normalize("tolong dong min, masalah kerja di bagian arsip")
    surfaces = [g.surface for g in norm.groups]
    assert "tolong" not in surfaces and "dong" not in surfaces
    assert {"masalah", "kerja", "arsip"} <= set(surfaces)


def test_colloquial_rules_never_invent_unrelated_words(shared_matcher: Matcher) -> None:
    """'samsek' (sama sekali) is not 'samsak' (a punching bag), though that is a dictionary word."""
    corrections = shared_matcher.normalizer.normalize("gabisa diakes samsek").corrections
    assert "samsak" not in corrections.values()
    assert "akas" not in corrections.values()


def test_a_swap_of_two_letters_is_one_typo_and_keeps_the_first_letter(shared_matcher: Matcher) -> None:
    """ "parati" is "partai" (one swap), not "aparat"; "posting" stays a posting, not "hosting"."""
    normalizer = shared_matcher.normalizer
    assert normalizer.normalize("verifikasi parati").words == ("verifikasi", "partai")
    assert "hosting" not in normalizer.normalize("mau posting pengumuman").words


def test_a_doubled_question_word_is_an_indefinite_pronoun() -> None:
    assert tokenize("ga bisa upload apa2") == ["ga", "bisa", "upload", "apapun"]
    assert tokenize("jangan bilang siapa-siapa") == ["jangan", "bilang", "siapapun"]
