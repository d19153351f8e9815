"""Finding units by name (fuzzy) or by what a question describes, and the likely units of inline mode."""

from __future__ import annotations

from bot.core.lookup import INLINE_MAX_RESULTS, find_unit, likely_units
from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase, Level


def test_find_unit_by_name_typo_or_duties(kb: KnowledgeBase, shared_matcher: Matcher) -> None:
    found = find_unit(kb, shared_matcher, "hukum", Level.DIVISI)
    assert found is not None and found.id == "div-hukum-pengawasan"
    typo = find_unit(kb, shared_matcher, "keuangn", Level.SUBBAG)
    assert typo is not None and typo.id == "subbag-keuangan"
    assert find_unit(kb, shared_matcher, "zzqx", Level.DIVISI) is None


def test_likely_units_are_few_best_first_and_none_when_declined(
    kb: KnowledgeBase, shared_matcher: Matcher
) -> None:
    units = likely_units(kb, shared_matcher.match("siapa yang mengelola arsip surat masuk?"))
    assert 0 < len(units) <= INLINE_MAX_RESULTS
    assert [a.score for a in units] == sorted((a.score for a in units), reverse=True)
    assert likely_units(kb, shared_matcher.match("kapan pemilu 2029?")) == []
