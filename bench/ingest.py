"""Sustained ingestion of ``POST /api/event`` against the fastest no-op this machine serves.

Servers, each a uvicorn subprocess on 127.0.0.1 with the same settings (one worker, the
stack named in every table, no access log, ``proxy_headers`` off):

* ``raw ASGI no-op`` (the limit): reads the body and answers 202, no framework at all;
* ``Starlette no-op``: the same through a Starlette route (what a framework costs);
* ``collector``: the real collector on an embedded chDB store, journal on;
* with ``--with-h11``: the collector again on uvicorn's h11 + asyncio fallback.

Load: ``wrk`` (Debian's ``apt-get install wrk``) with a Lua script cycling over prepared
POSTs (rotating user agents, X-Forwarded-For client addresses through a trusted proxy,
paths, referrers), one thread and ``--conns`` keep-alive connections; without wrk, a raw
asyncio HTTP/1.1 client in a process of its own. The servers take turns in paired rounds
(the order rotates each round), so a change in the machine's load weighs on all of them; each
round gives every server's requests per second, and the share of the limit is the median of
the per-round ratios (range in brackets). Server CPU per request is the server process's
``utime + stime`` (``/proc/<pid>/stat``) over the round, divided by its requests: steadier
than wall clock on a loaded machine. After the rounds the collector is stopped (its lifespan
flushes) and the stored rows are counted against the 202s the client saw.

Then a profile of the collector's own work per event: direct ASGI calls in one process (no
sockets, no HTTP parsing), timed, then under cProfile with the top functions by own time.

    .venv/bin/python bench/ingest.py [--rounds 8] [--seconds 5] [--conns 32] [--quick]

``--quick`` (6 rounds of 2 s, under 2 minutes) is for a smoke run and only prints; a full
run writes its report to bench/results/ingest.txt as well. Target: the collector at >= 0.7
of the limit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

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
FAST = ("httptools", "uvloop")
SLOW = ("h11", "asyncio")
# name -> (app, (http, loop))
SERVERS: dict[str, tuple[str, tuple[str, str]]] = {
    "raw ASGI no-op (the limit)": ("raw", FAST),
    "Starlette no-op": ("starlette", FAST),
    "collector": ("collector", FAST),
    "collector on h11 + asyncio": ("collector", SLOW),
}
LIMIT = "raw ASGI no-op (the limit)"


# -- the servers ---------------------------------------------------------------------------
async def _raw_noop(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The least an ASGI app can do for an event: read the body, answer 202, no body."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    while (await receive()).get("more_body"):
        pass
    await send(
        {"type": "http.response.start", "status": 202, "headers": [(b"content-length", b"0")]}
    )
    await send({"type": "http.response.body", "body": b""})


def _app(kind: str, data_dir: str) -> Any:
    sys.path.insert(0, str(ROOT))
    if kind == "raw":
        return _raw_noop
    if kind == "starlette":
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import Response
        from starlette.routing import Route

        async def event(request: Request) -> Response:
            await request.body()
            return Response(status_code=202)

        return Starlette(routes=[Route("/api/event", event, methods=["POST"])])
    return _collector(f"{data_dir}/store", Path(data_dir) / "journal")


def _collector(store_dir: str, journal_dir: Path) -> Any:
    from analytics import AnalyticsConfig, Collector, SiteConfig
    from kruimel.base.store import Store

    store = Store.connect(f"chdb://{store_dir}")
    config = AnalyticsConfig(
        sites=(SiteConfig(SITE),), trusted_proxies=("127.0.0.1",), journal_dir=journal_dir
    )
    return Collector(config, store)


def _serve(kind: str, http: str, loop: str, port: int, data_dir: str) -> None:
    import uvicorn

    # the collector reads X-Forwarded-For itself (trusted_proxies); uvicorn must not rewrite it
    uvicorn.run(
        _app(kind, data_dir),
        host="127.0.0.1",
        port=port,
        http=http,  # type: ignore[arg-type]
        loop=loop,
        log_level="warning",
        access_log=False,
        proxy_headers=False,
        lifespan="on",
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(name: str, data_dir: str) -> tuple[subprocess.Popen[bytes], int]:
    kind, (http, loop) = SERVERS[name]
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", kind, http, loop, str(port), data_dir], cwd=ROOT
    )
    for _ in range(1200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            return proc, port
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{name}: the server did not start")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGINT)  # uvicorn runs the lifespan shutdown: the final flush
    proc.wait(timeout=120)


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) used so far by process ``pid`` (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the load ------------------------------------------------------------------------------
def _events(n: int) -> list[tuple[dict[str, str], bytes]]:
    """``n`` prepared events: (headers, body)."""
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
        headers = {
            "User-Agent": USER_AGENTS[i % len(USER_AGENTS)],
            "X-Forwarded-For": f"198.51.{rnd.randrange(256)}.{rnd.randrange(1, 255)}",
            "Content-Type": "text/plain;charset=UTF-8",
        }
        out.append((headers, body))
    return out


def _lua(events: list[tuple[dict[str, str], bytes]]) -> str:
    """A wrk script cycling over ``events``: formatted once at start, not per request."""

    def quote(text: str) -> str:
        return "[==[" + text + "]==]"

    lines = ["local events = {"]
    for headers, body in events:
        fields = ", ".join(f"[ {quote(k)} ] = {quote(v)}" for k, v in headers.items())
        lines.append(f"  {{ {{ {fields} }}, {quote(body.decode())} }},")
    lines += [
        "}",
        "local requests = {}",
        "local i = 0",
        "init = function(args)",
        "  for n, e in ipairs(events) do",
        '    requests[n] = wrk.format("POST", "/api/event", e[1], e[2])',
        "  end",
        "end",
        "request = function()",
        "  i = i % #requests + 1",
        "  return requests[i]",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _wrk(port: int, seconds: float, conns: int, script: Path) -> tuple[int, float, float]:
    """Run wrk against ``port``: completed requests (all must be 2xx), wrk's req/s and its
    99th percentile latency in ms."""
    result = subprocess.run(
        [
            "wrk",
            "--latency",
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/api/event",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = result.stdout
    if result.stderr.strip():  # a Lua error: wrk would go on with its default GET
        raise SystemExit(f"wrk: {result.stderr.strip()}")
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw failed requests:\n{out}")
    found = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out)
    if found is None or rate is None or p99 is None:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return int(found.group(1)), float(rate.group(1)), float(p99.group(1)) * scale


async def _python_load(port: int, seconds: float, conns: int) -> int:
    """The fallback client: raw asyncio HTTP/1.1 over keep-alive connections."""
    requests = []
    for headers, body in _events(1000):
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        requests.append(
            (
                f"POST /api/event HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    done = 0
    deadline = time.monotonic() + seconds

    async def worker(offset: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = offset
        try:
            while time.monotonic() < deadline:
                writer.write(requests[i % len(requests)])
                i += 1
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 2"):
                    raise SystemExit(f"failed request: {head[:40]!r}")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                done += 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(c * 31) for c in range(conns)))
    return done


def _load(port: int, seconds: float, conns: int, script: Path | None) -> tuple[int, float, float]:
    """Load ``port`` for ``seconds``: completed requests, requests per second and the 99th
    percentile latency in ms (NaN from the Python client, which does not keep them)."""
    if script is not None:
        return _wrk(port, seconds, conns, script)
    out = subprocess.run(
        [sys.executable, __file__, "--client", str(port), str(seconds), str(conns)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return int(out.strip()), int(out.strip()) / seconds, float("nan")


def _count_rows(store_dir: str) -> int:
    out = subprocess.run(
        [sys.executable, __file__, "--count", store_dir],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return int(out.strip())


def _count(store_dir: str) -> None:
    sys.path.insert(0, str(ROOT))
    from kruimel.base.store import Store

    with Store.connect(f"chdb://{store_dir}") as store:
        print(int(store.query("SELECT count() FROM events")[0][0]))


# -- the profile of the collector's own work ------------------------------------------------
def _profile(events: int, top: int) -> None:
    """Direct ASGI calls into a real collector (real store and journal): µs per event, then
    cProfile's top functions by own time."""
    import cProfile
    import io
    import pstats

    tmp = tempfile.mkdtemp(prefix="kruimel-profile-")
    try:
        collector = _collector(f"{tmp}/store", Path(tmp) / "journal")
        prepared = []
        for headers, body in _events(1000):
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            raw += [(b"host", b"127.0.0.1"), (b"content-length", str(len(body)).encode())]
            prepared.append((raw, body))

        async def send(message: Any) -> None:
            pass

        async def run(n: int) -> None:
            for i in range(n):
                headers, body = prepared[i % len(prepared)]
                scope = {
                    "type": "http",
                    "method": "POST",
                    "path": "/api/event",
                    "root_path": "",
                    "headers": headers,
                    "client": ("127.0.0.1", 50000),
                }
                message = {"type": "http.request", "body": body, "more_body": False}

                async def receive(message: Any = message) -> Any:
                    return message

                await collector(scope, receive, send)

        async def main() -> list[str]:
            await collector.start()
            try:
                await run(2000)  # warm: salts fetched, caches filled
                # CPU time of this process, the best of short runs: a loaded machine slows
                # some of them (caches, frequency), rarely all
                best = float("inf")
                for _ in range(max(5, events // 250)):
                    t0 = time.process_time()
                    await run(500)
                    best = min(best, (time.process_time() - t0) / 500)
                profiler = cProfile.Profile()
                profiler.enable()
                await run(events)
                profiler.disable()
            finally:
                await collector.stop()
                collector.store.close()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("tottime").print_stats(top)
            body = [
                line
                for line in text.getvalue().splitlines()
                if line.strip() and not line.lstrip().startswith(("Ordered by", "List reduced"))
            ]
            return [
                f"Collector work per event, in process (direct ASGI calls, no sockets or HTTP "
                f"parsing; CPU time, best of {max(5, events // 250)} runs of 500 events): "
                f"{best * 1e6:.1f} us",
                f"cProfile over {events} events, top {top} functions by own time "
                "(the profiler itself inflates the times):",
                *body,
            ]

        print("\n".join(asyncio.run(main())))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- the report ----------------------------------------------------------------------------
def _stack(http: str, loop: str) -> str:
    import uvicorn

    return f"uvicorn {uvicorn.__version__}, {http} + {loop}, 1 worker"


def run(args: argparse.Namespace) -> str:
    names = [n for n in SERVERS if args.with_h11 or SERVERS[n][1] == FAST]
    script: Path | None = None
    client = f"a Python asyncio client in its own process, {args.conns} connections"
    rates: dict[str, list[float]] = {n: [] for n in names}
    cpu_us: dict[str, list[float]] = {n: [] for n in names}
    shares: dict[str, list[float]] = {n: [] for n in names}
    cpu_shares: dict[str, list[float]] = {n: [] for n in names}
    p99s: dict[str, list[float]] = {n: [] for n in names}
    collected = 0
    with tempfile.TemporaryDirectory(prefix="kruimel-bench-") as tmp:
        if shutil.which("wrk") and not args.python_client:
            script = Path(tmp) / "events.lua"
            script.write_text(_lua(_events(1000)))
            client = f"wrk -t1 -c{args.conns} with a Lua script of 1000 rotating events"
        servers = {}
        try:
            for i, name in enumerate(names):
                data = Path(tmp) / f"server{i}"
                data.mkdir()
                servers[name] = _start(name, str(data))
            for name, (_, port) in servers.items():  # warm-up: salts, caches, JIT-free imports
                done, _, _ = _load(port, 1, args.conns, script)
                collected += done if SERVERS[name][0] == "collector" else 0
            for r in range(args.rounds):
                order = names[r % len(names) :] + names[: r % len(names)]
                rate: dict[str, float] = {}
                cost: dict[str, float] = {}
                for name in order:
                    proc, port = servers[name]
                    cpu0 = _cpu_seconds(proc.pid)
                    done, rate[name], p99 = _load(port, args.seconds, args.conns, script)
                    p99s[name].append(p99)
                    cost[name] = (_cpu_seconds(proc.pid) - cpu0) / done * 1e6
                    rates[name].append(rate[name])
                    cpu_us[name].append(cost[name])
                    collected += done if SERVERS[name][0] == "collector" else 0
                for name in names:
                    shares[name].append(rate[name] / rate[LIMIT])
                    cpu_shares[name].append(cost[LIMIT] / cost[name])
        finally:
            for proc, _ in servers.values():
                _stop(proc)
        stored = sum(
            _count_rows(str(Path(tmp) / f"server{i}" / "store"))
            for i, name in enumerate(names)
            if SERVERS[name][0] == "collector"
        )

    def span(values: list[float], fmt: str) -> str:
        return f"{statistics.median(values):{fmt}} ({min(values):{fmt}}-{max(values):{fmt}})"

    lines = [
        f"Ingestion benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs; {args.rounds} rounds of "
        f"{args.seconds:g} s per server, taking turns (order rotating each round);",
        f"load: {client}; {args.load_note}.",
        "",
        f"{'server':<29}{'stack':<40}{'req/s':>22}{'CPU us/req':>18}"
        f"{'share of the limit':>24}{'by CPU':>18}{'p99 ms':>22}",
    ]
    for name in names:
        http, loop = SERVERS[name][1]
        lines.append(
            f"{name:<29}{_stack(http, loop):<40}{span(rates[name], '.0f'):>22}"
            f"{span(cpu_us[name], '.0f'):>18}{span(shares[name], '.2f'):>24}"
            f"{span(cpu_shares[name], '.2f'):>18}{span(p99s[name], '.1f'):>22}"
        )
    lines += [
        "",
        "Median of the rounds (lowest-highest). Share of the limit: the server's req/s over "
        "the raw ASGI no-op's in the same round; by CPU: the no-op's server CPU per request "
        "over the server's. Target: the collector at >= 0.70.",
        f"Events answered 202 by the collectors {collected}, stored in chDB after shutdown "
        f"{stored} (a request cut off when a round ends may be stored but not counted).",
        "",
    ]
    if stored < collected:
        lines.append("ERROR: fewer events stored than acknowledged")
    profile = subprocess.run(
        [sys.executable, __file__, "--profile", str(args.profile_events)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return "\n".join(lines) + "\n" + profile


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5, help="seconds per server per round")
    parser.add_argument("--conns", type=int, default=32)
    parser.add_argument("--with-h11", action="store_true", help="also the h11 + asyncio stack")
    parser.add_argument("--profile-events", type=int, default=5000)
    parser.add_argument(
        "--python-client", action="store_true", help="the Python client even where wrk is"
    )
    parser.add_argument("--quick", action="store_true", help="6 rounds of 2 s: under 2 minutes")
    parser.add_argument(
        "--load-note",
        default="the machine was shared with other work while this ran",
        help="how loaded the machine was, for the report",
    )
    parser.add_argument("--serve", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--count", help=argparse.SUPPRESS)
    parser.add_argument("--profile", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        kind, http, loop, port, data_dir = args.serve
        _serve(kind, http, loop, int(port), data_dir)
        return
    if args.client:
        port, seconds, conns = args.client
        print(asyncio.run(_python_load(int(port), float(seconds), int(conns))))
        return
    if args.count:
        _count(args.count)
        return
    if args.profile:
        _profile(args.profile, 25)
        return
    if args.quick:
        args.rounds, args.seconds, args.profile_events = 6, 2, 2000
    text = run(args)
    print(text, end="")
    if not args.quick:  # bench/results/ keeps the full runs
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
    if "ERROR:" in text:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
