"""Files admins download: the question log as CSV (safe to open in a spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, tzinfo
from typing import Any, Final

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
