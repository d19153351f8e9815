"""Shared fixtures: the real knowledge base, loaded once."""

from __future__ import annotations

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
