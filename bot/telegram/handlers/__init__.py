"""Handlers by feature: questions, browsing the organisation, inline mode, admin commands.

Registered (in order) by :func:`bot.telegram.app.handlers`, never by these modules.
"""
