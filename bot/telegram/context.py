"""What every handler reaches: the settings and the service, stored once in ``bot_data``.

Handlers call :func:`deps` (never a string lookup in ``bot_data``), as PTB's
``contexttypesbot`` example reaches typed data through one accessor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram.ext import Application, CallbackContext

from bot.config import Settings
from bot.service import Service

DEPS_KEY = "tupoksi"

App = Application[Any, Any, Any, Any, Any, Any]
"""The application, whatever its bot and context types."""


@dataclass
class BotDeps:
    """Everything handlers need.

    With ``database_path`` set, :func:`bot.telegram.lifecycle.post_init` opens the
    database there and :func:`~bot.telegram.lifecycle.post_shutdown` closes it; otherwise
    the caller owns the service's question log.
    """

    settings: Settings
    service: Service
    database_path: Path | None = None
    lost: int = 0
    """Questions and votes the database could not take, counted when it is closed."""
    clock: Callable[[], float] = field(default=time.monotonic)
    """What "now" is for the chat memory (tests pass a fake clock)."""


def deps(context: CallbackContext[Any, Any, Any, Any] | App) -> BotDeps:
    """The application's :class:`BotDeps` (from a handler's context or the application)."""
    value = context.bot_data[DEPS_KEY]
    assert isinstance(value, BotDeps)
    return value
