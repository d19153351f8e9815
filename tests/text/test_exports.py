"""The CSV export: header, RFC 4180 quoting, and the guard against spreadsheet formulas."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest

from bot.config import time_zone
from bot.core.model import KnowledgeBase
from bot.storage import (
    EXPORT_COLUMNS,
)
from bot.text.exports import rows_to_csv, rows_to_xlsx


def test_rows_to_csv_header_and_escaping() -> None:
    tricky = 'He said "hi", then\nleft; koma, kutip "'
    text = rows_to_csv([{"id": "x1", "text": tricky, "answered": 1, "net_vote": -1}])
    lines = text.splitlines()
    assert lines[0].split(",") == list(EXPORT_COLUMNS)
    assert '"He said ""hi"", then\nleft; koma, kutip """' in text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert len(parsed) == 1
    assert parsed[0]["text"] == tricky
    assert parsed[0]["net_vote"] == "-1"
    assert parsed[0]["divisi_id"] == ""


def test_rows_to_csv_empty_and_formula_guard() -> None:
    assert rows_to_csv([]).strip() == ",".join(EXPORT_COLUMNS)
    guarded = list(csv.DictReader(io.StringIO(rows_to_csv([{"text": "=HYPERLINK(1)"}]))))
    assert guarded[0]["text"] == "'=HYPERLINK(1)"
    raw_text = rows_to_csv([{"text": "=1+1"}], guard_formulas=False)
    assert next(iter(csv.DictReader(io.StringIO(raw_text))))["text"] == "=1+1"


def test_rows_to_csv_shows_times_on_the_office_clock() -> None:
    row = {"id": "x1", "asked_at": "2026-11-20T20:05:00.000000+00:00", "resolved_at": None}
    parsed = next(csv.DictReader(io.StringIO(rows_to_csv([row], tz=time_zone("Asia/Jakarta")))))
    assert parsed["asked_at"] == "2026-11-21T03:05:00+07:00"
    assert parsed["resolved_at"] == ""
    faithful = next(csv.DictReader(io.StringIO(rows_to_csv([row]))))
    assert faithful["asked_at"] == "2026-11-20T20:05:00.000000+00:00"


def test_the_workbook_has_office_times_names_both_duties_and_numbers(kb: KnowledgeBase) -> None:
    from openpyxl import load_workbook

    row = {
        "id": "q1",
        "asked_at": "2026-11-20T20:05:00.000000+00:00",
        "source": "group",
        "text": '=HYPERLINK("http://x") siapa\x01 ngurus SPJ?',
        "normalized": "spj",
        "answered": 1,
        "reason": "answered",
        "divisi_id": "div-keuangan-umum-rt",
        "divisi_score": 0.71875,
        "subbag_id": "subbag-keuangan",
        "subbag_score": 0.9,
        "duty_ref": "subbag-keuangan#5",
        "divisi_duty": "div-keuangan-umum-rt#5",
        "subbag_duty": "subbag-keuangan#5",
        "thumbs_up": 2,
        "thumbs_down": 1,
    }
    old = {
        "id": "q0",
        "asked_at": "2026-11-19T01:00:00+00:00",
        "source": "cli",
        "text": "x",
        "answered": 0,
        "reason": "no_match",
        "subbag_id": "subbag-keuangan",
        "duty_ref": "subbag-keuangan#7",
    }
    data = rows_to_xlsx([old, row], kb, time_zone("Asia/Jakarta"))
    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    assert header[0] == "Waktu (WIB)" and "Tugas Divisi" in header and "Tugas Sub Bagian" in header
    values = dict(zip(header, (c.value for c in sheet[3]), strict=True))
    assert isinstance(values["Waktu (WIB)"], datetime)  # a real date, on the office clock
    assert values["Waktu (WIB)"].isoformat() == "2026-11-21T03:05:00"
    assert sheet.cell(3, 1).number_format == "yyyy-mm-dd hh:mm"
    assert values["Pertanyaan"] == '=HYPERLINK("http://x") siapa ngurus SPJ?'  # text, not a formula
    assert sheet.cell(3, 3).data_type == "s"
    assert values["Divisi"] == "Divisi Keuangan, Umum dan RT" and values["Sub Bagian"] == "Subbag Keuangan"
    assert values["Tugas Divisi"].startswith("#5 ") and values["Tugas Sub Bagian"].startswith("#5 ")
    assert values["Skor Divisi"] == pytest.approx(0.71875)  # a number: no locale parses it
    assert (values["👍"], values["👎"], values["Terjawab"], values["Sumber"]) == (2, 1, "ya", "grup")
    older = dict(zip(header, (c.value for c in sheet[2]), strict=True))  # a row from before schema 4
    assert older["Tugas Sub Bagian"].startswith("#7 ") and not older["Tugas Divisi"]
    assert older["Alasan"] == "tidak ditemukan unitnya"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:S3"
