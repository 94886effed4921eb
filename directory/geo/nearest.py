"""The nearest ZIP to a point, exact on the sphere: the index behind lat,lng queries."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from .places import ZipRecord


def _angle(lat1: float, lng1: float, cos1: float, lat2: float, lng2: float, cos2: float) -> float:
    """Central angle (radians) between two points on a sphere; inputs in radians."""
    h = math.sin((lat2 - lat1) / 2) ** 2 + cos1 * cos2 * math.sin((lng2 - lng1) / 2) ** 2
    return 2 * math.asin(min(1.0, math.sqrt(h)))


class NearestIndex:
    """ZIPs bucketed in 1-degree cells; each cell knows its centre and radius.

    A query ranks cells by (distance to centre - radius), a true lower bound, and stops
    once that bound exceeds the best ZIP so far: exact on the sphere. The bounds of
    all cells (about 1,300) are computed at once with numpy; computing and sorting
    them one by one in Python was most of a lat,lng search's place lookup (1.1 ms).
    """

    CELL_DEGREES = 1.0

    def __init__(self, records: Sequence[ZipRecord]) -> None:
        self._points = [
            (math.radians(r.lat), math.radians(r.lng), math.cos(math.radians(r.lat)))
            for r in records
        ]
        buckets: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, r in enumerate(records):
            cell = (math.floor(r.lat / self.CELL_DEGREES), math.floor(r.lng / self.CELL_DEGREES))
            buckets[cell].append(i)
        cells = [self._cell(members) for members in buckets.values()]
        self._members = [members for *_, members in cells]
        self._lat = np.array([cell[0] for cell in cells])
        self._lng = np.array([cell[1] for cell in cells])
        self._cos = np.array([cell[2] for cell in cells])
        self._radius = np.array([cell[3] for cell in cells])

    def _cell(self, members: list[int]) -> tuple[float, float, float, float, tuple[int, ...]]:
        lat = sum(self._points[i][0] for i in members) / len(members)
        lng = sum(self._points[i][1] for i in members) / len(members)
        cos = math.cos(lat)
        radius = max(_angle(lat, lng, cos, *self._points[i]) for i in members)
        return lat, lng, cos, radius, tuple(members)

    def nearest(self, lat: float, lng: float) -> int:
        """Index of the record nearest to (lat, lng) in degrees."""
        q = (math.radians(lat), math.radians(lng), math.cos(math.radians(lat)))
        h = (
            np.sin((self._lat - q[0]) / 2) ** 2
            + q[2] * self._cos * np.sin((self._lng - q[1]) / 2) ** 2
        )
        bounds = 2 * np.arcsin(np.minimum(1.0, np.sqrt(h))) - self._radius
        best, best_index = math.inf, -1
        for n in np.argsort(bounds, kind="stable").tolist():
            if bounds[n] > best:
                break
            for i in self._members[n]:
                angle = _angle(*q, *self._points[i])
                if angle < best:
                    best, best_index = angle, i
        return best_index
