"""The domain core stays free of Telegram, so it is usable (and testable) without it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
CORE = [
    "model.py",
    "sop.py",
    "kb.py",
    "normalize.py",
    "matcher.py",
    "answer.py",
    "evaluation.py",
    "render.py",
    "admin_render.py",
    "reports.py",
    "storage.py",
    "config.py",
    "cli.py",
]


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_does_not_import_telegram(module: str) -> None:
    imported = _imported_modules(BOT / module)
    assert not {name for name in imported if name == "telegram" or name.startswith("telegram.")}
