"""Opening the store where deployments need it: ``ConsentLog.open`` connects in the lifespan
(not at import), and a ``chdb://`` URL without the ``embedded`` extra says what to install."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from consent.records import ConsentLog
from kruimel.base.store import StoreError

from .conftest import KEY, repo_root

# chDB is a dependency of the test environment; a None entry in sys.modules is how Python
# itself marks a module as not importable, so this is "pip uninstall chdb" for one process.
WITHOUT_CHDB = "import sys; sys.modules['chdb'] = None\n"


def run_without_chdb(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_CHDB + code],
        cwd=tmp_path,
        env={**os.environ, "KRUIMEL_SECRET_KEY": KEY, "PYTHONPATH": str(repo_root())},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_chdb_url_without_the_extra_names_the_install(tmp_path: Path) -> None:
    done = run_without_chdb(
        "from kruimel.base.store import Store, StoreConfigError\n"
        "try:\n"
        "    Store.connect('chdb://./data/store')\n"
        "except StoreConfigError as e:\n"
        "    print(e)\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 1 and "pip install 'kruimel[embedded]'" in lines[0]
    assert not (tmp_path / "data").exists()


def test_demo_without_the_extra_exits_2_with_the_install_line(tmp_path: Path) -> None:
    done = run_without_chdb(
        "from kruimel.cli import main\n"
        "sys.exit(main(['demo', '--data-dir', 'demo-data', '--port', '1']))\n",
        tmp_path,
    )
    assert done.returncode == 2
    assert "pip install 'kruimel[embedded]'" in done.stderr.strip().splitlines()[-1]
    assert "Traceback" not in done.stderr


async def test_consent_log_open_connects_in_start_not_before(tmp_path: Path) -> None:
    store_dir = tmp_path / "store"
    log = ConsentLog.open(f"chdb://{store_dir}")
    assert not store_dir.exists()  # importing an app that calls open() opens nothing
    with pytest.raises(StoreError, match="lifespan"):
        log.store  # noqa: B018  (the property is what is tested)
    await log.start()
    try:
        assert store_dir.is_dir()
        assert log.store.query("EXISTS TABLE consent_log") == [(1,)]
    finally:
        await log.close()
    assert log.store.closed
    # A second lifespan (a test client per test, a restart) opens it again.
    await log.start()
    try:
        assert not log.store.closed
    finally:
        await log.close()
