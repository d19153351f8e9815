"""The knowledge base: complete, faithful to the SOP, and validated with useful errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from rapidfuzz.distance import Levenshtein

from bot.core.model import KnowledgeBase, Level
from bot.knowledge.loader import DEFAULT_KB_DIR, MAX_TYPO_FIX_EDITS, KnowledgeBaseError, load_kb
from bot.knowledge.sop import clean_cell, load_sop

DIVISI_IDS = {
    "div-keuangan-umum-rt",
    "div-perencanaan-logistik",
    "div-teknis",
    "div-sosdiklih-parmas",
    "div-sdm-litbang",
    "div-data-informasi",
    "div-hukum-pengawasan",
}
SECRETARIAT_IDS = {
    "sekretariat",
    "bag-program-data-organisasi-sdm",
    "bag-hukum-teknis-parmas",
    "bag-keuangan-umum-logistik",
    "subbag-sdm",
    "subbag-program-data",
    "subbag-hukum",
    "subbag-teknis-hupmas",
    "subbag-keuangan",
    "subbag-umum-logistik",
}
SOURCE = DEFAULT_KB_DIR / "sources" / "sop-kpu-banten-2021.txt"


def test_every_unit_has_its_agreed_id(kb: KnowledgeBase) -> None:
    assert {u.id for u in kb.units} == DIVISI_IDS | SECRETARIAT_IDS
    assert {u.id for u in kb.units_at(Level.DIVISI)} == DIVISI_IDS


def test_all_148_duties_are_present(kb: KnowledgeBase) -> None:
    assert kb.duty_count == 148


def test_every_sop_duty_is_in_the_kb_word_for_word_or_with_a_small_typo_fix(kb: KnowledgeBase) -> None:
    """Re-read the source copy independently of the loader's own check."""
    by_heading = {(u.source_name or u.name): u for u in kb.units}
    source_units = load_sop(SOURCE)
    assert len(source_units) == 17
    for source_unit in source_units:
        unit = by_heading[source_unit.name]
        assert [d.number for d in unit.duties] == [n for n, _ in source_unit.duties]
        for (number, source_text), duty in zip(source_unit.duties, unit.duties, strict=True):
            assert clean_cell(duty.original_text) == clean_cell(source_text), (unit.id, number)
            assert Levenshtein.distance(duty.text, source_text) <= MAX_TYPO_FIX_EDITS, (unit.id, number)


def test_typo_fixes_keep_the_original_wording(kb: KnowledgeBase) -> None:
    bmn = kb.unit("div-keuangan-umum-rt").duty(3)
    assert bmn is not None
    assert bmn.text == "Pengelolaan dan Pelaporan Barang Milik Negara"
    assert bmn.source_text == "Pengelolaan dan Pelaporan Barang Miik Negara"


def test_source_document_is_described(kb: KnowledgeBase) -> None:
    assert kb.source.number == "04/ORT.06/03.1/36/Sek-Prov/I/2021"
    assert kb.source.effective == "2021-01-15"
    assert len(kb.source.legal_basis) == 3
    assert (DEFAULT_KB_DIR / kb.source.file).exists()


def test_hierarchy_subbag_bagian_sekretariat(kb: KnowledgeBase) -> None:
    assert [u.id for u in kb.ancestors("subbag-keuangan")] == ["bag-keuangan-umum-logistik", "sekretariat"]
    for unit in kb.units_at(Level.SUBBAG):
        assert kb.unit(unit.parent).level == Level.BAGIAN
    assert {u.id for u in kb.children("sekretariat")} == {
        "bag-program-data-organisasi-sdm",
        "bag-hukum-teknis-parmas",
        "bag-keuangan-umum-logistik",
    }


def test_ketua_holds_the_finance_division(kb: KnowledgeBase) -> None:
    assert [u.id for u in kb.units if u.held_by_ketua] == ["div-keuangan-umum-rt"]


def test_every_divisi_and_subbag_has_a_counterpart(kb: KnowledgeBase) -> None:
    for unit in (*kb.units_at(Level.DIVISI), *kb.units_at(Level.SUBBAG)):
        other = Level.SUBBAG if unit.level == Level.DIVISI else Level.DIVISI
        assert any(c.level == other for c in kb.counterparts(unit.id)), unit.id


def test_links_read_both_ways(kb: KnowledgeBase) -> None:
    payroll = kb.unit("subbag-keuangan").duty(7)
    finance_report = kb.unit("div-keuangan-umum-rt").duty(5)
    assert finance_report.ref in kb.linked_duties(payroll)
    assert payroll.ref in kb.linked_duties(finance_report)


def test_duties_carry_the_words_staff_use(kb: KnowledgeBase) -> None:
    non_generic = [d for u in kb.units for d in u.duties if not d.generic]
    assert all(d.terms for d in non_generic), [str(d.ref) for d in non_generic if not d.terms]
    assert any("kgb" in d.terms for d in kb.unit("subbag-sdm").duties)


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def _problems(root: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as info:
        load_kb(root)
    return [str(p) for p in info.value.problems]


def test_invalid_yaml_is_reported_with_file_and_line(kb_copy: Path) -> None:
    path = kb_copy / "units" / "subbag-hukum.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = "name: [unclosed"
    _write(path, "\n".join(lines))
    problems = _problems(kb_copy)
    assert any(p.startswith("knowledge/units/subbag-hukum.yaml:") and "invalid YAML" in p for p in problems)


def test_unknown_key_and_empty_duty_are_reported_with_lines(kb_copy: Path) -> None:
    path = kb_copy / "units" / "subbag-sdm.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("short_name: Subbag SDM", "short_name: Subbag SDM\ncolour: blue", 1)
    text = text.replace("text: Melaksanakan penghimpunan DP3", 'text: ""', 1)
    _write(path, text)
    problems = _problems(kb_copy)
    line = text.splitlines().index("colour: blue") + 1
    assert f"knowledge/units/subbag-sdm.yaml:{line}: unknown key 'colour' in unit" in problems
    assert any("subbag-sdm.yaml" in p and "'text' must be a non-empty string" in p for p in problems)


def test_duplicate_and_dangling_ids_are_reported(kb_copy: Path) -> None:
    src = kb_copy / "units" / "subbag-hukum.yaml"
    _write(kb_copy / "units" / "subbag-hukum-copy.yaml", src.read_text(encoding="utf-8"))
    path = kb_copy / "units" / "subbag-keuangan.yaml"
    _write(path, path.read_text(encoding="utf-8").replace("div-keuangan-umum-rt#5", "div-nowhere#5", 1))
    problems = "\n".join(_problems(kb_copy))
    assert "duplicate unit id 'subbag-hukum'" in problems
    assert "link div-nowhere#5 points to an unknown unit" in problems


def test_bad_types_and_missing_duties_are_reported(kb_copy: Path) -> None:
    path = kb_copy / "units" / "div-teknis.yaml"
    _write(path, path.read_text(encoding="utf-8").replace("level: divisi", "level: department", 1))
    path = kb_copy / "units" / "div-hukum-pengawasan.yaml"
    _write(path, path.read_text(encoding="utf-8").replace("number: 6", "number: six", 1))
    problems = "\n".join(_problems(kb_copy))
    assert "level must be one of" in problems
    assert "number must be a positive integer" in problems
    assert "duty 6 of the SOP is missing" in problems


def test_a_changed_duty_wording_is_caught(kb_copy: Path) -> None:
    path = kb_copy / "units" / "subbag-keuangan.yaml"
    _write(
        path,
        path.read_text(encoding="utf-8").replace("Melaksanakan pembayaran gaji", "Membayar semua gaji", 1),
    )
    assert any("duty 8 differs from the SOP" in p for p in _problems(kb_copy))


def test_a_missing_lexicon_file_is_reported(kb_copy: Path) -> None:
    (kb_copy / "lexicon.yaml").unlink()
    assert any("lexicon.yaml: file not found" in p for p in _problems(kb_copy))


def test_a_unit_id_too_long_for_button_data_is_rejected(kb_copy: Path) -> None:
    path = kb_copy / "units" / "subbag-sdm.yaml"
    long_id = "subbag-" + "x" * 40
    _write(path, path.read_text(encoding="utf-8").replace("id: subbag-sdm", f"id: {long_id}", 1))
    assert any("at most 40 characters" in p for p in _problems(kb_copy))


def test_contacts_file_is_read_and_checked(kb_copy: Path) -> None:
    (kb_copy / "contacts.yaml").write_text(
        "units:\n"
        "  subbag-keuangan:\n"
        "    - role: Kasubbag\n"
        "      name: Rina Marlina\n"
        "      telegram: '@rina_keu'\n"
        "      phone: 0254-200123\n",
        encoding="utf-8",
    )
    kb = load_kb(kb_copy)
    (person,) = kb.file_contacts("subbag-keuangan")
    assert (person.role, person.name, person.username, person.phone) == (
        "Kasubbag",
        "Rina Marlina",
        "rina_keu",
        "0254-200123",
    )
    assert kb.file_contacts("subbag-hukum") == ()


def test_contacts_file_problems_have_lines(kb_copy: Path) -> None:
    (kb_copy / "contacts.yaml").write_text(
        "units:\n"
        "  subbag-entah:\n"
        "    - {role: Kasubbag, name: X}\n"
        "  subbag-hukum:\n"
        "    - role: Kasubbag\n"
        "    - role: Staf\n"
        "      name: Y\n"
        "      telegram: '@ab'\n"
        "      email: y@example.org\n",
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeBaseError) as raised:
        load_kb(kb_copy)
    messages = [str(p) for p in raised.value.problems]
    assert any("contacts.yaml:2: unknown unit 'subbag-entah'" in m for m in messages)
    assert any("contacts.yaml:5: missing key 'name'" in m for m in messages)
    assert any("contacts.yaml:9: unknown key 'email'" in m for m in messages)
    assert any("contacts.yaml:6:" in m and "Telegram username" in m for m in messages)


def test_the_shipped_contacts_file_names_nobody(kb: KnowledgeBase) -> None:
    assert kb.contacts == ()


def test_contact_cues_are_two_lists(kb_copy: Path, kb: KnowledgeBase) -> None:
    assert "kontak" in kb.lexicon.contact_cues and "kasubbag" in kb.lexicon.role_cues
    lexicon = kb_copy / "lexicon.yaml"
    text = lexicon.read_text(encoding="utf-8")
    lexicon.write_text(text.replace("  roles:\n", "  people:\n", 1), encoding="utf-8")
    with pytest.raises(KnowledgeBaseError) as raised:
        load_kb(kb_copy)
    assert any("unknown key 'people' in contact_cues" in str(p) for p in raised.value.problems)
