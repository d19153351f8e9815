"""Telegram HTML helpers shared by every text module: escaping, shortening, splitting.

Telegram counts lengths in UTF-16 code units and allows 4096 per message; every text
the bot sends goes through :func:`split_message`.
"""

from __future__ import annotations

import html
import re

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one message (UTF-16 code units)


def esc(text: str) -> str:
    """Escape user or KB text for Telegram HTML."""
    return html.escape(text, quote=False)


def shorten(text: str, limit: int) -> str:
    """``text`` on one line (whitespace collapsed), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


_MARKUP = re.compile(r"<(/?)([A-Za-z][\w-]*)[^<>]*>|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z]\w*);")
_EMPTY_ELEMENT = re.compile(r"<([A-Za-z][\w-]*)(?:\s[^<>]*)?></\1>")


def _drop_empty_elements(text: str) -> str:
    """``text`` without elements that hold nothing (tags reopened at a cut, then closed at once)."""
    while True:
        shorter = _EMPTY_ELEMENT.sub("", text)
        if shorter == text:
            return text
        text = shorter


def utf16_length(text: str) -> int:
    """Length as Telegram counts it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def split_message(text: str, limit: int = MAX_MESSAGE_LENGTH) -> list[str]:
    """Split Telegram HTML into parts of at most ``limit`` UTF-16 units (markup included).

    Cuts prefer a paragraph break, then a line break, then a space, and never fall
    inside a tag or an entity. A tag open at a cut is closed at the end of its part
    and reopened at the start of the next, so each part is valid HTML on its own.
    """
    rest = text.strip()
    parts: list[str] = []
    while rest and utf16_length(rest) > limit:
        cut, stack = _find_cut(rest, limit)
        head = rest[:cut].rstrip() + "".join(f"</{name}>" for name, _ in reversed(stack))
        parts.append(head)
        rest = _drop_empty_elements("".join(tag for _, tag in stack) + rest[cut:].lstrip())
    if rest:
        parts.append(rest)
    return parts


def _find_cut(text: str, limit: int) -> tuple[int, tuple[tuple[str, str], ...]]:
    """Where to cut ``text`` and the tags open there (name, opening tag), outermost first."""
    # best[rank] = (position, size before it, open tags); rank 0 paragraph, 1 line, 2 space, 3 any
    best: dict[int, tuple[int, int, tuple[tuple[str, str], ...]]] = {}
    first: tuple[int, tuple[tuple[str, str], ...]] | None = None
    stack: list[tuple[str, str]] = []
    size = closers = 0
    visible = False
    pos = 0

    def boundary(at: int, rank: int) -> None:
        nonlocal first
        if not visible:
            return
        if first is None:
            first = (at, tuple(stack))
        if size + closers <= limit:
            best[rank] = (at, size, tuple(stack))

    for match in [*_MARKUP.finditer(text), None]:
        end = match.start() if match else len(text)
        for i in range(pos, end):
            char = text[i]
            rank = 0 if text.startswith("\n\n", i) else 1 if char == "\n" else 2 if char == " " else 3
            boundary(i, rank)
            size += utf16_length(char)
            visible = visible or not char.isspace()
            if size > limit:
                break
        if size > limit or match is None:
            break
        token = match.group(0)
        if match.group(2):  # a tag
            name = match.group(2).lower()
            if match.group(1):
                index = max((k for k, (n, _) in enumerate(stack) if n == name), default=None)
                if index is not None:
                    closers -= len(f"</{name}>")
                    del stack[index]
            else:
                boundary(match.start(), 3)  # before an opening tag (markup-heavy text)
                stack.append((name, token))
                closers += len(f"</{name}>")
        else:  # an entity is one visible character
            boundary(match.start(), 3)
            visible = True
        size += utf16_length(token)
        pos = match.end()
    for rank in (0, 1, 2, 3):
        candidates = [best[r] for r in range(rank + 1) if r in best]
        if candidates:
            at, before, open_tags = max(candidates)
            if before >= limit // 2 or rank == 3:
                return at, open_tags
    if first is None:  # nothing visible to cut after: keep the text whole
        return len(text), ()
    return first  # no cut fits the limit: make progress anyway
