"""Fuzzing the whole app: how many of 10,000+ hostile requests get a 5xx or log a traceback.

The app is what ``kruimel.app.build_app`` composes (``kruimel demo`` and ``kruimel serve``
build it too): the consent middleware with its consent log on a real embedded chDB store,
the collector at ``/_analytics`` and downstream pages (``tests/fuzzkit.py``). Requests come
from the same hypothesis strategy as ``tests/test_fuzz.py`` (any method, path, query,
header and body; forged and garbled consent cookies; lying Content-Lengths; clients going
away mid-body), here in one generation pass without shrinking, with a fixed seed, and every
answer is tallied instead of stopping at the first finding.

Three serving stacks, one after the other in one run (``--stack``):

* ``asgi``: the app called in process with raw ASGI messages (what a server hands over
  after parsing, and more: bytes that h11 would refuse still reach the app);
* ``uvicorn`` and ``uvicorn-fast``: the same requests as bytes over TCP to uvicorn serving
  the app in a thread, on h11 and asyncio, then on httptools and uvloop (which passes on
  bytes h11 refuses, such as non-ASCII in the query string), one connection each (a body
  shorter than its Content-Length is sent and the connection closed: the client went
  away). Tracebacks are what uvicorn and the app log.

    .venv/bin/python bench/fuzz.py [--requests 12000] [--seed 8] [--stack asgi uvicorn ...]

``--quick`` (1,000 requests per stack) only prints; a full run writes the table to
bench/results/fuzz.txt as well. Exits 1 when any request got a 5xx,
logged an ERROR or traceback, or the consent log and the cookies sent disagree: the log must
hold every decision whose cookie the client read, and at most as many more as there were
requests to the decision endpoints whose answer the client never read (over HTTP the client
goes away mid-request as told, and a server may still handle a request it got whole, so such
a decision is logged while its answer is lost; in process every answer is read, so there the
counts must be equal).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import uvicorn  # noqa: E402
from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from starlette.types import ASGIApp  # noqa: E402

from kruimel.base.store import Store  # noqa: E402
from tests.fuzzkit import (  # noqa: E402
    Exchange,
    Fuzzer,
    FuzzRequest,
    LogTrap,
    build_fuzz_app,
    describe,
    lifespan,
    requests,
    summary_lines,
)

RESULTS = Path(__file__).resolve().parent / "results" / "fuzz.txt"
_STACKS = {
    "asgi": "none, raw ASGI calls in process (no HTTP parser filters the input)",
    "uvicorn": f"uvicorn {uvicorn.__version__} (h11, asyncio) on 127.0.0.1, one connection each",
    "uvicorn-fast": f"uvicorn {uvicorn.__version__} (httptools, uvloop: kruimel's default) on "
    "127.0.0.1, one connection each",
}
# the endpoints where a request can record a consent decision
_DECIDING = frozenset({"/_consent", "/_consent/optout"})
# the uvicorn options of each HTTP stack
_SERVERS = {"uvicorn": ("h11", "asyncio"), "uvicorn-fast": ("httptools", "uvloop")}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _over_http(port: int, request: FuzzRequest) -> tuple[Exchange, bool]:
    """Send ``request`` as bytes on a new connection; the first answer, parsed loosely, and
    whether the client read an answer at all (it leaves without reading when it was told to
    go away mid-request, and the server may have handled the request all the same)."""
    target = request.raw_path + (b"?" + request.query if request.query else b"")
    head = request.method.encode("latin-1") + b" " + target + b" HTTP/1.1\r\n"
    head += b"".join(k + b": " + v + b"\r\n" for k, v in request.headers)
    head += b"connection: close\r\n\r\n"
    body = b"".join(request.chunks)
    declared = next((v for k, v in request.headers if k == b"content-length"), b"")
    gone = request.disconnect or (declared.isdigit() and int(declared) > len(body))
    if request.disconnect:
        body = body[: len(body) // 2]
    data = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(head + body)
        except OSError:
            pass  # the server answered (413, 400) and closed before taking the whole body
        try:
            while not gone and (chunk := sock.recv(65536)):
                data += chunk
        except TimeoutError:
            data = b"HTTP/1.1 599 no answer within 30 s\r\n\r\n"  # a hang is a finding too
        except OSError:
            pass  # reset after the answer (the server closed with our body unread): keep it
    exchange = Exchange(request)
    if data.startswith(b"HTTP/1."):
        lines = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        headers = [tuple(line.split(b": ", 1)) for line in lines[1:] if b": " in line]
        start = {"type": "http.response.start", "status": int(lines[0].split(b" ")[1])}
        exchange.messages.append({**start, "headers": [(k.lower(), v) for k, v in headers]})
    return exchange, bool(exchange.messages)


def fuzz_http(
    app: ASGIApp, fuzzer: Fuzzer, total: int, first_seed: int, stack_name: str
) -> tuple[int, int]:
    """Send ``total`` requests to uvicorn serving ``app``; returns the last seed used and how
    many requests to the consent endpoints went unanswered or unread (each may have been
    recorded as a decision: the server can handle a complete request after the client left)."""
    port = _free_port()
    # log_config=None: uvicorn's loggers propagate to the root, where the trap listens
    http, loop = _SERVERS[stack_name]
    config = uvicorn.Config(
        app, port=port, http=http, loop=loop, lifespan="on", log_config=None, access_log=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    unread = 0

    def one(request: FuzzRequest) -> None:
        nonlocal unread
        exchange, answered = _over_http(port, request)
        if not answered and request.endpoint() in _DECIDING:
            unread += 1
        status = exchange.status
        fuzzer.tally(exchange, [f"answered {status}"] if status >= 500 else [])

    last_seed = _passes(fuzzer, total, first_seed, one)
    server.should_exit = True
    thread.join()
    return last_seed, unread


def _passes(fuzzer: Fuzzer, total: int, first_seed: int, one: Callable[[FuzzRequest], None]) -> int:
    """Feed hypothesis's requests to ``one`` until ``total`` were sent; returns the last seed.
    hypothesis may end a pass early; further passes use the next seeds."""
    run_seed = first_seed
    while fuzzer.requests < total:
        passed = settings(
            max_examples=total - fuzzer.requests,
            phases=[Phase.generate],
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )(given(requests())(one))
        seed(run_seed)(passed)()
        run_seed += 1
    return run_seed - 1


def fuzz(total: int, first_seed: int, stack_name: str) -> tuple[list[str], bool]:
    """Send at least ``total`` requests; the report lines and whether all were answered well."""
    trap = LogTrap()
    logging.getLogger().addHandler(trap)
    tmp = Path(tempfile.mkdtemp(prefix="kruimel-bench-fuzz-"))
    store = Store.connect(f"chdb://{tmp / 'store'}")
    app = build_fuzz_app(store, tmp)
    fuzzer = Fuzzer(app, store, trap)
    started = time.perf_counter()
    if stack_name in _SERVERS:
        last_seed, unread = fuzz_http(app, fuzzer, total, first_seed, stack_name)
        startup: list[str] = []
        with Store.connect(f"chdb://{tmp / 'store'}") as reopened:  # the app closed its own
            recorded = int(
                reopened.query("SELECT count() FROM consent_log WHERE action != 'expire'")[0][0]
            )
        return _report(
            fuzzer, stack_name, first_seed, last_seed, started, startup, recorded, unread
        )
    with asyncio.Runner() as runner:
        stack = AsyncExitStack()
        runner.run(stack.enter_async_context(lifespan(app)))
        startup = trap.take()

        def one(request: FuzzRequest) -> None:
            runner.run(fuzzer.one(request))

        last_seed = _passes(fuzzer, total, first_seed, one)
        recorded = runner.run(fuzzer.recorded())
        runner.run(stack.aclose())
    store.close()
    logging.getLogger().removeHandler(trap)
    # in process every answer is read to its end: no unread decisions
    return _report(fuzzer, stack_name, first_seed, last_seed, started, startup, recorded, 0)


def _report(
    fuzzer: Fuzzer,
    stack_name: str,
    first_seed: int,
    last_seed: int,
    started: float,
    startup: list[str],
    recorded: int,
    unread: int,
) -> tuple[list[str], bool]:
    took = time.perf_counter() - started
    errors = sum(t[1] for t in fuzzer.by_endpoint.values())
    tracebacks = sum(t[2] for t in fuzzer.by_endpoint.values())
    load = os.getloadavg()
    lines = [
        "Fuzzing the whole app (build_app: consent middleware + consent log on chDB + "
        "collector + pages)",
        f"serving stack: {_STACKS[stack_name]}",
        f"python {platform.python_version()}, {os.cpu_count()} CPUs, load average "
        f"{load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (shared with other work)",
        f"seeds {first_seed}..{last_seed}, {took:.0f} s including generation",
        "",
        *summary_lines(fuzzer, fuzzer.findings),
        f"consent decisions answered with a cookie: {fuzzer.decisions}, requests to the "
        f"decision endpoints left unread: {unread}, decisions in consent_log: {recorded} "
        f"(must be {fuzzer.decisions}..{fuzzer.decisions + unread})",
        "(every decision whose cookie the client read is logged; over HTTP the client leaves "
        "some requests unread as told, and the server may complete one it got whole, so each "
        "unread request to /_consent or /_consent/optout may add one decision, no more)",
        f"errors logged at startup: {len(startup)}",
        "",
        f"RESULT: {fuzzer.requests} requests, {errors} answered 5xx, {tracebacks} tracebacks",
    ]
    for request, problems in fuzzer.findings[:10]:
        lines.append(f"  finding: {problems} <- {describe(request)[:400]}")
    # Every decision whose cookie the client read is logged, and nothing else is logged but
    # requests whose answer the client never read: the server may complete those after the
    # client left (a whole request was sent), so each may or may not be a logged decision.
    logged_ok = fuzzer.decisions <= recorded <= fuzzer.decisions + unread
    ok = not fuzzer.findings and not startup and logged_ok
    return lines, ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=12_000, help="at least this many")
    parser.add_argument("--seed", type=int, default=8, help="the first hypothesis seed")
    parser.add_argument("--stack", nargs="+", choices=sorted(_STACKS), default=list(_STACKS))
    parser.add_argument(
        "--quick", action="store_true", help="1,000 requests per stack; prints only"
    )
    args = parser.parse_args()
    if args.quick:
        args.requests = 1_000
    text, ok = "", True
    for stack_name in args.stack:
        lines, stack_ok = fuzz(args.requests, args.seed, stack_name)
        text += "\n".join(lines) + "\n\n"
        ok = ok and stack_ok
    print(text, end="")
    if not args.quick:  # bench/results/ keeps the full runs
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(text)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
