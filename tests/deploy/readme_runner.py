"""Runs the ```python blocks of a Markdown file in order, in one namespace, as a reader who
pastes them one after the other would; then drives every ASGI app a block defines through
its lifespan and ``GET /_consent``. Prints one JSON line per block. Used by test_readme.py in
a process of its own (chDB and Django's settings are per process)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import types
from pathlib import Path
from typing import Any

import httpx

from tests.deploy.conftest import lifespan

APP_NAMES = ("app", "application", "quart_app")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


async def probe(app: Any) -> dict[str, Any]:
    async with lifespan(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://docs.test") as c:
            answer = await c.get("/_consent")
            return {"status": answer.status_code, "body": answer.json()}


def main(path: str) -> None:
    # A real module, as a pasted file would be (Litestar reads a handler's module).
    module = types.ModuleType("readme")
    sys.modules["readme"] = module
    namespace: dict[str, Any] = module.__dict__
    for number, block in enumerate(python_blocks(Path(path).read_text(encoding="utf-8")), 1):
        before = {name: namespace.get(name) for name in APP_NAMES}
        exec(compile(block, f"{path} block {number}", "exec"), namespace)
        apps = [n for n in APP_NAMES if n in namespace and namespace[n] is not before[n]]
        probes = {name: asyncio.run(probe(namespace[name])) for name in apps}
        print(json.dumps({"block": number, "probes": probes}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
