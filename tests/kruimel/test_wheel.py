"""The wheel carries the browser assets: build it, install it into a fresh venv, serve banner.js."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, httpx, consent, kruimel.base.assets
from starlette.applications import Starlette
from consent import ConsentConfig, ConsentMiddleware

assert "{venv}" in consent.__file__, consent.__file__
app = ConsentMiddleware(Starlette(), config=ConsentConfig(
    controller="Wheel B.V.", privacy_url="/privacy", policy_version="1",
    secret_keys=("k",)))
async def fetch():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return await client.get("/_consent/static/banner.js")
r = asyncio.run(fetch())
assert r.status_code == 200, r.status_code
print(kruimel.base.assets.asset_dir())
print(len(r.content))
"""


@pytest.mark.slow
def test_wheel_ships_banner_assets(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    wheel = next(dist.glob("kruimel-*.whl"))
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    target = (
        env_dir / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Dependencies come from the test venv, added as a plain path: its .pth files (among them
    # the editable install that points at this checkout) are not processed, so `consent`
    # can only come from the wheel.
    (target / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    out = subprocess.run(
        [str(env_dir / "bin" / "python"), "-c", SCRIPT.format(venv=env_dir)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    asset_dir, size = out.stdout.split()
    assert asset_dir.startswith(str(env_dir)) and asset_dir.endswith("kruimel/_static/banner")
    assert int(size) == (ROOT / "static" / "banner" / "banner.js").stat().st_size
