"""Which serving stack uvicorn runs: its HTTP parser and its event loop.

``kruimel demo`` and ``kruimel serve`` leave uvicorn's ``http`` and ``loop`` at ``"auto"``:
httptools and uvloop (dependencies of Kruimel) where they are installed, h11 and asyncio
where they cannot be (Windows, PyPy). The fast stack serves about twice the requests per CPU
second, so the commands print the one that runs at start (see ``bench/ingest.py``).
"""

from __future__ import annotations

__all__ = ["serving_stack"]


def serving_stack() -> str:
    """The stack uvicorn picks with ``http="auto"`` and ``loop="auto"``, e.g.
    ``"uvicorn 0.55.0, httptools + uvloop"``.

    Resolved by uvicorn's own ``auto`` modules, so it names what uvicorn will really use.
    """
    import uvicorn
    from uvicorn.loops.auto import auto_loop_factory
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    http = "httptools" if AutoHTTPProtocol.__module__.endswith("httptools_impl") else "h11"
    factory = auto_loop_factory()
    loop = "uvloop" if getattr(factory, "__module__", "").startswith("uvloop") else "asyncio"
    return f"uvicorn {uvicorn.__version__}, {http} + {loop}"
