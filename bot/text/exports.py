"""Files admins download: the question log as an Excel workbook (for people) or CSV (for tools).

The workbook opens the same in every Excel locale: times, scores and counts are stored as
numbers and dates, not as text a locale would have to parse (an Indonesian Excel reads CSV
with ``;`` and decimal commas and would put a comma-separated file in one column). Times are
on the office's clock; units and duties are named; both cited duties have a column each.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final

from bot.core.model import DutyRef, KnowledgeBase
from bot.storage import EXPORT_COLUMNS

_CSV_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
TIME_COLUMNS: Final = ("asked_at", "resolved_at")
"""Columns holding stored (UTC) moments."""


def local_iso(value: object, tz: tzinfo) -> object:
    """A stored UTC ISO-8601 time as ISO-8601 on the office's clock (with its offset)."""
    if not isinstance(value, str) or not value:
        return value
    return datetime.fromisoformat(value).astimezone(tz).isoformat(timespec="seconds")


def rows_to_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] = EXPORT_COLUMNS,
    *,
    guard_formulas: bool = True,
    tz: tzinfo | None = None,
) -> str:
    """Render export rows as CSV text with a header row (RFC 4180 quoting).

    With ``guard_formulas`` a text cell starting with ``= + - @`` gets a leading ``'`` so
    a spreadsheet shows a user's question instead of evaluating it as a formula. With
    ``tz`` the times are shown on that clock (``2026-11-27T10:17:00+07:00``), else as stored.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if tz is not None:
            row = {key: local_iso(value, tz) if key in TIME_COLUMNS else value for key, value in row.items()}
        if guard_formulas:
            row = {
                key: "'" + value
                if isinstance(value, str) and value.startswith(_CSV_FORMULA_PREFIXES)
                else value
                for key, value in row.items()
            }
        writer.writerow(row)
    return out.getvalue()


REASON_WORDS: Final = {
    "answered": "terjawab",
    "no_match": "tidak ditemukan unitnya",
    "low_score": "kurang yakin",
    "empty": "pesan kosong",
    "chitchat": "sapaan atau basa-basi",
    "fact_question": "fakta, angka atau tanggal",
    "definition": "arti istilah",
    "other_agency": "instansi lain",
    "other_office": "kantor KPU lain",
    "bot_task": "permintaan tugas untuk bot",
}
SOURCE_WORDS: Final = {
    "private": "chat pribadi",
    "group": "grup",
    "inline": "inline",
    "cli": "baris perintah",
}
XLSX_HEADER: Final = (
    "Waktu",
    "Sumber",
    "Pertanyaan",
    "Terjawab",
    "Alasan",
    "Divisi",
    "Tugas Divisi",
    "Skor Divisi",
    "Sub Bagian",
    "Tugas Sub Bagian",
    "Skor Sub Bagian",
    "👍",
    "👎",
    "Latensi (ms)",
    "ID pertanyaan",
    "Chat",
    "Pengguna",
    "Teks dinormalisasi",
    "Versi KB",
)
XLSX_WIDTHS: Final = (17, 12, 60, 9, 22, 30, 50, 10, 26, 50, 10, 5, 5, 11, 18, 14, 12, 40, 14)


def _unit_name(kb: KnowledgeBase, unit_id: object) -> str:
    if not isinstance(unit_id, str) or not unit_id:
        return ""
    unit = kb.get(unit_id)
    return unit.short_name if unit else unit_id


def _duty_text(kb: KnowledgeBase, ref: object) -> str:
    """``#5 Pelaporan dan Pertanggungjawaban Keuangan`` for ``div-keuangan-umum-rt#5``."""
    if not isinstance(ref, str) or not ref:
        return ""
    try:
        duty = kb.duty(DutyRef.parse(ref))
    except ValueError:
        duty = None
    return f"#{duty.number} {duty.text}" if duty else ref


def _cited(row: Mapping[str, Any], level: str) -> object:
    """The duty shown at ``level`` (``divisi``/``subbag``); for rows before schema 4 the one stored."""
    own = row.get(f"{level}_duty")
    if own:
        return own
    ref, unit_id = row.get("duty_ref"), row.get(f"{level}_id")
    return ref if isinstance(ref, str) and isinstance(unit_id, str) and ref.split("#")[0] == unit_id else None


def rows_to_xlsx(rows: Iterable[Mapping[str, Any]], kb: KnowledgeBase, tz: tzinfo) -> bytes:
    """The question log as an .xlsx workbook: one sheet, a frozen header row, a filter."""
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    def text(value: object) -> str:
        return ILLEGAL_CHARACTERS_RE.sub("", str(value)) if value is not None else ""

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Log pertanyaan"
    sheet.append(list(XLSX_HEADER))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    count = 0
    for row in rows:
        asked = row.get("asked_at")
        moment = datetime.fromisoformat(asked).astimezone(tz).replace(tzinfo=None) if asked else None
        values: list[object] = [
            moment,
            SOURCE_WORDS.get(str(row.get("source")), text(row.get("source"))),
            text(row.get("text")),
            "ya" if row.get("answered") else "tidak",
            REASON_WORDS.get(str(row.get("reason")), text(row.get("reason"))),
            _unit_name(kb, row.get("divisi_id")),
            _duty_text(kb, _cited(row, "divisi")),
            row.get("divisi_score"),
            _unit_name(kb, row.get("subbag_id")),
            _duty_text(kb, _cited(row, "subbag")),
            row.get("subbag_score"),
            row.get("thumbs_up") or 0,
            row.get("thumbs_down") or 0,
            row.get("latency_ms"),
            text(row.get("id")),
            row.get("chat_id"),
            row.get("user_id"),
            text(row.get("normalized")),
            text(row.get("kb_version")),
        ]
        sheet.append(values)
        count += 1
        line = sheet.max_row
        for column, value in enumerate(values, start=1):
            if isinstance(value, str):
                sheet.cell(line, column).data_type = "s"  # never a formula, whatever the user typed
        sheet.cell(line, 1).number_format = "yyyy-mm-dd hh:mm"
        for column in (8, 11):
            sheet.cell(line, column).number_format = "0.00"
    for column, width in enumerate(XLSX_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = width
    sheet.cell(1, 1).value = f"Waktu ({datetime.now(tz).tzname()})"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_HEADER))}{count + 1}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
