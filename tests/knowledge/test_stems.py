"""The on-disk stem cache: reused when the KB is the same, never stale, never in the way."""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import tempfile
from pathlib import Path

import pytest

from bot.core.matcher import Matcher
from bot.core.model import KnowledgeBase
from bot.knowledge.stems import build_matcher, cache_path

QUESTIONS = [
    "siapa yang mengurus SPJ perjalanan dinas?",
    "pengadaan barang dan jasa ke mana",
    "operator sirekap bermasalah",
    "arsip?",
]


def answers(matcher: Matcher) -> list[object]:
    return [matcher.match(q) for q in QUESTIONS]


def test_first_build_writes_the_cache_and_the_second_reuses_it(
    kb: KnowledgeBase, shared_matcher: Matcher, tmp_path: Path
) -> None:
    first = build_matcher(kb, directory=tmp_path)
    path = cache_path(kb, tmp_path)
    assert path.is_file()
    stems = json.loads(path.read_text(encoding="utf-8"))
    assert stems == first.normalizer.stem_table()
    second = build_matcher(kb, directory=tmp_path)
    # Nothing new was stemmed: every word came from the cache.
    assert second.normalizer.stem_table().keys() == stems.keys()
    assert answers(first) == answers(second) == answers(shared_matcher)


def test_a_changed_kb_uses_another_file(kb: KnowledgeBase, tmp_path: Path) -> None:
    changed = dataclasses.replace(kb, content_hash="0" * 12)
    assert cache_path(changed, tmp_path) != cache_path(kb, tmp_path)


def test_wrong_stems_in_a_stale_file_are_never_read_for_another_kb(kb: KnowledgeBase, tmp_path: Path) -> None:
    other = dataclasses.replace(kb, content_hash="f" * 12)
    cache_path(other, tmp_path).write_text(json.dumps({"perjalanan": "zzz"}), encoding="utf-8")
    matcher = build_matcher(kb, directory=tmp_path)
    assert matcher.normalizer.stem_table()["perjalanan"] == "jalan"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"a": 1}'])
def test_a_corrupt_cache_is_ignored(
    kb: KnowledgeBase, shared_matcher: Matcher, tmp_path: Path, content: str
) -> None:
    cache_path(kb, tmp_path).write_text(content, encoding="utf-8")
    assert answers(build_matcher(kb, directory=tmp_path)) == answers(shared_matcher)


@pytest.mark.parametrize("error", [errno.EROFS, errno.ENOSPC, errno.EACCES])
def test_an_unwritable_cache_dir_is_harmless(
    kb: KnowledgeBase, shared_matcher: Matcher, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    """A read-only, full or forbidden cache folder (faked: CI runs as root, who may write anywhere)."""

    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise OSError(error, os.strerror(error))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert answers(build_matcher(kb, directory=tmp_path / "sub")) == answers(shared_matcher)
    assert not cache_path(kb, tmp_path / "sub").exists()


def test_a_cache_dir_that_is_a_file_is_harmless(
    kb: KnowledgeBase, shared_matcher: Matcher, tmp_path: Path
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert answers(build_matcher(kb, directory=blocker / "sub")) == answers(shared_matcher)
    assert not list(tmp_path.glob("**/stems-*"))
