"""Which kind of small talk a message is, and whether it continues the previous question."""

from __future__ import annotations

import pytest

from bot.core.conversation import Conversation, SmallTalk
from bot.core.matcher import Matcher


@pytest.fixture(scope="module")
def conversation(shared_matcher: Matcher) -> Conversation:
    return Conversation(shared_matcher.normalizer, shared_matcher.kb.lexicon)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("makasih ya min", SmallTalk.THANKS),
        ("trimakasih banyak pak", SmallTalk.THANKS),
        ("hatur nuhun", SmallTalk.THANKS),
        ("pagi min", SmallTalk.GREETING),
        ("selamat siang", SmallTalk.GREETING),
        ("mau tanya dong", SmallTalk.ASK_INTENT),
        ("pagi min, mau nanya", SmallTalk.ASK_INTENT),  # the invitation is the useful reply
        ("izin bertanya", SmallTalk.ASK_INTENT),
        ("oke siap", SmallTalk.ACKNOWLEDGEMENT),
        ("kamu robot ya", None),
    ],
)
def test_small_talk_kinds(conversation: Conversation, text: str, kind: SmallTalk | None) -> None:
    assert conversation.small_talk(text) is kind


@pytest.mark.parametrize(
    ("text", "follows"),
    [
        ("kalau distribusinya ke kab/kota?", True),
        ("kalo yg tanda tangan?", True),
        ("terus kalau yang ngurus SPJ-nya?", True),
        ("itu siapa sih yang ngurus?", True),
        ("gimana kalau gudangnya?", True),
        ("siapa yang urus klub mancing", False),
        ("pengadaan kotak suara", False),
    ],
)
def test_follow_ups_open_like_one_or_point_back(conversation: Conversation, text: str, follows: bool) -> None:
    assert conversation.follows_up(text) is follows
