"""Helpers shared by the tests (as PTB's ``tests/auxil``): fakes of the Bot API, update
builders, the one application harness, the real bot process, and the repository's paths."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATA = REPO_ROOT / "tests" / "data"

# Every setting the bot reads from the environment or .env (bot/config.py).
SETTINGS = (
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_API_BASE_URL",
    "DATABASE_PATH",
    "ADMIN_IDS",
    "WEBHOOK_URL",
    "WEBHOOK_LISTEN",
    "WEBHOOK_PORT",
    "WEBHOOK_SECRET",
    "LOG_LEVEL",
    "KB_DIR",
    "LOG_RETENTION_DAYS",
    "RATE_LIMIT_PER_MINUTE",
    "ALLOWED_CHAT_IDS",
    "ERROR_CHAT_ID",
    "ADMIN_CHAT_ID",
    "TZ",
)
