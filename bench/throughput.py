"""Whole-bot throughput: the real application against an echo-bot floor, in one run.

    python bench/throughput.py [--updates 2000] [--json out.json]

1. Updates per second through ``Application.process_update`` with the recording fake Bot
   API of the tests (no network), query logging to a real SQLite file on, PTB's flood
   limiter off (it would measure Telegram's limits, not ours), against the same PTB
   application with a trivial echo handler. The ratio is the figure of merit.
2. A burst of 1,000 questions from 100 users, all processed concurrently: every one must be
   answered (one sendMessage each) and logged (one row each).
3. Startup to first answer: the real ``python -m bot run`` process against the local fake
   Bot API server of the tests, with a question already waiting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]


from telegram import Update  # noqa: E402
from telegram.ext import Application, ApplicationBuilder, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.core.matcher import Matcher  # noqa: E402
from bot.knowledge.loader import load_kb  # noqa: E402
from bot.storage import open_database  # noqa: E402
from bot.telegram.app import build_application  # noqa: E402
from tests.support import fakes  # noqa: E402  (the tests' recording fake Bot API)
from tests.support.fake_bot_api import FakeBotApi  # noqa: E402

TOKEN = "123456:" + "A" * 35
DEV = ROOT.parent / "shared" / "eval" / "dev.yaml"
QUESTIONS = [
    "siapa yang mengurus kenaikan gaji berkala pegawai?",
    "arsip surat masuk disimpan di mana?",
    "yg input SIMAK BMN siapa min?",
    "penataan dapil dan alokasi kursi DPRD provinsi ditangani siapa?",
    "draf SK keputusan KPU provinsi disusun siapa?",
    "kapan pemilu 2029?",
    "pemutakhiran DPT berkelanjutan ditangani divisi apa?",
    "LPJ kegiatan diserahkan ke subbag mana?",
]


def _updates(count: int, users: int) -> list[dict]:
    """Private questions, spread over ``users`` so no one hits the per-user rate limit."""
    return [
        fakes.private_text(QUESTIONS[i % len(QUESTIONS)], user_id=10_000 + i % users) for i in range(count)
    ]


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    await update.effective_message.reply_text(update.effective_message.text)


def _echo_app(api: fakes.FakeRequest) -> Application:
    app = ApplicationBuilder().token(TOKEN).request(api).get_updates_request(api).build()
    app.add_handler(MessageHandler(filters.TEXT, _echo))
    return app


async def _run(app: Application, payloads: list[dict], *, concurrent: bool) -> float:
    """Seconds to process every payload (sequentially, or all at once)."""
    updates = [fakes.to_update(p, app.bot) for p in payloads]
    start = time.perf_counter()
    if concurrent:
        await asyncio.gather(*(app.process_update(u) for u in updates))
    else:
        for update in updates:
            await app.process_update(update)
    return time.perf_counter() - start


async def measure_throughput(count: int, rounds: int) -> dict:
    kb = load_kb()
    matcher = Matcher(kb)
    results: dict[str, list[float]] = {"echo": [], "bot": []}
    with tempfile.TemporaryDirectory() as tmp:
        log = await open_database(Path(tmp) / "bench.sqlite3")
        bot_api, echo_api = fakes.FakeRequest(), fakes.FakeRequest()
        bot_app = build_application(
            Settings(token=TOKEN, rate_limit_per_minute=0),
            kb,
            matcher,
            log,
            request=bot_api,
            updates_request=bot_api,
            rate_limiter=False,
        )
        echo_app = _echo_app(echo_api)
        async with bot_app, echo_app:
            for app in (echo_app, bot_app):  # warm-up
                await _run(app, _updates(50, 50), concurrent=False)
            for _ in range(rounds):  # interleaved, so drift hits both alike
                for name, app in (("echo", echo_app), ("bot", bot_app)):
                    seconds = await _run(app, _updates(count, count // 10), concurrent=False)
                    results[name].append(count / seconds)
            await log.flush()
            rows = await log.count_queries()
        await log.close()
    best = {name: max(values) for name, values in results.items()}
    return {
        "updates": count,
        "rounds": rounds,
        "echo_per_s": best["echo"],
        "bot_per_s": best["bot"],
        "ratio": best["bot"] / best["echo"],
        "rows_logged": rows,
    }


async def measure_burst(questions: int = 1000, users: int = 100) -> dict:
    kb = load_kb()
    with tempfile.TemporaryDirectory() as tmp:
        log = await open_database(Path(tmp) / "burst.sqlite3")
        api = fakes.FakeRequest()
        app = build_application(
            Settings(token=TOKEN), kb, Matcher(kb), log, request=api, updates_request=api, rate_limiter=False
        )
        async with app:
            seconds = await _run(app, _updates(questions, users), concurrent=True)
            await log.flush()
            rows = await log.count_queries()
        await log.close()
    answered = len(api.calls("sendMessage"))
    return {"questions": questions, "users": users, "seconds": seconds, "answered": answered, "logged": rows}


def measure_startup(runs: int = 3) -> dict:
    """Seconds from process start to the answer of a question that was already waiting."""
    samples = []
    for _ in range(runs):
        with FakeBotApi(TOKEN) as api, tempfile.TemporaryDirectory() as tmp:
            api.send_private_text(777, "siapa yang mengurus arsip surat masuk?")
            env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "WEBHOOK_"))}
            env.update(
                TELEGRAM_BOT_TOKEN=TOKEN,
                TELEGRAM_API_BASE_URL=api.base_url,
                DATABASE_PATH=str(Path(tmp) / "start.sqlite3"),
                PYTHONPATH=str(ROOT),
                NO_PROXY="127.0.0.1,localhost",
            )
            start = time.perf_counter()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"],
                env=env,
                cwd=tmp,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                api.wait_for(lambda c: c.method == "sendMessage", timeout=60)
                samples.append(time.perf_counter() - start)
            finally:
                process.terminate()
                process.wait(timeout=30)
    samples.sort()
    return {"runs": runs, "median_s": samples[len(samples) // 2], "min_s": samples[0], "max_s": samples[-1]}


def render(data: dict) -> str:
    t, b, s = data["throughput"], data["burst"], data["startup"]
    lines = [
        f"Machine: {data['machine']}",
        "",
        "| application (same run, same fake Bot API) | updates/s |",
        "| --- | ---: |",
        f"| echo handler (python-telegram-bot floor) | {t['echo_per_s']:,.0f} |",
        f"| Tupoksi Bot (matching, HTML answer, query log to SQLite) | {t['bot_per_s']:,.0f} |",
        f"| **ratio** (goal ≥ 0.8) | **{t['ratio']:.2f}** |",
        "",
        f"Best of {t['rounds']} interleaved rounds of {t['updates']:,} sequential updates each; "
        f"{t['rows_logged']:,} rows logged.",
        "",
        "| burst | value |",
        "| --- | ---: |",
        f"| questions / users | {b['questions']:,} / {b['users']} |",
        f"| processed concurrently in | {b['seconds']:.2f} s |",
        f"| answered (sendMessage) | {b['answered']:,} |",
        f"| logged (rows) | {b['logged']:,} |",
        "",
        "| startup to first answer (real process, local fake Bot API) | seconds |",
        "| --- | ---: |",
        f"| median of {s['runs']} (min / max) | {s['median_s']:.2f} ({s['min_s']:.2f} / {s['max_s']:.2f}) |",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--updates", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    data = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "throughput": asyncio.run(measure_throughput(args.updates, args.rounds)),
        "burst": asyncio.run(measure_burst()),
        "startup": measure_startup(),
    }
    print(render(data))
    if args.json:
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
    burst = data["burst"]
    return 0 if burst["answered"] == burst["logged"] == burst["questions"] else 1


if __name__ == "__main__":
    sys.exit(main())
