"""Helpers shared by the tests (as PTB's ``tests/auxil``): fakes of the Bot API, update
builders, the one application harness, the real bot process, and the repository's paths."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"
