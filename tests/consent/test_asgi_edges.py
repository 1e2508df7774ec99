"""ConsentMiddleware at the ASGI message level: what is rewritten and what passes untouched,
streaming, HEAD, file responses, trailers, and scopes other than HTTP."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from consent.config import ConsentConfig
from consent.middleware import ConsentMiddleware

Message = dict[str, Any]
ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

PAGE = (
    b"<!DOCTYPE html><html><head><title>t</title>"
    b'<script type="text/plain" data-consent="marketing" src="/p.js"></script></head>'
    b"<body><p>hallo</p></body></html>"
)


def scope(method: str = "GET", path: str = "/", headers: Sequence[tuple[bytes, bytes]] = ()) -> Any:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"www.example.nl"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("www.example.nl", 443),
    }


def responder(
    headers: Sequence[tuple[bytes, bytes]],
    chunks: Sequence[bytes] = (PAGE,),
    status: int = 200,
    extra: Sequence[Message] = (),
    start: dict[str, Any] | None = None,
) -> ASGIApp:
    """A raw app sending exactly these messages."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": status, "headers": list(headers),
                    **(start or {})})  # fmt: skip
        for i, chunk in enumerate(chunks):
            await send(
                {"type": "http.response.body", "body": chunk, "more_body": i < len(chunks) - 1}
            )
        for message in extra:
            await send(message)

    return app


async def call(app: ASGIApp, request: Any | None = None) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(request or scope(), receive, send)
    return sent


def body_of(messages: list[Message]) -> bytes:
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")


def headers_of(messages: list[Message]) -> dict[bytes, bytes]:
    return {k.lower(): v for k, v in messages[0]["headers"]}


HTML = (b"content-type", b"text/html; charset=utf-8")


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        # gzip and deflate pages are decoded and rewritten: tests/consent/test_encoding.py
        ([(b"content-type", b"text/html"), (b"content-encoding", b"zstd")], 200),
        ([(b"content-type", b"text/html"), (b"Content-Encoding", b"br")], 200),
        ([(b"content-type", b"application/json")], 200),
        ([(b"content-type", b"text/event-stream")], 200),
        ([(b"content-type", b"text/plain")], 200),
        ([], 200),  # no content type at all
        ([HTML, (b"content-disposition", b"attachment; filename=page.html")], 200),
        ([HTML], 204),
        ([HTML, (b"etag", b'"v1"')], 304),
        ([HTML, (b"content-range", b"bytes 0-9/100")], 206),
        ([HTML, (b"location", b"/elsewhere")], 302),
    ],
)
async def test_edges_untouched_responses(
    config: ConsentConfig, headers: list[tuple[bytes, bytes]], status: int
) -> None:
    chunks = [PAGE[:40], PAGE[40:]]
    sent = await call(ConsentMiddleware(responder(headers, chunks, status), config=config))
    assert [m["type"] for m in sent] == ["http.response.start"] + ["http.response.body"] * 2
    assert sent[0]["headers"] == headers
    assert sent[0]["status"] == status
    assert [m["body"] for m in sent[1:]] == chunks


async def test_edges_event_stream_keeps_every_message(config: ConsentConfig) -> None:
    events = [b"data: <body>\n\n", b"data: two\n\n", b""]
    app = ConsentMiddleware(responder([(b"content-type", b"text/event-stream")], events), config)
    sent = await call(app)
    assert [m.get("body") for m in sent[1:]] == events


@pytest.mark.parametrize(
    "content_type",
    [b"text/html", b"TEXT/HTML; charset=ISO-8859-1", b" text/html;charset=utf-8"],
)
async def test_edges_html_is_rewritten_with_exact_length(
    config: ConsentConfig, content_type: bytes
) -> None:
    headers = [(b"Content-Type", content_type), (b"Content-Length", str(len(PAGE)).encode())]
    sent = await call(ConsentMiddleware(responder(headers), config=config))
    body = body_of(sent)
    assert b'id="kruimel-banner"' in body
    assert [(k, v) for k, v in sent[0]["headers"] if k.lower() == b"content-length"] == [
        (b"content-length", str(len(body)).encode())
    ]
    assert len(sent) == 2 and sent[1].get("more_body", False) is False


async def test_edges_html_error_pages_get_the_banner_too(config: ConsentConfig) -> None:
    sent = await call(ConsentMiddleware(responder([HTML], status=404), config=config))
    assert sent[0]["status"] == 404 and b'id="kruimel-banner"' in body_of(sent)


async def test_edges_head_gets_get_headers_without_length(config: ConsentConfig) -> None:
    headers = [HTML, (b"content-length", b"1234"), (b"etag", b'"x"'), (b"vary", b"Origin")]
    app = ConsentMiddleware(responder(headers, chunks=[b""]), config=config)
    sent = await call(app, scope("HEAD"))
    assert headers_of(sent) == {
        b"content-type": b"text/html; charset=utf-8",
        b"vary": b"Origin, Cookie",
    }
    assert body_of(sent) == b""


async def test_edges_headers_given_as_tuple_of_lists(config: ConsentConfig) -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": ([b"content-type", b"text/html"],)})  # fmt: skip
        await send({"type": "http.response.body", "body": PAGE})

    sent = await call(ConsentMiddleware(app, config=config))
    assert b'id="kruimel-banner"' in body_of(sent)
    assert headers_of(sent)[b"content-length"] == str(len(body_of(sent))).encode()


async def test_edges_streaming_body_every_split_point(config: ConsentConfig) -> None:
    """A tag split across chunks (<head>, </head>, <body>, a gated <script>) is still found."""
    cookie_free = await call(ConsentMiddleware(responder([HTML], [PAGE]), config=config))
    whole = body_of(cookie_free)
    assert whole.count(b'id="kruimel-banner"') == 1 and b"banner.js" in whole
    for i in range(1, len(PAGE)):
        app = ConsentMiddleware(responder([HTML], [PAGE[:i], PAGE[i:]]), config=config)
        sent = await call(app)
        assert body_of(sent) == whole, i
        assert b"content-length" not in headers_of(sent)  # streamed: the server chunks it


async def test_edges_streaming_activation_every_split_point(config: ConsentConfig) -> None:
    from consent.cookie import dump_token
    from consent.state import ConsentState

    state = ConsentState.decide(config, {"marketing": True})
    cookie = (b"cookie", f"{config.cookie_name}={dump_token(config, state)}".encode())
    request = scope(headers=[cookie])
    whole = body_of(await call(ConsentMiddleware(responder([HTML], [PAGE]), config), request))
    assert b'<script data-consent="marketing" src="/p.js" data-consent-active></script>' in whole
    for i in range(1, len(PAGE), 3):
        for j in range(i, len(PAGE), 17):
            chunks = [PAGE[:i], PAGE[i:j], PAGE[j:]]
            app = ConsentMiddleware(responder([HTML], chunks), config=config)
            assert body_of(await call(app, request)) == whole, (i, j)


async def test_edges_streaming_keeps_streaming(config: ConsentConfig) -> None:
    """The first part goes out before the app has produced the rest."""
    sent: list[Message] = []
    seen_before_last: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [HTML]})
        head, rest = PAGE.split(b"<p>hallo</p>")
        await send({"type": "http.response.body", "body": head, "more_body": True})
        await send({"type": "http.response.body", "body": b"<p>x</p>" * 100, "more_body": True})
        seen_before_last.append(body_of(sent))
        await send({"type": "http.response.body", "body": rest, "more_body": False})

    async def receive() -> Message:
        return {"type": "http.request"}

    async def capture(message: Message) -> None:
        sent.append(message)

    await ConsentMiddleware(app, config=config)(scope(), receive, capture)
    [early] = seen_before_last
    assert b'id="kruimel-banner"' in early
    assert early.count(b"<p>x</p>") >= 98  # all but a short tail
    assert sent[-1]["more_body"] is False
    assert body_of(sent).endswith(b"<p>x</p>" * 100 + b"</body></html>")


async def test_edges_trailers_follow_the_body(config: ConsentConfig) -> None:
    trailers = {"type": "http.response.trailers", "headers": [(b"x-check", b"1")]}
    app = responder([HTML], [PAGE], extra=[trailers], start={"trailers": True})
    sent = await call(ConsentMiddleware(app, config=config))
    assert [m["type"] for m in sent] == [
        "http.response.start",
        "http.response.body",
        "http.response.trailers",
    ]
    assert b'id="kruimel-banner"' in body_of(sent)
    assert b"content-length" not in headers_of(sent)  # trailers need chunked framing


async def test_edges_pathsend_html_is_read_and_rewritten(
    config: ConsentConfig, tmp_path: Path
) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(PAGE)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [HTML, (b"content-length", str(len(PAGE)).encode())]})  # fmt: skip
        await send({"type": "http.response.pathsend", "path": str(path)})

    sent = await call(ConsentMiddleware(app, config=config))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert b'id="kruimel-banner"' in body_of(sent)
    assert headers_of(sent)[b"content-length"] == str(len(body_of(sent))).encode()


async def test_edges_pathsend_non_html_passes(config: ConsentConfig, tmp_path: Path) -> None:
    message = {"type": "http.response.pathsend", "path": str(tmp_path / "x.css")}
    app = responder([(b"content-type", b"text/css")], chunks=[], extra=[message])
    sent = await call(ConsentMiddleware(app, config=config))
    assert sent[1] is message


@pytest.mark.parametrize("kind", ["websocket", "lifespan"])
async def test_edges_other_scopes_pass_straight_through(config: ConsentConfig, kind: str) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((scope, receive, send))

    async def receive() -> Message:
        return {}

    async def send(message: Message) -> None:
        return None

    original = {"type": kind, "asgi": {"version": "3.0"}, "path": "/_consent", "headers": []}
    await ConsentMiddleware(app, config=config)(original, receive, send)
    [(got_scope, got_receive, got_send)] = seen
    assert got_scope is original and "consent" not in got_scope
    assert got_receive is receive and got_send is send


async def test_edges_every_http_request_gets_a_state(config: ConsentConfig) -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["consent"])
        await responder([(b"content-type", b"text/plain")], [b"ok"])(scope, receive, send)

    await call(ConsentMiddleware(app, config=config))
    await call(ConsentMiddleware(app, config=config), scope(headers=[(b"sec-gpc", b"1")]))
    others = [(b"cookie", b"sessionid=abc; kruimel_lang=en"), (b"sec-gpc", b"1")]
    await call(ConsentMiddleware(app, config=config), scope(headers=others))
    assert [s.decided for s in seen] == [False, False, False]
    assert [s.gpc for s in seen] == [False, True, True]
    # Without a consent cookie there is no id yet: it is minted when the visitor decides.
    assert [s.id for s in seen] == ["", "", ""]
