"""The README works as written: its Python blocks run, in order, and every app they build
answers ``/_consent`` after its lifespan has opened the store; every command it shows names
an existing make target, parses with the CLI's own parser, names an importable uvicorn
target, or installs an extra that exists."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from uvicorn.importer import import_from_string

from kruimel import cli

from .conftest import KEY, repo_root

ROOT = repo_root()
README = ROOT / "README.md"
# A stand-in project for the Django snippet ("mysite.settings").
DJANGO_SETTINGS = """
SECRET_KEY = "docs-test-" + "x" * 40
ROOT_URLCONF = "mysite.urls"
ALLOWED_HOSTS = ["*"]
MIDDLEWARE = ["django.middleware.gzip.GZipMiddleware"]
"""


def blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def commands(text: str) -> list[str]:
    """Every command line of the ```sh blocks, continuations joined, comments dropped."""
    found = []
    for block in blocks(text, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("  #")[0].strip()
            if line and not line.startswith("#"):
                found.append(line)
    return found


@pytest.mark.slow
def test_readme_python_blocks_run_as_written(tmp_path: Path) -> None:
    (tmp_path / "mysite").mkdir()
    (tmp_path / "mysite" / "__init__.py").write_text("")
    (tmp_path / "mysite" / "settings.py").write_text(DJANGO_SETTINGS)
    (tmp_path / "mysite" / "urls.py").write_text("urlpatterns = []\n")
    env = {
        **os.environ,
        "KRUIMEL_SECRET_KEY": KEY,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(tmp_path)]),
    }
    env.pop("KRUIMEL_STORE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "tests.deploy.readme_runner", str(README)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(results) == len(blocks(README.read_text(), "python")) >= 6
    probes = [p for r in results for p in r["probes"].values()]
    # The drop-in, compression, FastAPI, Django, Litestar and Quart snippets each build an app.
    assert len(probes) >= 6
    for probe in probes:
        assert probe["status"] == 200 and probe["body"]["decided"] is False, probe
    # The store was opened by the lifespan, where the snippets say, and nowhere else.
    assert (tmp_path / "kruimel-data" / "store").is_dir()


def test_readme_toml_blocks_parse() -> None:
    for block in blocks(README.read_text(), "toml"):
        tomllib.loads(block)


def _make_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return set(re.findall(r"^([A-Za-z][\w.-]*):", text, flags=re.M))


def _kruimel_variants(args: list[str]) -> list[list[str]]:
    """A synopsis line (``kruimel demo [--port 8000] [--url URL | --config FILE]``) as the
    commands it stands for: the required part, and it with each alternative of each group."""
    line = " ".join(args)
    groups = re.findall(r"\[([^\]]*)\]", line)
    base = re.sub(r"\s*\[[^\]]*\]", "", line).split()
    variants = [base]
    for group in groups:
        for option in group.split("|"):
            variants.append(base + option.replace("...", "").split())
    return variants


def check_command(line: str, parser: object) -> None:
    outside_options = re.sub(r"\[[^\]]*\]", "", line)  # '|' inside [a | b] is a synopsis
    if " | " in outside_options:  # a pipeline: check each command of it
        first, rest = line.split(" | ", 1)
        check_command(first, parser)
        check_command(rest, parser)
        return
    words = shlex.split(line)
    if words[0] == "echo":  # what a README pipes into a command is JSON, and must parse
        json.loads(" ".join(words[1:]))
        return
    if words[0] == "export":
        assert re.fullmatch(r"[A-Z_]+=.*", words[1]), line
        return
    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):  # VAR=value command
        words.pop(0)
    tool, args = words[0], words[1:]
    if tool == "make":
        targets = [a for a in args if "=" not in a]
        assert set(targets) <= _make_targets(), line
    elif tool == "kruimel":
        for variant in _kruimel_variants(args):
            try:
                parser.parse_args(variant)  # type: ignore[attr-defined]
            except SystemExit:
                pytest.fail(f"README command does not parse: kruimel {' '.join(variant)}")
    elif tool == "uvicorn":
        assert import_from_string(args[0]) is not None, line
    elif tool == "pip":
        assert args[0] == "install", line
        extras = set(re.findall(r"^(\w+) = \[", (ROOT / "pyproject.toml").read_text(), re.M))
        for arg in args[1:]:
            for wanted in re.findall(r"kruimel\[([\w,]+)\]", arg):
                assert set(wanted.split(",")) <= extras, line
    elif tool in ("bash", "python"):
        assert (ROOT / args[0]).is_file(), line
    elif tool == "curl":
        # Needs a running server; the summary API has its own tests (test_api_summary.py).
        assert any(a.startswith("http://127.0.0.1:8000/_analytics/api/") for a in args), line
    else:
        pytest.fail(f"a README command this test does not know how to check: {line}")


def test_readme_commands_work_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", KEY)
    monkeypatch.syspath_prepend(str(ROOT))
    parser = cli._parser()
    lines = commands(README.read_text())
    assert any(line.startswith("kruimel summary") for line in lines)
    for line in lines:
        check_command(line, parser)


def test_examples_run_lines_name_real_targets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each example's docstring says how to run it; the target it names exists."""
    monkeypatch.setenv("KRUIMEL_SECRET_KEY", KEY)
    monkeypatch.syspath_prepend(str(ROOT))
    runs = []
    for path in sorted((ROOT / "examples").glob("*.py")):
        runs += re.findall(r"^Run:\s+(.*)$", path.read_text(), flags=re.M)
    assert len(runs) >= 6
    for run in runs:
        words = shlex.split(run)
        assert words[0] == "uvicorn", run
        assert import_from_string(words[1]) is not None, run
