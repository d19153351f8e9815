"""Which messages are meant for the bot: mentions, replies to it, its own commands."""

from __future__ import annotations

from telegram import Message, MessageEntity
from telegram.ext import filters


def mentions_bot(message: Message, username: str) -> bool:
    """True when ``message`` mentions ``@username``."""
    wanted = f"@{username}".lower()
    return any(v.lower() == wanted for v in message.parse_entities([MessageEntity.MENTION]).values())


def without_bot_mention(message: Message, username: str) -> str:
    """The message text with every ``@username`` removed and spaces tidied."""
    text = message.text or ""
    for value in message.parse_entities([MessageEntity.MENTION]).values():
        if value.lower() == f"@{username}".lower():
            text = text.replace(value, " ")
    return " ".join(text.split())


def is_reply_to(message: Message, user_id: int) -> bool:
    """True when ``message`` replies to a message sent by ``user_id``."""
    reply = message.reply_to_message
    # In forum topics every message "replies" to the topic's first (service) message.
    return bool(reply and reply.from_user and reply.from_user.id == user_id and not reply.forum_topic_created)


def replied_question(message: Message, bot_id: int) -> str:
    """The text of a colleague's message this one replies to ("/tanya" under a question)."""
    reply = message.reply_to_message
    if reply is None or is_reply_to(message, bot_id) or reply.forum_topic_created:
        return ""
    return " ".join((reply.text or "").split())


class AddressedToBot(filters.MessageFilter):
    """A message that mentions the bot by username or replies to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        return is_reply_to(message, bot.id) or mentions_bot(message, bot.username)


class OwnCommand(filters.MessageFilter):
    """A command addressed to this bot: ``/cmd`` or ``/cmd@ThisBot`` (not ``/cmd@OtherBot``)."""

    def filter(self, message: Message) -> bool:
        text = message.text or ""
        if not text.startswith("/"):
            return False
        _, at, target = text.split(maxsplit=1)[0].partition("@")
        return not at or target.lower() == message.get_bot().username.lower()


# Messages the bot would answer: anything in private; in groups what is addressed to it.
ANSWERABLE = filters.UpdateType.MESSAGE & (
    filters.ChatType.PRIVATE | (filters.ChatType.GROUPS & (AddressedToBot() | OwnCommand()))
)
