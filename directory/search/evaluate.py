"""Filters, facets, distance and ordering over candidate documents.

A backend finds candidates (text matches and vocabulary postings); this module
turns them into the contract's answer. Keeping it engine-neutral means the rules
(AND across filters, OR within one, ties by id, geodesic radius) live in one place.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from geopy.distance import geodesic

from ..geo import bounding_box
from .backend import Hit, SearchPage
from .query import FILTERS, SearchQuery

WGS84_A_METERS = 6378137.0
WGS84_F = 1 / 298.257223563
METERS_PER_MILE = 1609.344
# Andoyer-Lambert is within 1.1e-5 (relative) of the WGS-84 geodesic over 200,000
# random pairs from 0.0001 to 3,000 miles across US latitudes (measured with
# geographiclib); 1e-4 leaves a ninefold margin. Only documents whose estimate is
# this close to a boundary (the radius, or a neighbour in the order) pay for the
# exact geodesic, which costs about 90 microseconds against 1 for the estimate.
ESTIMATE_ERROR = 1e-4
INFINITY = float("inf")
TELEHEALTH_LIMIT = 50


@dataclass(frozen=True, slots=True)
class Row:
    """What the evaluator needs of one indexed clinic (built once per index generation)."""

    clinic_id: int
    lat: float | None
    lng: float | None
    in_person: bool
    telehealth: bool
    states_served: frozenset[str]
    prices: Mapping[str, int | None]
    verified_ordinal: int


def estimate_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Andoyer-Lambert distance on the WGS-84 ellipsoid: a tight, cheap bound on the
    geodesic (see ESTIMATE_ERROR), refined by the exact value only where it matters."""
    if lat1 == lat2 and lng1 == lng2:
        return 0.0
    mid = math.radians((lat1 + lat2) / 2)
    half_dlat = math.radians((lat1 - lat2) / 2)
    half_dlng = math.radians((lng1 - lng2) / 2)
    sin_g, cos_g = math.sin(half_dlat) ** 2, math.cos(half_dlat) ** 2
    sin_f, cos_f = math.sin(mid) ** 2, math.cos(mid) ** 2
    sin_l, cos_l = math.sin(half_dlng) ** 2, math.cos(half_dlng) ** 2
    s = sin_g * cos_l + cos_f * sin_l
    c = cos_g * cos_l + sin_f * sin_l
    if s < 1e-12 or c < 1e-12:  # within metres, or antipodal: the formula loses
        return geodesic_miles(lat1, lng1, lat2, lng2)  # precision, so be exact
    omega = math.atan(math.sqrt(s / c))
    r = math.sqrt(s * c) / omega
    h1, h2 = (3 * r - 1) / (2 * c), (3 * r + 1) / (2 * s)
    meters = 2 * omega * WGS84_A_METERS
    meters *= 1 + WGS84_F * (h1 * sin_f * cos_g - h2 * cos_f * sin_g)
    return meters / METERS_PER_MILE


def geodesic_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    return geodesic((lat1, lng1), (lat2, lng2)).miles


def _price_ok(row: Row, modalities: Collection[str], max_price: int) -> bool:
    """Some offering (of a chosen modality, if any were chosen) starts at or under max_price."""
    return any(
        price is not None and price <= max_price and (not modalities or code in modalities)
        for code, price in row.prices.items()
    )


def _lowest_price(row: Row, modalities: Collection[str]) -> float:
    prices = [
        p
        for code, p in row.prices.items()
        if p is not None and (not modalities or code in modalities)
    ]
    return min(prices) if prices else INFINITY


class Evaluator:
    """Evaluate one query over candidate rows.

    `postings(filter_name, code)` returns the docnums that carry a vocabulary code,
    `codes(filter_name)` the codes present in the index;
    `text_matches` holds the documents matching the text query (None without one);
    `scorer(docnums)` scores them, and is only called when the order is by relevance
    (or for the short telehealth list), so a text search by distance never pays for it.
    """

    def __init__(
        self,
        rows: Mapping[int, Row],
        postings: Callable[[str, str], frozenset[int]],
        codes: Callable[[str], Iterable[str]],
        query: SearchQuery,
        text_matches: frozenset[int] | None,
        scorer: Callable[[set[int]], Mapping[int, float]] | None = None,
    ):
        self.rows = rows
        self.postings = postings
        self.codes = codes
        self.query = query
        self.text_matches = text_matches
        self.scorer = scorer
        self.scores: dict[int, float] = {}
        self._exact: dict[tuple[float, float], float] = {}

    # -- sets ---------------------------------------------------------------
    def _filter_set(self, name: str) -> set[int] | None:
        codes = getattr(self.query, name)
        if not codes:
            return None
        found: set[int] = set()
        for code in codes:
            found |= self.postings(name, code)
        return found

    def _base(self) -> set[int]:
        if self.text_matches is not None:
            return set(self.text_matches)
        return set(self.rows)

    def _near(self, candidates: set[int]) -> dict[int, float]:
        """In-person candidates within the radius, with their distance estimate."""
        place = self.query.location
        assert place is not None
        radius = self.query.radius
        min_lat, max_lat, min_lng, max_lng = bounding_box(place.lat, place.lng, radius)
        near: dict[int, float] = {}
        for docnum in candidates:
            row = self.rows[docnum]
            if not row.in_person or row.lat is None or row.lng is None:
                continue
            if not (min_lat <= row.lat <= max_lat and min_lng <= row.lng <= max_lng):
                continue
            estimate = estimate_miles(place.lat, place.lng, row.lat, row.lng)
            if estimate * (1 - ESTIMATE_ERROR) > radius:
                continue
            if estimate * (1 + ESTIMATE_ERROR) > radius and self.exact(docnum) > radius:
                continue
            near[docnum] = estimate
        return near

    def exact(self, docnum: int) -> float:
        """Geodesic miles from the searched place, computed once per coordinate pair
        (many clinics share a ZIP centroid, so near-ties are often exact ties)."""
        row, place = self.rows[docnum], self.query.location
        assert place is not None and row.lat is not None and row.lng is not None
        point = (row.lat, row.lng)
        if point not in self._exact:
            self._exact[point] = geodesic_miles(place.lat, place.lng, row.lat, row.lng)
        return self._exact[point]

    # -- the answer -------------------------------------------------------------
    def run(self) -> SearchPage:
        query = self.query
        base = self._base()
        filters = {name: self._filter_set(name) for name in FILTERS}
        priced = self._priced(base, query.modality)
        matching = set(priced)
        for allowed in filters.values():
            if allowed is not None:
                matching &= allowed

        near: dict[int, float] | None = None
        if query.location is not None:
            # Facets count matches of the *other* filters, so they need distances beyond
            # `matching` whenever a filter is active.
            filtered = any(v is not None for v in filters.values()) or query.max_price is not None
            near = self._near(base if filtered else matching)
            results = matching & near.keys()
        else:
            results = matching
        facets = self._facets(base if near is None else base & near.keys(), filters)

        ordered = self._order(results, near)
        start = (query.page - 1) * query.per_page
        page = ordered[start : start + query.per_page]
        return SearchPage(
            query=query,
            hits=[self._hit(d) for d in page],
            total=len(results),
            telehealth=self._telehealth(matching, results),
            facets=facets,
        )

    def _priced(self, docnums: set[int], modalities: Collection[str]) -> set[int]:
        """The documents that pass `max_price` (all of them when no price limit is set)."""
        if self.query.max_price is None:
            return docnums
        limit = self.query.max_price
        return {d for d in docnums if _price_ok(self.rows[d], modalities, limit)}

    def _facets(
        self, space: set[int], filters: Mapping[str, set[int] | None]
    ) -> dict[str, dict[str, int]]:
        """Per value, how many results there would be with it and every *other* filter.

        The price limit belongs to the modality filter when modalities are chosen, so a
        modality's count uses that modality's own prices.
        """
        facets: dict[str, dict[str, int]] = {}
        for name in FILTERS:
            others = set(space)
            for other, allowed in filters.items():
                if other != name and allowed is not None:
                    others &= allowed
            if name != "modality":
                others = self._priced(others, self.query.modality)
            counts: dict[str, int] = {}
            for code in self.codes(name):
                hits = others & self.postings(name, code)
                if name == "modality":
                    hits = self._priced(hits, (code,))
                counts[code] = len(hits)
            facets[name] = counts
        return facets

    def _order(self, results: set[int], near: Mapping[int, float] | None) -> list[int]:
        query = self.query
        rows = self.rows
        if query.sort == "distance" and near is not None:
            return self._by_distance(results, near)
        if query.sort == "relevance":
            return self._by_relevance(results)
        if query.sort == "price":
            return sorted(
                results,
                key=lambda d: (_lowest_price(rows[d], query.modality), rows[d].clinic_id),
            )
        return sorted(results, key=lambda d: (-rows[d].verified_ordinal, rows[d].clinic_id))

    def _by_distance(self, results: set[int], near: Mapping[int, float]) -> list[int]:
        """Exact geodesic order for everything up to the requested page, cheaply.

        Estimates bound the geodesic within ESTIMATE_ERROR. Sorted by estimate, the
        documents fall into runs whose bounds overlap; between runs the estimate
        already gives the exact order, so only documents inside a run of two or more
        (near-ties, including clinics at the same coordinates) need the geodesic.
        """
        needed = self.query.page * self.query.per_page
        low, high = 1 - ESTIMATE_ERROR, 1 + ESTIMATE_ERROR
        by_estimate = heapq.nsmallest(
            needed, results, key=lambda d: (near[d], self.rows[d].clinic_id)
        )
        if len(by_estimate) == needed and len(results) > needed:
            # Anything whose lower bound reaches the last one's upper bound may belong.
            ceiling = near[by_estimate[-1]] * high / low
            by_estimate = sorted(
                (d for d in results if near[d] <= ceiling),
                key=lambda d: (near[d], self.rows[d].clinic_id),
            )
        ordered: list[int] = []
        run: list[int] = []
        for docnum in by_estimate:
            if run and near[docnum] * low > near[run[-1]] * high:
                ordered.extend(self._exact_order(run))
                run = []
                if len(ordered) >= needed:
                    break
            run.append(docnum)
        else:
            ordered.extend(self._exact_order(run))
        return ordered[:needed]

    def _exact_order(self, run: list[int]) -> list[int]:
        if len(run) == 1:
            return run
        return sorted(run, key=lambda d: (self.exact(d), self.rows[d].clinic_id))

    def _telehealth(self, matching: set[int], results: set[int]) -> list[Hit]:
        place = self.query.location
        if place is None or place.state is None:
            return []
        serving = [
            d
            for d in matching - results
            if self.rows[d].telehealth and place.state in self.rows[d].states_served
        ]
        self._score(set(serving))
        scores = self.scores
        serving.sort(
            key=lambda d: (
                -scores.get(d, 0.0),
                _lowest_price(self.rows[d], self.query.modality),
                self.rows[d].clinic_id,
            )
        )
        return [
            Hit(self.rows[d].clinic_id, None, scores.get(d)) for d in serving[:TELEHEALTH_LIMIT]
        ]

    def _score(self, docnums: set[int]) -> None:
        """Text-match scores of these documents (text queries only)."""
        if self.scorer is not None and docnums:
            self.scores.update(self.scorer(docnums))

    def _by_relevance(self, results: set[int]) -> list[int]:
        """Best text matches first, ties by id, for everything up to the requested page."""
        needed = self.query.page * self.query.per_page
        rows = self.rows
        self._score(results)
        scores = self.scores
        return heapq.nsmallest(
            needed, results, key=lambda d: (-scores.get(d, 0.0), rows[d].clinic_id)
        )

    def _hit(self, docnum: int) -> Hit:
        row = self.rows[docnum]
        distance = None
        if self.query.location is not None and row.lat is not None and row.lng is not None:
            distance = self.exact(docnum)
        return Hit(row.clinic_id, distance, self.scores.get(docnum))
