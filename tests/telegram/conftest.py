"""Fixtures of the Telegram adapter tests: the harness as a factory, and the logged errors."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from tests.support.harness import ADMIN_ID, Harness, running


@pytest.fixture
def make_bot(kb: KnowledgeBase, shared_matcher: Matcher) -> Callable[..., Any]:
    """``async with make_bot(**settings) as bot``: the harness, not started, with a fake clock."""

    def factory(query_log: Any = None, **overrides: Any) -> AbstractAsyncContextManager[Harness]:
        return running(
            kb, shared_matcher, query_log, start=False, admin_ids=frozenset({ADMIN_ID}), **overrides
        )

    return factory


@pytest.fixture
def errors(caplog: pytest.LogCaptureFixture) -> Callable[[], list[logging.LogRecord]]:
    """The records the global error handler (or anything else) logged at WARNING or above."""
    caplog.set_level(logging.DEBUG, logger="bot")
    return lambda: [r for r in caplog.records if r.levelno >= logging.WARNING]
