"""Log lines written while the store fails 50 events and then answers again.

Not a timing: a count. The collector runs in process over a real chDB store whose ``salts``
table is renamed away (so no event can get today's salt) and back. Run it from the
repository root: ``python bench/outage_log.py``. It prints the log lines between the start
and the end of the outage, and their count.
"""

from __future__ import annotations

import asyncio
import io
import logging
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import httpx

from analytics import AnalyticsConfig, Collector, SiteConfig
from kruimel.base.store import Store

CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0 Safari/537.36"
)
EVENT = '{"n":"pageview","u":"https://example.nl/","d":"example.nl"}'


async def main() -> None:
    captured = io.StringIO()
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        stream=captured,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp())
    store = Store.connect(f"chdb://{tmp / 'store'}")
    config = AnalyticsConfig(
        sites=(SiteConfig("example.nl"),), journal_dir=tmp / "journal", flush_seconds=60.0
    )
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    collector = Collector(config, store, clock=lambda: today)
    await collector.start()
    transport = httpx.ASGITransport(app=collector, client=("192.0.2.1", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://c") as client:
        store.command("RENAME TABLE salts TO salts_away")
        start = captured.tell()
        statuses = [
            (
                await client.post("/api/event", content=EVENT, headers={"User-Agent": CHROME})
            ).status_code
            for _ in range(50)
        ]
        store.command("RENAME TABLE salts_away TO salts")
        back = await client.post("/api/event", content=EVENT, headers={"User-Agent": CHROME})
        lines = captured.getvalue()[start:].splitlines()
    await collector.stop()
    store.close()
    for line in lines:
        print(line[:160])
    print(
        f"\n50 events answered {sorted(set(statuses))}, then {back.status_code}: "
        f"{len(lines)} log line(s) during the outage and its end"
    )


if __name__ == "__main__":
    asyncio.run(main())
