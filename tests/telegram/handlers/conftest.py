"""The harness of the handler tests: the real KB and matcher, an admin, a recording question log."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from tests.support.harness import ADMIN_ID, Harness, running


@pytest.fixture
async def bot(kb: KnowledgeBase, shared_matcher: Matcher) -> AsyncIterator[Harness]:
    async with running(kb, shared_matcher, admin_ids=frozenset({ADMIN_ID})) as harness:
        yield harness
