"""The ``kruimel`` command: ``demo``, ``serve``, ``migrate``, ``summary``, ``query``.

Every failure a user can fix ends in one line on stderr that says what to do, and exit
status 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from kruimel import __version__
from kruimel.base.store import StoreError, StoreLockedError
from kruimel.runner import StartupFailed
from kruimel.stack import serving_stack

if TYPE_CHECKING:
    from starlette.types import ASGIApp

    from kruimel.settings import Settings

STORE_URL_ENV = "KRUIMEL_STORE_URL"  # kruimel.settings.STORE_URL_ENV, without importing it

__all__ = ["main"]

log = logging.getLogger("kruimel")


class CliError(Exception):
    """A user-facing error: printed as ``kruimel: <message>``, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kruimel`` console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    # urllib3 warns at every retry of an unreachable ClickHouse and clickhouse-connect once
    # more: the failure reaches the user as one line of ours (and, while serving, as the
    # store's outage log), so their lines would only repeat it, less clearly.
    for noisy in ("urllib3", "clickhouse_connect"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
    try:
        result: int = args.run(args)
        return result
    except (CliError, StoreError) as e:
        return _fail(str(e))
    except StartupFailed as e:
        cause = e.__cause__
        if cause is not None and not isinstance(cause, StoreError | OSError | StartupFailed):
            raise  # not a condition the user can fix: a bug, with its traceback
        return _fail(f"start-up failed: {e}")
    except KeyboardInterrupt:
        return 130


def _fail(message: str) -> int:
    """Print ``kruimel: message`` as one line (later lines of a store's message dropped)."""
    lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
    print(f"kruimel: {' '.join(lines) if len(lines) <= 3 else lines[0]}", file=sys.stderr)
    return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kruimel",
        description="Cookie consent and privacy-friendly analytics for ASGI apps and static sites.",
    )
    parser.add_argument("--version", action="version", version=f"kruimel {__version__}")
    sub = parser.add_subparsers(required=True, metavar="COMMAND")
    fmt = _HelpFormatter

    demo = sub.add_parser(
        "demo", help="serve the demo site with the embedded store", formatter_class=fmt
    )
    _listen_args(demo)
    demo.add_argument(
        "--data-dir",
        type=Path,
        default=Path("kruimel-data"),
        help="where the demo keeps its store, journals and generated secrets",
    )
    demo.add_argument("--site", default="localhost", help="the site domain the tracker reports")
    demo.set_defaults(run=_demo)

    serve = sub.add_parser(
        "serve",
        help="serve the collector (and consent endpoints for static sites)",
        formatter_class=fmt,
    )
    serve.add_argument(
        "--config", type=Path, default=Path("kruimel.toml"), help="the settings file"
    )
    _listen_args(serve)
    serve.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where this process keeps its journals and, without a store url, the embedded "
        "store (default: $XDG_STATE_HOME/kruimel/SITE, i.e. ~/.local/state/kruimel/SITE for "
        "the first configured site: outside any folder a web server publishes)",
    )
    serve.set_defaults(run=_serve)

    migrate = sub.add_parser(
        "migrate", help="create or upgrade the ClickHouse schema", formatter_class=fmt
    )
    _store_args(migrate)
    migrate.set_defaults(run=_migrate)

    summary = sub.add_parser(
        "summary", help="print a site's analytics summary", formatter_class=fmt
    )
    _store_args(summary)
    summary.add_argument("--site", required=True, help="the site's domain (required)")
    summary.add_argument(
        "--period",
        default="30d",
        choices=["day", "7d", "30d", "month", "12mo", "custom"],
        help="the period summarised",
    )
    summary.add_argument(
        "--from",
        dest="from_",
        default=None,
        help="first day, YYYY-MM-DD (default: none; required with --period custom)",
    )
    summary.add_argument(
        "--to",
        default=None,
        help="last day, YYYY-MM-DD (default: none; required with --period custom)",
    )
    summary.add_argument(
        "--timezone",
        default=None,
        help="the days' time zone (default: the site's timezone in --config, else UTC)",
    )
    summary.add_argument("--limit", type=int, default=10, help="rows per breakdown")
    summary.add_argument("--json", action="store_true", help="print JSON instead of a table")
    summary.add_argument(
        "--endpoint",
        default=None,
        help="ask a running server instead of opening the store, e.g. "
        "http://127.0.0.1:8000/_analytics, token from KRUIMEL_API_TOKEN (default: none, "
        "open the store)",
    )
    summary.set_defaults(run=_summary)

    from kruimel.query_cli import add_query_command  # its own module: the query's logic

    add_query_command(sub, _store_args)
    return parser


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every option shows its default: ``(default: X)``, ``(default: off)`` for a flag; an
    option whose default is "not given" says in its own help what happens then."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is False and action.nargs == 0:
            return f"{action.help} (default: off)"
        if action.default is None or action.default == []:
            return action.help
        return super()._get_help_string(action)


def _listen_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    p.add_argument("--port", type=int, default=8000, help="the port to listen on")
    p.add_argument(
        "--trusted-proxy",
        dest="trusted_proxies",
        action="append",
        default=[],
        metavar="CIDR",
        type=_network,
        help="a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed; "
        "repeat for more, added to [analytics] trusted_proxies (default: none, so nobody's "
        "forwarded headers are believed)",
    )


def _network(value: str) -> str:
    from ipaddress import ip_network

    try:
        ip_network(value.strip(), strict=False)
    except ValueError as e:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an IP address or CIDR network, e.g. 10.0.0.1 or 10.0.0.0/8"
        ) from e
    return value.strip()


def _store_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--url",
        default=None,
        help="store URL: chdb:///path or http(s)://user:pass@host:8123/db (default: "
        f"${STORE_URL_ENV}, else [store] url of --config, else the store in the default "
        "data dir)",
    )
    p.add_argument("--config", type=Path, default=Path("kruimel.toml"), help="the settings file")
    p.add_argument(
        "--cluster",
        default=None,
        help="ClickHouse cluster for ON CLUSTER DDL (default: [store] cluster of --config, "
        "else none)",
    )


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
    from kruimel.demo import DemoOptions, build_demo_app

    data_dir = _usable_dir(args.data_dir, "--data-dir")
    sock = _listen(args)
    key, _ = _secret_from_env_or_file("KRUIMEL_SECRET_KEY", data_dir / "secret_key", "a secret key")
    token_from_env = bool(os.environ.get("KRUIMEL_API_TOKEN", "").strip())
    token, _ = _secret_from_env_or_file("KRUIMEL_API_TOKEN", data_dir / "api_token", "an API token")
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
    _run(app, sock)
    return 0


def _serve(args: argparse.Namespace) -> int:
    from kruimel.server import build_server_app
    from kruimel.settings import SettingsError, default_data_dir

    settings = _settings(args.config)
    data_dir = _usable_dir(args.data_dir or default_data_dir(settings.analytics), "--data-dir")
    if settings.store_url_default:  # no store url anywhere: the store is in the data dir
        settings = dataclasses.replace(settings, store_url=f"chdb://{data_dir / 'store'}")
    sock = _listen(args)
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
    _run(app, sock)
    return 0


def _usable_dir(path: Path, option: str) -> Path:
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


def _listen(args: argparse.Namespace) -> socket.socket:
    from kruimel.runner import listen

    try:
        return listen(args.host, args.port)
    except OSError as e:
        raise CliError(
            f"cannot listen on {args.host}:{args.port} ({e.strerror or e}); pass another "
            "--port, or stop what uses it"
        ) from e


def _run(app: ASGIApp, sock: socket.socket) -> None:
    from kruimel.runner import run

    # stdout, with the other start-up lines: stderr carries only the one line of a failed start
    print(f"Serving with {serving_stack()}", flush=True)
    run(app, sock)


def _migrate(args: argparse.Namespace) -> int:
    from analytics.schema import MIGRATIONS as ANALYTICS
    from consent.schema import MIGRATIONS as CONSENT
    from kruimel.base.store import Store

    url, cluster = _store_url(args)
    with Store.connect(url, cluster=cluster) as store:
        applied = store.migrate(CONSENT + ANALYTICS)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from analytics.period import Period, PeriodError
    from analytics.report import format_summary_table
    from analytics.summary import summarize
    from kruimel.base.store import Store

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
        configured = _configured_sites(args)
        wanted = args.site.lower().removeprefix("www.")  # as the collector matches a site
        if configured is not None and wanted not in [d.removeprefix("www.") for d in configured]:
            raise CliError(
                f"site {args.site!r} is not a configured site (configured: "
                f"{', '.join(configured)}); pass one of them with --site"
            )
        _existing_store(url)
        try:
            with Store.connect(url, cluster=cluster) as store:
                _check_schema(store, url)
                if configured is None:
                    _check_site_has_data(store, args.site)
                result = asyncio.run(summarize(store, args.site, period, limit=args.limit))
        except StoreLockedError as e:
            raise CliError(
                f"{e} A running server holds this store; ask it instead: "
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
    return fetch_api(url, args.endpoint, {"Authorization": f"Bearer {token}"})


def fetch_api(
    url: str,
    endpoint: str,
    headers: dict[str, str],
    body: bytes | None = None,
    timeout: float = 30,
) -> dict[str, Any]:
    """GET ``url`` (or POST ``body``) on a running Kruimel server and decode its JSON answer.

    :raises CliError: with the server's own ``{"error"}`` message and status, or saying that
        ``endpoint`` cannot be reached.
    """
    try:
        with urlopen(Request(url, body, headers), timeout=timeout) as response:  # noqa: S310 - URL given by the user
            data: dict[str, Any] = json.load(response)
            return data
    except HTTPError as e:
        try:
            message = json.load(e).get("error", e.reason)
        except ValueError:
            message = e.reason
        raise CliError(f"{url}: {e.code} {message}") from None
    except URLError as e:
        raise CliError(f"cannot reach {endpoint}: {e.reason}") from None


def _existing_store(url: str) -> None:
    """An embedded store that is not there is a typo, not a store to create (summary)."""
    if url.startswith("chdb://"):
        path = Path(url[len("chdb://") :]).expanduser()
        if not path.is_dir():
            raise CliError(
                f"no store at {path}: check --url / [store] url, or create it with "
                f"kruimel migrate --url {url}"
            )


def _check_schema(store: Any, url: str) -> None:
    """Refuse a store that was never migrated, before the summary's queries trip over it."""
    rows = store.query(
        "SELECT count() FROM system.tables WHERE database = currentDatabase() "
        "AND name IN ('events', 'kruimel_migrations')"
    )
    if rows[0][0] < 2:
        raise CliError(
            f"the store at {_redacted(url)} has no Kruimel schema yet (never migrated): run "
            f"kruimel migrate --url {_redacted(url)}, or start kruimel serve once"
        )


def _check_site_has_data(store: Any, site: str) -> None:
    """Without a config to name the sites, a site the store never saw is unknown."""
    rows = store.query(
        "SELECT (SELECT count() FROM events WHERE site = {site:String}) "
        "+ (SELECT count() FROM filtered WHERE site = {site:String})",
        {"site": site},
    )
    if rows[0][0] == 0:
        known = [r[0] for r in store.query("SELECT DISTINCT site FROM events ORDER BY site")]
        listed = ", ".join(known[:10]) if known else "none yet"
        raise CliError(
            f"site {site!r} is not a site this store has data for (sites with data: {listed}); "
            "check --site"
        )


def _configured_sites(args: argparse.Namespace) -> list[str] | None:
    """The sites of --config, or None when the store is given without a config."""
    if args.url or not args.config.exists():
        return None
    analytics = _settings(args.config, consent=False).analytics
    return None if analytics is None else [s.domain for s in analytics.sites]


def _redacted(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.password:
        return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()
    return url


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
    from_env = os.environ.get(STORE_URL_ENV, "").strip()
    if not args.config.exists():
        if from_env:
            return from_env, args.cluster
        raise CliError(
            f"no --url given, {STORE_URL_ENV} is not set and {args.config} does not exist: "
            "pass --url chdb:///path (or set KRUIMEL_STORE_URL=http://user:pass@host:8123/db), "
            "or --config FILE"
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
