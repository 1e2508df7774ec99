"""Google Consent Mode v2: default-denied consent types, then the visitor's current choice.

When a configured service is a Google tag (``Service(google=True)``: GA4, Tag Manager), the
middleware puts this right after ``<head>``, before any Google tag can run::

    <script nonce="...">window.dataLayer=window.dataLayer||[];function gtag(){...}
    gtag('consent','default',{"ad_storage":"denied",...,"wait_for_update":500});
    gtag('consent','update',{"ad_storage":"granted",...});</script>

The ``update`` follows at once, so a visitor who decided earlier is not kept waiting
``wait_for_update`` milliseconds; ``banner.js`` sends later updates with the same mapping.

An inline script needs the page's CSP nonce. Under a policy without one it would be blocked,
so the same settings then go out as ``data-*`` attributes on ``{prefix}/static/consent-mode.js``.
"""

from __future__ import annotations

import json

from markupsafe import escape

from kruimel.base.assets import asset_url
from kruimel.base.shared import GTAG_TYPES, GTAG_WAIT_MS

from .config import ConsentConfig
from .state import ConsentState

__all__ = ["GTAG_TYPES", "WAIT_FOR_UPDATE", "ConsentMode"]

# Category -> Consent Mode types: kruimel/base/shared.json, which banner.js bundles too.
WAIT_FOR_UPDATE = GTAG_WAIT_MS
_SCRIPT = "consent-mode.js"


class ConsentMode:
    """Renders the Consent Mode snippet for one configuration.

    :param config: the site's consent configuration; :attr:`enabled` is true when one of its
        services is a Google tag, and only then does :meth:`render` write anything.
    """

    def __init__(self, config: ConsentConfig) -> None:
        self.enabled = any(service.google for service in config.declared_services)
        names = {category.name for category in config.categories}
        self._types = tuple(
            (category, types) for category, types in GTAG_TYPES.items() if category in names
        )
        defaults: dict[str, object] = {t: "denied" for _, types in self._types for t in types}
        defaults["wait_for_update"] = WAIT_FOR_UPDATE
        self._inline_head = (
            "window.dataLayer=window.dataLayer||[];"
            "function gtag(){dataLayer.push(arguments);}"
            f"gtag('consent','default',{json.dumps(defaults, separators=(',', ':'))});"
        )
        self._all_types = " ".join(t for _, types in self._types for t in types)
        self._script_url = (
            asset_url(config.prefix.rstrip("/") + "/static", _SCRIPT) if self.enabled else ""
        )

    def update(self, state: ConsentState) -> dict[str, str]:
        """The ``gtag('consent', 'update', ...)`` argument for ``state``."""
        return {
            t: "granted" if state.allows(category) else "denied"
            for category, types in self._types
            for t in types
        }

    def render(self, state: ConsentState, *, nonce: str | None, inline: bool = True) -> str:
        """The snippet for this page, or ``""`` when no Google service is configured.

        :param nonce: the page's CSP nonce, put on the script either way.
        :param inline: ``False`` when the page's CSP would block an inline script without a
            nonce: then the external ``consent-mode.js`` carries the settings.
        """
        if not self.enabled:
            return ""
        nonce_attr = f' nonce="{escape(nonce)}"' if nonce else ""
        update = self.update(state)
        if inline:
            body = json.dumps(update, separators=(",", ":"))
            return (
                f'<script data-kruimel="consent-mode"{nonce_attr}>'
                f"{self._inline_head}gtag('consent','update',{body});</script>"
            )
        granted = " ".join(t for t, value in update.items() if value == "granted")
        return (
            f'<script data-kruimel="consent-mode" src="{escape(self._script_url)}"'
            f' data-types="{self._all_types}" data-granted="{granted}"'
            f' data-wait="{WAIT_FOR_UPDATE}"{nonce_attr}></script>'
        )
