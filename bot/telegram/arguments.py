"""Command arguments admins type: ``[hari]`` and ``<id>``; odd ones raise :class:`UsageError`."""

from __future__ import annotations

from bot.text.callback_data import MAX_DAYS


class UsageError(ValueError):
    """An admin command got arguments it does not understand; ``command`` names it."""

    def __init__(self, command: str) -> None:
        super().__init__(command)
        self.command = command


def parse_days(argument: str, command: str, default: int | None = None) -> int | None:
    """``[hari]``: empty gives ``default``; a whole number 1..MAX_DAYS, else :class:`UsageError`."""
    argument = argument.strip()
    if not argument:
        return default
    if not argument.isascii() or not argument.isdigit() or not 1 <= int(argument) <= MAX_DAYS:
        raise UsageError(command)
    return int(argument)


def parse_learned_id(argument: str) -> int:
    """``<id>`` of /lupakan (``#12`` also works); :class:`UsageError` otherwise."""
    argument = argument.strip().removeprefix("#")
    if not argument.isascii() or not argument.isdigit() or not 0 < int(argument) < 2**63:
        raise UsageError("lupakan")
    return int(argument)
