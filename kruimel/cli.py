"""The ``kruimel`` command: ``demo``, ``serve``, ``migrate``, ``summary``.

Every failure a user can fix ends in one line on stderr that says what to do, and exit
status 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import secrets
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from kruimel import __version__
from kruimel.stack import serving_stack
from kruimel.store import StoreError, StoreLockedError

if TYPE_CHECKING:
    from kruimel.settings import Settings

__all__ = ["main"]

log = logging.getLogger("kruimel")


class CliError(Exception):
    """A user-facing error: printed as ``kruimel: <message>``, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kruimel`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        result: int = args.run(args)
        return result
    except (CliError, StoreError) as e:
        print(f"kruimel: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kruimel",
        description="Cookie consent and privacy-friendly analytics for ASGI apps and static sites.",
    )
    parser.add_argument("--version", action="version", version=f"kruimel {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="serve the demo site with the embedded store")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--data-dir", type=Path, default=Path("kruimel-data"))
    demo.add_argument("--site", default="localhost", help="the site domain the tracker reports")
    demo.set_defaults(run=_demo)

    serve = sub.add_parser(
        "serve", help="serve the collector (and consent endpoints for static sites)"
    )
    serve.add_argument("--config", type=Path, default=Path("kruimel.toml"))
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where this process keeps its journals (default: kruimel-data next to the config)",
    )
    serve.add_argument(
        "--proxy-headers",
        action="store_true",
        help="let uvicorn trust X-Forwarded-Proto from --forwarded-allow-ips",
    )
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser("migrate", help="create or upgrade the ClickHouse schema")
    _store_args(migrate)
    migrate.set_defaults(run=_migrate)

    summary = sub.add_parser("summary", help="print a site's analytics summary")
    _store_args(summary)
    summary.add_argument("--site", required=True)
    summary.add_argument(
        "--period", default="30d", choices=["day", "7d", "30d", "month", "12mo", "custom"]
    )
    summary.add_argument("--from", dest="from_", default=None, help="YYYY-MM-DD (custom)")
    summary.add_argument("--to", default=None, help="YYYY-MM-DD (custom)")
    summary.add_argument("--timezone", default=None, help="default: the site's, else UTC")
    summary.add_argument("--limit", type=int, default=10)
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.add_argument(
        "--endpoint",
        default=None,
        help="ask a running server instead of opening the store, e.g. "
        "http://127.0.0.1:8000/_analytics (token from KRUIMEL_API_TOKEN)",
    )
    summary.set_defaults(run=_summary)
    return parser


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=None,
        help="store URL: chdb:///path or http(s)://user:pass@host:8123/db "
        "(default: [store] url of --config)",
    )
    p.add_argument("--config", type=Path, default=Path("kruimel.toml"))
    p.add_argument("--cluster", default=None, help="ClickHouse cluster for ON CLUSTER DDL")


# -- secrets ---------------------------------------------------------------------------------
def _secret_from_env_or_file(env: str, path: Path, what: str) -> tuple[str, bool]:
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


# -- commands --------------------------------------------------------------------------------
def _demo(args: argparse.Namespace) -> int:
    import uvicorn

    from kruimel.demo import DemoOptions, build_demo_app

    data_dir: Path = args.data_dir.resolve()
    key, _ = _secret_from_env_or_file("KRUIMEL_SECRET_KEY", data_dir / "secret_key", "a secret key")
    token, _ = _secret_from_env_or_file("KRUIMEL_API_TOKEN", data_dir / "api_token", "an API token")
    keys = tuple(k.strip() for k in key.split(",") if k.strip())
    app = build_demo_app(
        DemoOptions(data_dir=data_dir, site=args.site, secret_keys=keys, api_token=token)
    )
    base = f"http://{args.host}:{args.port}"
    print(f"Kruimel demo on {base}/  (data in {data_dir})", flush=True)
    print(f"API token: {token}", flush=True)
    print(
        f"  curl -H 'Authorization: Bearer {token}' "
        f"'{base}/_analytics/api/summary?site={args.site}&period=7d'",
        flush=True,
    )
    log.info("serving with %s", serving_stack())
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from kruimel.server import build_server_app
    from kruimel.settings import SettingsError

    settings = _settings(args.config)
    data_dir = (args.data_dir or args.config.resolve().parent / "kruimel-data").resolve()
    try:
        app = build_server_app(settings, data_dir=data_dir)
    except SettingsError as e:
        raise CliError(f"{args.config}: {e}") from e
    print(f"Kruimel collector on http://{args.host}:{args.port}/_analytics/", flush=True)
    log.info("serving with %s", serving_stack())
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        proxy_headers=args.proxy_headers,
    )
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from analytics.schema import MIGRATIONS as ANALYTICS
    from consent.schema import MIGRATIONS as CONSENT
    from kruimel.store import Store

    url, cluster = _store_url(args)
    with Store.connect(url, cluster=cluster) as store:
        applied = store.migrate(CONSENT + ANALYTICS)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from analytics.period import Period, PeriodError
    from analytics.report import format_summary_table
    from analytics.summary import summarize
    from kruimel.store import Store

    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    if args.endpoint:
        result = _remote_summary(args)
    else:
        url, cluster = _store_url(args)
        tz = args.timezone or _site_timezone(args) or "UTC"
        try:
            period = Period.parse(args.period, args.from_, args.to, tz=tz, today=None)
        except PeriodError as e:
            raise CliError(str(e)) from e
        try:
            with Store.connect(url, cluster=cluster) as store:
                result = asyncio.run(summarize(store, args.site, period, limit=args.limit))
        except StoreLockedError as e:
            raise CliError(
                f"{e}\nA running server holds this store; ask it instead: "
                "kruimel summary --endpoint http://HOST:PORT/_analytics --site ... "
                "(with KRUIMEL_API_TOKEN set)"
            ) from e
    if args.json:
        print(json.dumps(result, indent=2, default=_json_default))
    else:
        print(format_summary_table(result))
    return 0


def _remote_summary(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ.get("KRUIMEL_API_TOKEN", "").strip()
    if not token:
        raise CliError("--endpoint needs the server's API token in KRUIMEL_API_TOKEN")
    query = {"site": args.site, "period": args.period, "limit": str(args.limit)}
    if args.from_:
        query["from"] = args.from_
    if args.to:
        query["to"] = args.to
    url = f"{args.endpoint.rstrip('/')}/api/summary?{urlencode(query)}"
    request = Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urlopen(request, timeout=30) as response:  # noqa: S310 - URL given by the user
            data: dict[str, Any] = json.load(response)
            return data
    except HTTPError as e:
        try:
            message = json.load(e).get("error", e.reason)
        except ValueError:
            message = e.reason
        raise CliError(f"{url}: {e.code} {message}") from e
    except URLError as e:
        raise CliError(f"cannot reach {args.endpoint}: {e.reason}") from e


def _json_default(value: object) -> str:
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _settings(path: Path, *, consent: bool = True) -> Settings:
    from kruimel.settings import SettingsError, load_settings

    try:
        return load_settings(path, consent=consent)
    except SettingsError as e:
        raise CliError(str(e)) from e


def _store_url(args: argparse.Namespace) -> tuple[str, str | None]:
    if args.url:
        return str(args.url), args.cluster
    if not args.config.exists():
        raise CliError(
            f"no --url given and {args.config} does not exist: pass --url chdb:///path "
            "or --url http://user:pass@host:8123/db, or --config FILE"
        )
    settings = _settings(args.config, consent=False)
    return settings.store_url, args.cluster or settings.cluster


def _site_timezone(args: argparse.Namespace) -> str | None:
    if args.url or not args.config.exists():
        return None
    analytics = _settings(args.config, consent=False).analytics
    if analytics is None:
        return None
    for site in analytics.sites:
        if site.domain == args.site:
            return str(site.timezone)
    return None


if __name__ == "__main__":
    raise SystemExit(main())
