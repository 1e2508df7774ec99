"""The ``kruimel`` command: ``demo``, ``serve``, ``migrate``, ``summary``, ``query``.

Every failure a user can fix ends in one line on stderr that says what to do, and exit
status 2; tracebacks are for bugs.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from kruimel import __version__, cli_serve, cli_store
from kruimel.base.store import StoreError
from kruimel.cli_common import STORE_URL_ENV, CliError
from kruimel.runner import StartupFailed

__all__ = ["main"]

log = logging.getLogger("kruimel")


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
    demo.set_defaults(run=cli_serve.demo)

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
    serve.set_defaults(run=cli_serve.serve)

    migrate = sub.add_parser(
        "migrate", help="create or upgrade the ClickHouse schema", formatter_class=fmt
    )
    _store_args(migrate)
    migrate.set_defaults(run=cli_store.migrate)

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
    summary.set_defaults(run=cli_store.summary)

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


if __name__ == "__main__":
    raise SystemExit(main())
