"""Benchmark (b): summary latency for a 30-day window over 10 million events in chDB.

Builds N events over ~13 months (``bench/gen.py``) in a temporary chDB directory, merges
the parts as a running server would have by then, and times
:func:`analytics.summary.summarize` for the main site's last 30 days: the first call (which
rolls up the visits of the closed days it needs), then ``--runs`` calls after a warm-up
(p50/p95), then each query alone (the per-query breakdown) and the same queries awaited one
after the other instead of started together. Target: p50 under 200 ms.

    .venv/bin/python bench/summary.py --events 10000000 [--runs 30]

Writes bench/results/summary.txt. The temporary directory is removed afterwards.
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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics import summary as S  # noqa: E402
from analytics.period import Period  # noqa: E402
from bench.gen import MAIN_SITE, generate  # noqa: E402
from kruimel.base.store import Store  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "summary.txt"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _bench(store: Store, period: Period, runs: int, out: list[str]) -> None:
    began = time.perf_counter()
    first_timings: dict[str, float] = {}
    await S.summarize(store, MAIN_SITE, period, timings=first_timings)
    out.append(
        f"first call (rolls up {period.days - 1} closed days): {_ms(time.perf_counter() - began)}"
        f"  (roll_up {_ms(first_timings.get('roll_up', 0.0))})"
    )
    # The queries with the parameters summarize uses (closed days already rolled up).
    params = S._params(MAIN_SITE, period, 10, None)
    open_days = [d for d in period.dates() if d > params["rolled_end"]]
    queries = {
        "days (pages_daily)": (S._DAYS, params),
        "rolled_days (visits_daily)": (S._ROLLED_DAYS, params),
        "visits_rolled (visits_daily)": (S._VISITS_ROLLED, params),
        f"visits_open ({len(open_days)} open day, raw events)": (
            S._VISITS_OPEN,
            params | S._visit_params(MAIN_SITE, open_days),
        ),
        "pages (visits_daily + pages_daily)": (S._PAGES, params),
        "events (raw)": (S._EVENTS, params),
        "props (raw)": (S._PROPS, params),
        "filtered": (S._FILTERED, params),
    }
    for _ in range(3):
        await S.summarize(store, MAIN_SITE, period)
    # summarize starts its independent queries together; the store serialises calls with
    # a lock (chDB is one engine per process), so they cannot overlap. Compare with the same
    # queries awaited one after the other, interleaved run by run so both see the same noise.
    times: list[float] = []
    cpu: list[float] = []
    seq: list[float] = []
    for _ in range(runs):
        began, began_cpu = time.perf_counter(), time.process_time()
        result = await S.summarize(store, MAIN_SITE, period)
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
        began = time.perf_counter()
        for sql, p in queries.values():
            await store.aquery(sql, p)
        seq.append(time.perf_counter() - began)
    out.append(
        f"summarize, {runs} runs: p50 {_ms(statistics.median(times))}  p95 {_ms(_pct(times, 0.95))}"
        f"  min {_ms(min(times))}  max {_ms(max(times))}"
    )
    out.append(
        f"  CPU time of the process (all chDB threads) per call: p50 {_ms(statistics.median(cpu))}"
    )
    totals = result["totals"]
    out.append(
        f"  (30 days: {totals['pageviews']:,} pageviews, {totals['visits']:,} visits, "
        f"{totals['visitors']:,} daily-unique visitors)"
    )
    out.append(
        f"same queries awaited one by one (interleaved): p50 {_ms(statistics.median(seq))}"
        f"  p95 {_ms(_pct(seq, 0.95))}"
    )
    out.append("per query, alone (median of the runs):")
    total = 0.0
    for label, (sql, p) in queries.items():
        samples = []
        for _ in range(max(5, runs // 2)):
            began = time.perf_counter()
            store.query(sql, p)
            samples.append(time.perf_counter() - began)
        total += statistics.median(samples)
        out.append(f"  {label:<42} {_ms(statistics.median(samples))}")
    out.append(f"  {'sum':<42} {_ms(total)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    if args.runs < 20:
        parser.error("--runs must be at least 20")
    tmp = Path(tempfile.mkdtemp(prefix="kruimel-bench-summary-"))
    out = [
        f"bench/summary.py --events {args.events} --runs {args.runs}",
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {os.cpu_count()} CPUs (shared), chDB embedded",
    ]
    try:
        with Store.connect(f"chdb://{tmp / 'store'}") as store:
            took = generate(store, args.events)
            count = store.query("SELECT count() FROM events")[0][0]
            version = store.query("SELECT version()")[0][0]
            out.append(f"ClickHouse {version}; generated {count:,} events in {took:.1f} s")
            began = time.perf_counter()
            for table in ("events", "pages_daily"):
                store.command(f"OPTIMIZE TABLE {table} FINAL")
            out.append(
                f"OPTIMIZE FINAL (merged parts, as on a running server): "
                f"{time.perf_counter() - began:.1f} s"
            )
            today = dt.datetime.now(dt.UTC).date()
            period = Period.parse("30d", tz="UTC", today=today)
            out.append(f"period: {period.start} to {period.end}, site {MAIN_SITE}")
            asyncio.run(_bench(store, period, args.runs, out))
            out.append(
                f"load average at the end: {os.getloadavg()[0]:.1f} (other jobs share the CPUs)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    text = "\n".join(out) + "\n"
    print(text, end="")
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
