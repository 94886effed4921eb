"""Bring the index up to date with work a commit queued but nobody indexed yet.

The service that commits drains the queue itself; entries are left only when that
process died first, or the index was busy or being repaired. So at start-up, and
on a request at most every CHECK_EVERY seconds per process, the queue is looked at
and drained without waiting for another writer (whoever holds the index drains it
when done). One short indexed query in the common, empty case.
"""

from __future__ import annotations

import threading
import time

from flask import Flask, request
from sqlalchemy import select

from ..extensions import db
from ..models import SearchQueue

CHECK_EVERY = 1.0
_EXTENSION = "search.catch_up"


class _Clock:
    """When this process last looked at the queue; one thread looks at a time."""

    def __init__(self) -> None:
        self.checked = float("-inf")
        self.lock = threading.Lock()

    def due(self) -> bool:
        now = time.monotonic()
        with self.lock:
            if now - self.checked < CHECK_EVERY:
                return False
            self.checked = now
            return True


def catch_up() -> bool:
    """Drain the queue if anything waits in it, without waiting for the index's lock.
    True when nothing is left."""
    from . import sync

    if db.session.scalar(select(SearchQueue.id).limit(1)) is None:
        db.session.rollback()  # end the read: the request starts a transaction of its own
        return True
    return sync.drain(wait=0)


def startup(app: Flask) -> None:
    """What a server process does once before serving: drain what a killed process left,
    and open the index, so damage found there starts its repair before the first search."""
    from . import get_backend, healing
    from .backend import IndexDamaged

    with app.app_context():
        try:
            catch_up()
            get_backend().warm_up()
        except IndexDamaged as exc:
            healing.report_damage(app, exc.where)
        finally:
            db.session.remove()


def register(app: Flask) -> None:
    clock = _Clock()
    app.extensions[_EXTENSION] = clock

    @app.before_request
    def drain_left_over_work() -> None:
        if request.endpoint != "static" and clock.due():
            catch_up()
