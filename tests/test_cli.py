"""The command line works without Telegram: ask, ask --jsonl, eval, check-kb."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent


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
    assert "Tulis pertanyaannya" in capsys.readouterr().err


def test_ask_jsonl_answers_every_line_in_order() -> None:
    questions = ["siapa yang mengurus arsip?", "", "selamat pagi", "SIMAK BMN yang input siapa? 🙏"]
    run = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--jsonl"],
        input="\n".join(questions) + "\n",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
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


def test_check_kb_rejects_a_broken_file_with_exit_2(kb_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (kb_copy / "units" / "subbag-sdm.yaml").write_text("id: subbag-sdm\nlevel: [oops\n", encoding="utf-8")
    assert main(["check-kb", str(kb_copy)]) == 2
    err = capsys.readouterr().err
    assert "knowledge/units/subbag-sdm.yaml:" in err and "invalid YAML" in err
