"""``kruimel query [FILE]``: run a Stats API v2 query (the JSON of ``POST /api/v2/query``).

The query comes from ``FILE`` or, with ``-`` (the default), from stdin; the answer is
printed as JSON. Against the store (``--url`` or ``--config``), or against a running server
(``--endpoint``, token from ``KRUIMEL_API_TOKEN``). A mistake ends in one line on stderr
and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["add_query_command"]


class _Refused(Exception):
    """A user-facing error of this command."""


def add_query_command(
    sub: Any, store_args: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """Register ``query`` on the ``kruimel`` subcommands ``sub``; ``store_args`` adds the
    shared ``--url``/``--config``/``--cluster`` options."""
    query: argparse.ArgumentParser = sub.add_parser(
        "query", help="run a Stats API v2 query (JSON, Plausible's shape) and print the answer"
    )
    query.add_argument("file", nargs="?", default="-", help="the query JSON (default: stdin)")
    store_args(query)
    query.add_argument("--timezone", default=None, help="default: the site's, else UTC")
    query.add_argument(
        "--endpoint",
        default=None,
        help="ask a running server instead of opening the store, e.g. "
        "http://127.0.0.1:8000/_analytics (token from KRUIMEL_API_TOKEN)",
    )
    query.set_defaults(run=run)
    return query


def run(args: argparse.Namespace) -> int:
    """Run the command; every refusal is one line on stderr and exit status 2."""
    from kruimel.cli_common import CliError

    try:
        result = _remote(args) if args.endpoint else _local(args)
    except (_Refused, CliError) as e:
        print(f"kruimel: {e}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2))
    return 0


def _read(args: argparse.Namespace) -> Any:
    try:
        text = sys.stdin.read() if args.file == "-" else Path(args.file).read_text("utf-8")
    except OSError as e:
        raise _Refused(f"cannot read {args.file}: {e.strerror}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise _Refused(f"{args.file}: not JSON ({e}); write the query as a JSON object") from None


def _local(args: argparse.Namespace) -> dict[str, Any]:
    from analytics.query import QueryError, parse_query, run_query
    from kruimel.base.store import Store, StoreLockedError
    from kruimel.cli_common import site_timezone as _site_timezone
    from kruimel.cli_common import store_url as _store_url

    data = _read(args)
    site = data.get("site_id") if isinstance(data, dict) else None
    args.site = site.strip().lower() if isinstance(site, str) else ""
    url, cluster = _store_url(args)
    tz = args.timezone or (_site_timezone(args) if args.site else None) or "UTC"
    try:
        query = parse_query(data, tz=tz)
        with Store.connect(url, cluster=cluster) as store:
            return asyncio.run(run_query(store, query, site=args.site, tz=tz))
    except QueryError as e:
        raise _Refused(str(e)) from None
    except ValueError as e:  # an unknown --timezone
        raise _Refused(f"--timezone: {e}") from None
    except StoreLockedError as e:
        raise _Refused(
            f"{e}; a running server holds this store: ask it instead with "
            "--endpoint http://HOST:PORT/_analytics (and KRUIMEL_API_TOKEN set)"
        ) from None


def _remote(args: argparse.Namespace) -> dict[str, Any]:
    token = os.environ.get("KRUIMEL_API_TOKEN", "").strip()
    if not token:
        raise _Refused("--endpoint needs the server's API token in KRUIMEL_API_TOKEN")
    body = json.dumps(_read(args)).encode()
    url = f"{args.endpoint.rstrip('/')}/api/v2/query"
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    from kruimel.cli_common import fetch_api

    return fetch_api(url, args.endpoint, headers, body, timeout=60)
