"""``/_consent/optout``: the visitor's objection to the anonymous statistics.

The objection is a cookie without an identifier (:mod:`kruimel.base.optout`, which the
collector reads too), recorded or taken back with JSON or a plain form. It is no consent
decision, so nothing goes to the consent log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.responses import JSONResponse, RedirectResponse, Response

from kruimel.base.headers import append_header
from kruimel.base.optout import optout_cookie_header

from .errors import ConsentRequestError
from .origin import safe_next

if TYPE_CHECKING:
    from .endpoints import _Exchange

__all__ = ["get_optout", "post_optout", "take_back"]

_NO_STORE = {"Cache-Control": "no-store"}


async def get_optout(ex: _Exchange) -> Response:
    """``GET``: whether the visitor objects."""
    return JSONResponse({"optout": ex.opted_out()}, headers=_NO_STORE)


async def post_optout(ex: _Exchange) -> Response:
    """``POST``: ``{"optout": true|false}``, or a form with ``optout=1|0`` (redirected back)."""
    fields, data = await ex.read_payload()
    if fields is not None:
        values = dict(fields)
        if values.get("optout") not in ("0", "1"):
            raise ConsentRequestError(400, "optout must be 1 (object) or 0 (take it back)")
        target = safe_next(values.get("next") or ex.headers.get("referer"), ex.own_origin)
        response: Response = RedirectResponse(target, 303, headers=_NO_STORE)
        return _set_optout(ex, response, values["optout"] == "1")
    if not isinstance(data, dict) or not isinstance(data.get("optout"), bool):
        raise ConsentRequestError(400, 'send {"optout": true} or {"optout": false}')
    response = JSONResponse({"optout": data["optout"]}, headers=_NO_STORE)
    return _set_optout(ex, response, data["optout"])


async def take_back(ex: _Exchange) -> Response:
    """``DELETE``: the objection is taken back."""
    return _set_optout(ex, JSONResponse({"optout": False}, headers=_NO_STORE), False)


def _set_optout(ex: _Exchange, response: Response, opted_out: bool) -> Response:
    value = optout_cookie_header(opted_out, secure=ex.scheme == "https")
    append_header(response.raw_headers, b"set-cookie", value)
    return response
