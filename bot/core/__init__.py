"""The domain core, pure: the organisation model, normalisation, matching, answers, look-ups.

No I/O and no framework: nothing here reads files, talks to SQLite or imports Telegram
(import-linter checks it), so everything is testable in microseconds and usable from
any front end. Everything else in ``bot`` builds on this package.
"""
