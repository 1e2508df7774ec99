"""What every example shares: the consent configuration, the page, the store URL and the key.

Each example runs as it is (``uvicorn examples.fastapi_app:app``); set
``KRUIMEL_SECRET_KEY`` for choices that survive a restart, and ``KRUIMEL_STORE_URL`` to use
a ClickHouse server (needed for more than one worker, see README "Several workers").
"""

from __future__ import annotations

import os
import secrets
import sys

from consent import ConsentConfig, preset
from consent.config import SECRET_ENV

__all__ = ["PAGE", "config", "secret_keys", "store_url"]

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title>
</head><body>
<h1>Welcome</h1>
<p>{greeting}</p>
<ul>
  <li>Sourdough loaf, baked this morning</li>
  <li>Rye bread with sunflower seeds</li>
  <li>Croissants, plain and almond</li>
  <li>Apple pie by the slice</li>
  <li>Cinnamon rolls, on Saturdays only</li>
</ul>
<p>Our newsletter and the video below use Pardot and YouTube, which set cookies: they
load once you allow marketing.</p>
<script type="text/plain" data-consent="marketing"
        src="https://pi.pardot.com/pd.js"></script>
<iframe data-consent="marketing" title="Video"
        data-src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"></iframe>
</body></html>"""


def store_url() -> str:
    """``KRUIMEL_STORE_URL``, else the embedded store in ``./kruimel-data`` (one process)."""
    return os.environ.get("KRUIMEL_STORE_URL", "chdb://./kruimel-data/store")


def secret_keys() -> tuple[str, ...]:
    """The cookie-signing keys: ``KRUIMEL_SECRET_KEY``, or a random key for this run only.

    Without the variable every restart (and every worker) signs with a different key, so
    visitors are asked again: fine to try an example, wrong for a site.
    """
    if os.environ.get(SECRET_ENV, "").strip():
        return ()  # ConsentConfig reads the variable itself (comma-separated, newest first)
    print(
        f"{SECRET_ENV} is not set: using a random key for this run, so choices are lost at "
        f"restart. For a site: export {SECRET_ENV}=\"$(python -c 'import secrets; "
        "print(secrets.token_urlsafe(32))')\"",
        file=sys.stderr,
    )
    return (secrets.token_urlsafe(32),)


def config() -> ConsentConfig:
    """The example shop's consent configuration."""
    return ConsentConfig(
        controller="Example Shop Ltd",
        privacy_url="/privacy",
        policy_version="1",
        services=(preset("pardot"), preset("youtube")),
        secret_keys=secret_keys(),
    )
