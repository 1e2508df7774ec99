"""Generate realistic analytics events straight inside ClickHouse, for the benchmarks.

One ``INSERT ... SELECT`` over ``numbers()`` builds visits (not independent rows), so that
the data compresses and aggregates like real traffic: each visit belongs to a visitor key
of one site-local day (a few visitors come back for a second visit), has 1 to 8 page views
(45 % bounce), an ``engagement`` event after most page views, and sometimes a custom event.
Paths follow a Zipf-like law over 200 pages; browsers, operating systems, devices, sources,
referrers and UTM tags follow fixed mixes. Only the first page view of a visit carries its
referrer and UTM tags (later ones are internal navigation). The materialised views fill the
rollups as the rows go in. Ten million events take well under a minute in chDB.

Run on its own to fill a store: ``python bench/gen.py --url chdb:///tmp/x --events 1000000``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

from analytics.schema import MIGRATIONS
from analytics.summary import DIRECT
from kruimel.base.store import Store

__all__ = ["MAIN_SITE", "SITES", "generate"]

MAIN_SITE = "example.nl"
SITES = (MAIN_SITE, "shop.example.nl", "blog.example.org")

# Mean events per visit with the mixes below (1-8 page views, 70 % with an engagement
# event, 5 % with a custom event); used to size the number of visits for N events.
_EVENTS_PER_VISIT = 5.3

_INSERT = """
INSERT INTO events (site, ts, day, name, visitor, path, referrer_host, source,
                    utm_source, utm_medium, utm_campaign, browser, os, device,
                    duration_ms, props)
SELECT site, ts, day, name, visitor, path, referrer_host, source,
       utm_source, utm_medium, utm_campaign, browser, os, device, duration_ms, props
FROM (
    WITH ['blog', 'docs', 'products', 'news', 'about'] AS sections,
         arrayMap(k -> if(k = 1, '/', concat('/', sections[k % 5 + 1], '/page-', toString(k))),
                  range(1, 201)) AS paths
    SELECT
        v.site AS site,
        v.day AS day,
        if(i < 2 * v.pageviews, if(i % 2 = 0, 'pageview', 'engagement'),
           v.custom_name) AS name,
        v.visitor AS visitor,
        toDateTime(v.day, 'Europe/Amsterdam') + v.start + intDiv(i, 2) * v.gap
            + if(i % 2 = 1, v.gap - 3, 0) AS ts,
        -- the landing page is Zipf-like; later pages too, from their own draw
        arrayElement(paths, toUInt32(floor(exp(
            (cityHash64(v.s, intDiv(i, 2), 7) / 18446744073709551616.0) * log(200.999)))))
            AS path,
        if(i = 0, v.referrer_host, '') AS referrer_host,
        if(i = 0, v.source, {direct:String}) AS source,
        if(i = 0, v.utm_source, '') AS utm_source,
        if(i = 0, v.utm_medium, '') AS utm_medium,
        if(i = 0, v.utm_campaign, '') AS utm_campaign,
        v.browser AS browser,
        v.os AS os,
        v.device AS device,
        if(i % 2 = 1 AND i < 2 * v.pageviews,
           toUInt32(least(600000, 1000 - 25000 * log(1 - cityHash64(v.s, i, 8)
               / 18446744073709551616.0))), 0) AS duration_ms,
        if(i >= 2 * v.pageviews,
           if(v.custom_name = 'Signup', map('plan', v.plan), map('url', v.outbound)),
           map()) AS props,
        -- engagement events are sent for 70 % of page views only
        i >= 2 * v.pageviews OR i % 2 = 0 OR cityHash64(v.s, i, 9) % 10 < 7 AS keep
    FROM (
        SELECT
            number AS s,
            cityHash64(s, 1) AS h1,
            cityHash64(s, 2) AS h2,
            cityHash64(s, 3) AS h3,
            cityHash64(s, 4) AS h4,
            cityHash64(s, 5) AS h5,
            multiIf(h1 % 10 < 8, {main:String}, h1 % 10 < 9, {second:String},
                    {third:String}) AS site,
            {start:Date} + toUInt32(s % {days:UInt32}) AS day,
            -- about 1.33 visits per visitor and day: some visitors come back
            cityHash64(site, day, h2 % {visitors_per_day:UInt64}) AS visitor,
            toUInt32(6 * 3600 + (h3 % (16 * 3600))) AS start,
            toUInt32(10 + h4 % 170) AS gap,
            if(h5 % 100 < 45, 1, 2 + (h5 % 7)) AS pageviews,
            multiIf(h1 % 100 < 40, '', h1 % 100 < 70, 'google.com',
                    h1 % 100 < 74, 'bing.com', h1 % 100 < 77, 'duckduckgo.com',
                    h1 % 100 < 82, 'm.facebook.com', h1 % 100 < 85, 'linkedin.com',
                    h1 % 100 < 87, 't.co',
                    concat('blog', toString(h1 % 40), '.example.com')) AS referrer_host,
            multiIf(h1 % 100 < 40, {direct:String}, h1 % 100 < 70, 'Google', h1 % 100 < 74, 'Bing',
                    h1 % 100 < 77, 'DuckDuckGo', h1 % 100 < 82, 'Facebook',
                    h1 % 100 < 85, 'LinkedIn', h1 % 100 < 87, 'Twitter',
                    referrer_host) AS source,
            h3 % 100 < 8 AS tagged,
            if(tagged, ['newsletter', 'mastodon', 'partner'][h3 % 3 + 1], '') AS utm_source,
            if(tagged, ['email', 'social', 'referral'][h3 % 3 + 1], '') AS utm_medium,
            if(tagged, concat('campaign-', toString(h4 % 12)), '') AS utm_campaign,
            multiIf(h2 % 100 < 55, 'Chrome', h2 % 100 < 70, 'Mobile Safari',
                    h2 % 100 < 76, 'Safari', h2 % 100 < 85, 'Firefox',
                    h2 % 100 < 94, 'Edge', h2 % 100 < 97, 'Samsung Internet',
                    'Opera') AS browser,
            multiIf(browser = 'Mobile Safari', 'iOS', browser = 'Safari', 'Mac OS X',
                    browser = 'Samsung Internet', 'Android',
                    h2 % 7 < 4, 'Windows', h2 % 7 < 6, 'Android', 'Linux') AS os,
            multiIf(os IN ('iOS', 'Android'), if(h4 % 100 < 15, 'tablet', 'mobile'),
                    'desktop') AS device,
            if(h5 % 100 < 5, 2 * pageviews + 1, 2 * pageviews) AS events,
            ['Signup', 'Download', 'Outbound Link: Click'][h5 % 3 + 1] AS custom_name,
            ['free', 'pro', 'team'][h4 % 3 + 1] AS plan,
            concat('https://partner', toString(h4 % 20), '.example.com/') AS outbound
        FROM numbers({visits:UInt64})
    ) AS v
    ARRAY JOIN range(v.events) AS i
    WHERE keep
)
LIMIT {events:UInt64}
"""


def generate(store: Store, events: int, *, days: int = 395, end: dt.date | None = None) -> float:
    """Insert ``events`` events spread over the ``days`` days up to ``end`` (default today).

    The schema is migrated first. Returns the seconds the inserts took.
    """
    store.migrate(MIGRATIONS)
    end = end or dt.date.today()
    start = end - dt.timedelta(days=days - 1)
    visits = int(events / _EVENTS_PER_VISIT * 1.1) + 1
    params = {
        "direct": DIRECT,
        "main": SITES[0],
        "second": SITES[1],
        "third": SITES[2],
        "start": start,
        "days": days,
        "visits": visits,
        "events": events,
        "visitors_per_day": max(1, int(visits / days * 0.75)),
    }
    began = time.perf_counter()
    store.command(_INSERT, params)
    store.command(
        "INSERT INTO filtered (site, day, reason, count) "
        "SELECT site, {start:Date} + toUInt32(number) AS day, reason, "
        "toUInt64(1 + cityHash64(site, number, reason) % 400) "
        "FROM numbers({days:UInt32}) "
        "ARRAY JOIN [{main:String}, {second:String}, {third:String}] AS site "
        "ARRAY JOIN ['crawler', 'headless', 'ua_bot'] AS reason",
        params,
    )
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="store url, e.g. chdb:///tmp/kruimel-bench")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=395)
    args = parser.parse_args()
    with Store.connect(args.url) as store:
        took = generate(store, args.events, days=args.days)
        count = store.query("SELECT count() FROM events")[0][0]
        print(f"inserted {count} events in {took:.1f} s")


if __name__ == "__main__":
    main()
