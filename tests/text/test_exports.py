"""The CSV export: header, RFC 4180 quoting, and the guard against spreadsheet formulas."""

from __future__ import annotations

import csv
import io

from bot.config import time_zone
from bot.storage import (
    EXPORT_COLUMNS,
)
from bot.text.exports import rows_to_csv


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
