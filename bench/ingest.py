"""Sustained ingestion throughput of ``POST /api/event`` against a no-op endpoint.

Both apps run under the same real uvicorn setup (a subprocess on 127.0.0.1, same options)
and are driven by the same load generator: a raw asyncio HTTP/1.1 client with ``--conns``
keep-alive connections sending a bounded number of requests. The collector stores into
an embedded chDB store with its journal on; the no-op is a Starlette route that reads the
body and answers 202. Rounds alternate (no-op, collector, no-op, ...) and the medians are
compared. Events rotate over realistic user agents, client addresses (through a trusted
X-Forwarded-For), paths and referrers. After the collector's rounds the server is stopped
(the lifespan flushes) and the stored rows are counted: every accepted event must be there.

    .venv/bin/python bench/ingest.py [--requests 20000] [--conns 32] [--rounds 3]

Writes the table to bench/results/ingest.txt. Target: ratio >= 0.7.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "ingest.txt"
SITE = "example.nl"

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
]
REFERRERS = ["", "", "https://www.google.com/", "https://duckduckgo.com/", "https://t.co/x"]


# -- the two servers -----------------------------------------------------------------------
def _serve(mode: str, port: int, data_dir: str) -> None:
    import uvicorn

    sys.path.insert(0, str(ROOT))
    if mode == "noop":
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        async def event(request: Request) -> PlainTextResponse:
            await request.body()
            return PlainTextResponse("ok", status_code=202)

        app = Starlette(routes=[Route("/api/event", event, methods=["POST"])])
    else:
        from analytics import AnalyticsConfig, Collector, SiteConfig
        from kruimel.store import Store

        store = Store.connect(f"chdb://{data_dir}/store")
        config = AnalyticsConfig(
            sites=(SiteConfig(SITE),),
            trusted_proxies=("127.0.0.1",),
            journal_dir=Path(data_dir) / "journal",
        )
        app = Collector(config, store)  # type: ignore[assignment]
    # the collector reads X-Forwarded-For itself (trusted_proxies); uvicorn must not rewrite it
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(mode: str, data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode, str(port), data_dir], cwd=ROOT
    )
    for _ in range(600):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{mode} server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # uvicorn runs the lifespan shutdown: final flush
    proc.wait(timeout=120)


# -- the load generator --------------------------------------------------------------------
def _requests(n: int) -> list[bytes]:
    rnd = random.Random(7)
    out = []
    for i in range(n):
        body = json.dumps(
            {
                "n": "pageview",
                "u": f"https://{SITE}/blog/post-{rnd.randrange(200)}?utm_source=bench",
                "d": SITE,
                "r": rnd.choice(REFERRERS) or None,
                "w": 1280,
            }
        ).encode()
        ip = f"198.51.{rnd.randrange(256)}.{rnd.randrange(1, 255)}"
        head = (
            "POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"User-Agent: {USER_AGENTS[i % len(USER_AGENTS)]}\r\n"
            f"X-Forwarded-For: {ip}\r\nContent-Type: text/plain;charset=UTF-8\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        out.append(head + body)
    return out


async def _load(port: int, requests: list[bytes], conns: int) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    accepted = 0
    queue = iter(requests)

    async def worker() -> None:
        nonlocal accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for request in queue:
                t0 = time.perf_counter()
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if head.startswith(b"HTTP/1.1 202"):
                    accepted += 1
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return time.perf_counter() - t0, latencies, accepted


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def _count_rows(data_dir: str) -> int:
    sys.path.insert(0, str(ROOT))
    from kruimel.store import Store

    with Store.connect(f"chdb://{data_dir}/store") as store:
        return int(store.query("SELECT count() FROM events")[0][0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(*args.serve)
        return

    requests = _requests(args.requests)
    warmup = _requests(args.warmup)
    results: dict[str, list[tuple[float, list[float]]]] = {"noop": [], "collector": []}
    sent_to_collector = 0
    with tempfile.TemporaryDirectory(prefix="kruimel-bench-") as tmp:
        servers = {mode: _start(mode, tmp) for mode in ("noop", "collector")}
        try:
            for mode, (_, port) in servers.items():
                asyncio.run(_load(port, warmup, args.conns))
                sent_to_collector += len(warmup) if mode == "collector" else 0
            for _ in range(args.rounds):
                for mode, (_, port) in servers.items():
                    elapsed, lat, accepted = asyncio.run(_load(port, requests, args.conns))
                    if accepted != len(requests):
                        raise SystemExit(f"{mode}: only {accepted}/{len(requests)} accepted")
                    results[mode].append((len(requests) / elapsed, lat))
                    sent_to_collector += len(requests) if mode == "collector" else 0
        finally:
            for proc, _ in servers.values():
                _stop(proc)
        stored = _count_rows(tmp)

    rows = []
    for mode in ("noop", "collector"):
        rates = [r for r, _ in results[mode]]
        lat = [x for _, ls in results[mode] for x in ls]
        rows.append((mode, statistics.median(rates), _pct(lat, 0.5), _pct(lat, 0.99)))
    ratio = rows[1][1] / rows[0][1]
    lines = [
        f"Ingestion benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, uvicorn asyncio+h11,",
        f" {args.conns} keep-alive connections, {args.requests} requests x {args.rounds} "
        "rounds per app, medians)",
        "",
        f"{'endpoint':<28}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}",
        f"{'no-op Starlette POST':<28}{rows[0][1]:>10.0f}{rows[0][2]:>10.2f}{rows[0][3]:>10.2f}",
        f"{'collector /api/event':<28}{rows[1][1]:>10.0f}{rows[1][2]:>10.2f}{rows[1][3]:>10.2f}",
        "",
        f"ratio collector / no-op: {ratio:.2f} (target >= 0.70)",
        f"events accepted {sent_to_collector}, stored in chDB after shutdown {stored}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    if stored != sent_to_collector:
        raise SystemExit("stored rows differ from accepted events")


if __name__ == "__main__":
    main()
