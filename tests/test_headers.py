"""kruimel.base.headers: edits of raw ASGI header lists."""

from __future__ import annotations

from typing import Any

import pytest

import kruimel.base.headers
from kruimel.base.headers import (
    RawHeaders,
    append_header,
    delete_header,
    get_all,
    get_header,
    header_list,
    merge_vary,
    set_header,
)


def test_headers_exports_are_the_public_api() -> None:
    assert sorted(kruimel.base.headers.__all__) == [
        "RawHeaders",
        "append_header",
        "delete_header",
        "get_all",
        "get_header",
        "header_list",
        "merge_vary",
        "set_header",
    ]


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, []),
        ((), []),
        ([[b"a", b"1"]], [(b"a", b"1")]),
        (((b"a", b"1"), (b"b", b"2")), [(b"a", b"1"), (b"b", b"2")]),
        ([(bytearray(b"a"), bytearray(b"1"))], [(b"a", b"1")]),
    ],
)
def test_header_list_normalises_and_stores_back(given: Any, expected: RawHeaders) -> None:
    message: dict[str, Any] = {"type": "http.response.start", "headers": given}
    headers = header_list(message)
    assert headers == expected
    assert message["headers"] is headers
    assert all(type(pair) is tuple for pair in headers)


def test_header_list_keeps_a_list_of_tuples_as_is() -> None:
    original = [(b"a", b"1")]
    assert header_list({"headers": original}) is original


def test_get_header_is_case_insensitive_and_first_wins() -> None:
    headers = [(b"Content-Type", b"text/html"), (b"content-type", b"text/plain")]
    assert get_header(headers, b"content-type") == b"text/html"
    assert get_header(headers, b"etag") is None
    assert get_all(headers, b"content-type") == [b"text/html", b"text/plain"]


def test_append_header_keeps_repeated_set_cookie() -> None:
    headers: RawHeaders = [(b"set-cookie", b"a=1")]
    append_header(headers, b"set-cookie", b"b=2")
    assert get_all(headers, b"set-cookie") == [b"a=1", b"b=2"]


def test_set_header_replaces_every_line() -> None:
    headers = [(b"Content-Length", b"10"), (b"x", b"y"), (b"content-length", b"11")]
    set_header(headers, b"content-length", b"42")
    assert headers == [(b"x", b"y"), (b"content-length", b"42")]


def test_delete_header_removes_every_line_and_tolerates_absence() -> None:
    headers = [(b"ETag", b'"a"'), (b"x", b"y"), (b"etag", b'"b"')]
    delete_header(headers, b"etag")
    delete_header(headers, b"last-modified")
    assert headers == [(b"x", b"y")]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ([], b"Cookie"),
        ([b"Accept-Encoding"], b"Accept-Encoding, Cookie"),
        ([b"cookie"], b"cookie"),
        ([b"Accept-Encoding, Cookie"], b"Accept-Encoding, Cookie"),
        ([b"Accept-Encoding", b"Origin"], b"Accept-Encoding, Origin, Cookie"),
        ([b"Origin, origin"], b"Origin, Cookie"),
        ([b"*"], b"*"),
        ([b" , "], b"Cookie"),
    ],
)
def test_merge_vary_adds_token_once_on_one_line(before: list[bytes], after: bytes) -> None:
    headers: RawHeaders = [(b"vary", value) for value in before]
    headers.insert(0, (b"content-type", b"text/html"))
    merge_vary(headers, b"Cookie")
    assert get_all(headers, b"vary") == [after]
    assert headers[0] == (b"content-type", b"text/html")
