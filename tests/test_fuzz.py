"""No request gets a 5xx or a traceback: a bounded, derandomised property-based run over every
endpoint of the whole app (``tests/fuzzkit.py``; ``bench/fuzz.py`` runs 10,000+ of them).

Also: the consent log holds exactly the decisions whose cookie was sent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from kruimel.base.store import Store

from .fuzzkit import (
    ENDPOINTS,
    Fuzzer,
    FuzzRequest,
    LogTrap,
    build_fuzz_app,
    describe,
    lifespan,
    requests,
    run,
)


@pytest.fixture
def trap() -> Iterator[LogTrap]:
    handler = LogTrap()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def test_no_request_is_answered_5xx_or_logs_a_traceback(tmp_path: Path, trap: LogTrap) -> None:
    store = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        app = build_fuzz_app(store, tmp_path)
        fuzzer = Fuzzer(app, store, trap)
        with asyncio.Runner() as runner:
            stack = AsyncExitStack()
            runner.run(stack.enter_async_context(lifespan(app)))
            assert trap.take() == []

            @settings(
                max_examples=400,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
            )
            @given(requests())
            def one_request(request: FuzzRequest) -> None:
                problems = runner.run(fuzzer.one(request))
                assert not problems, f"{describe(request)}: {problems}"

            try:
                one_request()
                # a decision is in the log exactly when its cookie was sent
                assert fuzzer.decisions > 10
                assert runner.run(fuzzer.recorded()) == fuzzer.decisions
            finally:
                runner.run(stack.aclose())
    finally:
        store.close()
    assert trap.take() == []


async def test_a_query_string_that_is_not_utf8_is_answered_everywhere(
    tmp_path: Path, trap: LogTrap
) -> None:
    # Some servers (httptools) pass obs-text bytes on; Starlette's request.url decodes the
    # query string as UTF-8 and raised in the demo pages and in its own trailing-slash
    # redirect (found by bench/fuzz.py).
    store = Store.connect(f"chdb://{tmp_path / 'store'}")
    try:
        app = build_fuzz_app(store, tmp_path)
        async with lifespan(app):
            # "/standin", "/_analytics": Starlette's trailing-slash redirect builds the URL
            for path in (*ENDPOINTS, "/standin", "/app"):
                for query in (b"a=\x80", b"next=/\xff&lang=en\xe9"):
                    request = FuzzRequest(
                        "GET", path.encode(), query, [(b"host", b"www.example.nl")], [b""]
                    )
                    exchange = await run(app, request)
                    assert exchange.error is None and exchange.status < 500, (path, query)
    finally:
        store.close()
    assert trap.take() == []
