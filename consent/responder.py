"""One response behind the consent middleware: its ``Set-Cookie`` lines pass the cookie
guard, and an HTML page is rewritten as it streams (``consent.rewrite``), decoded and encoded
again when a compressor inside the middleware gzipped it (``consent.encoding``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from starlette.types import Message, Scope, Send

from kruimel.base.headers import RawHeaders, header_list, merge_vary

from .banner import render_banner, render_manage
from .csp import csp_script_policy
from .encoding import PageCodec, page_codec
from .reading import Reading
from .rewrite import HtmlRewriter

if TYPE_CHECKING:
    from .middleware import ConsentMiddleware

__all__ = ["Responder"]

# Statuses whose body is a page a person sees. Not 204/304 (no body), 206 (a byte range of
# the page: offsets would break), 1xx and 3xx (the browser never shows the body).
_NO_PAGE = frozenset({204, 206, 304})
# The first byte of a Content-Type that can be text/html (case and leading space allowed).
_MAYBE_HTML = frozenset({b"t", b"T", b" ", b"\t"})
# Response headers a rewritten page does not keep: validators of the app's bytes, and the
# length (set again for the new body, or left out so the server chunks a stream).
_PAGE_DROPS = frozenset({b"etag", b"last-modified", b"content-length"})


class Responder:
    """One response: guards its headers and, for an HTML page, rewrites its body.

    Non-HTML responses cost one pass over the header list: the start message goes out as
    soon as it is seen. For a page the start message is held back until the first body
    message, because only then is it known whether the whole body came at once (the new
    ``Content-Length`` can be given) or streams (``Content-Length`` is dropped and the
    server chunks it).
    """

    __slots__ = (
        "mw",
        "scope",
        "reading",
        "server_send",
        "start",
        "rewriter",
        "page",
        "key",
        "codec",
    )
    # Set by on_start for an HTML page only (a plain response pays for none of them): the
    # held start message, the streaming rewriter, what the rewrite needs and its memo key.
    start: Message | None
    rewriter: HtmlRewriter | None
    page: tuple[str, str, str | None, bool] | None
    key: tuple[object, ...] | None
    codec: PageCodec | None  # a gzip/deflate page: decoded here, encoded again (encoding.py)

    def __init__(self, mw: ConsentMiddleware, scope: Scope, reading: Reading, send: Send) -> None:
        self.mw = mw
        self.scope = scope
        self.reading = reading
        self.server_send = send
        self.page = None

    def build_rewriter(self) -> HtmlRewriter:
        """The page's rewriter; rendering the banner waits until a body needs it."""
        assert self.page is not None
        lang, next_url, nonce, inline = self.page
        mw, state, config = self.mw, self.reading.state, self.mw.config
        render = render_manage if state.decided else render_banner
        body = render(config, state=state, lang=lang, next_url=next_url, nonce=nonce)
        self.rewriter = HtmlRewriter(
            prelude=mw.consent_mode.render(state, nonce=nonce, inline=inline).encode(),
            head=mw.head_html(lang, nonce),
            body=body.encode(),
            allowed=frozenset(state.allowed),
            nonce=nonce,
        )
        return self.rewriter

    async def send(self, message: Message) -> None:
        if self.page is None:
            if message["type"] == "http.response.start":
                self.on_start(message)
                if self.page is not None:
                    self.start = message
                    return
            await self.server_send(message)
            return
        kind = message["type"]
        if kind == "http.response.pathsend":
            # A file response the server would send itself: read the page to rewrite it.
            body = await anyio.Path(message["path"]).read_bytes()
            message = {"type": "http.response.body", "body": body, "more_body": False}
            kind = "http.response.body"
        if kind != "http.response.body":
            await self.server_send(message)  # trailers, early hints
            return
        body = message.get("body", b"")
        more = message.get("more_body", False)
        if self.codec is None:
            await self.relay(body, more)
            return
        for piece, piece_more in self.codec.decode(body, more):
            await self.relay(piece, piece_more)

    async def relay(self, body: bytes, more: bool) -> None:
        """Rewrite one plain body message of a page and send it on."""
        start = self.start
        if start is not None:
            self.start = None
            headers: RawHeaders = start["headers"]
            if not more and not start.get("trailers", False):
                body = self.mw.rewrite_page(self.key, body, self.build_rewriter)
                headers.append((b"content-length", str(len(body)).encode("ascii")))
                await self.server_send(start)
                await self.server_send({"type": "http.response.body", "body": body})
                return
            await self.server_send(start)
        rewriter = self.rewriter or self.build_rewriter()
        out = rewriter.feed(body) if more else rewriter.feed(body) + rewriter.finish()
        if out or not more:
            await self.server_send({"type": "http.response.body", "body": out, "more_body": more})

    def on_start(self, message: Message) -> None:
        """Guard the headers; set up the rewriter when the response is an HTML page."""
        content_type = b""
        policies: list[bytes] = []
        sets_cookie = False
        plain = True  # not a download
        coding = None
        for key, value in message.get("headers") or ():
            key = key.lower()
            if key == b"content-type":
                content_type = value
            elif key == b"set-cookie":
                sets_cookie = True
            elif key == b"content-encoding":
                coding = value
            elif key == b"content-disposition":
                plain = plain and not value.lstrip()[:10].lower().startswith(b"attachment")
            elif key == b"content-security-policy":
                policies.append(value)
        reading = self.reading
        if sets_cookie:
            self.mw.guard.filter(header_list(message), reading.state)
        status: int = message["status"]
        if (
            content_type[:1] not in _MAYBE_HTML  # most types are told apart by a byte
            or not plain
            or content_type.lstrip()[:9].lower() != b"text/html"
            or status in _NO_PAGE
            or status < 200
            or 300 <= status < 400
        ):
            return
        codec = None
        if coding is not None and coding.strip().lower() not in (b"", b"identity"):
            codec = page_codec(coding)  # gzip or deflate from a compressor inside this one
            if codec is None:
                return  # br or zstd: passed on as it is (page_codec has warned)
        # The page now depends on the consent cookie: say so to caches, and drop the
        # validators of the app's own bytes (a 304 would bring back a stale banner). Its
        # length is set again once the rewritten body is known (or left to chunking).
        vary = False
        headers: RawHeaders = []
        for name, value in message["headers"]:
            key = name.lower()
            if key not in _PAGE_DROPS:
                vary = vary or key == b"vary"
                headers.append((bytes(name), bytes(value)))
        if vary:
            merge_vary(headers, b"Cookie")
        else:
            headers.append((b"vary", b"Cookie"))
        message["headers"] = headers
        scope = self.scope
        if scope["method"] == "HEAD":
            # Same headers as a GET would get, but the length of the rewritten page is
            # unknown without its body, so none is given.
            return
        plan = self.mw.page_plan(scope, reading)
        # Expire the cookies of denied categories that the browser still sends.
        headers += plan.expired
        nonce, inline = csp_script_policy(policies) if policies else (None, True)
        query: bytes = scope.get("query_string", b"")
        next_url = scope["path"] + ("?" + query.decode("latin-1") if query else "")
        self.rewriter = self.key = None
        self.page = (plan.lang, next_url, nonce, inline)
        self.codec = codec
        if codec is not None:
            self.server_send = codec.wrap(self.server_send)
        if nonce is None:
            # What the banner, the consent mode snippet and the activation show of the
            # state (the same fields banner.py caches its markup on), and the page address.
            self.key = (reading.shown, plan.lang, next_url, inline)
