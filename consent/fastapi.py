"""Reading the visitor's consent in FastAPI (and any Starlette-based) route, typed.

``ConsentMiddleware`` puts the visitor's :class:`~consent.state.ConsentState` into the
request scope. :func:`consent_of` reads it from a request; :data:`Consent` is the same as a
FastAPI dependency::

    from consent.fastapi import Consent

    @app.get("/")
    async def home(consent: Consent) -> dict[str, bool]:
        return {"marketing": consent.allows("marketing")}

Importing this module needs FastAPI (``pip install fastapi``); :func:`consent_of` itself
lives in :mod:`consent.frameworks` and works with any Starlette ``Request``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from .frameworks import consent_of
from .state import ConsentState

__all__ = ["Consent", "consent_of"]


async def _consent(connection: HTTPConnection) -> ConsentState:
    # async: FastAPI would run a plain function on a worker thread, once per request.
    return consent_of(connection)


#: A FastAPI dependency: ``async def route(consent: Consent)`` gets the visitor's state.
Consent = Annotated[ConsentState, Depends(_consent)]
