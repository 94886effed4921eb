"""A small bounded map for what the search engines keep in a process.

Both engines keep values derived from one index generation (Whoosh: a term's
document mask; PostgreSQL: document frequencies, a search's facets). The map is
bounded, because the keys include whatever words patients type, and drops the
least recently used entry first; it is safe across a worker's threads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class Memo:
    """A bounded map, least recently used entry dropped first; safe across threads.

    `get` answers None for a missing key, so None is never stored as a value.
    """

    def __init__(self, size: int):
        self._size = size
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def values(self) -> list[Any]:
        with self._lock:
            return list(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
