"""Sustained ingestion throughput of ``POST /api/event`` against a no-op endpoint.

Both apps run under the same real uvicorn setup (a subprocess on 127.0.0.1, same options)
and are driven by the same load generator: a raw asyncio HTTP/1.1 client with ``--conns``
keep-alive connections sending a bounded number of requests. The collector stores into
an embedded chDB store with its journal on; the no-op is a Starlette route that reads the
body and answers 202. Each round runs both apps back to back (alternating which goes
first) and gives one paired ratio; the report gives the median and range of those, and the
server process's CPU time per request, which the load of other processes on a shared
machine disturbs less than wall-clock throughput. Events rotate over realistic user agents,
client addresses (through a trusted X-Forwarded-For), paths and referrers. After the rounds
the servers are stopped (the collector's lifespan flushes) and the stored rows are counted:
every accepted event must be there.

    .venv/bin/python bench/ingest.py [--requests 6000] [--conns 32] [--rounds 8]

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


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) used so far by process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=6000, help="requests per round")
    parser.add_argument("--warmup", type=int, default=2000)
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(*args.serve)
        return

    requests = _requests(args.requests)
    warmup = _requests(args.warmup)
    modes = ("noop", "collector")
    rates: dict[str, list[float]] = {m: [] for m in modes}
    latencies: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, float] = dict.fromkeys(modes, 0.0)
    ratios: list[float] = []
    sent_to_collector = 0
    with tempfile.TemporaryDirectory(prefix="kruimel-bench-") as tmp:
        servers = {mode: _start(mode, tmp) for mode in modes}
        try:
            for mode, (_, port) in servers.items():
                asyncio.run(_load(port, warmup, args.conns))
                sent_to_collector += len(warmup) if mode == "collector" else 0
            for i in range(args.rounds):
                # each round runs both apps back to back, in alternating order, and yields
                # one paired ratio: the machine's load changes less within a pair
                order = modes if i % 2 == 0 else modes[::-1]
                rate: dict[str, float] = {}
                for mode in order:
                    proc, port = servers[mode]
                    cpu0 = _cpu_seconds(proc.pid)
                    elapsed, lat, accepted = asyncio.run(_load(port, requests, args.conns))
                    cpu[mode] += _cpu_seconds(proc.pid) - cpu0
                    if accepted != len(requests):
                        raise SystemExit(f"{mode}: only {accepted}/{len(requests)} accepted")
                    rate[mode] = len(requests) / elapsed
                    rates[mode].append(rate[mode])
                    latencies[mode].extend(lat)
                    sent_to_collector += len(requests) if mode == "collector" else 0
                ratios.append(rate["collector"] / rate["noop"])
        finally:
            for proc, _ in servers.values():
                _stop(proc)
        stored = _count_rows(tmp)

    total = args.requests * args.rounds
    us = {m: cpu[m] / total * 1e6 for m in modes}
    names = {"noop": "no-op Starlette POST", "collector": "collector /api/event"}
    lines = [
        f"Ingestion benchmark ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, uvicorn asyncio+h11,",
        f" {args.conns} keep-alive connections, {args.rounds} paired rounds of "
        f"{args.requests} requests per app)",
        "",
        f"{'endpoint':<24}{'req/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'server CPU/req':>16}",
    ]
    for m in modes:
        lat = latencies[m]
        lines.append(
            f"{names[m]:<24}{statistics.median(rates[m]):>8.0f}{_pct(lat, 0.5):>9.2f}"
            f"{_pct(lat, 0.99):>9.2f}{us[m]:>13.0f} us"
        )
    lines += [
        "",
        f"throughput ratio collector / no-op: {statistics.median(ratios):.2f} median of paired "
        f"rounds (range {min(ratios):.2f}-{max(ratios):.2f}); target >= 0.70",
        f"server CPU ratio no-op / collector: {us['noop'] / us['collector']:.2f}",
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
