"""What every token-protected analytics API shares: the bearer check, the JSON error body and
the store-outage answer. One home, so the summary and the query API answer alike."""

from __future__ import annotations

import hmac
import logging
from typing import Any

from starlette.responses import JSONResponse, Response

from kruimel.base.store import StoreError

__all__ = ["NO_STORE", "BearerToken", "error", "store_unavailable"]

NO_STORE = {"Cache-Control": "no-store"}
log = logging.getLogger("kruimel.analytics")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="kruimel"'}


class BearerToken:
    """Checks ``Authorization: Bearer TOKEN`` against the configured token in constant time.

    :param token: the configured API token (``KRUIMEL_API_TOKEN``), or ``None`` when unset.
    :param api: the API's name for the "no token set" message, e.g. ``"summary API"``.
    """

    def __init__(self, token: str | None, api: str) -> None:
        self._token = token.encode() if token else None
        self._api = api

    def refuse(self, header: str) -> Response | None:
        """A 401 answer for a missing or wrong token (or none configured), else ``None``."""
        if self._token is None:
            return error(
                401,
                "the server has no API token set: set KRUIMEL_API_TOKEN in the server's "
                f"environment to use the {self._api}",
                _CHALLENGE,
            )
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return error(401, "send Authorization: Bearer <token>", _CHALLENGE)
        # Constant time: the comparison must not reveal how much of the token matched.
        if not hmac.compare_digest(given.strip().encode(), self._token):
            return error(
                401,
                "the bearer token is wrong",
                {"WWW-Authenticate": 'Bearer realm="kruimel", error="invalid_token"'},
            )
        return None


def error(
    status: int,
    message: str,
    headers: dict[str, Any] | None = None,
    *,
    parameter: str | None = None,
) -> Response:
    """The JSON error answer: ``{"error": message}`` (plus ``"parameter"`` for a 400 that
    names a query parameter), never cached."""
    body = {"error": message} | ({"parameter": parameter} if parameter else {})
    return JSONResponse(body, status_code=status, headers=NO_STORE | (headers or {}))


def store_unavailable(e: BaseException, api: str) -> Response:
    """The 503 for a store that did not answer; re-raises ``e`` when it is not (only) a store
    error. Queries may run in a task group, so the failure can arrive as an exception group."""
    if not _only_store_errors(e):
        raise e
    log.warning("%s: the store did not answer: %s", api, e)
    return error(503, "the store is unavailable; retry later", {"Retry-After": "30"})


def _only_store_errors(e: BaseException) -> bool:
    if isinstance(e, BaseExceptionGroup):
        return all(_only_store_errors(inner) for inner in e.exceptions)
    return isinstance(e, StoreError)
