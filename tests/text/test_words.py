"""The shared sentences: every way of declining has its own polite message; confidence in words."""

from __future__ import annotations

from bot.core.matcher import SURE, Reason
from bot.text.words import DECLINE_MESSAGES, confidence_label


def test_every_decline_reason_has_its_own_message() -> None:
    declines = [reason for reason in Reason if reason is not Reason.ANSWERED]
    assert set(DECLINE_MESSAGES) == set(declines)
    assert len(set(DECLINE_MESSAGES.values())) == len(declines)


def test_only_a_sure_score_reads_sangat_yakin() -> None:
    assert confidence_label(SURE) == "sangat yakin"
    assert confidence_label(SURE - 0.01) != "sangat yakin"
    assert confidence_label(0.0) == "kurang yakin, mohon dicek"
