"""What ConsentMiddleware costs: throughput with and without it, side by side in one run.

Two real uvicorn servers on 127.0.0.1 serve the same bare demo site (``kruimel.demo.
demo_pages_app``), one of them behind :class:`consent.middleware.ConsentMiddleware`. A
client on raw sockets sends pipelined keep-alive requests (so the client's own cost stays
small next to the server's). The two servers take turns every 16 requests, on one CPU,
with the client on the other: this VM runs faster or slower from one second to the next,
and turns that short weigh on both sides alike (rounds of hundreds of requests per side
scattered the ratio from 0.64 to 1.10; this way a round stays within a few percent). With
``--sessions N`` the rounds are spread over N pairs of fresh server processes, since one
pair's ratio can sit a percent off another's for its whole life. The table gives the
server CPU per request and requests per second of each side, and the median of the
per-round ratios.

Cases: the demo home page for a visitor without a choice (banner inserted), the same page
for a visitor who accepted everything (manage control, gated Pardot script and YouTube
iframe served active) and for one who carries only the app's own session cookie, a ~20 KB
page of the same kind, a small JSON endpoint (without cookies, with the consent cookie, with
a session cookie) and a static file (the non-HTML responses).

    .venv/bin/python bench/middleware.py [--rounds 30] [--requests 1000] [--sessions 3] [--quick]

The servers run uvicorn on httptools + uvloop (the stack ``kruimel demo`` and ``serve`` run);
every table names it. ``--quick`` (6 rounds of 300 requests, one pair) takes about a minute
and only prints.

writes the table to bench/results/middleware.txt as well.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results" / "middleware.txt"
SECRET = "bench-secret-key-0123456789abcdef0123"
PIPELINE = 16
# The fast stack kruimel demo/serve run (uvicorn's "auto" picks it where it is installed):
# on h11 + asyncio the server's own cost hides much of the middleware's.
HTTP, LOOP = "httptools", "uvloop"
# Requests per server per turn (--turn). Short turns share the machine's drift alike, but
# each turn starts on caches the other server just filled, which weighs on the bigger code
# path (the one with the middleware) more than steady serving does.
TURN = PIPELINE
# An undecided visitor who carries the app's own cookie (a session, a cart).
SESSION = "sessionid=7f3c1a9e5b2d4c6f8a0b1c2d3e4f5a6b"


def large_page() -> bytes:
    """A ~20 KB page: navigation, sections of text, a gated Pardot tag and YouTube iframe."""
    parts = [
        b'<!DOCTYPE html>\n<html lang="nl">\n<head>\n<meta charset="utf-8">\n'
        b"<title>Bakkerij De Kruimel</title>\n"
        b'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        b'<link rel="stylesheet" href="/demo.css">\n'
        b'<script type="text/plain" data-consent="marketing" src="/standin/pardot.js"></script>\n'
        b'</head>\n<body>\n<header class="site"><nav><ul>'
    ]
    for i in range(8):
        parts.append(
            b'<li><a href="/p/%d" class="nav" title="Pagina %d">Pagina %d</a></li>' % (i, i, i)
        )
    parts.append(b"</ul></nav></header><main>")
    i = 0
    while sum(map(len, parts)) < 19_500:
        parts.append(
            b'<section id="s%d"><h2>Brood %d</h2><p class="lead">Ons brood wordt elke ochtend '
            b'vers gebakken met <a href="/x/%d">biologisch meel</a>, water, zout en tijd. '
            b"<em>Desem</em> heeft twee dagen nodig.</p>"
            b'<img src="/img/%d.jpg" alt="Brood %d" width="320" height="200"></section>\n'
            % (i, i, i, i, i)
        )
        i += 1
    parts.append(
        b'<iframe data-consent="marketing" data-src="https://www.youtube-nocookie.com/embed/x" '
        b'width="560" height="315" title="Video"></iframe>\n</main>'
        b"<footer><p>&copy; Bakkerij De Kruimel</p></footer>\n</body>\n</html>\n"
    )
    return b"".join(parts)


def make_app(with_middleware: bool) -> object:
    """The bench site: the demo pages plus ``/large`` and ``/api/status``; optionally behind
    the middleware."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse, JSONResponse
    from starlette.routing import Mount, Route

    from consent.middleware import ConsentMiddleware
    from kruimel.demo import demo_consent_config, demo_pages_app

    page = large_page()

    async def large(request: object) -> HTMLResponse:
        return HTMLResponse(page)

    async def status(request: object) -> JSONResponse:
        return JSONResponse({"open": True, "bread": ["desem", "spelt"], "stock": 42})

    routes = [Route("/large", large), Route("/api/status", status)]
    app = Starlette(routes=[*routes, Mount("/", app=demo_pages_app())])
    if not with_middleware:
        return app
    return ConsentMiddleware(app, config=demo_consent_config((SECRET,)))


def accepted_cookie() -> str:
    """A valid consent cookie for "accept all" under the bench configuration."""
    from consent.cookie import dump_token
    from consent.state import ConsentState
    from kruimel.demo import demo_consent_config

    config = demo_consent_config((SECRET,))
    state = ConsentState.decide(config, dict.fromkeys(config.optional_categories, True))
    return f"{config.cookie_name}={dump_token(config, state)}"


# -- the client ------------------------------------------------------------------------


def _read_response(sock: socket.socket, buf: bytearray) -> None:
    """Consume one response (Content-Length or chunked) from ``buf``/``sock``."""
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        buf += sock.recv(262144)
    head = bytes(buf[:end]).lower()
    del buf[: end + 4]
    if not head.startswith(b"http/1.1 200"):
        raise RuntimeError(f"unexpected response: {head[:80]!r}")
    marker = head.find(b"content-length:")
    if marker >= 0:
        length = int(
            head[
                marker + 15 : head.find(b"\r\n", marker) if head.find(b"\r\n", marker) > 0 else None
            ]
        )
        while len(buf) < length:
            buf += sock.recv(262144)
        del buf[:length]
        return
    while True:  # chunked
        while b"\r\n" not in buf:
            buf += sock.recv(262144)
        line = buf.index(b"\r\n")
        size = int(bytes(buf[:line]).split(b";")[0], 16)
        while len(buf) < line + 2 + size + 2:
            buf += sock.recv(262144)
        del buf[: line + 2 + size + 2]
        if size == 0:
            return


def cpu_ns(pid: int) -> int:
    """CPU time a process has used so far, all threads, in nanoseconds (Linux schedstat)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # a worker thread that just ended
    return total


def _request(path: str, cookie: str) -> bytes:
    return (
        f"GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n"
        f"Accept-Language: nl-NL,nl;q=0.9,en;q=0.8\r\n"
        + (f"Cookie: {cookie}\r\n" if cookie else "")
        + "\r\n"
    ).encode()


def measure(port: int, path: str, cookie: str, count: int, pid: int) -> tuple[float, float]:
    """Requests per second, and the server's CPU microseconds per request, for ``count``
    pipelined keep-alive GETs of ``path`` (used to warm a server up)."""
    [(rate, micros)] = measure_side_by_side([(port, pid)], path, cookie, count)
    return rate, micros


def measure_side_by_side(
    servers: list[tuple[int, int]], path: str, cookie: str, count: int
) -> list[tuple[float, float]]:
    """Per server ``(port, pid)``: requests per second and CPU microseconds per request,
    for ``count`` GETs of ``path`` each.

    The servers take turns batch by batch (``PIPELINE`` pipelined requests, then the next
    server), so a machine that runs faster or slower from one second to the next (a shared
    VM does) weighs on each of them alike.
    """
    request = _request(path, cookie)
    socks = [socket.create_connection(("127.0.0.1", port)) for port, _ in servers]
    elapsed = [0.0] * len(servers)
    cpu = [0] * len(servers)
    try:
        bufs = [bytearray() for _ in servers]
        for sock in socks:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        done = 0
        while done < count:
            batch = min(TURN, count - done)
            for i, ((_, pid), sock) in enumerate(zip(servers, socks, strict=True)):
                cpu_before = cpu_ns(pid)
                started = time.perf_counter()
                for sent in range(0, batch, PIPELINE):
                    n = min(PIPELINE, batch - sent)
                    sock.sendall(request * n)
                    for _ in range(n):
                        _read_response(sock, bufs[i])
                elapsed[i] += time.perf_counter() - started
                cpu[i] += cpu_ns(pid) - cpu_before
            done += batch
    finally:
        for sock in socks:
            sock.close()
    return [(count / e, c / 1000 / count) for e, c in zip(elapsed, cpu, strict=True)]


# -- the run ---------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    path: str
    cookie: str
    html: bool


def _pin(cpu: int) -> None:
    """Run this process on one CPU only (when the machine has two or more): the servers on
    one, the client on another, so they do not take turns on the same core."""
    if (os.cpu_count() or 1) >= 2 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {cpu})


def _serve(kind: str, port: int) -> None:
    import uvicorn

    _pin(1)

    app = make_app(kind == "consent")
    uvicorn.run(
        app,  # type: ignore[arg-type]
        host="127.0.0.1",
        port=port,
        http=HTTP,
        loop=LOOP,
        log_level="warning",
        access_log=False,
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def run(rounds: int, count: int, sessions: int) -> str:
    _pin(0)
    cookie = accepted_cookie()
    cases = [
        Case("demo page, no choice yet (banner)", "/", "", True),
        Case("demo page, accepted (gated tags on)", "/", cookie, True),
        Case("demo page, app's session cookie only", "/", SESSION, True),
        Case("20 KB page, no choice yet", "/large", "", True),
        Case("20 KB page, accepted", "/large", cookie, True),
        Case("JSON endpoint (non-HTML)", "/api/status", "", False),
        Case("JSON endpoint, accepted", "/api/status", cookie, False),
        Case("JSON endpoint, app's session cookie", "/api/status", SESSION, False),
        Case("static file (non-HTML)", "/standin/pardot.js", "", False),
    ]
    # (case, kind) -> per-round requests per second, and server CPU microseconds per request
    rates: dict[tuple[str, str], list[float]] = {}
    cpu: dict[tuple[str, str], list[float]] = {}
    # Fresh server processes per session: where a process's code and data happen to land
    # in memory moves its speed by a percent or so, for the whole life of the process.
    for session in range(sessions):
        share = rounds // sessions + (session < rounds % sessions)
        _session(cases, share, count, rates, cpu)
    table = _table(cases, rates, cpu, rounds, count, sessions)
    return table + "\n".join(in_process(cases, rounds, max(50, count // 2))) + "\n"


def _session(
    cases: list[Case],
    rounds: int,
    count: int,
    rates: dict[tuple[str, str], list[float]],
    cpu: dict[tuple[str, str], list[float]],
) -> None:
    """Start both servers, warm them, measure ``rounds`` rounds of every case, stop them."""
    ports = {"bare": _free_port(), "consent": _free_port()}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    servers = [
        subprocess.Popen([sys.executable, __file__, "--serve", kind, "--port", str(port)], env=env)
        for kind, port in ports.items()
    ]
    pids = {kind: server.pid for kind, server in zip(ports, servers, strict=True)}
    try:
        for port in ports.values():
            _wait(port)
        for case in cases:  # warm both servers and their caches
            for kind, port in ports.items():
                measure(port, case.path, case.cookie, 100, pids[kind])
        for r in range(rounds):
            for case in cases:
                order = ["bare", "consent"] if r % 2 == 0 else ["consent", "bare"]
                pair = [(ports[kind], pids[kind]) for kind in order]
                results = measure_side_by_side(pair, case.path, case.cookie, count)
                for kind, (rate, micros) in zip(order, results, strict=True):
                    rates.setdefault((case.name, kind), []).append(rate)
                    cpu.setdefault((case.name, kind), []).append(micros)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=10)


_LOAD_NOTE = "the machine was shared with other work while this ran"


def _stack() -> str:
    import uvicorn

    return f"uvicorn {uvicorn.__version__}, {HTTP} + {LOOP}, 1 worker"


def _table(
    cases: list[Case],
    rates: dict[tuple[str, str], list[float]],
    cpu: dict[tuple[str, str], list[float]],
    rounds: int,
    count: int,
    sessions: int,
) -> str:
    def per_round(values: dict[tuple[str, str], list[float]], name: str, cpu: bool) -> list[float]:
        pairs = zip(values[(name, "bare")], values[(name, "consent")], strict=True)
        return sorted((b / w) if cpu else (w / b) for b, w in pairs)

    lines = [
        "ConsentMiddleware cost: the same site served by uvicorn on 127.0.0.1 with and without it",
        f"{rounds} rounds x {count} pipelined keep-alive requests per case and server, over"
        f" {sessions} pairs of fresh server processes; the two servers take turns every"
        f" {TURN} requests ({PIPELINE} pipelined) on one CPU, the client on another;",
        f"Python {platform.python_version()}, {_stack()}, {os.cpu_count()} CPUs of a shared"
        f" VM; {_LOAD_NOTE}",
        "",
        f"{'':<36} {'server CPU us/request':^38} {'wall clock req/s':^24}",
        f"{'case':<36} {'bare':>6} {'with':>6} {'ratio':>7} {'rounds':>15}"
        f" {'bare':>7} {'with':>7} {'ratio':>7}",
    ]
    for case in cases:
        name = case.name
        cpu_bare, cpu_with = (statistics.median(cpu[(name, k)]) for k in ("bare", "consent"))
        rps_bare, rps_with = (statistics.median(rates[(name, k)]) for k in ("bare", "consent"))
        spread = per_round(cpu, name, True)
        wall = statistics.median(per_round(rates, name, False))
        lines.append(
            f"{name:<36} {cpu_bare:>6.0f} {cpu_with:>6.0f} {statistics.median(spread):>7.3f}"
            f" {f'{spread[0]:.2f}..{spread[-1]:.2f}':>15}"
            f" {rps_bare:>7.0f} {rps_with:>7.0f} {wall:>7.3f}"
        )
    lines += [
        "",
        "ratio = throughput with the middleware / without, the median of the rounds' ratios",
        "(rounds: lowest..highest). From CPU: bare CPU/request over with CPU/request, the",
        "throughput ratio of a CPU-bound server; steadier on a shared machine than wall clock,",
        "which also counts the client (same machine) and whatever else runs there.",
        "Targets: cost (1 - ratio) under 10% on HTML pages, under 3% on non-HTML responses.",
    ]
    return "\n".join(lines) + "\n"


# -- in process: the middleware's own CPU, without sockets and HTTP parsing ---------------


async def _asgi_micros(app: Any, path: str, cookie: str, count: int) -> float:
    """Microseconds per request of calling ``app`` directly with a GET of ``path``."""
    headers = [(b"host", b"localhost"), (b"accept-language", b"nl-NL,nl;q=0.9,en;q=0.8")]
    if cookie:
        headers.append((b"cookie", cookie.encode("latin-1")))
    request = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
               "method": "GET", "scheme": "http", "path": path, "raw_path": path.encode(),
               "query_string": b"", "root_path": "", "headers": headers,
               "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000)}  # fmt: skip
    never = asyncio.Event()

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(count):
        first = [True]

        async def receive(first: list[bool] = first) -> Any:
            if first.pop() if first else False:
                return {"type": "http.request", "body": b"", "more_body": False}
            await never.wait()  # the client never goes away

        await app(dict(request), receive, send)
    return (time.perf_counter() - started) / count * 1e6


def in_process(cases: list[Case], rounds: int, count: int) -> list[str]:
    """The middleware's own cost per request: direct ASGI calls, interleaved, best of rounds."""
    apps = {"bare": make_app(False), "consent": make_app(True)}

    async def go() -> dict[tuple[str, str], float]:
        best: dict[tuple[str, str], float] = {}
        for case in cases:
            for app in apps.values():
                await _asgi_micros(app, case.path, case.cookie, 50)  # warm up
        for r in range(rounds):
            for case in cases:
                for kind in ("bare", "consent") if r % 2 == 0 else ("consent", "bare"):
                    took = await _asgi_micros(apps[kind], case.path, case.cookie, count)
                    key = (case.name, kind)
                    best[key] = min(best.get(key, took), took)
        return best

    best = asyncio.run(go())
    lines = [
        "",
        "In process (direct ASGI calls, no sockets or HTTP parsing; best of the rounds):",
        f"{'case':<38} {'bare us':>8} {'with us':>8} {'added us':>9}",
    ]
    for case in cases:
        bare, with_mw = best[(case.name, "bare")], best[(case.name, "consent")]
        lines.append(f"{case.name:<38} {bare:>8.1f} {with_mw:>8.1f} {with_mw - bare:>9.1f}")
    return lines


def main() -> None:
    global _LOAD_NOTE, TURN
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument(
        "--sessions", type=int, default=3, help="fresh server pairs to spread the rounds over"
    )
    parser.add_argument(
        "--quick", action="store_true", help="6 rounds of 300 requests, 1 pair: about 1 minute"
    )
    parser.add_argument(
        "--load-note", default=_LOAD_NOTE, help="how loaded the machine was, for the report"
    )
    parser.add_argument(
        "--turn",
        type=int,
        default=TURN,
        help=f"requests per server per turn, pipelined {PIPELINE} at a time",
    )
    parser.add_argument("--serve", choices=["bare", "consent"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        _serve(args.serve, args.port)
        return
    _LOAD_NOTE = args.load_note
    TURN = max(1, args.turn)
    if args.quick:
        args.rounds, args.requests, args.sessions = 6, 300, 1
    rounds = max(1, min(args.rounds, 60))
    sessions = max(1, min(args.sessions, rounds))
    table = run(rounds, max(50, min(args.requests, 20_000)), sessions)
    print(table, end="")
    if not args.quick:  # bench/results/ keeps the full runs
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(table, encoding="utf-8")


if __name__ == "__main__":
    main()
