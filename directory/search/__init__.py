"""Search: the query contract, the backend interface and the engines behind it.

`init_app` picks the backend named by SEARCH_BACKEND (CTFd-style registry), so
tests and deployments swap engines without touching views.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app

from .backend import (
    Drift,
    Hit,
    IndexBusy,
    IndexDamaged,
    SearchBackend,
    SearchPage,
)
from .query import QueryError, SearchQuery, parse_search_query


def _whoosh(app: Flask) -> SearchBackend:
    from .whoosh_backend import WhooshBackend

    return WhooshBackend(app.config["SEARCH_INDEX_DIR"])


def _postgres(app: Flask) -> SearchBackend:
    from ..extensions import db
    from .postgres_backend import PostgresBackend

    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise RuntimeError("SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL")
    # One connection per request: the search runs on the session's own connection.
    return PostgresBackend(lambda: db.session.connection())


BACKENDS: dict[str, Callable[[Flask], SearchBackend]] = {"whoosh": _whoosh, "postgres": _postgres}


def init_app(app: Flask) -> None:
    name = app.config.get("SEARCH_BACKEND", "whoosh")
    if name not in BACKENDS:
        raise RuntimeError(f"Unknown SEARCH_BACKEND {name!r}; choose one of {sorted(BACKENDS)}")
    app.extensions["search"] = BACKENDS[name](app)
    from .catch_up import register

    register(app)


def get_backend() -> SearchBackend:
    """The current app's search backend."""
    return current_app.extensions["search"]


__all__ = [
    "Drift",
    "Hit",
    "IndexBusy",
    "IndexDamaged",
    "QueryError",
    "SearchBackend",
    "SearchPage",
    "SearchQuery",
    "get_backend",
    "init_app",
    "parse_search_query",
]
