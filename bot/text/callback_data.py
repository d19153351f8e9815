"""Every kind of button data: how it is written, read back and checked against 64 bytes.

Telegram gives a button at most 64 bytes of callback data. Each kind has a short,
versioned prefix (bump the digit when the meaning of the value changes), so buttons
on old messages keep working after a deploy, and anything unknown is answered as a
stale button. The encoders raise ``ValueError`` for data that would not fit; the
parsers return None for anything they do not recognise.

=========  ==================================================  =====================
kind       data                                                pressed
=========  ==================================================  =====================
``u1``     ``u1:<unit id>``                                    open a unit's card
``a1``     ``a1:<question id>:<unit id>``                      another unit for an answer (new message)
``x1``     ``x1:<question id>``                                an answer in full (new message)
``l1``     ``l1:divisi`` / ``l1:subbag``                       list a level's units
``q1``     ``q1:<n>`` (index into the example questions)       ask an example
``f1``     ``f1:<question id>:1`` / ``:-1``                    👍 / 👎 on an answer
``p1``     ``p1:<days, 0 = all>:<page>``                       admin: /unanswered page
``t1``     ``t1:<question id>[:<unit id> | :-]``               admin: teach menu
           ``t1:<question id>:#<learned id>:<duty>``           admin: the duty of a taught phrase
``d1``     ``d1:<question id>:<days, 0 = all>:<page>``         admin: dismiss (Abaikan)
``h1``     ``h1:<question id>:<asker's message id>``           hand the question to admins
=========  ==================================================  =====================
"""

from __future__ import annotations

import re

MAX_CALLBACK_DATA = 64  # bytes
MAX_DAYS = 36_500  # a window longer than this is a typo

CB_UNIT = "u1"
CB_ALTERNATIVE = "a1"
CB_DETAIL = "x1"
CB_LIST = "l1"
CB_EXAMPLE = "q1"
CB_FEEDBACK = "f1"
CB_REVIEW_PAGE = "p1"
CB_TEACH = "t1"
CB_DISMISS = "d1"
CB_HANDOFF = "h1"
TEACH_DONE = "-"  # t1:<question id>:- closes the teach menu (never a unit id)

_QUESTION_ID = re.compile(r"[0-9a-f]{1,32}")


def callback_data(kind: str, value: str | int) -> str:
    """``kind:value``; ValueError if it would not fit Telegram's 64 bytes."""
    data = f"{kind}:{value}"
    if len(data.encode()) > MAX_CALLBACK_DATA:
        raise ValueError(f"callback data longer than {MAX_CALLBACK_DATA} bytes: {data!r}")
    return data


def parse_callback(data: str | None) -> tuple[str, str] | None:
    """``(kind, value)`` of callback data made by :func:`callback_data`, else None."""
    kind, sep, value = (data or "").partition(":")
    return (kind, value) if sep and kind and value else None


def pattern(kind: str) -> str:
    """The regular expression a ``CallbackQueryHandler`` uses to route ``kind``."""
    return f"^{kind}:"


# -- encoders ---------------------------------------------------------------------------


def unit_data(unit_id: str) -> str:
    """Open the card of ``unit_id``."""
    return callback_data(CB_UNIT, unit_id)


def alternative_data(question_id: str, unit_id: str) -> str:
    """Show ``unit_id`` as the unit for the question ``question_id``, in a new message."""
    return callback_data(CB_ALTERNATIVE, f"{question_id}:{unit_id}")


def detail_data(question_id: str) -> str:
    """Show the full answer to ``question_id`` in a new message."""
    return callback_data(CB_DETAIL, question_id)


def list_data(level: str) -> str:
    """List the units of ``level``."""
    return callback_data(CB_LIST, level)


def example_data(index: int) -> str:
    """Ask example question ``index``."""
    return callback_data(CB_EXAMPLE, index)


def feedback_data(question_id: str, vote: int) -> str:
    """Vote ``vote`` (1 or -1) on the answer to ``question_id``."""
    return callback_data(CB_FEEDBACK, f"{question_id}:{vote}")


def review_page_data(days: int | None, page: int) -> str:
    """Page ``page`` of /unanswered over ``days`` (None: all time)."""
    return callback_data(CB_REVIEW_PAGE, f"{days or 0}:{page}")


def teach_data(question_id: str, choice: str | None = None) -> str:
    """Open the teach menu for ``question_id``, teach unit ``choice``, or close it (:data:`TEACH_DONE`)."""
    return callback_data(CB_TEACH, question_id if choice is None else f"{question_id}:{choice}")


def dismiss_data(question_id: str, days: int | None, page: int) -> str:
    """Dismiss the group of ``question_id`` from the review list, then show page ``page`` again."""
    return callback_data(CB_DISMISS, f"{question_id}:{days or 0}:{page}")


def handoff_data(question_id: str, message_id: int) -> str:
    """Hand question ``question_id`` (asked in message ``message_id``) to the admins."""
    return callback_data(CB_HANDOFF, f"{question_id}:{message_id}")


# -- parsers ----------------------------------------------------------------------------


def parse_value(data: str | None, kind: str) -> str | None:
    """The value of ``kind`` data (``u1:x`` → ``x``), else None."""
    parsed = parse_callback(data)
    return parsed[1] if parsed is not None and parsed[0] == kind else None


def parse_feedback(data: str | None) -> tuple[str, int] | None:
    """``(question id, vote)`` of feedback data, else None."""
    value = parse_value(data, CB_FEEDBACK)
    if value is None:
        return None
    question_id, _, vote = value.partition(":")
    if not _QUESTION_ID.fullmatch(question_id) or vote not in ("1", "-1"):
        return None
    return question_id, int(vote)


def parse_alternative(data: str | None) -> tuple[str, str] | None:
    """``(question id, unit id)`` of an alternative button, else None."""
    value = parse_value(data, CB_ALTERNATIVE)
    if value is None:
        return None
    question_id, _, unit_id = value.partition(":")
    if not _QUESTION_ID.fullmatch(question_id) or not unit_id:
        return None
    return question_id, unit_id


def parse_detail(data: str | None) -> str | None:
    """The question id of a detail button, else None."""
    value = parse_value(data, CB_DETAIL)
    return value if value is not None and _QUESTION_ID.fullmatch(value) else None


def parse_review_page(data: str | None) -> tuple[int | None, int] | None:
    """``(days, page)`` of a page button (days None: all time), else None."""
    value = parse_value(data, CB_REVIEW_PAGE)
    if value is None:
        return None
    days, _, page = value.partition(":")
    if not (days.isascii() and days.isdigit() and page.isascii() and page.isdigit()):
        return None
    if int(days) > MAX_DAYS:
        return None
    return (int(days) or None), int(page)


def parse_teach(data: str | None) -> tuple[str, str | None] | None:
    """``(question id, unit id | TEACH_DONE | None)`` of a teach button, else None."""
    value = parse_value(data, CB_TEACH)
    if value is None:
        return None
    question_id, _, choice = value.partition(":")
    if not question_id:
        return None
    return question_id, choice or None


def parse_dismiss(data: str | None) -> tuple[str, int | None, int] | None:
    """``(question id, days, page)`` of a dismiss button, else None."""
    value = parse_value(data, CB_DISMISS)
    if value is None:
        return None
    question_id, _, rest = value.partition(":")
    page_data = parse_review_page(f"{CB_REVIEW_PAGE}:{rest}")
    if not _QUESTION_ID.fullmatch(question_id) or page_data is None:
        return None
    return question_id, *page_data


def parse_handoff(data: str | None) -> tuple[str, int] | None:
    """``(question id, message id)`` of a hand-off button, else None."""
    value = parse_value(data, CB_HANDOFF)
    if value is None:
        return None
    question_id, _, message_id = value.partition(":")
    if not _QUESTION_ID.fullmatch(question_id) or not (message_id.isascii() and message_id.isdigit()):
        return None
    return question_id, int(message_id)
