"""Benchmark (c): bytes on disk per stored event, raw events plus every rollup.

For each ``--events`` count: generate the events over ~13 months in a fresh temporary chDB
directory (``bench/gen.py``), roll up the visits of every closed day (as the summary would
over time), merge every table (``OPTIMIZE ... FINAL``), then divide the ``bytes_on_disk`` of
the active parts of ``events``, ``pages_daily``, ``visits_daily`` and ``filtered`` (from
``system.parts``) by the number of events. Target: under 20 bytes per event.

    .venv/bin/python bench/disk.py --events 1000000 --events 10000000

Writes bench/results/disk.txt. The temporary directories are removed afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analytics.summary import roll_up  # noqa: E402
from bench.gen import SITES, generate  # noqa: E402
from kruimel.base.store import Store  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "disk.txt"
TABLES = ("events", "pages_daily", "visits_daily", "filtered")


def measure(events: int) -> list[str]:
    """Generate ``events`` events in a temporary store; return the report lines."""
    tmp = Path(tempfile.mkdtemp(prefix="kruimel-bench-disk-"))
    try:
        with Store.connect(f"chdb://{tmp / 'store'}") as store:
            took = generate(store, events)
            count = int(store.query("SELECT count() FROM events")[0][0])
            began = time.perf_counter()
            closed = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
            for site in SITES:
                days = [
                    d
                    for (d,) in store.query(
                        "SELECT DISTINCT day FROM events WHERE site = {s:String} "
                        "AND day < {c:Date} ORDER BY day",
                        {"s": site, "c": closed},
                    )
                ]
                asyncio.run(roll_up(store, site, days))
            rolled = time.perf_counter() - began
            for table in TABLES:
                store.command(f"OPTIMIZE TABLE {table} FINAL")
            sizes = {
                table: (int(rows), int(size))
                for table, rows, size in store.query(
                    "SELECT table, sum(rows), sum(bytes_on_disk) FROM system.parts "
                    "WHERE active AND database = currentDatabase() AND table IN {t:Array(String)} "
                    "GROUP BY table",
                    {"t": list(TABLES)},
                )
            }
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(size for _, size in sizes.values())
    lines = [
        f"{count:,} events (generated in {took:.1f} s, visits rolled up in {rolled:.1f} s):",
    ]
    for table in TABLES:
        rows, size = sizes.get(table, (0, 0))
        lines.append(
            f"  {table:<13} {rows:>12,} rows {size:>14,} bytes  {size / count:6.2f} bytes/event"
        )
    lines.append(f"  {'total':<13} {'':>17} {total:>14,} bytes  {total / count:6.2f} bytes/event")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--events", type=int, action="append", help="event count; repeat for several"
    )
    parser.add_argument("--no-write", action="store_true", help="do not write the results file")
    args = parser.parse_args()
    counts = args.events or [1_000_000, 10_000_000]
    out = [
        "bench/disk.py " + " ".join(f"--events {n}" for n in counts),
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC, chDB embedded, after OPTIMIZE FINAL; "
        "bytes_on_disk of active parts (system.parts) / events",
    ]
    for n in counts:
        lines = measure(n)
        print("\n".join(lines), flush=True)
        out += lines
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
