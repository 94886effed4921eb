"""Rate limits kept in the database, so every app process and server counts together.

A limit is "at most `limit` events for `key` within `window`". Callers name their
keys (`"sign-in:account:ann@example.com"`, `"sign-in:address:203.0.113.9"`); the
table only ever holds an HMAC of the key, so a database dump shows neither email
addresses nor client addresses, and nobody can recompute the hashes without the
app's SECRET_KEY.

Counting then acting is not atomic: a burst of parallel requests can overshoot a
limit by the number of requests in flight. That is fine for slowing down password
guessing and mail floods, which is all this is for.
"""

from __future__ import annotations

import hashlib
import hmac
import random
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from .extensions import db
from .models import ThrottleEvent

# Events older than this are deleted; no window may be longer.
RETENTION = timedelta(days=1)
# Pruning costs a table scan, so only about one hit in PRUNE_ONE_IN does it.
PRUNE_ONE_IN = 50


def hit(key: str) -> None:
    """Count one event for `key` now, and commit (with anything else pending)."""
    now = datetime.now(UTC)
    db.session.add(ThrottleEvent(key=_digest(key), created_at=now))
    if random.randrange(PRUNE_ONE_IN) == 0:
        prune(now)
    db.session.commit()


def too_many(key: str, limit: int, window: timedelta) -> bool:
    """True when `key` already has `limit` or more events within the last `window`."""
    if window > RETENTION:
        raise ValueError(f"window {window} is longer than the retention {RETENTION}")
    since = datetime.now(UTC) - window
    count = db.session.scalar(
        select(func.count(ThrottleEvent.id)).where(
            ThrottleEvent.key == _digest(key), ThrottleEvent.created_at > since
        )
    )
    return (count or 0) >= limit


def clear(key: str) -> None:
    """Forget every event for `key` (e.g. failed sign-ins after a successful one)."""
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.key == _digest(key)))
    db.session.commit()


def prune(now: datetime | None = None) -> None:
    """Delete events that no window can reach any more (the caller commits)."""
    cutoff = (now or datetime.now(UTC)) - RETENTION
    db.session.execute(delete(ThrottleEvent).where(ThrottleEvent.created_at < cutoff))


def _digest(key: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()
