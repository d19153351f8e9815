"""Files admins download: the question log as CSV (safe to open in a spreadsheet)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from bot.storage import EXPORT_COLUMNS

_CSV_FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def rows_to_csv(
    rows: Iterable[Mapping[str, Any]],
    columns: Sequence[str] = EXPORT_COLUMNS,
    *,
    guard_formulas: bool = True,
) -> str:
    """Render export rows as CSV text with a header row (RFC 4180 quoting).

    With ``guard_formulas`` a text cell starting with ``= + - @`` gets a leading ``'`` so
    a spreadsheet shows a user's question instead of evaluating it as a formula.
    """
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        if guard_formulas:
            row = {
                key: "'" + value
                if isinstance(value, str) and value.startswith(_CSV_FORMULA_PREFIXES)
                else value
                for key, value in row.items()
            }
        writer.writerow(row)
    return out.getvalue()
