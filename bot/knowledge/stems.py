"""Build a :class:`Matcher` with Sastrawi's stems cached on disk.

Stemming the KB's words is most of building a matcher (~75 %), and every CLI call and
restart would pay it again. The stems are stored as JSON under the user's cache directory
(``$TUPOKSI_CACHE_DIR``, else ``$XDG_CACHE_HOME/tupoksi``, else ``~/.cache/tupoksi``), in a
file named by the KB's content hash and the Sastrawi version, so a changed KB or stemmer
never reads stale stems. The cache only saves work: a word missing from it is stemmed as
usual, and a cache that cannot be read or written (read-only home, corrupt file) is ignored.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from importlib import metadata
from pathlib import Path

from bot.core.matcher import Matcher, MatcherConfig
from bot.core.model import KnowledgeBase

# Bump when the meaning of a cached entry changes.
_FORMAT = 1


def cache_dir() -> Path:
    """Where stem caches live (not created here)."""
    explicit = os.environ.get("TUPOKSI_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tupoksi"


def cache_path(kb: KnowledgeBase, directory: Path | None = None) -> Path:
    """The cache file for this KB's content and the installed Sastrawi."""
    try:
        sastrawi = metadata.version("PySastrawi")
    except metadata.PackageNotFoundError:  # pragma: no cover - installed with the bot
        sastrawi = "unknown"
    name = f"stems-v{_FORMAT}-{kb.content_hash}-sastrawi{sastrawi}.json"
    return (directory or cache_dir()) / name


def _read(path: Path) -> dict[str, str]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        return {}
    return data


def _write(path: Path, stems: dict[str, str]) -> None:
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".stems-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(stems, out, ensure_ascii=False, sort_keys=True)
            os.replace(tmp, path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


def build_matcher(
    kb: KnowledgeBase,
    config: MatcherConfig | None = None,
    *,
    directory: Path | None = None,
    cache: bool = True,
) -> Matcher:
    """``Matcher(kb, config)``, reusing (and saving) the stems of an earlier build of this KB."""
    if not cache:
        return Matcher(kb, config)
    path = cache_path(kb, directory)
    known = _read(path)
    matcher = Matcher(kb, config, stems=known)
    stems = matcher.normalizer.stem_table()
    if stems.keys() - known.keys():
        _write(path, stems)
    return matcher
