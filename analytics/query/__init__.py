"""The query engine: Plausible's Stats API v2 over Kruimel's events.

:func:`parse_query` validates a request into a :class:`Query`, :func:`run_query` answers it
from the store, :func:`make_query_endpoint` serves it as ``POST /api/v2/query``.
"""

from __future__ import annotations

from .api import QueryEndpoint, make_query_endpoint
from .parse import Query, QueryError, parse_query
from .run import run_query

__all__ = [
    "Query",
    "QueryEndpoint",
    "QueryError",
    "make_query_endpoint",
    "parse_query",
    "run_query",
]
