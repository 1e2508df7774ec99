"""``kruimel demo`` and ``kruimel serve``: listen, build the app, run it under uvicorn."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import secrets
import socket
from pathlib import Path
from typing import TYPE_CHECKING

from kruimel.cli_common import CliError, read_settings
from kruimel.stack import serving_stack

if TYPE_CHECKING:
    from starlette.types import ASGIApp

__all__ = ["demo", "listen_socket", "run_app", "secret_from_env_or_file", "serve"]

log = logging.getLogger("kruimel")


# -- secrets ---------------------------------------------------------------------------------
def secret_from_env_or_file(env: str, path: Path, what: str) -> tuple[str, bool]:
    """Return (value, generated). The env variable wins; else a value kept in ``path``."""
    value = os.environ.get(env, "").strip()
    if value:
        return value, False
    if path.exists():
        return path.read_text(encoding="utf-8").strip(), False
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(value + "\n")
    log.warning("generated %s and kept it in %s; set %s in production", what, path, env)
    return value, True


def demo(args: argparse.Namespace) -> int:
    """``kruimel demo``: the demo site with generated secrets and the embedded store."""
    from kruimel.demo import DemoOptions, build_demo_app

    data_dir = usable_dir(args.data_dir, "--data-dir")
    sock = listen_socket(args)
    key, _ = secret_from_env_or_file("KRUIMEL_SECRET_KEY", data_dir / "secret_key", "a secret key")
    token_from_env = bool(os.environ.get("KRUIMEL_API_TOKEN", "").strip())
    token, _ = secret_from_env_or_file("KRUIMEL_API_TOKEN", data_dir / "api_token", "an API token")
    keys = tuple(k.strip() for k in key.split(",") if k.strip())
    app = build_demo_app(
        DemoOptions(
            data_dir=data_dir,
            site=args.site,
            secret_keys=keys,
            api_token=token,
            trusted_proxies=tuple(args.trusted_proxies),
        )
    )
    base = f"http://{args.host}:{args.port}"
    print(f"Kruimel demo on {base}/  (data in {data_dir})", flush=True)
    # A token the operator put in the environment is theirs: it is not echoed to a terminal
    # (or a CI log); the demo's own generated one is shown so the curl works as printed.
    shown = "$KRUIMEL_API_TOKEN" if token_from_env else token
    print(
        "API token: from KRUIMEL_API_TOKEN" if token_from_env else f"API token: {token}",
        flush=True,
    )
    print(
        f'  curl -H "Authorization: Bearer {shown}" '
        f"'{base}/_analytics/api/summary?site={args.site}&period=7d'",
        flush=True,
    )
    run_app(app, sock)
    return 0


def serve(args: argparse.Namespace) -> int:
    """``kruimel serve``: the collector (and consent endpoints) from ``--config``."""
    from kruimel.server import build_server_app
    from kruimel.settings import SettingsError, default_data_dir

    settings = read_settings(args.config)
    data_dir = usable_dir(args.data_dir or default_data_dir(settings.analytics), "--data-dir")
    if settings.store_url_default:  # no store url anywhere: the store is in the data dir
        settings = dataclasses.replace(settings, store_url=f"chdb://{data_dir / 'store'}")
    sock = listen_socket(args)
    try:
        app = build_server_app(
            settings, data_dir=data_dir, trusted_proxies=tuple(args.trusted_proxies)
        )
    except SettingsError as e:
        sock.close()
        raise CliError(f"{args.config}: {e}") from e
    print(
        f"Kruimel collector on http://{args.host}:{args.port}/_analytics/  (data in {data_dir})",
        flush=True,
    )
    run_app(app, sock)
    return 0


def usable_dir(path: Path, option: str) -> Path:
    """``path`` resolved, created (private) and writable, or a :class:`CliError` saying why."""
    path = path.expanduser().resolve()
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        probe = path / f".kruimel-probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except FileExistsError as e:
        raise CliError(f"{option} {path}: is a file, not a directory; pass another {option}") from e
    except OSError as e:
        reason = e.strerror or str(e)
        raise CliError(
            f"{option} {path}: cannot use it as a data directory ({reason}); pass a directory "
            f"this user may write to with {option}"
        ) from e
    return path


def listen_socket(args: argparse.Namespace) -> socket.socket:
    """The listening socket for ``--host``/``--port``, or a :class:`CliError` saying why not."""
    from kruimel.runner import listen

    try:
        return listen(args.host, args.port)
    except OSError as e:
        raise CliError(
            f"cannot listen on {args.host}:{args.port} ({e.strerror or e}); pass another "
            "--port, or stop what uses it"
        ) from e


def run_app(app: ASGIApp, sock: socket.socket) -> None:
    """Serve ``app`` on ``sock`` until stopped."""
    from kruimel.runner import run

    # stdout, with the other start-up lines: stderr carries only the one line of a failed start
    print(f"Serving with {serving_stack()}", flush=True)
    run(app, sock)
