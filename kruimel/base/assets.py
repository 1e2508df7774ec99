"""The browser assets (banner, tracker, static-site snippet) and how they are served.

In a checkout they live in ``static/banner/`` at the top of the repository; in an installed
wheel in ``kruimel/_static/banner/``. Both the consent middleware (``/_consent/static/``) and
the collector (``/_analytics/script.js``, ``/_analytics/kruimel.js``) serve them through
:class:`AssetFiles`, which adds cache headers: a URL carrying the file's content hash
(``?v=...``, see :func:`asset_url`) is immutable for a year, any other for an hour.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.responses import JSONResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from kruimel.base.headers import header_list, set_header

__all__ = ["AssetFiles", "asset_dir", "asset_path", "asset_url", "asset_version"]

_INSTALLED = Path(__file__).parent.parent / "_static" / "banner"
_CHECKOUT = Path(__file__).parent.parent.parent / "static" / "banner"
_IMMUTABLE = b"public, max-age=31536000, immutable"
_REVALIDATE = b"public, max-age=3600"
# Precompressed copies written by the build (make assets), best first.
_SUFFIX = {"br": ".br", "gzip": ".gz"}
_COMPRESSED = tuple(_SUFFIX.values())


@cache
def _precompressed(name: str) -> tuple[str, ...]:
    """The content codings the build wrote a copy of ``name`` in, best first (an existing
    file's name only, so the cache holds at most one entry per asset)."""
    return tuple(c for c, suffix in _SUFFIX.items() if (asset_dir() / (name + suffix)).is_file())


def _encoding(scope: Scope, name: str) -> str | None:
    """The best precompressed copy of ``name`` the request's ``Accept-Encoding`` allows."""
    accepted: set[str] = set()
    for key, value in scope.get("headers", ()):
        if key == b"accept-encoding":
            for item in value.decode("latin-1").split(","):
                coding, _, params = item.strip().lower().partition(";")
                q = params.strip().removeprefix("q=")
                if not params or (q.replace(".", "", 1).isdigit() and float(q) > 0):
                    accepted.add(coding.strip())
    return next((c for c in _precompressed(name) if c in accepted), None)


_RANGE_HEADERS = frozenset({b"range", b"if-range"})


@cache
def asset_dir() -> Path:
    """The directory holding ``banner.js``, ``banner.css``, ``tracker.js``, ``kruimel.js``."""
    for candidate in (_INSTALLED, _CHECKOUT):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"Kruimel's browser assets are missing: looked in {_INSTALLED} and {_CHECKOUT}. "
        "Reinstall the package (pip install kruimel)."
    )


def asset_path(name: str) -> Path:
    """Path of one asset file by name, e.g. ``asset_path("banner.js")``."""
    return asset_dir() / name


@cache
def asset_version(name: str) -> str:
    """A short content hash of the asset, for cache-busting URLs."""
    return hashlib.sha256(asset_path(name).read_bytes()).hexdigest()[:12]


def asset_url(prefix: str, name: str) -> str:
    """URL of ``name`` under the mount ``prefix``, with its content hash."""
    return f"{prefix.rstrip('/')}/{name}?v={asset_version(name)}"


class AssetFiles:
    """ASGI app serving the asset directory with ETag/304 and long-lived caching.

    :param files: restrict to these file names (others answer 404), e.g. the collector
        serves only the tracker and the snippet.
    :param aliases: extra names mapped to asset files, e.g. ``{"script.js": "tracker.js"}``.
    """

    def __init__(
        self, *, files: frozenset[str] | None = None, aliases: dict[str, str] | None = None
    ) -> None:
        self._static = StaticFiles(directory=asset_dir())
        self._aliases = dict(aliases or {})
        # The servable names, fixed at start: the scripts and style sheets in the asset
        # directory itself (not its subdirectories, nor the build script, nor the
        # precompressed copies, which are only ever sent as the Content-Encoding of the
        # file they hold), restricted to ``files`` when given.
        self._names = frozenset(
            path.name
            for path in asset_dir().iterdir()
            if path.is_file()
            and path.suffix in (".js", ".css")
            and (files is None or path.name in files)
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "").rsplit("/", 1)[-1]
        name = self._aliases.get(path, path)
        if name not in self._names:
            # Only the known file names are served: a missing file, '..', a NUL or a name
            # too long for the file system never reaches the disk (StaticFiles would raise
            # out of a bare ASGI app, which the server answers with a 500).
            await _error(404, "not found")(scope, receive, send)
            return
        if scope.get("method") not in ("GET", "HEAD"):
            await _error(405, "use GET or HEAD", {"Allow": "GET, HEAD"})(scope, receive, send)
            return
        coding = _encoding(scope, name)
        # The assets are a few KB: always sent whole. A Range header is dropped, since a
        # malformed one would get Starlette's plain-text 400 instead of a JSON error (and a
        # range of a precompressed copy is not one of the file).
        kept = [(k, v) for k, v in scope.get("headers", ()) if k not in _RANGE_HEADERS]
        path = "/" + name + (_SUFFIX[coding] if coding else "")
        scope = dict(scope, path=path, headers=kept)
        query = scope.get("query_string", b"").decode("latin-1")
        immutable = f"v={asset_version(name)}" in query.split("&")
        varies = bool(_precompressed(name))

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] in (200, 304):
                headers = header_list(message)
                set_header(headers, b"cache-control", _IMMUTABLE if immutable else _REVALIDATE)
                set_header(headers, b"x-content-type-options", b"nosniff")
                if varies:
                    set_header(headers, b"vary", b"Accept-Encoding")
                if coding and message["status"] == 200:
                    set_header(headers, b"content-encoding", coding.encode("ascii"))
            await send(message)

        await self._static(scope, receive, send_with_cache)


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An error as every Kruimel endpoint answers one: ``{"error": ...}``, not cached."""
    return JSONResponse(
        {"error": message}, status, headers={"Cache-Control": "no-store", **(headers or {})}
    )
