"""``kruimel migrate`` and ``kruimel summary``: the schema, and a site's summary from the
store or from a running server."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kruimel.base.store import StoreLockedError
from kruimel.cli_common import (
    CliError,
    configured_sites,
    fetch_api,
    json_default,
    redacted,
    site_timezone,
    store_url,
)

__all__ = ["migrate", "summary"]


def migrate(args: argparse.Namespace) -> int:
    """``kruimel migrate``: create or upgrade the schema of both halves."""
    from analytics.schema import MIGRATIONS as ANALYTICS
    from consent.schema import MIGRATIONS as CONSENT
    from kruimel.base.store import Store

    url, cluster = store_url(args)
    with Store.connect(url, cluster=cluster) as store:
        applied = store.migrate(CONSENT + ANALYTICS)
    print("applied: " + ", ".join(applied) if applied else "schema is up to date")
    return 0


def summary(args: argparse.Namespace) -> int:
    """``kruimel summary``: a site's summary as a table or JSON."""
    from analytics.period import Period, PeriodError
    from analytics.report import format_summary_table
    from analytics.summary import summarize
    from kruimel.base.store import Store

    if args.limit < 1:
        raise CliError("--limit must be at least 1")
    if args.endpoint:
        result = _remote_summary(args)
    else:
        url, cluster = store_url(args)
        tz = args.timezone or site_timezone(args) or "UTC"
        try:
            period = Period.parse(args.period, args.from_, args.to, tz=tz, today=None)
        except PeriodError as e:
            raise CliError(str(e)) from e
        configured = configured_sites(args)
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
        print(json.dumps(result, indent=2, default=json_default))
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
            f"the store at {redacted(url)} has no Kruimel schema yet (never migrated): run "
            f"kruimel migrate --url {redacted(url)}, or start kruimel serve once"
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
