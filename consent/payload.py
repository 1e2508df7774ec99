"""The body of a request to the consent endpoints: a plain form (the banner without
JavaScript) or JSON (banner.js, an API client), at most :data:`MAX_BODY` bytes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import Receive

from kruimel.base.body import BodyTooLarge, ClientGone, declared_too_large, read_body

from .errors import ConsentRequestError

__all__ = ["FORM", "MAX_BODY", "read_payload"]

MAX_BODY = 8 * 1024
FORM = "application/x-www-form-urlencoded"


async def read_payload(
    receive: Receive, headers: Mapping[str, str]
) -> tuple[list[tuple[str, str]] | None, Any]:
    """The body: ``(fields, None)`` for a plain form, ``(None, data)`` for JSON.

    :raises ConsentRequestError: too large (413), another type (415), malformed or cut off
        (400).
    """
    too_large = ConsentRequestError(413, f"body larger than {MAX_BODY} bytes")
    if declared_too_large(headers.get("content-length", ""), MAX_BODY):
        raise too_large
    try:
        body = await read_body(receive, MAX_BODY)
    except BodyTooLarge as e:
        raise too_large from e
    except ClientGone as e:
        raise ConsentRequestError(400, "the client went away") from e
    kind = headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == FORM:
        try:
            return parse_qsl(body.decode("utf-8"), max_num_fields=64), None
        except (ValueError, UnicodeDecodeError) as e:
            raise ConsentRequestError(400, "malformed form") from e
    if kind != "application/json":
        raise ConsentRequestError(415, f"send application/json or {FORM}")
    try:
        return None, json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        raise ConsentRequestError(400, "malformed JSON") from e
