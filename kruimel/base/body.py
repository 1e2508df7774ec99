"""The one helper for reading a request body under a size limit.

Both halves take small bodies (an event, a consent decision): a client that sends more than
the limit, or says it will in ``Content-Length``, is refused before more is read, and one
that goes away mid-body is told apart from a bad request.
"""

from __future__ import annotations

from starlette.types import Receive

__all__ = ["BodyTooLarge", "ClientGone", "declared_too_large", "read_body"]


class BodyTooLarge(Exception):
    """The body is larger than the limit; answer 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the body is larger than {limit} bytes")
        self.limit = limit


class ClientGone(Exception):
    """The client disconnected before the whole body came."""


def declared_too_large(content_length: bytes | str, limit: int) -> bool:
    """Whether a ``Content-Length`` value announces more than ``limit`` bytes."""
    value = content_length if isinstance(content_length, str) else content_length.decode("latin-1")
    # isascii: str.isdigit() also holds for "²", which int() refuses
    return value.isascii() and value.isdigit() and int(value) > limit


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, at most ``limit`` bytes.

    :raises BodyTooLarge: more than ``limit`` bytes came (the rest is not read).
    :raises ClientGone: an ``http.disconnect`` came first.
    """
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)
