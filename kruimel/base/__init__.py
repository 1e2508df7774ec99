"""The floor: what both halves (``consent`` and ``analytics``) stand on.

The store (ClickHouse through clickhouse-connect, migrations, the durable batch writer), the
browser assets, ASGI header editing, the analytics opt-out cookie and the names Python shares with
the browser scripts (``shared.json``). Nothing here imports ``consent``, ``analytics`` or the roof
(``kruimel`` itself); ``make lint`` checks it (docs/ARCHITECTURE.md).
"""
