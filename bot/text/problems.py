"""Knowledge-base problems in Indonesian, for admins reading /muatulang in Telegram.

The loader words its findings in English (``tupoksi check-kb`` is a developer tool); in the
chat the admin reads them in Indonesian, with the ``file:line`` kept exactly. A message no
pattern knows is shown as it is, marked as a technical message, rather than lost.
"""

from __future__ import annotations

import re
from typing import Final

from bot.knowledge.loader import Problem

_Q: Final = r"('[^']*'|\"[^\"]*\")"  # a quoted value as repr() writes it

_TRANSLATIONS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern + r"\Z", re.DOTALL), text)
    for pattern, text in (
        (r"invalid YAML: (.*)", r"YAML tidak valid (periksa tanda baca dan indentasi): \1"),
        (r"file not found", "berkas tidak ditemukan"),
        (r"cannot read file: (.*)", r"berkas tidak bisa dibaca: \1"),
        (r"duplicate key " + _Q, r"kunci \1 ditulis dua kali"),
        (r"unknown key " + _Q + r" in (.*)", r"kunci \1 tidak dikenal di \2"),
        (r"missing key " + _Q + r" in (.*)", r"kunci \1 belum ada di \2"),
        (r"works_with " + _Q + r" is not a known unit", r"works_with \1 bukan unit yang ada di KB"),
        (r"parent " + _Q + r" is not a known unit", r"parent \1 bukan unit yang ada di KB"),
        (
            r"SOP unit " + _Q + r" has no unit in the KB.*",
            r"unit SOP \1 belum punya berkas unit di KB (samakan 'name' atau 'source_name')",
        ),
        (
            r"duty (\d+) differs from the SOP; SOP says (.*) \(put the SOP wording in source_text.*\)",
            r"tugas \1 berbeda dari SOP; SOP menulis \2 (taruh kata-kata SOP di source_text "
            r"bila memperbaiki salah ketik)",
        ),
        (r"duty (\d+) is not in the SOP", r"tugas \1 tidak ada di SOP"),
        (r"duty (\d+) of the SOP is missing: (.*)", r"tugas \1 dari SOP belum ada: \2"),
        (
            r"duty (\d+): link (\S+) points to an unknown unit",
            r"tugas \1: tautan \2 menunjuk unit yang tidak ada",
        ),
        (r"duty (\d+): link (\S+) points to its own unit", r"tugas \1: tautan \2 menunjuk unitnya sendiri"),
        (r"duty (\d+): link (\S+): (\S+) has no duty (\d+)", r"tugas \1: tautan \2: \3 tidak punya tugas \4"),
        (
            r"duty (\d+): text changes the SOP wording by more than a typo fix",
            r"tugas \1: teksnya mengubah kata-kata SOP lebih dari sekadar perbaikan salah ketik",
        ),
        (r"duty (\d+): generic must be true or false", r"tugas \1: generic harus true atau false"),
        (r"duty (\d+) must be a mapping with number and text", r"tugas \1 harus berisi number dan text"),
        (r"duplicate unit id " + _Q + r" \(also in (.*)\)", r"id unit \1 dipakai dua kali (juga di \2)"),
        (
            r"unit id " + _Q + r" must match the file name " + _Q,
            r"id unit \1 harus sama dengan nama berkas \2",
        ),
        (r"no unit files \(\*\.yaml\) found", "tidak ada berkas unit (*.yaml)"),
        (r"a (\w+) needs a 'parent' \((.*)\)", r"\1 harus punya 'parent' (\2)"),
        (r"level must be one of (.*), not (.*)", r"level harus salah satu dari \1, bukan \2"),
        (r"(.*): " + _Q + r" must be a non-empty string", r"\1: \2 harus berupa teks yang tidak kosong"),
        (r"(.*): " + _Q + r" must be a list of strings", r"\1: \2 harus berupa daftar teks"),
        (r"(.*) must be a mapping.*", r"\1 harus berupa pemetaan (mapping)"),
        (r"(.*) must be a non-empty list", r"\1 harus berupa daftar yang tidak kosong"),
        (r"(.*) must be true or false", r"\1 harus true atau false"),
    )
)


def problem_message(message: str) -> str:
    """One loader message in Indonesian (unknown ones as they are, marked technical)."""
    for pattern, text in _TRANSLATIONS:
        match = pattern.match(message)
        if match:
            return match.expand(text)
    return f"{message} (pesan teknis)"


def problem_text(problem: Problem | str) -> str:
    """``file:line: pesan`` in Indonesian; the location is kept as the loader gave it."""
    if isinstance(problem, str):
        return problem
    where = f"{problem.file}:{problem.line}" if problem.line else problem.file
    return f"{where}: {problem_message(problem.message)}"
