"""Kruimel: cookie consent and privacy-friendly analytics for ASGI apps and static sites.

The distribution has three packages: :mod:`consent` (the consent middleware),
:mod:`analytics` (the cookieless collector) and this one, which holds what both share:
the ClickHouse store, the TOML settings loader and the ``kruimel`` command line.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
