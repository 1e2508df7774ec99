"""The HTTP endpoints under ``/_consent``: read, make, change and withdraw a choice; see and
erase the records; the cookie declaration; the banner fragment; the static assets.

Decisions under ``Sec-GPC: 1`` (when ``honor_gpc``): "Accept all" grants every optional
category except ``marketing`` and is recorded with action ``gpc`` (the record shows that the
signal was honoured and marketing stayed off); "Reject all" is recorded as ``reject_all``; a
custom choice is recorded as ``custom`` exactly as ticked, so an explicit tick for marketing
wins over the signal. ``GET /_consent`` reports ``"gpc": true`` while the header is sent.

``/optout`` records or takes back the visitor's objection to the anonymous statistics
(``consent.objection``). Where a request comes from (same site, CORS) is ``consent.origin``'s.

"Reject all" by a visitor who had allowed something is a withdrawal and is recorded as
``withdraw``, like ``DELETE /_consent``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import Receive, Scope, Send

from kruimel.base.assets import AssetFiles
from kruimel.base.cookies import set_cookie
from kruimel.base.headers import append_header
from kruimel.base.optout import has_optout
from kruimel.base.store import StoreError

from .banner import banner_fingerprint, render_banner, render_manage, render_settings_layer
from .config import LANGUAGES, ConsentConfig
from .cookie import (
    dump_token,
    expire_cookie_headers,
    headers_of,
    read_cookie,
    read_state,
)
from .cookie import set_cookie_header as cookie_header
from .errors import ConsentRequestError
from .i18n import choose_language
from .objection import get_optout, post_optout, take_back
from .origin import check_origin, cors_headers, default_port, preflight, safe_next
from .payload import MAX_BODY, read_payload
from .policy import policy_data, render_policy
from .records import ConsentLog
from .state import ConsentState

__all__ = ["MAX_BODY", "ConsentEndpoints", "safe_next"]

log = logging.getLogger("kruimel.consent")

_JSON_KEYS = frozenset({"accept", "categories", "control", "lang"})
_NO_STORE = {"Cache-Control": "no-store"}


class ConsentEndpoints:
    """ASGI app for every path under ``config.prefix`` (mount it there, or let
    :class:`~consent.middleware.ConsentMiddleware` route to it).

    Reads the visitor's state from ``scope["consent"]`` when the middleware set it.

    :param log: the proof-of-consent log; it takes its retention from ``config``. Without
        one, decisions cannot be proven, so every POST/DELETE answers 503.
    """

    def __init__(self, config: ConsentConfig, log: ConsentLog | None) -> None:
        self.config = config
        self.log = log
        if log is not None:
            log.retention_months = config.record_retention_months
        self.static = AssetFiles()
        self.fingerprints = {lang: banner_fingerprint(config, lang) for lang in LANGUAGES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": 1000})
            return
        path = scope["path"]
        rest = path[len(self.config.prefix) :] if path.startswith(self.config.prefix) else path
        if rest.startswith("/static/"):
            await self.static(scope, receive, send)
            return
        response = await _Exchange(self, scope, receive).respond(rest.rstrip("/"))
        await response(scope, receive, send)


class _Exchange:
    """One request to the endpoints: all per-request state lives here."""

    def __init__(self, app: ConsentEndpoints, scope: Scope, receive: Receive) -> None:
        self.app, self.config, self.scope, self.receive = app, app.config, scope, receive
        self.method = scope["method"].upper()
        self.headers = headers_of(scope)
        self.scheme = scope.get("scheme", "http")
        self.host = self.headers.get("host", "").lower() or "localhost"
        self.own_origin = f"{self.scheme}://{self.host.removesuffix(default_port(self.scheme))}"
        origin = self.headers.get("origin", "")
        self.cors = origin if origin in self.config.cors_origins else None
        found = scope.get("consent")
        self.state = found if isinstance(found, ConsentState) else read_state(self.config, scope)
        self.lang = choose_language(self.config, scope)
        self.query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        # An explicit language choice (?lang= or "lang" in a decision) is remembered in the
        # functional language cookie; a negotiated one is not.
        self.lang_chosen = self.query.get("lang") in LANGUAGES

    async def respond(self, rest: str) -> Response:
        routes: dict[str, dict[str, Any]] = {
            "": {"GET": self.get_state, "POST": self.post, "DELETE": self.withdraw},
            "/records": {"GET": self.get_records, "DELETE": self.erase},
            "/policy": {"GET": self.policy},
            "/banner": {"GET": self.banner},
            "/optout": {
                "GET": lambda: get_optout(self),
                "POST": lambda: post_optout(self),
                "DELETE": lambda: take_back(self),
            },
        }
        handlers = routes.get(rest)
        if handlers is None:
            return self.finish(JSONResponse({"error": "not found"}, 404))
        if "GET" in handlers:
            handlers["HEAD"] = handlers["GET"]
        if self.method == "OPTIONS":
            return self.finish(self.preflight(sorted(handlers)))
        handler = handlers.get(self.method)
        if handler is None:
            allow = ", ".join(sorted(handlers))
            return self.finish(
                JSONResponse({"error": "method not allowed"}, 405, headers={"Allow": allow})
            )
        try:
            if self.method in ("POST", "DELETE"):
                self.check_origin()
            return self.finish(await handler())
        except ConsentRequestError as e:
            return self.finish(JSONResponse({"error": e.message}, e.status, _NO_STORE))
        except StoreError as e:
            if self.app.log is not None:  # counted by the store's outage log, no traceback
                self.app.log.store.outage.refused(e)
            return self.finish(
                JSONResponse({"error": "could not store the decision; try again"}, 503, _NO_STORE)
            )

    # -- cross-site checks and CORS (consent.origin) ------------------------------
    def check_origin(self) -> None:
        """Refuse a state-changing request from another site (403)."""
        check_origin(self.headers, self.own_origin, self.config.cors_origins, self.scope)

    def preflight(self, methods: list[str]) -> Response:
        """The answer to a CORS preflight."""
        return preflight(self.headers, self.cors, methods)

    def finish(self, response: Response) -> Response:
        """``response`` with ``Vary: Origin`` and, for an allowed origin, its CORS header."""
        return cors_headers(response, self.cors)

    # -- reading -------------------------------------------------------------------
    def state_body(self, state: ConsentState) -> dict[str, Any]:
        body = state.to_json()
        if self.cors is not None and state.decided:
            body["token"] = dump_token(self.config, state)
        return body

    async def get_state(self) -> Response:
        return JSONResponse(self.state_body(self.state), headers=_NO_STORE)

    async def banner(self) -> Response:
        """The banner (or manage control) for this visitor, or with ``?part=settings`` the
        settings layer that banner.js fetches when the visitor opens it."""
        part = self.query.get("part", "")
        if part not in ("", "settings"):
            raise ConsentRequestError(400, "part must be 'settings' or left out")
        own_page = self.headers.get("referer") if not self.cors else None
        next_url = safe_next(self.query.get("next") or own_page, self.own_origin)
        config, state, lang = self.config, self.state, self.lang
        if part == "settings":
            html = render_settings_layer(config, state=state, lang=lang, next_url=next_url)
        else:
            render = render_manage if state.decided else render_banner
            html = render(config, state=state, lang=lang, next_url=next_url, nonce=None)
        return HTMLResponse(html, headers=_NO_STORE)

    async def policy(self) -> Response:
        if self.query.get("format") == "json":
            return JSONResponse(policy_data(self.config, self.lang))
        # The manage button's GET form carries the page the visitor came from.
        here = f"{self.config.prefix}/policy?lang={self.lang}"
        next_url = safe_next(self.query.get("next"), self.own_origin, fallback=here)
        html = render_policy(
            self.config,
            state=self.state,
            lang=self.lang,
            next_url=next_url,
            opted_out=self.opted_out(),
        )
        response = HTMLResponse(html, headers={**_NO_STORE, "Content-Language": self.lang})
        self.remember_language(response)
        return response

    # -- objecting to the anonymous statistics (consent.objection) ---------------------
    def opted_out(self) -> bool:
        """Whether the visitor objects to the anonymous statistics."""
        return has_optout(self.headers.get("cookie", "").encode("latin-1"))

    def consent_log(self) -> ConsentLog:
        if self.app.log is None:
            raise ConsentRequestError(503, "no consent log is configured on this server")
        return self.app.log

    async def get_records(self) -> Response:
        records = await self.consent_log().records_for(self.state.id)
        body = {"consent_id": self.state.id, "records": records}
        return JSONResponse(
            body,
            headers={
                **_NO_STORE,
                "Content-Disposition": 'attachment; filename="consent-records.json"',
            },
        )

    async def erase(self) -> Response:
        return JSONResponse(await self.consent_log().erase(self.state.id), headers=_NO_STORE)

    # -- deciding ------------------------------------------------------------------
    def choice(self, accept: object, categories: dict[str, bool]) -> tuple[dict[str, bool], str]:
        """The categories switched on and the action to record."""
        optional = self.config.optional_categories
        if accept == "all":
            allowed = dict.fromkeys(optional, True)
            if self.state.gpc and "marketing" in allowed:
                allowed["marketing"] = False
                return allowed, "gpc"
            return allowed, "accept_all"
        if accept == "none":
            # "Reject all" after something was allowed takes consent back: the proof log must
            # say so, whichever control (banner, form, DELETE) the visitor used.
            had_consent = self.state.decided and any(self.state.allows(c) for c in optional)
            return {}, "withdraw" if had_consent else "reject_all"
        if accept in ("custom", None):
            for name, on in categories.items():
                if name not in optional and name not in self.config.required_categories:
                    known = ", ".join(c.name for c in self.config.categories)
                    raise ConsentRequestError(400, f"unknown category {name!r}; use {known}")
                if not on and name in self.config.required_categories:
                    raise ConsentRequestError(400, f"category {name!r} cannot be switched off")
            return categories, "custom"
        raise ConsentRequestError(400, "accept must be 'all', 'none' or 'custom'")

    async def read_payload(self) -> tuple[list[tuple[str, str]] | None, Any]:
        """The body: ``(fields, None)`` for a plain form, ``(None, data)`` for JSON
        (``consent.payload``)."""
        return await read_payload(self.receive, self.headers)

    async def post(self) -> Response:
        fields, data = await self.read_payload()
        if fields is not None:
            return await self.post_form(fields)
        if not isinstance(data, dict) or set(data) - _JSON_KEYS:
            raise ConsentRequestError(400, f"send an object with {', '.join(sorted(_JSON_KEYS))}")
        categories = data.get("categories", {})
        if not isinstance(categories, dict) or not all(
            isinstance(v, bool) for v in categories.values()
        ):
            raise ConsentRequestError(400, 'categories: an object such as {"analytics": true}')
        if "accept" not in data and "categories" not in data:
            raise ConsentRequestError(400, "give accept or categories")
        control = data.get("control", "api")
        if control not in ("api", "banner"):
            raise ConsentRequestError(400, "control must be 'api' or 'banner'")
        allowed, action = self.choice(data.get("accept"), categories)
        return await self.decide(allowed, action, control, data.get("lang"), self.json_answer)

    def json_answer(self, state: ConsentState) -> Response:
        return JSONResponse(self.state_body(state), headers=_NO_STORE)

    async def post_form(self, fields: list[tuple[str, str]]) -> Response:
        values = dict(fields)
        ticked = {value: True for key, value in fields if key == "categories"}
        accept = values.get("accept")
        if accept is None:
            raise ConsentRequestError(400, "accept must be 'all', 'none' or 'custom'")
        allowed, action = self.choice(accept, ticked)
        target = safe_next(values.get("next") or self.headers.get("referer"), self.own_origin)
        return await self.decide(
            allowed,
            action,
            "form",
            values.get("lang"),
            lambda state: RedirectResponse(target, 303, headers=_NO_STORE),
        )

    async def withdraw(self) -> Response:
        return await self.decide({}, "withdraw", "api", None, self.json_answer)

    async def decide(
        self,
        allowed: dict[str, bool],
        action: str,
        control: str,
        lang: object,
        answer: Callable[[ConsentState], Response],
    ) -> Response:
        """Record the decision and answer it with ``answer(state)`` and the cookies.

        The whole answer is built before anything is recorded, and recording is the last
        step: an answer that cannot be built records nothing, and a record that cannot be
        stored (503) sends no cookie. So the log holds a decision exactly when the visitor
        got its cookie.
        """
        consent_log = self.consent_log()
        if isinstance(lang, str) and lang in LANGUAGES:
            self.lang, self.lang_chosen = lang, True
        fingerprint = self.app.fingerprints[self.lang]
        # The id comes from the cookie itself: kept for a valid or lapsed consent, new and
        # random otherwise (behind the middleware a visitor without a cookie has no id yet).
        reading = read_cookie(self.config, self.scope)
        consent_id = reading.state.id
        state = ConsentState.decide(self.config, allowed, id=consent_id, gpc=self.state.gpc)
        response = answer(state)
        self.set_cookies(response, state)
        if reading.status in ("expired", "outdated"):
            # The consent this id relied on lapsed (lifetime over, or a new policy version):
            # the proof log shows that end before the new decision.
            lapsed = ConsentState.undecided(self.config, id=consent_id, gpc=self.state.gpc)
            await consent_log.record(lapsed, "expire", control, self.lang, fingerprint)
        await consent_log.record(state, action, control, self.lang, fingerprint)
        return response

    def remember_language(self, response: Response) -> None:
        """Set the functional language cookie after an explicit choice of language."""
        if not self.lang_chosen:
            return
        value = set_cookie(
            self.config.language_cookie,
            self.lang,
            max_age=self.config.lifetime_days * 86400,  # no longer than the consent itself
            secure=self.scheme == "https",
            http_only=True,  # only the server reads it (no script in static/banner does)
        )
        append_header(response.raw_headers, b"set-cookie", value)

    def set_cookies(self, response: Response, state: ConsentState) -> None:
        """The new consent cookie, and expiry of cookies of categories now denied."""
        secure = self.scheme == "https"
        headers = response.raw_headers
        append_header(headers, b"set-cookie", cookie_header(self.config, state, secure))
        self.remember_language(response)
        denied = [c for c in self.config.optional_categories if not state.allows(c)]
        turned_off = [c for c in denied if self.state.decided and self.state.allows(c)]
        present = _cookie_names(self.headers.get("cookie", ""))
        for names, only_present in ((turned_off, False), (denied, True)):
            for value in expire_cookie_headers(
                self.config,
                names,
                present=present,
                host=self.host,
                secure=secure,
                only_present=only_present,
            ):
                if (b"set-cookie", value) not in headers:
                    append_header(headers, b"set-cookie", value)


def _cookie_names(header: str) -> list[str]:
    return [part.split("=", 1)[0].strip() for part in header.split(";") if "=" in part]
