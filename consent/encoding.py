"""Compressed HTML from the app: decode it, let the middleware rewrite it, encode it again.

When a compression middleware sits *inside* :class:`~consent.middleware.ConsentMiddleware`
(Starlette's or Django's ``GZipMiddleware`` added before it), pages reach the middleware
gzip-encoded, and a rewriter that looks for ``</head>`` in compressed bytes finds nothing:
the banner would silently be missing and consent could never be given. So a page in a
coding the standard library can read (``gzip``, ``x-gzip``, ``deflate``) is decoded as it
streams, rewritten like any page, and encoded again in the same coding, so the client gets
what it asked for. Codings the standard library cannot read (``br``, ``zstd``) pass through
unchanged, with one warning per coding that says how to order the middleware.

Memory stays bounded: a body is decoded in pieces of at most :data:`MAX_PIECE` bytes (a page
that decodes to more is rewritten as a stream), and encoding flushes each piece, so a
streamed page reaches the browser as it comes.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterator

from starlette.types import Message, Send

from kruimel.base.headers import RawHeaders, append_header, delete_header

__all__ = ["MAX_PIECE", "PageCodec", "page_codec"]

log = logging.getLogger("kruimel.consent")

#: A decoded body is handed to the rewriter in pieces of at most this many bytes. A page
#: that decodes to more is streamed (no ``Content-Length``) instead of held whole, which
#: also bounds what a decompression bomb can make this process allocate.
MAX_PIECE = 1024 * 1024

_GZIP = 16 + zlib.MAX_WBITS  # gzip header and trailer
_ZLIB = zlib.MAX_WBITS  # RFC 1950, what HTTP calls "deflate"
_RAW = -zlib.MAX_WBITS  # raw deflate, which some servers send as "deflate" all the same
_CODINGS = {b"gzip": _GZIP, b"x-gzip": _GZIP, b"deflate": _ZLIB}
_warned: set[str] = set()


def page_codec(coding: bytes) -> PageCodec | None:
    """A codec for a page sent with ``Content-Encoding: coding``, or ``None`` to pass it on.

    ``None`` (after a warning, once per coding and process) for a coding that cannot be
    decoded here, and for a list of codings (``gzip, br``), which no app sends in practice.
    """
    name = coding.strip().lower()
    wbits = _CODINGS.get(name)
    if wbits is None:
        label = name.decode("latin-1", "replace")
        if label not in _warned:
            _warned.add(label)
            log.warning(
                "an HTML page came %s-encoded from the app, so the consent banner cannot be "
                "added to it; move the compression middleware outside ConsentMiddleware "
                "(in Starlette/FastAPI call app.add_middleware(ConsentMiddleware, ...) before "
                "app.add_middleware(GZipMiddleware); in Django wrap the ASGI application with "
                "ConsentMiddleware), or let the app send gzip, which Kruimel can rewrite",
                label,
            )
        return None
    return PageCodec(name, wbits)


class PageCodec:
    """Decodes one response's body for the rewriter and encodes the rewritten body again.

    :meth:`decode` turns each incoming body into plain pieces; :meth:`wrap` gives the
    ``send`` the rewritten messages go through, which compresses them and sets the length.
    """

    __slots__ = ("coding", "wbits", "_decoder", "_encoder", "_start")

    def __init__(self, coding: bytes, wbits: int) -> None:
        self.coding = coding
        self.wbits = wbits
        self._decoder: zlib._Decompress | None = None
        self._encoder = zlib.compressobj(6, zlib.DEFLATED, wbits)
        self._start: Message | None = None

    def decode(self, body: bytes, more: bool) -> Iterator[tuple[bytes, bool]]:
        """The plain bytes of ``body`` as ``(piece, more_body)`` pairs.

        A body that decodes to at most :data:`MAX_PIECE` bytes gives one piece, so a page
        sent in one message stays one message (and gets a ``Content-Length``).

        :raises ValueError: the app's body is not valid in its declared coding.
        """
        pieces: list[bytes] = []
        data = body
        try:
            while data:
                if self._decoder is None:
                    self._decoder = zlib.decompressobj(self._wbits_for(data))
                piece = self._decoder.decompress(data, MAX_PIECE)
                data = self._decoder.unconsumed_tail
                if self._decoder.eof:
                    # A gzip body may hold several members: the next one starts afresh.
                    # Anything else after the end (padding) is ignored, as gzip(1) does.
                    rest = self._decoder.unused_data + data
                    data = rest if self.wbits == _GZIP and rest[:2] == b"\x1f\x8b" else b""
                    self._decoder = None
                if piece:
                    if pieces:
                        yield pieces.pop(), True
                    pieces.append(piece)
                elif not data:
                    break
        except zlib.error as e:
            raise ValueError(
                f"the app sent an HTML page with Content-Encoding: "
                f"{self.coding.decode('latin-1')} whose body is not valid in that coding: {e}"
            ) from e
        if pieces:
            yield pieces.pop(), more
        elif not more:
            yield b"", False

    def _wbits_for(self, data: bytes) -> int:
        if self.wbits != _ZLIB:
            return self.wbits
        # "deflate" should be zlib-wrapped (RFC 9110), but raw deflate is common too: a
        # zlib stream starts with a header whose 16-bit value is a multiple of 31.
        if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
            return _ZLIB
        return _RAW

    def wrap(self, send: Send) -> Send:
        """The ``send`` for the rewritten response: encodes every body, fixes the length."""

        async def encoded_send(message: Message) -> None:
            kind = message["type"]
            if kind == "http.response.start":
                # Held until the first body tells whether the length can be given.
                self._start = message
                return
            if kind != "http.response.body":
                await send(message)
                return
            more = message.get("more_body", False)
            body = message.get("body", b"")
            if more:
                # Sync-flushed so a streamed page reaches the browser as it comes.
                out = self._encoder.compress(body) + self._encoder.flush(zlib.Z_SYNC_FLUSH)
            else:
                out = self._encoder.compress(body) + self._encoder.flush(zlib.Z_FINISH)
            start, self._start = self._start, None
            if start is not None:
                headers: RawHeaders = list(start["headers"])
                delete_header(headers, b"content-length")
                if not more:
                    append_header(headers, b"content-length", str(len(out)).encode("ascii"))
                await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": out, "more_body": more})

        return encoded_send
