"""Rate limits shared by every app process and server: in the database, or in Redis.

A limit is "at most `limit` events for `key` within `window`", a sliding window
over event times. `take(key, limit, window)` checks and counts in one atomic
step: it records an event and answers True only while fewer than `limit` are in
the window, so 40 parallel wrong passwords against one account get exactly
`limit` checked, never more. Refused attempts are not recorded (a key never holds
more than `limit` events per window); `give_back` removes one again (a sign-in
that turned out right). `hit` and `too_many` count and look without the other,
for callers that do not act on the answer.

Callers name their keys (`"sign-in:account:ann@example.com"`,
`"sign-in:address:203.0.113.9"`); a store only ever holds an HMAC of the key, so
neither a database dump nor Redis shows email addresses or client addresses, and
nobody can recompute the hashes without the app's SECRET_KEY.

`RATE_LIMIT_STORAGE` picks the store: `database` (the default: the `throttle_event`
table) or a `redis://host:port/db` URL (`rediss://` for TLS).

* Database: each `take` is one short transaction on a connection of its own (it
  never commits the caller's pending work), serialized per key: PostgreSQL takes
  a transaction-level advisory lock on the key, SQLite's first statement (a
  DELETE of the key's expired events) takes the database's write lock. Call it
  outside a write transaction of the caller's, or SQLite waits for that one.
* Redis: each `take` is one Lua script (ZREMRANGEBYSCORE, ZCOUNT, ZADD, EXPIRE on
  one sorted set), which Redis runs without interleaving any other command.

Both forget events after RETENTION: the database prunes old rows now and then,
Redis lets each key expire.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from flask import Flask, current_app
from sqlalchemy import Connection, delete, func, insert, select, text
from werkzeug.exceptions import ServiceUnavailable

from .extensions import db
from .models import ThrottleEvent

if TYPE_CHECKING:
    import redis

# Events older than this are deleted (or expire); no window may be longer.
RETENTION = timedelta(days=1)
# Pruning the whole table costs a scan, so only about one write in PRUNE_ONE_IN does it.
PRUNE_ONE_IN = 50
_EXTENSION = "directory.throttle"


def take(key: str, limit: int, window: timedelta) -> bool:
    """Count one event for `key` if it has fewer than `limit` within `window`: True when
    counted (go ahead), False when the limit is reached (nothing is counted)."""
    now = datetime.now(UTC)
    return _store().take(_digest(key), limit, now, now - _checked(window))


def give_back(key: str) -> None:
    """Remove `key`'s newest event: an attempt `take` counted that should not count."""
    _store().give_back(_digest(key))


def hit(key: str) -> None:
    """Count one event for `key` now, whatever the count (its own transaction)."""
    _store().hit(_digest(key), datetime.now(UTC))


def too_many(key: str, limit: int, window: timedelta) -> bool:
    """True when `key` already has `limit` or more events within the last `window`.

    Only a look: to act on the answer under parallel requests, use `take`.
    """
    return _store().count(_digest(key), datetime.now(UTC) - _checked(window)) >= limit


def clear(key: str) -> None:
    """Forget every event for `key` (e.g. failed sign-ins after a successful one)."""
    _store().clear(_digest(key))


def prune(now: datetime | None = None) -> None:
    """Drop events that no window can reach any more."""
    _store().prune((now or datetime.now(UTC)) - RETENTION)


def _checked(window: timedelta) -> timedelta:
    if window > RETENTION:
        raise ValueError(f"window {window} is longer than the retention {RETENTION}")
    return window


class Store(Protocol):
    """Where events are counted; `digest` is already the HMAC of the caller's key."""

    def take(self, digest: str, limit: int, now: datetime, since: datetime) -> bool: ...
    def give_back(self, digest: str) -> None: ...
    def hit(self, digest: str, now: datetime) -> None: ...
    def count(self, digest: str, since: datetime) -> int: ...
    def clear(self, digest: str) -> None: ...
    def prune(self, cutoff: datetime) -> None: ...


_EVENTS = ThrottleEvent.__table__


class DatabaseStore:
    """One `throttle_event` row per event, in the app's own database."""

    def take(self, digest: str, limit: int, now: datetime, since: datetime) -> bool:
        with self._transaction(digest, now) as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(_EVENTS)
                .where(_EVENTS.c.key == digest, _EVENTS.c.created_at > since)
            )
            if (count or 0) >= limit:
                return False
            conn.execute(insert(_EVENTS).values(key=digest, created_at=now))
            return True

    def give_back(self, digest: str) -> None:
        newest = select(func.max(_EVENTS.c.id)).where(_EVENTS.c.key == digest).scalar_subquery()
        with db.engine.begin() as conn:
            conn.execute(delete(_EVENTS).where(_EVENTS.c.id == newest))

    def hit(self, digest: str, now: datetime) -> None:
        with self._transaction(digest, now) as conn:
            conn.execute(insert(_EVENTS).values(key=digest, created_at=now))

    def count(self, digest: str, since: datetime) -> int:
        with db.engine.connect() as conn:
            count = conn.scalar(
                select(func.count())
                .select_from(_EVENTS)
                .where(_EVENTS.c.key == digest, _EVENTS.c.created_at > since)
            )
        return count or 0

    def clear(self, digest: str) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(_EVENTS).where(_EVENTS.c.key == digest))

    def prune(self, cutoff: datetime) -> None:
        with db.engine.begin() as conn:
            conn.execute(delete(_EVENTS).where(_EVENTS.c.created_at < cutoff))

    @contextmanager
    def _transaction(self, digest: str, now: datetime) -> Iterator[Connection]:
        """A short transaction of its own that no other writer of `digest` overlaps.

        PostgreSQL: an advisory lock on the key, held until commit, so the count a
        second request reads already includes the first one's event. SQLite: the
        DELETE (this key's expired events) takes the write lock, which every
        writer shares. Now and then the whole table is pruned too.
        """
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _lock_number(digest)}
                )
            conn.execute(
                delete(_EVENTS).where(
                    _EVENTS.c.key == digest, _EVENTS.c.created_at < now - RETENTION
                )
            )
            if random.randrange(PRUNE_ONE_IN) == 0:
                conn.execute(delete(_EVENTS).where(_EVENTS.c.created_at < now - RETENTION))
            yield conn


def _lock_number(digest: str) -> int:
    """A signed 64-bit advisory-lock number for a key digest (hex)."""
    number = int(digest[:16], 16)
    return number - (1 << 64) if number >= 1 << 63 else number


# KEYS[1]: the sorted set; ARGV: now, since (exclusive), expired-before, limit, member, ttl.
_TAKE_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZCOUNT', KEYS[1], '(' .. ARGV[2], '+inf') >= tonumber(ARGV[4]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[5])
redis.call('EXPIRE', KEYS[1], ARGV[6])
return 1
"""


class RedisStore:
    """One sorted set per key: members are events, scores their times (Unix seconds).

    Each write also drops the key's events older than RETENTION and sets the key to
    expire RETENTION after its newest event, so nothing lingers in Redis.
    """

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix
        self._take = client.register_script(_TAKE_SCRIPT)

    def _name(self, digest: str) -> str:
        return self.prefix + digest

    @contextmanager
    def _reachable(self) -> Iterator[None]:
        """Redis down means limits cannot be checked. Failing closed keeps password
        guessing slow, but as a 503 that says what happened, never a bare 500."""
        import redis

        try:
            yield
        except redis.exceptions.RedisError as exc:
            current_app.logger.error("Rate-limit store unreachable: %s", exc)
            raise ServiceUnavailable(
                "This form is briefly unavailable. Please try again in a few minutes."
            ) from exc

    @staticmethod
    def _member(stamp: float) -> str:
        # A random suffix keeps two events in the same microsecond apart.
        return f"{stamp:.6f}:{secrets.token_hex(4)}"

    def take(self, digest: str, limit: int, now: datetime, since: datetime) -> bool:
        stamp = now.timestamp()
        args = [
            f"{stamp:.6f}",
            f"{since.timestamp():.6f}",
            f"{stamp - RETENTION.total_seconds():.6f}",
            limit,
            self._member(stamp),
            int(RETENTION.total_seconds()) + 1,
        ]
        with self._reachable():
            return bool(self._take(keys=[self._name(digest)], args=args))

    def give_back(self, digest: str) -> None:
        with self._reachable():
            self.client.zpopmax(self._name(digest))

    def hit(self, digest: str, now: datetime) -> None:
        name, stamp = self._name(digest), now.timestamp()
        with self._reachable():
            pipe = self.client.pipeline(transaction=True)
            pipe.zadd(name, {self._member(stamp): stamp})
            pipe.zremrangebyscore(name, "-inf", f"({stamp - RETENTION.total_seconds()}")
            pipe.expire(name, int(RETENTION.total_seconds()) + 1)
            pipe.execute()

    def count(self, digest: str, since: datetime) -> int:
        with self._reachable():
            return int(self.client.zcount(self._name(digest), f"({since.timestamp()}", "+inf"))

    def clear(self, digest: str) -> None:
        with self._reachable():
            self.client.delete(self._name(digest))

    def prune(self, cutoff: datetime) -> None:
        """Nothing to do: every key expires RETENTION after its last event."""


def init_app(app: Flask) -> None:
    """Choose the store named by RATE_LIMIT_STORAGE (connections open on first use)."""
    url = app.config.get("RATE_LIMIT_STORAGE") or "database"
    if url == "database":
        store: Store = DatabaseStore()
    else:
        import redis

        client = redis.Redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
        store = RedisStore(client, app.config.get("RATE_LIMIT_KEY_PREFIX", "throttle:"))
    app.extensions[_EXTENSION] = store


def _store() -> Store:
    store = current_app.extensions.get(_EXTENSION)
    if store is None:  # an app built without init_app: the database, as before
        store = current_app.extensions[_EXTENSION] = DatabaseStore()
    return store


def _digest(key: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
