"""The committed browser scripts are the build of their readable sources.

``static/banner/src/*.js`` (and ``kruimel/base/shared.json``, which they import) are the sources;
``make assets`` builds ``static/banner/*.js`` and the precompressed ``.gz``/``.br`` beside
every served file. These tests rebuild into a temporary folder with the pinned esbuild
(installed by ``make browser-deps``) and compare bytes, so an edit to a source without a
rebuild, or to a built file by hand, fails here.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
from pathlib import Path

import pytest

from kruimel.base.assets import asset_version
from kruimel.base.shared import LANGUAGE_COOKIE

ROOT = Path(__file__).parent.parent
ASSETS = ROOT / "static" / "banner"
SCRIPTS = ("tracker.js", "banner.js", "consent-mode.js", "kruimel.js")
SERVED = (*SCRIPTS, "banner.css", "policy.css")
FIX = (
    "edit static/banner/src/ (or kruimel/base/shared.json), run `make assets` and commit the result"
)


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "esbuild").is_dir():
        pytest.fail("Node.js or esbuild is missing: run `make browser-deps` (needs Node.js)")
    return node


def _brotli_decompress(node: str, path: Path) -> bytes:
    """Brotli via Node's zlib (Python's standard library has no brotli)."""
    script = (
        "process.stdout.write(require('zlib').brotliDecompressSync("
        "require('fs').readFileSync(process.argv[1])))"
    )
    return subprocess.run(
        [node, "-e", script, str(path)], check=True, capture_output=True, timeout=60
    ).stdout


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    node = _node()
    out = tmp_path_factory.mktemp("assets")
    subprocess.run(
        [node, str(ASSETS / "build.mjs"), "--out", str(out)],
        check=True,
        cwd=ROOT,
        timeout=120,
    )
    return out


@pytest.mark.parametrize("name", SCRIPTS)
def test_committed_script_is_the_build_of_its_source(built: Path, name: str) -> None:
    assert (ASSETS / name).read_bytes() == (built / name).read_bytes(), f"{name}: {FIX}"


@pytest.mark.parametrize("name", SERVED)
def test_precompressed_files_hold_the_committed_file(name: str) -> None:
    original = (ASSETS / name).read_bytes()
    assert gzip.decompress((ASSETS / f"{name}.gz").read_bytes()) == original, f"{name}.gz: {FIX}"
    assert _brotli_decompress(_node(), ASSETS / f"{name}.br") == original, f"{name}.br: {FIX}"


@pytest.mark.parametrize("name", ("tracker.js", "banner.js", "banner.css"))
def test_static_site_snippet_loads_the_current_versions(name: str) -> None:
    # kruimel.js asks for ?v=<hash>; only the hash kruimel.base.assets computes is served immutable.
    assert f'"{name}":"{asset_version(name)}"' in (ASSETS / "kruimel.js").read_text(), FIX


def test_no_script_reads_the_language_cookie() -> None:
    # Why the consent endpoints may set it HttpOnly (issue 8): only the server reads it.
    sources = sorted((ASSETS / "src").glob("*.js"))
    assert sources and not [p.name for p in sources if LANGUAGE_COOKIE in p.read_text()]
    assert not [n for n in SCRIPTS if LANGUAGE_COOKIE in (ASSETS / n).read_text()]
