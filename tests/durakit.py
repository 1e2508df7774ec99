"""Killing ``kruimel serve`` under load: is any acknowledged page view or decision lost or
stored twice? Shared by ``bench/durability.py`` and ``tests/store/test_durability.py``.

The real command runs in a subprocess (embedded chDB store and journals in one data dir).
Client threads (HTTP keep-alive, one ``httpx.Client`` each) send page views, each with a
path of its own (``/p/<n>``), and consent decisions (``POST /_consent``, the id read from
the answer); meanwhile the server is killed (SIGKILL, or SIGTERM in some cycles) at seeded
random moments and restarted on the same data dir. At the end it is stopped cleanly and the
store is read: every acknowledged (202) page view must be in ``events`` exactly once, every
answered decision in ``consent_log`` exactly once. Requests sent whose answer never arrived
(the server died first) may or may not be stored; they are counted, not judged.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from kruimel.base.store import Store
from tests.serving import StartFailed, free_port, start_process

SITE = "example.nl"
# a browser's user agent: a bot's page view is acknowledged but deliberately not stored
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Safari/537.36"
)
CONFIG = """\
[consent]
controller = "Bakkerij"
privacy_url = "/privacy"
policy_version = "1"
[analytics]
flush_seconds = {flush_seconds}
[[analytics.sites]]
domain = "{site}"
"""
SECRET = {"KRUIMEL_SECRET_KEY": "durability-secret-key-0123456789abcdef"}


@dataclass
class Tally:
    """What the clients sent and which answers they read."""

    events_acked: set[int] = field(default_factory=set)
    events_unanswered: set[int] = field(default_factory=set)  # sent, no answer read
    events_refused: int = 0  # answered, but not 202 (e.g. 503 while starting)
    not_connected: int = 0  # requests of either kind that found no server: never sent
    decisions_acked: list[str] = field(default_factory=list)  # consent ids from the answers
    decisions_unanswered: int = 0
    decisions_refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Outcome:
    """The store after the run, judged against the tally."""

    tally: Tally
    events_stored: Counter[int]
    decisions_stored: Counter[str]
    kills: list[str]
    restart_seconds: list[float]
    seconds: float
    journal_left: list[str]
    rollup_pageviews: int  # what the pages_daily materialised view counted for /p/<n>

    @property
    def rollup_matches(self) -> bool:
        """The rollup counted each stored page view once (a replayed batch not twice)."""
        return self.rollup_pageviews == sum(self.events_stored.values())

    @property
    def events_lost(self) -> int:
        return sum(1 for n in self.tally.events_acked if self.events_stored[n] == 0)

    @property
    def events_duplicated(self) -> int:
        return sum(1 for count in self.events_stored.values() if count > 1)

    @property
    def events_unacked_stored(self) -> int:
        return sum(1 for n in self.events_stored if n not in self.tally.events_acked)

    @property
    def events_foreign(self) -> int:
        """Stored page views the client never sent (must be 0)."""
        sent = self.tally.events_acked | self.tally.events_unanswered
        return sum(1 for n in self.events_stored if n not in sent)

    @property
    def decisions_lost(self) -> int:
        return sum(1 for i in self.tally.decisions_acked if self.decisions_stored[i] == 0)

    @property
    def decisions_duplicated(self) -> int:
        return sum(1 for count in self.decisions_stored.values() if count > 1)

    @property
    def decisions_unacked_stored(self) -> int:
        acked = set(self.tally.decisions_acked)
        return sum(1 for i in self.decisions_stored if i not in acked)

    @property
    def ok(self) -> bool:
        """No loss, no duplicate, nothing stored that was never sent."""
        return (
            self.rollup_matches
            and self.events_lost == 0
            and self.events_duplicated == 0
            and self.events_foreign == 0
            and self.decisions_lost == 0
            and self.decisions_duplicated == 0
            # each new decision has a new random id: more unknown ids than unanswered
            # decisions would mean rows nobody sent
            and self.decisions_unacked_stored <= self.tally.decisions_unanswered
            and len(self.tally.decisions_acked) == len(set(self.tally.decisions_acked))
        )


class Server:
    """``python -m kruimel serve`` on a fixed port and data dir, restartable."""

    def __init__(self, workdir: Path, flush_seconds: float) -> None:
        self.workdir = workdir
        self.data_dir = workdir / "data"
        self.config = workdir / "kruimel.toml"
        self.config.write_text(CONFIG.format(flush_seconds=flush_seconds, site=SITE))
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = workdir / "server.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> float:
        """Start and wait until /healthz answers; returns the seconds that took."""
        started = time.monotonic()
        argv = [sys.executable, "-m", "kruimel", "serve", "--config", str(self.config)]
        argv += ["--data-dir", str(self.data_dir), "--port", str(self.port)]
        with self.log.open("ab") as out:
            try:
                self.process = start_process(
                    argv,
                    self.base + "/healthz",
                    env=SECRET,
                    output=out,
                    timeout=timeout,
                    ready=lambda url: httpx.get(url, timeout=1).status_code == 200,
                    describe=lambda _: self.tail(),
                )
            except StartFailed as e:
                raise RuntimeError(f"kruimel serve did not start: {e}") from None
        return time.monotonic() - started

    def signal(self, sig: signal.Signals, timeout: float = 60) -> None:
        """Send ``sig`` and wait for the process to end."""
        assert self.process is not None
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise RuntimeError(f"kruimel serve did not stop on {sig.name}: {self.tail()}") from None
        # uvicorn re-raises the signal after its graceful shutdown: -15 is a clean exit
        if sig == signal.SIGTERM and self.process.returncode not in (0, -signal.SIGTERM):
            raise RuntimeError(f"kruimel serve exited {self.process.returncode}: {self.tail()}")

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


class Clients:
    """Threads sending page views and decisions until :meth:`stop`."""

    def __init__(self, base: str, threads: int, seed: int, decision_share: float) -> None:
        self.base = base
        self.tally = Tally()
        self._next = iter(range(1, 10**12))
        self._next_lock = threading.Lock()
        self._stopping = threading.Event()
        self._share = decision_share
        self._threads = [
            threading.Thread(target=self._run, args=(seed * 1000 + i,), daemon=True)
            for i in range(threads)
        ]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            if thread.ident is not None:  # started
                thread.join()

    def _number(self) -> int:
        with self._next_lock:
            return next(self._next)

    def _run(self, seed: int) -> None:
        rng = random.Random(seed)
        headers = {"user-agent": BROWSER}
        with httpx.Client(base_url=self.base, headers=headers, timeout=30) as client:
            while not self._stopping.is_set():
                client.cookies.clear()  # every decision is a new visitor's
                if rng.random() < self._share:
                    self._decide(client)
                else:
                    self._page_view(client)

    def _down(self) -> None:
        with self.tally.lock:
            self.tally.not_connected += 1
        time.sleep(0.02)  # the server is down: do not spin

    def _page_view(self, client: httpx.Client) -> None:
        n = self._number()
        body = f'{{"n":"pageview","u":"https://{SITE}/p/{n}","d":"{SITE}"}}'
        try:
            answer = client.post(
                "/_analytics/api/event", content=body, headers={"content-type": "text/plain"}
            )
        except httpx.ConnectError:
            self._down()
            return
        except httpx.TransportError:  # sent, but the server died before answering
            with self.tally.lock:
                self.tally.events_unanswered.add(n)
            return
        with self.tally.lock:
            if answer.status_code == 202 and "x-kruimel" not in answer.headers:
                self.tally.events_acked.add(n)
            else:
                self.tally.events_refused += 1

    def _decide(self, client: httpx.Client) -> None:
        try:
            answer = client.post("/_consent", json={"accept": "all"})
            consent_id = answer.json().get("id") if answer.status_code == 200 else None
        except httpx.ConnectError:
            self._down()
            return
        except httpx.TransportError:
            with self.tally.lock:
                self.tally.decisions_unanswered += 1
            return
        with self.tally.lock:
            if consent_id:
                self.tally.decisions_acked.append(str(consent_id))
            else:
                self.tally.decisions_refused += 1


def run(
    workdir: Path,
    *,
    cycles: int,
    seed: int,
    min_seconds: float = 1.0,
    max_seconds: float = 4.0,
    threads: int = 4,
    decision_share: float = 0.1,
    flush_seconds: float = 0.5,
    sigterm_share: float = 0.3,
    final_seconds: float = 1.0,
) -> Outcome:
    """Kill and restart the server ``cycles`` times under load, stop it cleanly, read the store.

    Each cycle runs for a seeded random time in ``[min_seconds, max_seconds]`` and ends with
    SIGKILL, or SIGTERM for about ``sigterm_share`` of the cycles (at least one when
    ``sigterm_share`` > 0 and there are two cycles or more).
    """
    rng = random.Random(seed)
    terms = round(cycles * sigterm_share) if cycles > 1 else 0
    terms = max(terms, 1) if sigterm_share > 0 and cycles > 1 else terms
    signals = [signal.SIGTERM] * terms + [signal.SIGKILL] * (cycles - terms)
    rng.shuffle(signals)
    server = Server(workdir, flush_seconds)
    clients = Clients(server.base, threads, seed, decision_share)
    restarts: list[float] = []
    began = time.monotonic()
    try:
        restarts.append(server.start())
        clients.start()
        for sig in signals:
            time.sleep(rng.uniform(min_seconds, max_seconds))
            server.signal(sig)
            restarts.append(server.start())  # replays the journal of the run it replaces
        time.sleep(final_seconds)
    finally:
        clients.stop()
        if server.process is not None and server.process.poll() is None:
            server.signal(signal.SIGTERM)
    seconds = time.monotonic() - began
    journal_left = sorted(
        p.name for p in (server.data_dir / "journal").rglob("*.jsonl") if p.stat().st_size
    )
    with Store.connect(f"chdb://{server.data_dir / 'store'}") as store:
        prefix = "/p/"
        events: Counter[int] = Counter()
        for path, count in store.query(
            "SELECT path, count() FROM events WHERE site = {site:String} GROUP BY path",
            {"site": SITE},
        ):
            if str(path).startswith(prefix):
                events[int(str(path)[len(prefix) :])] += int(count)
        rollup = store.query(
            "SELECT sum(pageviews) FROM pages_daily "
            "WHERE site = {site:String} AND startsWith(path, '/p/')",
            {"site": SITE},
        )
        decisions: Counter[str] = Counter()
        for consent_id, count in store.query(
            "SELECT consent_id, count() FROM consent_log WHERE action != 'expire' "
            "GROUP BY consent_id"
        ):
            decisions[str(consent_id)] += int(count)
    return Outcome(
        clients.tally,
        events,
        decisions,
        [s.name for s in signals],
        restarts,
        seconds,
        journal_left,
        int(rollup[0][0]),
    )
