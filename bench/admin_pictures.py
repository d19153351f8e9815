"""The README's admin pictures, from a simulated month of questions: ``python -m bench.admin_pictures``.

Questions come from the labeled sets in ``tests/data`` (in and out of scope, as staff type
them), asked on working days over 30 days (fewer on Fridays, none at weekends) through the real
:class:`~bot.service.Service` into an in-memory database, with some 👍/👎. The reports are then
drawn exactly as ``/statistik`` and ``/cakupan`` draw them, into ``docs/img/``. Deterministic:
the same seed and the same clock day give the same pictures.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from bot.core.matcher import Matcher
from bot.knowledge.loader import DEFAULT_KB_DIR, load_kb
from bot.service import Service
from bot.storage import QueryRecord, Source, open_database
from bot.text import reports

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
OUT = ROOT / "docs" / "img"
END = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)  # a fixed clock, so the pictures do not change by themselves


def questions() -> list[str]:
    """Every question of the labeled sets, in file order."""
    found: list[str] = []
    for path in sorted(DATA.glob("*.yaml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found += [
            item["q"] for item in document.get("questions", []) if isinstance(item, dict) and item.get("q")
        ]
    return found


async def simulate(seed: int, days: int) -> tuple[bytes, bytes]:
    kb = load_kb(DEFAULT_KB_DIR)
    database = await open_database(":memory:")
    database.clock = lambda: END
    captured: list[QueryRecord] = []

    class Capture:
        def log(self, record: QueryRecord) -> None:
            captured.append(record)

    service = Service(Matcher(kb), Capture())
    rng = random.Random(seed)
    pool = questions()
    try:
        for back in range(days, -1, -1):
            day = END - timedelta(days=back)
            if day.weekday() >= 5:
                continue
            for _ in range(rng.randint(6, 14) if day.weekday() < 4 else rng.randint(2, 6)):
                captured.clear()
                service.ask(rng.choice(pool), source=Source.GROUP, chat_id=-100, user_id=rng.randint(1, 40))
                asked = day.replace(hour=1) + timedelta(minutes=rng.randint(0, 8 * 60))
                record = replace(captured[0], asked_at=asked)
                database.log(record)
                if record.answered and rng.random() < 0.15:
                    await database.flush()
                    await database.set_feedback(
                        record.id, rng.randint(1, 40), 1 if rng.random() < 0.8 else -1
                    )
        await database.flush()
        offset = timedelta(hours=7)
        stats = await database.report(days, utc_offset=offset)
        coverage = reports.coverage_report(kb, await database.coverage(days))
        return reports.stats_chart_png(stats), reports.coverage_chart_png(kb, coverage, days)
    finally:
        await database.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    stats_png, coverage_png = asyncio.run(simulate(args.seed, args.days))
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "stats.png").write_bytes(stats_png)
    (OUT / "coverage.png").write_bytes(coverage_png)
    print(f"wrote {OUT / 'stats.png'} and {OUT / 'coverage.png'}")


if __name__ == "__main__":
    main()
