"""The one helper for editing ASGI header lists.

ASGI carries headers as an iterable of ``(name, value)`` byte pairs. Middleware that edits
a response works on that raw form: building a :class:`starlette.datastructures.MutableHeaders`
per response costs more than the edit, and its ``__setitem__`` would fold repeated headers
(``Set-Cookie`` must never be folded). Every function here takes a ``list`` of pairs, edits
it in place, and compares names case-insensitively: ASGI asks servers to lower-case request
header names, but an application may send ``Content-Type`` as written.

Typical use in a ``send`` wrapper::

    headers = header_list(message)          # a list now, stored back on the message
    delete_header(headers, b"etag")
    merge_vary(headers, b"Cookie")
    append_header(headers, b"set-cookie", b"name=; Max-Age=0; Path=/")
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

__all__ = [
    "RawHeaders",
    "append_header",
    "delete_header",
    "get_all",
    "get_header",
    "header_list",
    "merge_vary",
    "set_header",
]

RawHeaders = list[tuple[bytes, bytes]]


def header_list(message: MutableMapping[str, Any]) -> RawHeaders:
    """The message's headers as a mutable list of byte pairs, stored back on the message.

    Servers and frameworks may hand over a tuple, or ``[name, value]`` lists; this copies
    them once into the shape every other function here expects.
    """
    headers = message.get("headers")
    if type(headers) is list and all(type(pair) is tuple for pair in headers):
        return headers
    fixed: RawHeaders = [(bytes(name), bytes(value)) for name, value in headers or ()]
    message["headers"] = fixed
    return fixed


def get_header(headers: RawHeaders, name: bytes) -> bytes | None:
    """The first value of header ``name`` (lower-case bytes), or ``None``."""
    for key, value in headers:
        if key == name or key.lower() == name:
            return value
    return None


def get_all(headers: RawHeaders, name: bytes) -> list[bytes]:
    """Every value of header ``name`` (lower-case bytes), in order."""
    return [value for key, value in headers if key == name or key.lower() == name]


def append_header(headers: RawHeaders, name: bytes, value: bytes) -> None:
    """Add one more ``name: value`` line; the only right way to add a ``Set-Cookie``."""
    headers.append((name, value))


def delete_header(headers: RawHeaders, name: bytes) -> None:
    """Remove every ``name`` line (lower-case bytes)."""
    headers[:] = [pair for pair in headers if pair[0] != name and pair[0].lower() != name]


def set_header(headers: RawHeaders, name: bytes, value: bytes) -> None:
    """Replace every ``name`` line by one ``name: value`` (e.g. ``Content-Length``)."""
    delete_header(headers, name)
    headers.append((name, value))


def merge_vary(headers: RawHeaders, token: bytes) -> None:
    """Add ``token`` to ``Vary`` unless it (or ``*``) is already listed, keeping one line.

    Several ``Vary`` lines are folded into one, so a cache sees the complete list.
    """
    existing = get_all(headers, b"vary")
    if not existing:
        headers.append((b"vary", token))
        return
    wanted = token.lower()
    tokens: list[bytes] = []
    for value in existing:
        for item in value.split(b","):
            item = item.strip()
            if item and item.lower() not in (t.lower() for t in tokens):
                tokens.append(item)
    lowered = [t.lower() for t in tokens]
    if b"*" in lowered:
        set_header(headers, b"vary", b"*")
        return
    if wanted not in lowered:
        tokens.append(token)
    set_header(headers, b"vary", b", ".join(tokens))
