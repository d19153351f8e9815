"""Shared fixtures: the real knowledge base, loaded once."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.knowledge.loader import DEFAULT_KB_DIR, load_kb


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(DEFAULT_KB_DIR)


@pytest.fixture(scope="session")
def shared_matcher(kb: KnowledgeBase) -> Matcher:
    """A matcher nobody teaches (tests that add phrases build their own)."""
    return Matcher(kb)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    """A writable copy of the real KB, for tests that break it."""
    target = tmp_path / "knowledge"
    shutil.copytree(DEFAULT_KB_DIR, target)
    return target


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """In CI (CI=true) a skipped test fails the run: a missing tool must never pass silently."""
    if os.environ.get("CI", "").lower() not in ("true", "1"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; in CI nothing may be skipped", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
