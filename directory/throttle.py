"""Rate limits shared by every app process and server: in the database, or in Redis.

A limit is "at most `limit` events for `key` within `window`". Callers name their
keys (`"sign-in:account:ann@example.com"`, `"sign-in:address:203.0.113.9"`); a store
only ever holds an HMAC of the key, so neither a database dump nor Redis shows
email addresses or client addresses, and nobody can recompute the hashes without
the app's SECRET_KEY.

`RATE_LIMIT_STORAGE` picks the store: `database` (the default: the `throttle_event`
table) or a `redis://host:port/db` URL (`rediss://` for TLS). Both count the same
way, a sliding window over event times, and both forget events after RETENTION:
the database store prunes old rows now and then, Redis lets each key expire.

Counting then acting is not atomic: a burst of parallel requests can overshoot a
limit by the number of requests in flight. That is fine for slowing down password
guessing and mail floods, which is all this is for.
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
from sqlalchemy import delete, func, select
from werkzeug.exceptions import ServiceUnavailable

from .extensions import db
from .models import ThrottleEvent

if TYPE_CHECKING:
    import redis

# Events older than this are deleted (or expire); no window may be longer.
RETENTION = timedelta(days=1)
# Pruning costs a table scan, so only about one hit in PRUNE_ONE_IN does it.
PRUNE_ONE_IN = 50
_EXTENSION = "directory.throttle"


def hit(key: str) -> None:
    """Count one event for `key` now (the database store commits, with anything pending)."""
    _store().hit(_digest(key), datetime.now(UTC))


def too_many(key: str, limit: int, window: timedelta) -> bool:
    """True when `key` already has `limit` or more events within the last `window`."""
    if window > RETENTION:
        raise ValueError(f"window {window} is longer than the retention {RETENTION}")
    return _store().count(_digest(key), datetime.now(UTC) - window) >= limit


def clear(key: str) -> None:
    """Forget every event for `key` (e.g. failed sign-ins after a successful one)."""
    _store().clear(_digest(key))


def prune(now: datetime | None = None) -> None:
    """Drop events that no window can reach any more (database store: the caller commits)."""
    _store().prune((now or datetime.now(UTC)) - RETENTION)


class Store(Protocol):
    """Where events are counted; `digest` is already the HMAC of the caller's key."""

    def hit(self, digest: str, now: datetime) -> None: ...
    def count(self, digest: str, since: datetime) -> int: ...
    def clear(self, digest: str) -> None: ...
    def prune(self, cutoff: datetime) -> None: ...


class DatabaseStore:
    """One `throttle_event` row per event, in the app's own database."""

    def hit(self, digest: str, now: datetime) -> None:
        db.session.add(ThrottleEvent(key=digest, created_at=now))
        if random.randrange(PRUNE_ONE_IN) == 0:
            self.prune(now - RETENTION)
        db.session.commit()

    def count(self, digest: str, since: datetime) -> int:
        count = db.session.scalar(
            select(func.count(ThrottleEvent.id)).where(
                ThrottleEvent.key == digest, ThrottleEvent.created_at > since
            )
        )
        return count or 0

    def clear(self, digest: str) -> None:
        db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key == digest))
        db.session.commit()

    def prune(self, cutoff: datetime) -> None:
        db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < cutoff))


class RedisStore:
    """One sorted set per key: members are events, scores their times (Unix seconds).

    Each hit also drops the key's events older than RETENTION and sets the key to
    expire RETENTION after its newest event, so nothing lingers in Redis.
    """

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

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

    def hit(self, digest: str, now: datetime) -> None:
        name, stamp = self._name(digest), now.timestamp()
        # A random suffix keeps two events in the same microsecond apart.
        member = f"{stamp:.6f}:{secrets.token_hex(4)}"
        with self._reachable():
            pipe = self.client.pipeline(transaction=True)
            pipe.zadd(name, {member: stamp})
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
