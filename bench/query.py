"""Benchmark: the v2 query engine (raw events) beside the summary (roll-ups), one run.

Builds N events over ~13 months (``bench/gen.py``) in a temporary chDB directory, merges the
parts, warms both paths, then times interleaved rounds of: ``summarize`` over the last 30
days (closed days read from ``visits_daily``), and the engine's 30-day totals (the summary's
six numbers), a 30-day breakdown by source filtered on a page, and a 12-month monthly
series. The engine reads the raw events every time (no roll-up yet), so the ratio shows
what a roll-up would buy. Serving stack: chDB embedded, in process, no HTTP.

    .venv/bin/python bench/query.py --events 1000000 [--rounds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.period import Period  # noqa: E402
from analytics.query import parse_query, run_query  # noqa: E402
from analytics.summary import summarize  # noqa: E402
from bench.gen import MAIN_SITE, generate  # noqa: E402
from kruimel.base.store import Store  # noqa: E402

TZ = "Europe/Amsterdam"
TOTALS = ["visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"]


def _engine(store: Store, body: dict[str, Any]) -> Callable[[], Awaitable[Any]]:
    query = parse_query({"site_id": MAIN_SITE} | body, tz=TZ)
    return lambda: run_query(store, query, site=MAIN_SITE, tz=TZ)


async def _bench(store: Store, rounds: int) -> list[str]:
    period = Period.parse("30d", tz=TZ)
    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "summary 30d (roll-ups)": lambda: summarize(store, MAIN_SITE, period),
        "engine 30d totals": _engine(store, {"metrics": TOTALS, "date_range": "30d"}),
        "engine 30d sources, page filter": _engine(
            store,
            {
                "metrics": ["visitors", "visits", "bounce_rate"],
                "date_range": "30d",
                "dimensions": ["visit:source"],
                "filters": [["is", "event:page", ["/"]]],
            },
        ),
        "engine 12mo by month": _engine(
            store,
            {"metrics": ["visitors", "pageviews"], "date_range": "12mo", "dimensions": ["time"]},
        ),
    }
    for call in cases.values():  # warm up (and roll up the summary's closed days)
        await call()
    samples: dict[str, list[float]] = {label: [] for label in cases}
    for _ in range(rounds):  # interleaved, so every case sees the same load
        for label, call in cases.items():
            began = time.perf_counter()
            await call()
            samples[label].append(time.perf_counter() - began)
    base = statistics.median(samples["summary 30d (roll-ups)"])
    out = [f"{'case':<34} {'p50':>9} {'min':>9} {'max':>9}  ratio to summary"]
    for label, values in samples.items():
        p50 = statistics.median(values)
        out.append(
            f"{label:<34} {p50 * 1000:7.1f}ms {min(values) * 1000:7.1f}ms "
            f"{max(values) * 1000:7.1f}ms  {p50 / base:5.2f}"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kruimel-bench-query-"))
    out = [
        f"bench/query.py --events {args.events} --rounds {args.rounds}",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (shared with other work), "
        "chDB embedded in process",
    ]
    try:
        with Store.connect(f"chdb://{tmp / 'store'}") as store:
            took = generate(store, args.events)
            out.append(f"generated {args.events:,} events in {took:.1f} s")
            for table in ("events", "pages_daily"):
                store.command(f"OPTIMIZE TABLE {table} FINAL")
            out += asyncio.run(_bench(store, args.rounds))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("\n".join(out))


if __name__ == "__main__":
    main()
