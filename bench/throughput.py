"""Whole-bot throughput: the real application against an echo-bot floor, in one run.

    python bench/throughput.py [--updates 2000] [--json out.json]

1. Updates per second through ``Application.process_update`` with the recording fake Bot
   API of the tests (no network), query logging to a real SQLite file on, PTB's flood
   limiter off (it would measure Telegram's limits, not ours), against the same PTB
   application with a trivial echo handler, and against the bot itself with matching
   replaced by the precomputed results ("real reply, no matching"), with and without the
   query log. The differences split the cost of one update into PTB dispatch (the echo),
   rendering and sending the real reply, logging and matching.
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
from bot.core.matcher import Matcher, MatchResult  # noqa: E402
from bot.knowledge.loader import load_kb  # noqa: E402
from bot.service import NoQuestionLog  # noqa: E402
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


class _Precomputed(Matcher):
    """The same matcher, answering each question from a cache: the bot without matching."""

    def __init__(self, base: Matcher) -> None:
        self.__dict__.update(base.__dict__)
        self._answers: dict[str, MatchResult] = {}

    def match(self, question: str) -> MatchResult:
        result = self._answers.get(question)
        if result is None:
            result = self._answers[question] = super().match(question)
        return result


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
    precomputed = _Precomputed(matcher)
    names = ("echo", "bot", "no_match", "no_match_no_log")
    results: dict[str, list[float]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as tmp:
        log = await open_database(Path(tmp) / "bench.sqlite3")
        log2 = await open_database(Path(tmp) / "bench2.sqlite3")

        def bot(m: Matcher, query_log: object) -> Application:
            api = fakes.FakeRequest()
            return build_application(
                Settings(token=TOKEN, rate_limit_per_minute=0),
                kb,
                m,
                query_log,  # type: ignore[arg-type]
                request=api,
                updates_request=api,
                rate_limiter=False,
            )

        apps = {
            "echo": _echo_app(fakes.FakeRequest()),
            "bot": bot(matcher, log),
            "no_match": bot(precomputed, log2),
            "no_match_no_log": bot(precomputed, NoQuestionLog()),
        }
        for app in apps.values():
            await app.initialize()
        try:
            for app in apps.values():  # warm-up (fills the precomputed answers too)
                await _run(app, _updates(50, 50), concurrent=False)
                await _run(app, _updates(len(QUESTIONS), len(QUESTIONS)), concurrent=False)
            for round_ in range(rounds):  # interleaved and rotated, so drift hits all alike
                order = names[round_ % len(names) :] + names[: round_ % len(names)]
                for name in order:
                    seconds = await _run(apps[name], _updates(count, count // 10), concurrent=False)
                    results[name].append(count / seconds)
        finally:
            for app in apps.values():
                await app.shutdown()
        await log.flush()
        rows = await log.count_queries()
        await log.close()
        await log2.close()
    best = {name: max(values) for name, values in results.items()}
    micro = {name: 1e6 / best[name] for name in names}
    return {
        "updates": count,
        "rounds": rounds,
        "echo_per_s": best["echo"],
        "bot_per_s": best["bot"],
        "no_match_per_s": best["no_match"],
        "no_match_no_log_per_s": best["no_match_no_log"],
        "ratio": best["bot"] / best["echo"],
        "ratio_no_match_to_echo": best["no_match"] / best["echo"],
        "ratio_to_no_match": best["bot"] / best["no_match"],
        "split_us": {
            "PTB dispatch and a plain reply (the echo)": micro["echo"],
            "rendering, guards and sending the real reply": micro["no_match_no_log"] - micro["echo"],
            "query logging (SQLite)": micro["no_match"] - micro["no_match_no_log"],
            "matching": micro["bot"] - micro["no_match"],
        },
        "total_us": micro["bot"],
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
        f"| Tupoksi Bot, real reply, no matching, no query log | {t['no_match_no_log_per_s']:,.0f} |",
        f"| Tupoksi Bot, real reply, no matching (query log on) | {t['no_match_per_s']:,.0f} |",
        f"| Tupoksi Bot (matching, HTML answer, query log to SQLite) | {t['bot_per_s']:,.0f} |",
        "",
        "| ratio | value |",
        "| --- | ---: |",
        f"| Tupoksi Bot / echo floor | **{t['ratio']:.2f}** |",
        f"| real reply, no matching / echo floor (the most the bot could reach) "
        f"| {t['ratio_no_match_to_echo']:.2f} |",
        f"| Tupoksi Bot / real reply, no matching | **{t['ratio_to_no_match']:.2f}** |",
        "",
        "| per update | µs | share |",
        "| --- | ---: | ---: |",
        *(f"| {part} | {us:,.0f} | {us / t['total_us']:.0%} |" for part, us in t["split_us"].items()),
        f"| **total** | **{t['total_us']:,.0f}** | 100% |",
        "",
        f"Best of {t['rounds']} interleaved rounds of {t['updates']:,} sequential updates each per "
        f"application; {t['rows_logged']:,} rows logged by the full bot.",
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
    parser.add_argument("--rounds", type=int, default=4)
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
