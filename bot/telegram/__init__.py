"""The Telegram adapter: the only package that imports python-telegram-bot.

:mod:`~bot.telegram.app` builds the application and registers every handler in one
ordered list; handlers live by feature in :mod:`bot.telegram.handlers` and only parse
the update, call :class:`bot.service.Service`, render with :mod:`bot.text` and reply.
Around them: :mod:`~bot.telegram.context` (typed access to the service),
:mod:`~bot.telegram.messaging` (sending), :mod:`~bot.telegram.filters`,
:mod:`~bot.telegram.guards` (allowed chats, rate limit), :mod:`~bot.telegram.lifecycle`
(start-up, shutdown, the daily purge) and :mod:`~bot.telegram.error_handler`.
"""
