"""A small bounded map for what the search engines keep in a process.

Both engines keep values derived from one index generation (Whoosh: a term's
document mask; PostgreSQL: document frequencies, a search's facets). The map is
bounded, because the keys include whatever words patients type, and drops the
least recently used entry first. It is a cachetools `LRUCache` behind a lock:
cachetools caches are not thread-safe, and a worker's threads share these.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache


class Memo:
    """A bounded map, least recently used entry dropped first; safe across threads.

    `get` answers None for a missing key, so None is never stored as a value.
    """

    def __init__(self, size: int):
        self._entries: LRUCache[Hashable, Any] = LRUCache(maxsize=size)
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> list[Any]:
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
