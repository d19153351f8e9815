"""Every word users and admins read, in Indonesian: Telegram HTML, plain text, exported files.

Texts are plain strings and keyboards are tuples of :class:`~bot.text.answers.Button`
(no Telegram import): :mod:`~bot.text.answers` for answers, cards and help,
:mod:`~bot.text.admin` for the admin commands, :mod:`~bot.text.reports` for reports
shared with the CLI, :mod:`~bot.text.plain` for the terminal, :mod:`~bot.text.exports`
for downloads, :mod:`~bot.text.html` for escaping and splitting, and
:mod:`~bot.text.callback_data` for every kind of button data.
"""
