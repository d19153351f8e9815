"""The chat memory: bounded in number of answers and in age."""

from __future__ import annotations

from bot.telegram.memory import (
    FOLLOW_UP_SECONDS,
    KEEP_ANSWERS,
    KEEP_SECONDS,
    Remembered,
    recent_answers,
)


def asked(n: int, at: float = 0.0, *, user_id: int = 1, answered: bool = True) -> Remembered:
    return Remembered(f"pertanyaan {n}", f"{n:016x}", user_id, at, message_id=100 + n, answered=answered)


def test_only_the_newest_answers_are_kept() -> None:
    memory = recent_answers({})
    for n in range(KEEP_ANSWERS + 5):
        memory.remember(asked(n))
    assert memory.by_question(f"{0:016x}", 0.0) is None
    assert memory.by_message(100 + 4, 0.0) is None
    newest = memory.by_message(100 + KEEP_ANSWERS + 4, 0.0)
    assert newest is not None and newest.question == f"pertanyaan {KEEP_ANSWERS + 4}"


def test_answers_age_out_and_follow_ups_sooner() -> None:
    memory = recent_answers({})
    memory.remember(asked(1, at=0.0))
    assert memory.last_from(1, FOLLOW_UP_SECONDS) is not None
    assert memory.last_from(1, FOLLOW_UP_SECONDS + 1) is None
    assert memory.by_question(f"{1:016x}", FOLLOW_UP_SECONDS + 1) is not None  # its buttons still work
    assert memory.by_question(f"{1:016x}", KEEP_SECONDS + 1) is None


def test_a_follow_up_follows_the_same_users_last_answer_not_a_decline() -> None:
    memory = recent_answers({})
    memory.remember(asked(1, user_id=1))
    memory.remember(asked(2, user_id=2))
    memory.remember(asked(3, user_id=1, answered=False))
    last = memory.last_from(1, 0.0)
    assert last is not None and last.question == "pertanyaan 1"


def test_the_memory_lives_in_the_chat_data() -> None:
    chat_data: dict[str, object] = {}
    recent_answers(chat_data).remember(asked(1))
    assert recent_answers(chat_data).by_question(f"{1:016x}", 0.0) is not None
    assert recent_answers(None).by_question(f"{1:016x}", 0.0) is None


def test_more_messages_about_an_answer_lead_back_to_it_and_stay_bounded() -> None:
    memory = recent_answers({})
    memory.remember(asked(1))
    for message_id in range(1000, 1000 + KEEP_ANSWERS + 1):
        memory.also_shown(f"{1:016x}", message_id)
    assert memory.by_message(1000, 0.0) is None  # the oldest extra message is forgotten
    found = memory.by_message(1000 + KEEP_ANSWERS, 0.0)
    assert found is not None and found.question == "pertanyaan 1"
    assert memory.by_message(101, 0.0) is not None  # the answer itself still leads to it
