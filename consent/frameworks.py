"""Living in a framework's app: where ConsentMiddleware goes, and reading its state.

:func:`consent_of` gives a route the visitor's :class:`~consent.state.ConsentState`, typed
(``consent.fastapi.Consent`` is the same as a FastAPI dependency).

The middleware must wrap the whole app: it answers ``/_consent*`` itself and must see every
page. Litestar's ``middleware=[DefineMiddleware(ConsentMiddleware, ...)]`` instead builds
one instance per *matched route*, inside Litestar's router, so ``/_consent`` (which no
route matches) is a 404 and no visitor can ever decide. That placement is refused when the
app starts, with the wrapping that works.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp

from .errors import ConsentConfigError
from .state import ConsentState

__all__ = ["check_placement", "consent_of"]


def check_placement(app: ASGIApp) -> None:
    """Refuse a wrapped ``app`` that shows the middleware sits behind a router.

    :raises ConsentConfigError: ``app`` is one of Litestar's per-route handlers (the
        middleware was given to Litestar as ``DefineMiddleware``).
    """
    kind = type(app)
    if kind.__module__.partition(".")[0] == "litestar" and kind.__name__ != "Litestar":
        raise ConsentConfigError(
            "middleware",
            "Litestar runs DefineMiddleware(ConsentMiddleware, ...) only on matched routes, "
            "so /_consent would answer 404 and no visitor could decide; wrap the whole app "
            "instead: app = ConsentMiddleware(Litestar(route_handlers=[...]), config=config, "
            "log=log)",
            source="ConsentMiddleware",
        )


def consent_of(request: HTTPConnection) -> ConsentState:
    """The consent state ``ConsentMiddleware`` read for this request.

    :raises RuntimeError: the request did not pass through ``ConsentMiddleware`` (it is not
        installed, or installed where it does not see this route, e.g. Litestar's
        route-level ``DefineMiddleware``): a route must not guess a visitor's choice.
    """
    state = request.scope.get("consent")
    if not isinstance(state, ConsentState):
        raise RuntimeError(
            "no consent state on this request: ConsentMiddleware must wrap the whole app "
            "(app.add_middleware(ConsentMiddleware, config=..., log=...), or "
            "ConsentMiddleware(app, ...) for frameworks without add_middleware)"
        )
    return state
