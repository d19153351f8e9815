"""The command line works without Telegram: ask, ask --jsonl, eval, check-kb."""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import build_parser, main
from tests.support import REPO_ROOT


def test_ask_prints_divisi_subbag_duty_and_confidence(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "siapa yang mengurus kenaikan pangkat PNS?"]) == 0
    out = capsys.readouterr().out
    assert "Divisi Sumber Daya Manusia dan Litbang" in out
    assert "Sub Bagian Sumber Daya Manusia (Bagian Program, Data, Organisasi, dan Sumber Daya Manusia)" in out
    assert "Tugas #12" in out and "kenaikan pangkat" in out
    assert "Keyakinan" in out


def test_ask_not_found_names_nearest_units_or_declines_politely(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask", "kapan pemilu 2029?"]) == 0
    out = capsys.readouterr().out
    assert "Maaf" in out
    assert "Divisi     :" not in out


def test_ask_without_question_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ask"]) == 2
    assert capsys.readouterr().err.startswith("tupoksi: no question given")


def test_ask_jsonl_answers_every_line_in_order() -> None:
    questions = ["siapa yang mengurus arsip?", "", "selamat pagi", "SIMAK BMN yang input siapa? 🙏"]
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        input="\n".join(questions) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=REPO_ROOT,
        check=True,
    )
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(rows) == len(questions)
    assert rows[0]["answered"] and rows[0]["subbag"][0]["id"] == "subbag-umum-logistik"
    assert not rows[1]["answered"] and not rows[2]["answered"]
    assert rows[3]["answered"] and rows[3]["subbag"][0]["id"] == "subbag-umum-logistik"
    for row in rows:
        assert set(row) >= {"answered", "divisi", "subbag"}
        scores = [c["score"] for c in row["divisi"]]
        assert scores == sorted(scores, reverse=True)


def test_eval_scores_a_labeled_set(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    labeled = tmp_path / "set.yaml"
    labeled.write_text(
        "questions:\n"
        '  - q: "yang bayar gaji pegawai siapa?"\n'
        "    divisi: [div-keuangan-umum-rt]\n"
        "    subbag: [subbag-keuangan]\n"
        '  - q: "kapan pemilu berikutnya?"\n'
        "    out_of_scope: true\n",
        encoding="utf-8",
    )
    assert main(["eval", str(labeled)]) == 0
    out = capsys.readouterr().out
    assert "divisi@1 1.000 subbag@1 1.000 oos_declined 1.000 false_decline 0.000" in out


def test_eval_on_a_missing_file_fails_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "nope.yaml")]) == 2
    assert "cannot evaluate" in capsys.readouterr().err


def test_check_kb_accepts_the_real_kb(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-kb"]) == 0
    assert "17 units, 148 duties" in capsys.readouterr().out


def test_check_kb_rejects_a_broken_file_with_exit_3(
    kb_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (kb_copy / "units" / "subbag-sdm.yaml").write_text("id: subbag-sdm\nlevel: [oops\n", encoding="utf-8")
    assert main(["check-kb", str(kb_copy)]) == 3
    err = capsys.readouterr().err
    assert "knowledge/units/subbag-sdm.yaml:" in err and "invalid YAML" in err


@pytest.fixture
def query_db(tmp_path: Path) -> Path:
    """A query log with two answered questions, an unanswered one asked twice, and a taught phrase."""
    import asyncio

    from bot.storage import QueryRecord, open_database

    path = tmp_path / "log.sqlite3"

    async def fill() -> None:
        log = await open_database(path)
        try:
            for text, answered, subbag in [
                ("siapa yang bayar gaji?", True, "subbag-keuangan"),
                ("arsip surat masuk?", True, "subbag-umum-logistik"),
                ("parkir motor tamu di mana?", False, None),
                ("parkir motor tamu di mana?", False, None),
            ]:
                log.log(
                    QueryRecord(
                        source="cli",
                        text=text,
                        normalized=text.rstrip("?"),
                        answered=answered,
                        subbag_id=subbag,
                        divisi_id="div-keuangan-umum-rt" if answered else None,
                        duty_ref="subbag-keuangan#8" if subbag == "subbag-keuangan" else None,
                    )
                )
            await log.add_learned(
                "parkir motor tamu", "parkir motor tamu", "div-keuangan-umum-rt", "divisi", 42
            )
            await log.flush()
        finally:
            await log.close()

    asyncio.run(fill())
    return path


def test_report_unanswered_groups_repeated_questions(
    query_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", "unanswered", "--db", str(query_db)]) == 0
    out = capsys.readouterr().out
    assert "(2×" in out and "parkir motor tamu di mana?" in out
    assert "gaji" not in out


def test_report_stats_and_csv(query_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "stats", "--days", "7", "--db", str(query_db)]) == 0
    assert "Pertanyaan: 4: terjawab 2" in capsys.readouterr().out
    assert main(["report", "stats", "--csv", "--db", str(query_db)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "day,questions,answered,declined"
    assert lines[1].endswith(",4,2,0")


def test_report_coverage_lists_never_asked_duties(query_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", "coverage", "--db", str(query_db)]) == 0
    out = capsys.readouterr().out
    assert "Subbag Keuangan: 1" in out
    assert "belum pernah" in out and "berita acara rapat pleno" in out


def test_report_rejects_bad_days_and_missing_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["report", "stats", "--days", "-5", "--db", str(tmp_path / "x.sqlite3")])
    assert "must be 1 or more" in capsys.readouterr().err
    assert main(["report", "stats", "--db", str(tmp_path / "missing.sqlite3")]) == 6
    assert "missing.sqlite3: it does not exist (yet)" in capsys.readouterr().err


def test_export_learned_prints_yaml_to_merge(query_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import yaml

    assert main(["export-learned", "--db", str(query_db)]) == 0
    data = yaml.safe_load(capsys.readouterr().out)
    assert data["learned_phrases"][0]["unit"] == "div-keuangan-umum-rt"
    assert data["learned_phrases"][0]["phrases"] == ["parkir motor tamu"]


# -- --version and help ----------------------------------------------------------------------------


def test_version_has_one_source(capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    import bot

    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"tupoksi {bot.__version__}\n"
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and project["project"]["dynamic"] == ["version"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}


_COMMANDS = ("ask", "eval", "check-kb", "run", "report", "export", "export-learned")


def _help_text(*args: str) -> str:
    """What ``tupoksi ARGS --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        build_parser().parse_args([*args, "--help"])
    return out.getvalue()


def _undescribed(help_text: str) -> list[str]:
    """Arguments listed in a help text with no description beside or below them."""
    lines = help_text.splitlines()
    missing, in_arguments = [], False
    for i, line in enumerate(lines):
        if line.endswith(":") and not line.startswith(" "):
            in_arguments = line in ("positional arguments:", "options:")
            continue
        indent = len(line) - len(line.lstrip())
        if not in_arguments or indent not in (2, 4):  # an argument, or a subcommand under it
            continue
        described = "  " in line.strip()
        following = lines[i + 1] if i + 1 < len(lines) else ""
        # A description (or a group's entries, "COMMAND" then "ask ...") indented below it.
        follows = following.strip() and len(following) - len(following.lstrip()) > indent
        if not (described or follows):
            missing.append(line.strip())
    return missing


# Words of Indonesian prose; the help may name the office and its units, never speak Indonesian.
_INDONESIAN = {
    "yang",
    "siapa",
    "mengurus",
    "pertanyaan",
    "untuk",
    "dengan",
    "tidak",
    "apa",
    "dan",
    "atau",
    "ini",
}


def test_every_argument_has_english_help() -> None:
    import re

    for args in [(), *[(c,) for c in _COMMANDS]]:
        text = _help_text(*args)
        assert _undescribed(text) == [], (args, _undescribed(text))
        text = re.sub(r'"[^"]*"', "", text)  # a quoted example question may be Indonesian
        words = set(re.findall(r"[a-z]+", text.lower()))
        assert not words & _INDONESIAN, f"{args}: {words & _INDONESIAN}"


def test_report_out_of_scope_groups_declines_by_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.storage import QueryRecord, open_database

    path = tmp_path / "log.sqlite3"

    async def fill() -> None:
        async with await open_database(path) as log:
            for text, reason in [
                ("kapan pleno rekap?", "fact_question"),
                ("kapan pleno rekap?", "fact_question"),
                ("alamat KPU Jabar di mana", "other_office"),
                ("parkir tamu", "no_match"),
            ]:
                log.log(
                    QueryRecord(
                        source="cli", text=text, normalized=text.lower(), answered=False, reason=reason
                    )
                )

    asyncio.run(fill())
    assert main(["report", "out-of-scope", "--db", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.index("Fakta, angka atau tanggal (2 pertanyaan):") < out.index(
        "Kantor KPU lain (1 pertanyaan):"
    )
    assert "  • 2× kapan pleno rekap? (terakhir " in out and " WIB)" in out
    assert "parkir" not in out  # a real miss, listed by `report unanswered`
    assert main(["report", "out-of-scope", "--csv", "--db", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "reason,normalized,count,last_asked,example"
    assert lines[1].startswith("fact_question,kapan pleno rekap?,2,")


def test_export_csv_on_stdout_and_xlsx_to_a_file(
    query_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv

    from openpyxl import load_workbook

    assert main(["export", "--db", str(query_db)]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 4 and rows[0]["asked_at"].endswith("+07:00")  # office time
    target = tmp_path / "log.xlsx"
    assert main(["export", "--xlsx", str(target), "--db", str(query_db)]) == 0
    assert "4 rows written" in capsys.readouterr().out
    sheet = load_workbook(target).active
    assert sheet.cell(1, 1).value == "Waktu (WIB)" and sheet.max_row == 5
