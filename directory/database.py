"""The database engine: a pool sized from the web server, SQLite set up for concurrent
writers, and the driver errors that mean "not now" raised as exceptions of their own.

- PostgreSQL: `pool_size` is WEB_THREADS + 1 (a request thread's session holds
  one; a background index rebuild may hold another), plus WEB_THREADS overflow:
  the rate limits (throttle.py) take a second, short connection while the session
  holds its first, and with less, T threads would wait on each other until the
  timeout. Waiting for a connection (`pool_timeout`) and opening one (libpq's
  `connect_timeout`) are bounded by DB_POOL_TIMEOUT seconds: seconds, not minutes.
- SQLite: WAL, so readers never wait for the writer; `busy_timeout`
  (SQLITE_BUSY_TIMEOUT_MS) for writers waiting for each other; `synchronous=NORMAL`,
  which with WAL can lose the last commits in a power cut but never corrupts.
- `DatabaseBusy`: SQLite's write lock stayed taken for the whole busy timeout, so
  nothing was written. `DatabaseUnavailable`: connecting failed, or the connection
  was lost. `directory/errors.py` answers both (and a full pool's
  `sqlalchemy.exc.TimeoutError`) without a 500.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError

from .extensions import db

# sqlite3 result codes (the low byte of an extended code): another connection
# holds the lock (SQLITE_BUSY), or a table lock inside one connection (SQLITE_LOCKED).
_SQLITE_BUSY, _SQLITE_LOCKED = 5, 6


class DatabaseUnavailable(OperationalError):
    """The database cannot be reached: connecting failed, or the server went away."""


class DatabaseBusy(OperationalError):
    """SQLite's write lock stayed taken past the busy timeout; this write did not happen."""


@contextmanager
def lost_race_raises(error: Exception) -> Iterator[None]:
    """Writes under SQLAlchemy's optimistic lock (`version_id_col`): when another
    writer got there first, roll back and raise `error` (a message for the person)."""
    try:
        yield
    except StaleDataError as exc:
        db.session.rollback()
        raise error from exc


def engine_options(config: dict[str, Any]) -> dict[str, Any]:
    """SQLAlchemy `create_engine` options for the configured database URL."""
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite":
        # The busy timeout is also set by the connect hook; sqlite3's own `timeout`
        # covers the PRAGMAs that hook runs before its busy_timeout applies.
        return {"connect_args": {"timeout": config["SQLITE_BUSY_TIMEOUT_MS"] / 1000}}
    wait = config["DB_POOL_TIMEOUT"]
    options: dict[str, Any] = {
        "pool_size": config["WEB_THREADS"] + 1,
        "max_overflow": config["WEB_THREADS"],  # a second, short connection per thread
        "pool_timeout": wait,
        "pool_pre_ping": True,
    }
    if url.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": max(wait, 2)}  # libpq's minimum is 2
    return options


def init_app(app: Flask) -> None:
    """Build the engine from the settings (explicit SQLALCHEMY_ENGINE_OPTIONS win) and hook it."""
    options = engine_options(app.config)
    options.update(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    db.init_app(app)
    with app.app_context():
        engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "handle_error", _translate_error)
        if engine.dialect.name == "sqlite":
            _tune_sqlite(engine, app.config["SQLITE_BUSY_TIMEOUT_MS"])


def _tune_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def set_pragmas(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            # Kept in the file: only the first connection of a new database switches.
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()


def is_sqlite_busy(error: BaseException) -> bool:
    """True for sqlite3's "database is locked" / "database table is locked"."""
    if not isinstance(error, sqlite3.OperationalError):
        return False
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    return "is locked" in str(error)


def _translate_error(context: ExceptionContext) -> DBAPIError | None:
    """SQLAlchemy's `handle_error` hook: raise our own exception for busy or unreachable.

    Pre-ping failures are left alone: the pool reconnects by itself. Parameters are
    hidden from these exceptions, since a search's words may be among them.
    """
    if context.is_pre_ping or not isinstance(context.sqlalchemy_exception, DBAPIError):
        return None
    original = context.original_exception
    if is_sqlite_busy(original):
        kind: type[DBAPIError] = DatabaseBusy
    elif context.connection is None or context.is_disconnect:
        kind = DatabaseUnavailable
    else:
        return None
    return kind(
        context.statement,
        context.parameters,
        original,
        hide_parameters=True,
        connection_invalidated=context.is_disconnect,
    )
