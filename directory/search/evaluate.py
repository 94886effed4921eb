"""Filters, facets, distance and ordering over the indexed rows, as numpy columns.

A backend finds candidates (text matches and vocabulary postings) as boolean masks
over its document numbers; this module turns them into the contract's answer.
Keeping it engine-neutral means the rules (AND across filters, OR within one; at an
equal key clinics accepting new patients first, then those whose credentials were
checked, then those whose prices were confirmed recently, then by id; geodesic
radius; a whole state by its clinics' state) live in one place.

Why columns and masks: a common word ("depression") matches nearly every
document, and Python sets of docnums made each query pay per document; a mask is
one byte a document and every step below is a vectorised pass, so only the handful
of rows near a ranking boundary go through Python (figures: docs/performance.md,
"What changed, and why").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ..geo import bounding_box, miles_between
from ..geo.distance import METERS_PER_MILE, WGS84_A_METERS, WGS84_F
from .backend import Hit, SearchPage
from .query import FILTERS, TELEHEALTH_LIMIT, SearchQuery
from .trust import TrustCutoffs, cutoffs

# Andoyer-Lambert is within 1.1e-5 (relative) of the WGS-84 geodesic at US distances
# and latitudes, so 1e-4 leaves a ninefold margin. Only documents whose estimate is
# this close to a boundary (the radius, or a neighbour in the order) pay for the
# exact geodesic, many times dearer (docs/performance.md, "What changed, and why").
ESTIMATE_ERROR = 1e-4
# Below this the formula loses precision (points within metres, or antipodal).
_DEGENERATE = 1e-12
INFINITY = float("inf")

Mask = np.ndarray  # bool, one entry per document number
Index = np.ndarray  # int64 document numbers


@dataclass(frozen=True, slots=True)
class Row:
    """What the evaluator needs of one indexed clinic (the input of `RowTable.build`)."""

    clinic_id: int
    lat: float | None
    lng: float | None
    in_person: bool
    telehealth: bool
    states_served: frozenset[str]
    prices: Mapping[str, int | None]
    verified_ordinal: int
    state: str
    accepting: bool
    checked_ordinal: int = 0
    prices_ordinal: int = 0


@dataclass(frozen=True)
class RowTable:
    """The indexed rows as columns, one entry per document number (built once per
    index generation). Numbers without a live document are all-False / NaN / inf."""

    live: Mask
    clinic_id: np.ndarray  # int64
    lat: np.ndarray  # float64, NaN without coordinates
    lng: np.ndarray
    in_person: Mask  # live, in person, with coordinates
    telehealth: Mask
    accepting: Mask  # accepting new patients
    verified: np.ndarray  # int64 ordinal of the last verification
    checked: np.ndarray  # int64 ordinal of the newest confirmed credential check (0: none)
    prices_confirmed: np.ndarray  # int64 ordinal of the oldest price confirmation (0: none)
    # modality code -> lowest session price (inf: not offered, or no published price)
    prices: Mapping[str, np.ndarray]
    # state -> telehealth programs licensed there
    served: Mapping[str, Mask]
    # state -> in-person clinics there (with or without coordinates)
    located: Mapping[str, Mask]

    @property
    def size(self) -> int:
        return len(self.live)

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.live))

    @classmethod
    def build(cls, size: int, rows: Iterable[tuple[int, Row]]) -> RowTable:
        """Columns of `size` document numbers from (docnum, row) pairs."""
        live = np.zeros(size, dtype=bool)
        clinic_id = np.zeros(size, dtype=np.int64)
        lat = np.full(size, np.nan)
        lng = np.full(size, np.nan)
        in_person = np.zeros(size, dtype=bool)
        telehealth = np.zeros(size, dtype=bool)
        accepting = np.zeros(size, dtype=bool)
        verified = np.zeros(size, dtype=np.int64)
        checked = np.zeros(size, dtype=np.int64)
        prices_confirmed = np.zeros(size, dtype=np.int64)
        prices: dict[str, np.ndarray] = {}
        served: dict[str, list[int]] = {}
        located: dict[str, list[int]] = {}
        for docnum, row in rows:
            live[docnum] = True
            clinic_id[docnum] = row.clinic_id
            verified[docnum] = row.verified_ordinal
            accepting[docnum] = row.accepting
            checked[docnum] = row.checked_ordinal
            prices_confirmed[docnum] = row.prices_ordinal
            if row.in_person:
                located.setdefault(row.state, []).append(docnum)
            if row.lat is not None and row.lng is not None:
                lat[docnum], lng[docnum] = row.lat, row.lng
                in_person[docnum] = row.in_person
            if row.telehealth:
                telehealth[docnum] = True
                for state in row.states_served:
                    served.setdefault(state, []).append(docnum)
            for code, price in row.prices.items():
                if code not in prices:
                    prices[code] = np.full(size, np.inf)
                if price is not None:
                    prices[code][docnum] = price
        return cls(
            live=live,
            clinic_id=clinic_id,
            lat=lat,
            lng=lng,
            in_person=in_person,
            telehealth=telehealth,
            accepting=accepting,
            verified=verified,
            checked=checked,
            prices_confirmed=prices_confirmed,
            prices=prices,
            served={state: mask_of(size, docnums) for state, docnums in served.items()},
            located={state: mask_of(size, docnums) for state, docnums in located.items()},
        )


def mask_of(size: int, docnums: Index | Iterable[int]) -> Mask:
    """A mask with these document numbers (an index array, or any iterable) set."""
    mask = np.zeros(size, dtype=bool)
    if not isinstance(docnums, np.ndarray):
        docnums = np.fromiter(docnums, dtype=np.int64)
    mask[docnums] = True
    return mask


def estimate_miles(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Andoyer-Lambert distance on the WGS-84 ellipsoid: a tight, cheap bound on the
    geodesic (see ESTIMATE_ERROR), refined by the exact value only where it matters."""
    return float(estimate_miles_to(lat1, lng1, np.array([lat2]), np.array([lng2]))[0])


def estimate_miles_to(lat: float, lng: float, lats: np.ndarray, lngs: np.ndarray) -> np.ndarray:
    """`estimate_miles` from one point to many, vectorised (exact where it degenerates)."""
    mid = np.radians((lat + lats) / 2)
    half_dlat = np.radians((lat - lats) / 2)
    half_dlng = np.radians((lng - lngs) / 2)
    sin_g, cos_g = np.sin(half_dlat) ** 2, np.cos(half_dlat) ** 2
    sin_f, cos_f = np.sin(mid) ** 2, np.cos(mid) ** 2
    sin_l, cos_l = np.sin(half_dlng) ** 2, np.cos(half_dlng) ** 2
    s = sin_g * cos_l + cos_f * sin_l
    c = cos_g * cos_l + sin_f * sin_l
    degenerate = (s < _DEGENERATE) | (c < _DEGENERATE)
    with np.errstate(all="ignore"):  # degenerate entries are replaced below
        omega = np.arctan(np.sqrt(s / c))
        r = np.sqrt(s * c) / omega
        h1, h2 = (3 * r - 1) / (2 * c), (3 * r + 1) / (2 * s)
        meters = 2 * omega * WGS84_A_METERS
        meters = meters * (1 + WGS84_F * (h1 * sin_f * cos_g - h2 * cos_f * sin_g))
    miles = meters / METERS_PER_MILE
    for i in np.flatnonzero(degenerate):
        same = lats[i] == lat and lngs[i] == lng
        miles[i] = 0.0 if same else miles_between(lat, lng, float(lats[i]), float(lngs[i]))
    return miles


@dataclass
class _Near:
    """In-person candidates within the radius, and every document's distance estimate
    (inf outside the radius)."""

    mask: Mask
    estimate: np.ndarray


class Evaluator:
    """Evaluate one query over a `RowTable`.

    `postings(filter_name, code)` returns the mask of documents carrying a vocabulary
    code, `codes(filter_name)` the codes present in the index; `text_matches` is the
    mask of documents matching the text query (None without one); `scorer(docnums)`
    scores documents, and is only called when the order is by relevance (or for the
    short telehealth list), so a text search by distance never pays for it.
    `trust` holds the day numbers from which a check or a price still counts
    (today's by default). `card(docnum)` reads a document's result card, which
    each hit carries (read for the hits alone: a card is a few hundred bytes, too
    much to keep for every document in every worker).
    """

    def __init__(
        self,
        table: RowTable,
        postings: Callable[[str, str], Mask],
        codes: Callable[[str], Iterable[str]],
        query: SearchQuery,
        text_matches: Mask | None,
        scorer: Callable[[Index], np.ndarray] | None = None,
        trust: TrustCutoffs | None = None,
        card: Callable[[int], str | None] | None = None,
        telehealth_cards: int = TELEHEALTH_LIMIT,
    ):
        self.table = table
        self.card = card
        self.telehealth_cards = telehealth_cards
        self.postings = postings
        self.codes = codes
        self.query = query
        self.text_matches = text_matches
        self.scorer = scorer
        self._exact: dict[tuple[float, float], float] = {}
        self._priced_masks: dict[tuple[str, ...], Mask] = {}
        # Compared only where needed: over the documents being ordered, and over
        # every document only when the "credentials checked" filter is on.
        self.trust = trust or cutoffs()

    # -- masks --------------------------------------------------------------------
    def _filter_mask(self, name: str) -> Mask | None:
        """Documents with any chosen code of this filter (None: the filter is off)."""
        codes = getattr(self.query, name)
        if not codes:
            return None
        found = np.zeros(self.table.size, dtype=bool)
        for code in codes:
            found |= self.postings(name, code)
        return found

    def _priced(self, modalities: Collection[str]) -> Mask | None:
        """Documents with an offering (of these modalities, or any) at or under
        `max_price`; None when no price limit is set."""
        limit = self.query.max_price
        if limit is None:
            return None
        key = tuple(sorted(modalities))
        if key not in self._priced_masks:
            prices = self.table.prices
            codes = key or tuple(prices)
            ok = np.zeros(self.table.size, dtype=bool)
            for code in codes:
                if code in prices:
                    ok |= prices[code] <= limit
            self._priced_masks[key] = ok
        return self._priced_masks[key]

    def _lowest_price(self, docnums: Index) -> np.ndarray:
        """Each document's lowest price among the chosen modalities (inf: none)."""
        prices = self.table.prices
        codes = [c for c in (self.query.modality or tuple(prices)) if c in prices]
        lowest = np.full(len(docnums), np.inf)
        for code in codes:
            np.minimum(lowest, prices[code][docnums], out=lowest)
        return lowest

    def _near(self, base: Mask) -> _Near:
        """In-person documents of `base` within the radius, with their estimate."""
        place = self.query.location
        assert place is not None
        table, radius = self.table, self.query.radius
        min_lat, max_lat, min_lng, max_lng = bounding_box(place.lat, place.lng, radius)
        boxed = base & table.in_person
        boxed &= (table.lat >= min_lat) & (table.lat <= max_lat)
        boxed &= (table.lng >= min_lng) & (table.lng <= max_lng)
        docnums = np.flatnonzero(boxed)
        estimates = estimate_miles_to(place.lat, place.lng, table.lat[docnums], table.lng[docnums])
        inside = estimates * (1 - ESTIMATE_ERROR) <= radius
        for i in np.flatnonzero(inside & (estimates * (1 + ESTIMATE_ERROR) > radius)):
            if self.exact(int(docnums[i])) > radius:
                inside[i] = False
        docnums = docnums[inside]
        estimate = np.full(table.size, np.inf)
        estimate[docnums] = estimates[inside]
        return _Near(mask_of(table.size, docnums), estimate)

    def exact(self, docnum: int) -> float:
        """Geodesic miles from the searched place, computed once per coordinate pair
        (many clinics share a ZIP centroid, so near-ties are often exact ties)."""
        place = self.query.location
        assert place is not None
        point = (float(self.table.lat[docnum]), float(self.table.lng[docnum]))
        if point not in self._exact:
            self._exact[point] = miles_between(place.lat, place.lng, *point)
        return self._exact[point]

    # -- the answer -------------------------------------------------------------
    def run(self) -> SearchPage:
        query = self.query
        base = self.table.live if self.text_matches is None else self.text_matches
        if query.accepting:
            # Not a facet: like the place, it narrows everything, telehealth included.
            base = base & self.table.accepting
        if query.checked:
            base = base & (self.table.checked >= self.trust.checked_since)
        filters = {name: self._filter_mask(name) for name in FILTERS}
        near: _Near | None = None
        space = base
        if query.whole_state is not None:
            # The state's in-person clinics: no radius, no distances.
            empty = np.zeros(self.table.size, dtype=bool)
            space = base & self.table.located.get(query.whole_state, empty)
        elif query.location is not None:
            # Only in-person rows within the radius can be results, and facets count
            # within them too: narrow by place first, the cheapest cut at every size.
            near = self._near(base)
            space = near.mask
        results = self._every_filter(space, filters, priced=self._priced(query.modality))
        result_docnums = np.flatnonzero(results)
        ordered = self._order(result_docnums, near)
        start = (query.page - 1) * query.per_page
        page = ordered[start : start + query.per_page]
        scores = {}
        if query.sort == "relevance" and self.scorer is not None and page:
            scores = dict(zip(page, self._score_array(np.array(page)).tolist(), strict=True))
        return SearchPage(
            query=query,
            hits=[self._hit(d, scores.get(d), near is not None) for d in page],
            total=len(result_docnums),
            telehealth=self._telehealth(base & ~space, filters),
            facets=self._facets(space, filters),
        )

    @staticmethod
    def _every_filter(
        space: Mask, filters: Mapping[str, Mask | None], priced: Mask | None, skip: str = ""
    ) -> Mask:
        """`space` narrowed by every active filter but `skip`, and by the price mask."""
        kept = space.copy()
        for name, allowed in filters.items():
            if allowed is not None and name != skip:
                kept &= allowed
        if priced is not None:
            kept &= priced
        return kept

    def _facets(self, space: Mask, filters: Mapping[str, Mask | None]) -> dict[str, dict[str, int]]:
        """Per value, how many results there would be with it and every *other* filter.

        The price limit belongs to the modality filter when modalities are chosen, so a
        modality's count uses that modality's own prices.
        """
        facets: dict[str, dict[str, int]] = {}
        for name in FILTERS:
            priced = None if name == "modality" else self._priced(self.query.modality)
            others = self._every_filter(space, filters, priced, skip=name)
            # Few candidates (a place was given): count over their docnums; many: over
            # whole masks, which avoids gathering nearly every entry.
            small = np.count_nonzero(others) * 8 < self.table.size
            docnums = np.flatnonzero(others) if small else None
            counts: dict[str, int] = {}
            for code in self.codes(name):
                hits = self.postings(name, code)
                if name == "modality" and self.query.max_price is not None:
                    hits = hits & self._priced((code,))
                if small:
                    counts[code] = int(np.count_nonzero(hits[docnums]))
                else:
                    counts[code] = int(np.count_nonzero(hits & others))
            facets[name] = counts
        return facets

    def _ties(self, docnums: Index) -> tuple[np.ndarray, ...]:
        """What breaks a tie of the sort's key, least significant first (np.lexsort's
        order): the id, after recently confirmed prices, after checked credentials,
        after accepting new patients."""
        table, trust = self.table, self.trust
        return (
            table.clinic_id[docnums],
            table.prices_confirmed[docnums] < trust.prices_since,
            table.checked[docnums] < trust.checked_since,
            ~table.accepting[docnums],
        )

    def _tie_key(self, docnum: int) -> tuple[bool, bool, bool, int]:
        """`_ties` of one document, most significant first (for `sorted`)."""
        return (
            not self.table.accepting[docnum],
            not self.trust.checked(int(self.table.checked[docnum])),
            not self.trust.prices_recent(int(self.table.prices_confirmed[docnum])),
            int(self.table.clinic_id[docnum]),
        )

    def _order(self, docnums: Index, near: _Near | None) -> list[int]:
        """The results in the query's order, up to the end of the requested page: by
        the sort's key, then `_ties` (a search without a point, a whole state's,
        orders "distance" as "recent")."""
        query = self.query
        needed = query.page * query.per_page
        if query.sort == "distance" and near is not None:
            return self._by_distance(docnums, near, needed)
        if query.sort == "relevance":
            key = -self._score_array(docnums)
        elif query.sort == "price":
            key = self._lowest_price(docnums)
        else:
            key = -self.table.verified[docnums]
        order = np.lexsort((*self._ties(docnums), key))
        return docnums[order[:needed]].tolist()

    def _by_distance(self, docnums: Index, near: _Near, needed: int) -> list[int]:
        """Exact geodesic order for everything up to the requested page, cheaply.

        Estimates bound the geodesic within ESTIMATE_ERROR. Sorted by estimate, the
        documents fall into runs whose bounds overlap; between runs the estimate
        already gives the exact order, so only documents inside a run of two or more
        (near-ties, including clinics at the same coordinates) need the geodesic.
        """
        low, high = 1 - ESTIMATE_ERROR, 1 + ESTIMATE_ERROR
        estimates = near.estimate[docnums]
        if len(docnums) > needed:
            # Anything whose lower bound reaches the needed-th one's upper bound may belong.
            ceiling = np.partition(estimates, needed - 1)[needed - 1] * high / low
            within = estimates <= ceiling
            docnums, estimates = docnums[within], estimates[within]
        order = np.lexsort((*self._ties(docnums), estimates))
        ordered: list[int] = []
        run: list[int] = []
        previous = 0.0
        walk = zip(docnums[order].tolist(), estimates[order].tolist(), strict=True)
        for docnum, estimate in walk:
            if run and estimate * low > previous * high:
                ordered.extend(self._exact_order(run))
                run = []
                if len(ordered) >= needed:
                    break
            run.append(docnum)
            previous = estimate
        else:
            ordered.extend(self._exact_order(run))
        return ordered[:needed]

    def _exact_order(self, run: Sequence[int]) -> list[int]:
        if len(run) == 1:
            return list(run)
        return sorted(run, key=lambda d: (self.exact(d), *self._tie_key(d)))

    def _telehealth(self, elsewhere: Mask, filters: Mapping[str, Mask | None]) -> list[Hit]:
        """Telehealth programs licensed in the searched state that match the search,
        among the candidates that are not in-person results (`elsewhere`)."""
        place = self.query.location
        if place is None or place.state is None or place.state not in self.table.served:
            return []
        licensed = elsewhere & self.table.served[place.state]
        docnums = np.flatnonzero(
            self._every_filter(licensed, filters, self._priced(self.query.modality))
        )
        scores = self._score_array(docnums)
        order = np.lexsort((*self._ties(docnums), self._lowest_price(docnums), -scores))
        order = order[:TELEHEALTH_LIMIT]
        scored = self.scorer is not None
        return [
            self._hit(
                int(docnums[i]),
                float(scores[i]) if scored else None,
                measured=False,
                carded=n < self.telehealth_cards,
            )
            for n, i in enumerate(order.tolist())
        ]

    def _score_array(self, docnums: Index) -> np.ndarray:
        """Text-match scores of these documents (zeros without a text query)."""
        if self.scorer is None or not len(docnums):
            return np.zeros(len(docnums))
        return self.scorer(docnums)

    def _hit(self, docnum: int, score: float | None, measured: bool, carded: bool = True) -> Hit:
        """A result, with its distance when the search measures from a point (and its
        card unless it will not be shown)."""
        distance = None
        if measured and not np.isnan(self.table.lat[docnum]):
            distance = self.exact(docnum)
        card = self.card(docnum) if self.card and carded else None
        return Hit(int(self.table.clinic_id[docnum]), distance, score, card)
