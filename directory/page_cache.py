"""Search answers for anonymous visitors, kept in each worker until the index changes.

Most searches repeat (a city, a condition, a treatment), and one answered from
memory costs a fraction of a fresh one (docs/performance.md, "HTTP under
gunicorn"). An entry is keyed by host, path, the raw query string and the search
index's version (`SearchBackend.version()`), and every change that patients can
see re-indexes after its commit, so a changed index makes every older entry
unreachable at once, on every app server. A short lifetime bounds what the index
does not see: a vocabulary renamed in the admin, a listing's "not verified since"
notice coming due.

Only visitors without any cookie are served from here: a signed-in user's page
carries their account, and a session cookie may carry flashed messages. Nothing
about the visitor is kept, only the page; entries live in process memory, never
on disk, and the least recently used go first once the cache holds PAGE_CACHE_MB.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from cachetools import TTLCache
from flask import Flask, Response, current_app, request, session

from .search import get_backend

EXTENSION = "page_cache"


@dataclass(frozen=True)
class _Entry:
    body: bytes
    status: int
    headers: tuple[tuple[str, str], ...]


def _entry_bytes(entry: _Entry) -> int:
    return len(entry.body)


class PageCache:
    """Finished responses in a cachetools TTLCache sized in body bytes, behind a lock.

    cachetools caches are not thread-safe, and a worker's threads share this one.
    """

    def __init__(
        self, max_bytes: int, lifetime: float, clock: Callable[[], float] = time.monotonic
    ):
        self.max_bytes = max_bytes
        self.lifetime = lifetime
        self._entries: TTLCache[Hashable, _Entry] = TTLCache(
            maxsize=max_bytes, ttl=lifetime, timer=clock, getsizeof=_entry_bytes
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Response | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self.misses += 1
                return None
            self.hits += 1
        return Response(entry.body, status=entry.status, headers=list(entry.headers))

    def put(self, key: Hashable, response: Response) -> None:
        body = response.get_data()
        if len(body) > self.max_bytes // 8:  # one huge page must not empty the cache
            return
        headers = tuple((k, v) for k, v in response.headers.items() if k != "Content-Length")
        entry = _Entry(body, response.status_code, headers)
        with self._lock:
            self._entries[key] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def init_app(app: Flask) -> None:
    megabytes = app.config.get("PAGE_CACHE_MB", 0)
    if megabytes > 0:
        lifetime = app.config.get("PAGE_CACHE_SECONDS", 60)
        app.extensions[EXTENSION] = PageCache(int(megabytes * 2**20), lifetime)


def get_page_cache() -> PageCache | None:
    return current_app.extensions.get(EXTENSION)


def _cacheable_request() -> bool:
    return request.method == "GET" and not request.cookies


def cached_for_anonymous(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve this view's successful answers to cookie-less visitors from the cache."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        cache = get_page_cache()
        if cache is None or not _cacheable_request():
            return view(*args, **kwargs)
        version = get_backend().version()
        if version is None:  # an engine that cannot say when it changed
            return view(*args, **kwargs)
        key = (request.host, request.path, request.query_string, version)
        cached = cache.get(key)
        if cached is not None:
            return cached
        response = current_app.make_response(view(*args, **kwargs))
        if (
            response.status_code == 200
            and not response.direct_passthrough
            and "Set-Cookie" not in response.headers
            and not session.modified
        ):
            cache.put(key, response)
        return response

    return wrapper
