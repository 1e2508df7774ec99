"""The collector: an ASGI app receiving page views and events, and serving the tracker.

Routes (relative to where it is mounted, e.g. ``/_analytics``):

* ``POST /api/event``: one event (Plausible's payload); 202 once it is journaled.
* ``OPTIONS /api/event``: CORS preflight for the configured site origins.
* ``GET /api/summary``: the summary (``analytics.api_summary``), bearer token.
* ``GET /script.js`` (the tracker) and ``GET /kruimel.js`` (the static-site snippet).

An event is answered 202 with an empty body; when it is accepted but deliberately not
stored, ``X-Kruimel`` says why (``ignored-gpc``, ``ignored-dnt``, ``ignored-optout``,
``ignored-bot``; bots per reason and honoured objections are
counted per reason in ``filtered``). Bad input gets 400, 403 (unknown site, foreign origin),
413 or 415 with ``{"error": ...}`` and nothing is stored; 503 with ``Retry-After`` when the
journal bound is reached or today's salt cannot be fetched.

The event path is plain ASGI (no framework routing, no per-request state on ``self``): it is
the hot path. The raw IP address and user agent live only in local variables while the
request is handled; the log never sees them.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import anyio.to_thread
from starlette.types import Receive, Scope, Send

from kruimel.base.assets import AssetFiles
from kruimel.base.body import BodyTooLarge, ClientGone, read_body
from kruimel.base.lifespan import answer_lifespan
from kruimel.base.optout import has_optout
from kruimel.base.store import Backpressure, BatchWriter, Store, StoreError

from .api_summary import make_summary_endpoint
from .clientip import TrustedProxies, client_ip
from .config import AnalyticsConfig
from .errors import InvalidEvent
from .ingest import build_row, parse_event
from .normalize import HashedCache, PageURL, normalize_url, referrer_source
from .schema import EVENT_COLUMNS, FILTERED_COLUMNS, MIGRATIONS, apply_retention
from .useragent import UserAgentParser
from .visitor import DailySalts, utc_now, visitor_key

__all__ = ["Collector"]

log = logging.getLogger("analytics.collector")

_EMPTY = (b"content-length", b"0")
_JSON = (b"content-type", b"application/json")
_NO_STORE = (b"cache-control", b"no-store")
_CONTENT_TYPES = frozenset((b"", b"text/plain", b"application/json"))


class Collector:
    """The analytics collector, an ASGI app; mount it at ``/_analytics``.

    A host app calls :meth:`start` and :meth:`stop` from its lifespan (a mounted app gets
    no lifespan events); served on its own, the collector handles the lifespan itself.

    :param config: the sites and settings.
    :param store: the ClickHouse store (migrated at :meth:`start`).
    :param clock: the current aware UTC time; injectable for tests.
    """

    def __init__(
        self,
        config: AnalyticsConfig,
        store: Store,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._trusted = TrustedProxies(config.trusted_proxies)
        self._user_agents = UserAgentParser()
        self._pages: HashedCache[PageURL] = HashedCache()
        self._referrers: HashedCache[tuple[str, str]] = HashedCache()
        self.salts = DailySalts(store, clock)
        options: dict[str, Any] = {
            "journal_dir": config.journal_dir,
            "max_rows": config.flush_rows,
            "max_delay": config.flush_seconds,
            "max_journal_bytes": config.max_journal_bytes,
        }
        self.events = BatchWriter(store, "events", EVENT_COLUMNS, name="events", **options)
        self.filtered = BatchWriter(store, "filtered", FILTERED_COLUMNS, name="filtered", **options)
        self._assets = AssetFiles(
            files=frozenset({"tracker.js", "kruimel.js"}), aliases={"script.js": "tracker.js"}
        )
        self._summary = make_summary_endpoint(config, store, self.flush)
        self._origins = frozenset(o for s in config.sites for o in s.origins)
        self._localhost = any(s.allow_localhost for s in config.sites)
        self._started = False

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        """Migrate the schema, apply the retention, replay the journals, start flushing."""
        if self._started:
            return
        await anyio.to_thread.run_sync(self._migrate)
        await self.events.start()
        try:
            await self.filtered.start()
        except BaseException:
            await self.events.stop()  # do not leave its flush task and journal behind
            raise
        self._started = True

    def _migrate(self) -> None:
        self.store.migrate(MIGRATIONS)
        apply_retention(self.store, self.config.retention_months)

    async def stop(self) -> None:
        """Insert what is buffered (what ClickHouse does not take stays journaled) and stop."""
        if not self._started:
            return
        self._started = False
        try:
            await self.events.stop()
        finally:
            await self.filtered.stop()

    async def flush(self) -> None:
        """Insert every accepted event now (tests, the summary endpoint).

        :raises StoreError: ClickHouse did not take a batch.
        """
        await self.events.flush()
        await self.filtered.flush()

    # -- ASGI --------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if path == "/api/event":
            if not self._started:
                # mounted apps get no lifespan events: the host app must call start()
                await _json(
                    send,
                    503,
                    {"error": "the collector is not started: call Collector.start() at startup"},
                    [(b"retry-after", b"5")],
                )
                return
            await self._event(scope, receive, send)
        elif path == "/api/summary":
            await self._summary(scope, receive, send)
        elif path in ("/script.js", "/kruimel.js"):
            await self._assets(scope, receive, send)
        else:
            await _json(send, 404, {"error": "not found"})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await answer_lifespan(receive, send, self.start, self.stop, _start_failed)

    def _cors_origin(self, origin: str) -> bool:
        """Whether ``origin`` is a configured origin of any site (CORS is answered for it)."""
        if origin.lower() in self._origins:
            return True
        return self._localhost and any(s.allows_origin(origin) for s in self.config.sites)

    async def _event(self, scope: Scope, receive: Receive, send: Send) -> None:
        origin = user_agent = ""
        content_type = host = b""
        gpc = dnt = optout = False
        length = -1
        for key, value in scope["headers"]:
            if key == b"user-agent":
                user_agent = value.decode("latin-1")
            elif key == b"origin":
                origin = value.decode("latin-1")
            elif key == b"content-type":
                content_type = value.split(b";", 1)[0].strip().lower()
            elif key == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif key == b"sec-gpc":
                gpc = value.strip() == b"1"
            elif key == b"dnt":
                dnt = value.strip() == b"1"
            elif key == b"cookie":
                optout = optout or has_optout(value)
            elif key == b"host":
                host = value
        # CORS headers only where a browser sent an Origin: each response header costs the
        # server's HTTP layer time on the hot path (a POST answer is never cached anyway)
        cors: list[tuple[bytes, bytes]] = []
        if origin:
            cors.append((b"vary", b"Origin"))
            if self._cors_origin(origin):
                cors.append((b"access-control-allow-origin", origin.encode("latin-1")))
        method = scope["method"]
        if method == "OPTIONS":
            await self._preflight(send, origin, cors)
            return
        if method != "POST":
            await _json(send, 405, {"error": "use POST"}, [(b"allow", b"POST, OPTIONS")])
            return
        try:
            if content_type not in _CONTENT_TYPES:
                raise InvalidEvent("send the event as application/json or text/plain", 415)
            max_body = self.config.max_body_bytes
            if length > max_body:
                raise InvalidEvent(f"the body is larger than {max_body} bytes", 413)
            try:
                body = await read_body(receive, max_body)
            except BodyTooLarge as e:
                raise InvalidEvent(str(e), 413) from e
            event = parse_event(body)
            site = self.config.site(event.domains[0])
            if site is None and len(event.domains) > 1:  # Plausible's "a.nl,rollup.nl"
                site = next((s for d in event.domains if (s := self.config.site(d))), None)
            if site is None:
                raise InvalidEvent("unknown site: configure it in [[analytics.sites]]", 403)
            # a browser always sends Origin with a cross-origin POST: events for a site come
            # from its own pages, so another site cannot inflate its numbers from a browser
            if origin and not site.allows_origin(origin) and not _same_host(origin, host):
                raise InvalidEvent("this origin may not send events for this site", 403)
            keep_fragment = site.hash_routing or event.hash_mode
            key = HashedCache.key(event.url, "#" if keep_fragment else "")
            page = self._pages.get(key) or self._pages.put(
                key, normalize_url(event.url, keep_fragment=keep_fragment)
            )
        except InvalidEvent as e:
            await _json(send, e.status, {"error": e.message}, cors)
            return
        except ClientGone:
            return
        now = self._clock()
        day = now.astimezone(site.tz).date()
        signal = "gpc" if gpc else "optout" if optout else "dnt" if dnt and site.honor_dnt else ""
        if signal:
            # Honoured, and logged as a count with no identifier (docs/REGULATION.md item 15).
            try:
                self.filtered.append(((site.domain, day, "signal:" + signal, 1),))
            except Backpressure:
                pass  # the event is dropped either way; only its count is lost
            await _accepted(send, [*cors, (b"x-kruimel", b"ignored-" + signal.encode())])
            return
        ua = self._user_agents(user_agent)
        try:
            if ua.bot is not None:
                self.filtered.append(((site.domain, day, ua.bot, 1),))
                await _accepted(send, [*cors, (b"x-kruimel", b"ignored-bot")])
                return
            salt = self.salts.cached(site, day) or await self.salts.salt(site, day)
            visitor = visitor_key(salt, site, client_ip(scope, self._trusted), user_agent)
            key = HashedCache.key(event.referrer, site.domain)
            referrer = self._referrers.get(key) or self._referrers.put(
                key, referrer_source(event.referrer, site.domain)
            )
            row = build_row(event, site, page, referrer, ua, visitor, now, day)
            self.events.append((row,))
        except Backpressure as e:
            self.store.outage.refused(e)
            await _json(
                send,
                503,
                {"error": "the collector is busy storing earlier events; retry later"},
                [*cors, (b"retry-after", str(e.retry_after).encode())],
            )
            return
        except StoreError as e:
            # no salt for today (ClickHouse down at the first event of a day) or the journal
            # cannot be written; the event is not acknowledged, the client may retry
            self.store.outage.refused(e)  # counted, not a traceback per request
            await _json(
                send,
                503,
                {"error": "the analytics store is unavailable; retry later"},
                [*cors, (b"retry-after", b"30")],
            )
            return
        await _accepted(send, cors)

    async def _preflight(self, send: Send, origin: str, cors: list[tuple[bytes, bytes]]) -> None:
        if not any(k == b"access-control-allow-origin" for k, _ in cors):
            await _json(send, 403, {"error": "this origin may not send events"}, cors)
            return
        headers = [
            *cors,
            (b"access-control-allow-methods", b"POST"),
            (b"access-control-allow-headers", b"Content-Type"),
            (b"access-control-max-age", b"86400"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})


def _start_failed(exc: BaseException) -> str:
    log.exception("collector failed to start")
    return str(exc)


async def _accepted(send: Send, headers: list[tuple[bytes, bytes]]) -> None:
    # 202 with an empty body: trackers do not read it, and with no body bytes the server
    # writes the whole answer in one system call instead of two (the dearest part of a
    # page view under uvicorn, measured)
    await send({"type": "http.response.start", "status": 202, "headers": [_EMPTY, *headers]})
    await send({"type": "http.response.body", "body": b""})


async def _json(
    send: Send,
    status: int,
    body: dict[str, Any],
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    data = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                _JSON,
                _NO_STORE,
                (b"content-length", str(len(data)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def _same_host(origin: str, host: bytes) -> bool:
    """Whether a browser ``Origin`` is the collector's own host: a page served by the same
    server (the collector mounted in the site itself) is first party by definition."""
    return bool(host) and origin.partition("://")[2].lower() == host.decode("latin-1").lower()
