"""Repair a damaged search index while the site keeps serving.

When a search finds the index damaged (`IndexDamaged`), the page answers 503 with
`Retry-After` (`SearchUnavailable`) and a thread of this process rebuilds the index
from the database into a fresh folder, which every process then picks up. At most
one repair runs per process; across processes the index's write lock serialises
them, and a repair that finds the damaged index already replaced does nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass

from flask import Flask
from werkzeug.exceptions import ServiceUnavailable

from ..extensions import db

# Seconds a visitor is asked to wait; a rebuild of the demo data takes about one.
RETRY_AFTER = 30
# A repair that failed (a full disk, say) is not started again sooner than this.
RETRY_REPAIR_AFTER = 10.0
_EXTENSION = "search.healing"
_lock = threading.Lock()


class SearchUnavailable(ServiceUnavailable):
    """The index is being rebuilt: search answers a 503 page, every other page works."""

    description = (
        "Search is being repaired and will be back in a minute. Clinic pages, guides and "
        "everything else still work. Please try your search again shortly."
    )

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER)


@dataclass
class _Repair:
    thread: threading.Thread | None = None
    failed_at: float = float("-inf")
    repairs: int = 0  # rebuilds done, for the tests and the log


def _state(app: Flask) -> _Repair:
    return app.extensions.setdefault(_EXTENSION, _Repair())


def report_damage(app: Flask, where: Hashable | None = None) -> None:
    """Start rebuilding the index in the background, unless a repair is under way."""
    state = _state(app)
    with _lock:
        if state.thread is not None and state.thread.is_alive():
            return
        if time.monotonic() - state.failed_at < RETRY_REPAIR_AFTER:
            return
        state.thread = threading.Thread(
            target=_repair, args=(app, where), name="search-repair", daemon=True
        )
        state.thread.start()


def repairing(app: Flask) -> bool:
    thread = _state(app).thread
    return thread is not None and thread.is_alive()


def wait(app: Flask, timeout: float | None = None) -> bool:
    """Wait for this process's repair to finish; False if it is still running."""
    thread = _state(app).thread
    if thread is not None:
        thread.join(timeout)
    return not repairing(app)


def _repair(app: Flask, where: Hashable | None) -> None:
    from . import sync

    with app.app_context():
        try:
            started = time.perf_counter()
            count = sync.rebuild(replacing=where)
            if count is not None:
                _state(app).repairs += 1
                app.logger.warning(
                    "Search index rebuilt after damage: %d clinics in %.1f s",
                    count,
                    time.perf_counter() - started,
                )
        except Exception:
            _state(app).failed_at = time.monotonic()
            app.logger.exception("Repairing the search index failed; it will be tried again")
        finally:
            db.session.remove()
