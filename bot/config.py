"""Settings from the environment and an optional ``.env`` file, validated once at start.

Every setting has an environment variable (listed, with a comment each, in
``.env.example``). The environment wins over ``.env``; an empty value counts as
unset everywhere. Problems are collected and reported together, one clear
sentence each, so a deployment is fixed in one pass. The token never appears in
``repr(settings)`` nor in log records (see :func:`setup_logging`).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, timedelta, timezone, tzinfo
from enum import Enum, IntEnum
from pathlib import Path
from typing import Literal, TextIO
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.knowledge.loader import DEFAULT_KB_DIR

TOKEN_PATTERN = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
# Telegram's rule for setWebhook's secret_token.
WEBHOOK_SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DEFAULT_DATABASE_PATH = Path("data/tupoksi.sqlite3")
DEFAULT_TIME_ZONE = "Asia/Jakarta"
# Indonesia keeps no daylight saving time: fixed offsets are exact when the system has no
# time zone database (slim container images without tzdata).
_FIXED_ZONES: dict[str, tzinfo] = {
    "Asia/Jakarta": timezone(timedelta(hours=7), "WIB"),
    "Asia/Pontianak": timezone(timedelta(hours=7), "WIB"),
    "Asia/Makassar": timezone(timedelta(hours=8), "WITA"),
    "Asia/Jayapura": timezone(timedelta(hours=9), "WIT"),
    "UTC": UTC,
}


def time_zone(name: str) -> tzinfo:
    """The IANA time zone ``name`` (``Asia/Jakarta``); raises ValueError for an unknown name."""
    name = name.strip().lstrip(":") or DEFAULT_TIME_ZONE
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if name in _FIXED_ZONES:
            return _FIXED_ZONES[name]
        raise ValueError(f"unknown time zone {name!r}") from exc


REDACTED = "<redacted>"
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# The checkout this package runs from, if any (an editable install or ``python -m bot``).
CHECKOUT = Path(__file__).resolve().parent.parent


class _Dotenv(Enum):
    DISCOVER = "discover"


# ``dotenv_path=DISCOVER``: look for ``.env`` as :func:`find_dotenv` does.
DISCOVER = _Dotenv.DISCOVER


class ExitCode(IntEnum):
    """Exit codes of every ``tupoksi`` subcommand; :data:`EXIT_CODE_MEANINGS` says what each means."""

    OK = 0
    ERROR = 1
    CONFIG = 2
    KB = 3
    TOKEN_REJECTED = 4
    NETWORK = 5
    DATABASE = 6


# What each exit code means, as ``tupoksi --help`` lists it.
EXIT_CODE_MEANINGS = {
    ExitCode.OK: "success",
    ExitCode.ERROR: "unexpected error (a bug: reported with a traceback)",
    ExitCode.CONFIG: "usage error, malformed .env, missing, malformed or bad setting",
    ExitCode.KB: "invalid knowledge base (every problem as file:line: message)",
    ExitCode.TOKEN_REJECTED: "Telegram rejected TELEGRAM_BOT_TOKEN",
    ExitCode.NETWORK: "the Bot API cannot be reached (network, TELEGRAM_API_BASE_URL)",
    ExitCode.DATABASE: "the database cannot be used (DATABASE_PATH, --db)",
}


class StartupError(Exception):
    """A fatal start-up problem: printed as one line per problem, no traceback, then exit ``code``."""

    def __init__(self, code: ExitCode, problems: Iterable[str]) -> None:
        self.code = code
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def report(self, stream: TextIO | None = None) -> int:
        """Print every problem as ``tupoksi: ...`` on stderr; return the exit code."""
        stream = stream or sys.stderr
        for problem in self.problems:
            print(f"tupoksi: {problem}", file=stream)
        return int(self.code)


class ConfigError(StartupError):
    """The settings are unusable; ``problems`` holds one sentence per problem."""

    def __init__(self, problems: Iterable[str]) -> None:
        super().__init__(ExitCode.CONFIG, problems)


@dataclass(frozen=True)
class Settings:
    """Everything the process is configured with. Build it with :func:`load_settings`."""

    token: str = field(repr=False)
    api_base_url: str | None = None
    database_path: Path = DEFAULT_DATABASE_PATH
    admin_ids: frozenset[int] = frozenset()
    webhook_url: str | None = None
    webhook_listen: str = "0.0.0.0"  # the reverse proxy in front decides what is exposed
    webhook_port: int = 8443
    webhook_secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    kb_dir: Path = DEFAULT_KB_DIR
    log_retention_days: int = 365
    rate_limit_per_minute: int = 20
    allowed_chat_ids: frozenset[int] | None = None
    error_chat_id: int | None = None
    admin_chat_id: int | None = None
    """Where "Tanyakan ke admin" sends questions (a group of admins); None: each admin's private chat."""
    tz: tzinfo = field(default_factory=lambda: time_zone(DEFAULT_TIME_ZONE))
    """The office's clock (``TZ``): every time shown to people; the database keeps UTC."""

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" if f.repr else f"{f.name}={REDACTED!r}"
            for f in fields(self)
        )
        return f"Settings({shown})"

    __str__ = __repr__

    @property
    def base_file_url(self) -> str | None:
        """The file-download URL that goes with ``api_base_url`` (None: PTB's default)."""
        url = self.api_base_url
        if url is None:
            return None
        if url.endswith("/bot"):
            return url[: -len("/bot")] + "/file/bot"
        if "/bot{token}" in url:
            return url.replace("/bot{token}", "/file/bot{token}", 1)
        return None

    @property
    def webhook_path(self) -> str:
        """The path the webhook server listens on: the path of ``webhook_url``."""
        return urlparse(self.webhook_url or "").path.lstrip("/")

    def is_admin(self, user_id: int | None) -> bool:
        """True for a user listed in ADMIN_IDS."""
        return user_id is not None and user_id in self.admin_ids


# -- .env ------------------------------------------------------------------------------


def parse_dotenv(text: str, name: str = ".env") -> dict[str, str]:
    """Parse ``KEY=VALUE`` lines: ``#`` comments, optional ``export``, single or double quotes.

    Double-quoted values understand ``\\n``, ``\\t``, ``\\"`` and ``\\\\``; single-quoted
    values are literal; an unquoted value ends at `` #``. Raises :class:`ConfigError`
    naming ``file:line`` for anything else.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, rest = line.partition("=")
        key = key.strip()
        if not sep or not _KEY.match(key):
            problems.append(f"{name}:{number}: expected KEY=VALUE, got {raw.strip()[:40]!r}")
            continue
        try:
            values[key] = _dotenv_value(rest.strip())
        except ValueError as exc:
            problems.append(f"{name}:{number}: {key}: {exc}")
    if problems:
        raise ConfigError(problems)
    return values


def _dotenv_value(rest: str) -> str:
    if rest[:1] in ("'", '"'):
        quote = rest[0]
        end = _closing_quote(rest, quote)
        if end < 0:
            raise ValueError(f"missing closing {quote}")
        trailing = rest[end + 1 :].strip()
        if trailing and not trailing.startswith("#"):
            raise ValueError(f"unexpected text after the closing {quote}")
        body = rest[1:end]
        return _unescape(body) if quote == '"' else body
    return re.split(r"\s#", rest, maxsplit=1)[0].strip()


def _closing_quote(rest: str, quote: str) -> int:
    i = 1
    while i < len(rest):
        if quote == '"' and rest[i] == "\\":
            i += 2
            continue
        if rest[i] == quote:
            return i
        i += 1
    return -1


def _unescape(body: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(0)), body)


# -- loading ---------------------------------------------------------------------------


def dotenv_candidates() -> list[Path]:
    """Where ``.env`` is looked for, in order: the working directory, then the checkout."""
    candidates = [Path.cwd() / ".env"]
    if (CHECKOUT / "pyproject.toml").is_file() and CHECKOUT / ".env" not in candidates:
        candidates.append(CHECKOUT / ".env")
    return candidates


def find_dotenv(
    dotenv_path: Path | Literal[_Dotenv.DISCOVER] | None = DISCOVER,
) -> tuple[Path | None, list[Path]]:
    """The settings file to read (None: there is none) and the files looked for.

    ``dotenv_path`` names the file; with :data:`DISCOVER` it is the first existing one of
    :func:`dotenv_candidates`; with None no file is read.
    """
    if dotenv_path is None:
        return None, []
    looked = dotenv_candidates() if dotenv_path is DISCOVER else [dotenv_path]
    return next((path for path in looked if path.is_file()), None), looked


def load_settings(
    env: Mapping[str, str] | None = None,
    dotenv_path: Path | Literal[_Dotenv.DISCOVER] | None = DISCOVER,
    *,
    require_token: bool = True,
) -> Settings:
    """Read ``env`` (default: ``os.environ``) over the ``.env`` file and validate.

    ``dotenv_path``: a file to read if it exists, :data:`DISCOVER` (the default) to look
    for ``.env`` as :func:`find_dotenv` does, or None to read none. ``require_token=False``
    is for the subcommands that never talk to Telegram: the token is then neither required
    nor checked.
    Raises :class:`ConfigError` listing every problem, one sentence each.
    """
    merged: dict[str, str] = {}
    dotenv, looked = find_dotenv(dotenv_path)
    if dotenv is not None:
        try:
            text = dotenv.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError([f"cannot read {dotenv}: {exc}"]) from exc
        merged.update(parse_dotenv(text, str(dotenv)))
    source = os.environ if env is None else env
    merged.update({k: v for k, v in source.items() if v.strip()})
    reader = _Reader({k: v.strip() for k, v in merged.items() if v.strip()}, dotenv, looked)
    settings = reader.settings(require_token)
    if reader.problems:
        raise ConfigError(reader.problems)
    return settings


class _Reader:
    """Typed access to the merged variables, collecting one problem per bad value."""

    def __init__(
        self, values: Mapping[str, str], dotenv: Path | None = None, looked: Sequence[Path] = ()
    ) -> None:
        self.values = values
        self.dotenv = dotenv  # the .env file read, if any
        self.looked = looked  # the .env files looked for
        self.problems: list[str] = []

    def settings(self, require_token: bool = True) -> Settings:
        return Settings(
            token=self.token() if require_token else self.values.get("TELEGRAM_BOT_TOKEN", ""),
            api_base_url=self.url("TELEGRAM_API_BASE_URL"),
            database_path=Path(self.values.get("DATABASE_PATH", DEFAULT_DATABASE_PATH)),
            admin_ids=self.ids("ADMIN_IDS", "Telegram user ids") or frozenset(),
            webhook_url=self.url("WEBHOOK_URL"),
            webhook_listen=self.values.get("WEBHOOK_LISTEN", "0.0.0.0"),
            webhook_port=self.integer("WEBHOOK_PORT", 8443, low=1, high=65535),
            webhook_secret=self.secret(),
            log_level=self.log_level(),
            kb_dir=Path(self.values.get("KB_DIR", DEFAULT_KB_DIR)),
            log_retention_days=self.integer("LOG_RETENTION_DAYS", 365, low=1),
            rate_limit_per_minute=self.integer("RATE_LIMIT_PER_MINUTE", 20, low=0),
            allowed_chat_ids=self.ids("ALLOWED_CHAT_IDS", "Telegram chat ids"),
            error_chat_id=self.optional_integer("ERROR_CHAT_ID"),
            admin_chat_id=self.optional_integer("ADMIN_CHAT_ID"),
            tz=self.time_zone(),
        )

    def time_zone(self) -> tzinfo:
        value = self.values.get("TZ") or DEFAULT_TIME_ZONE
        try:
            return time_zone(value)
        except ValueError:
            self.problems.append(
                f"TZ must be an IANA time zone name like {DEFAULT_TIME_ZONE} (WIB), got {value!r}"
            )
            return time_zone(DEFAULT_TIME_ZONE)

    def token(self) -> str:
        token = self.values.get("TELEGRAM_BOT_TOKEN")
        if token is None:
            if self.dotenv is not None:
                where = f"put the token from @BotFather in {self.dotenv}"
            else:
                looked = f" ({' or '.join(map(str, self.looked))})" if self.looked else ""
                where = (
                    f"there is no .env{looked}: copy .env.example to .env and put the token "
                    "from @BotFather there"
                )
            self.problems.append(f"TELEGRAM_BOT_TOKEN is not set: {where} (or set it in the environment)")
            return ""
        if not TOKEN_PATTERN.match(token):
            # Never echo the value: a malformed token may still be mostly secret.
            self.problems.append(
                "TELEGRAM_BOT_TOKEN is malformed: expected digits, a colon and at least 30 "
                "letters, digits, '_' or '-' (like 123456789:AAH...), as @BotFather gives it"
            )
        return token

    def url(self, key: str) -> str | None:
        value = self.values.get(key)
        if value is None:
            return None
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            self.problems.append(f"{key} must be an http:// or https:// URL, got {value!r}")
        return value

    def integer(self, key: str, default: int, *, low: int, high: int | None = None) -> int:
        value = self.values.get(key)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
            self.problems.append(f"{key} must be a whole number {bounds}, got {value!r}")
            return default
        return number

    def optional_integer(self, key: str) -> int | None:
        value = self.values.get(key)
        if value is None:
            return None
        try:
            return int(value)
        except ValueError:
            self.problems.append(f"{key} must be an integer (a Telegram chat id), got {value!r}")
            return None

    def ids(self, key: str, what: str) -> frozenset[int] | None:
        value = self.values.get(key)
        if value is None:
            return None
        items = [item.strip() for item in value.split(",") if item.strip()]
        bad = [item for item in items if not re.fullmatch(r"-?\d+", item)]
        if bad:
            self.problems.append(
                f"{key} must be comma-separated integers ({what}), e.g. 12345,67890; "
                f"not an integer: {bad[0]!r}"
            )
            return None
        return frozenset(int(item) for item in items)

    def secret(self) -> str | None:
        value = self.values.get("WEBHOOK_SECRET")
        if value is not None and not WEBHOOK_SECRET_PATTERN.match(value):
            self.problems.append(
                "WEBHOOK_SECRET may only contain letters, digits, '_' and '-' (1 to 256 characters)"
            )
        return value

    def log_level(self) -> str:
        value = self.values.get("LOG_LEVEL", "INFO").upper()
        if value not in LOG_LEVELS:
            self.problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {value!r}")
            return "INFO"
        return value


# -- logging ---------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Replace secrets in a record's message and traceback before any handler writes it."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        # The secret half of a token also appears URL-encoded (``%3A`` for the colon).
        variants = set()
        for secret in secrets:
            if secret:
                variants.add(secret)
                if ":" in secret and len(secret.partition(":")[2]) >= 8:
                    variants.add(secret.partition(":")[2])
        self._secrets = sorted(variants, key=len, reverse=True)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def setup_logging(settings: Settings) -> None:
    """Configure the root logger once, from ``run`` (never at import).

    httpx logs every request URL, token included, at INFO: it is muted to WARNING,
    and a :class:`RedactingFilter` on the root handlers catches anything else.
    """
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s", level=settings.log_level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    secrets = [s for s in (settings.token, settings.webhook_secret) if s]
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter(secrets))
