"""An independent answer to the search contract, computed straight from the rows.

Written from DESIGN.md's contract, not from the search code: plain SQL to read
every clinic, geopy's geodesic for every distance, Python filters and sorts. The
contract tests compare the real search with this.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from flask import current_app, has_app_context
from geopy.distance import geodesic
from sqlalchemy import text

from directory.extensions import db
from directory.models.listing_fields import MEDICAL_DIRECTORS

# A price is marked old after this many days (issue 12); a check lasts
# CREDENTIAL_CHECK_DAYS (365 unless configured).
PRICE_DAYS = 180


@dataclass
class Listing:
    id: int
    kind: str
    status: str
    lat: float | None
    lng: float | None
    states_served: list[str]
    verified: str | None
    state: str = ""
    accepting: bool = True
    prices: dict[str, int | None] = field(default_factory=dict)
    conditions: set[str] = field(default_factory=set)
    insurers: set[str] = field(default_factory=set)
    payment: set[str] = field(default_factory=set)
    # what the listing states now, as (kind, value) pairs a check names
    stated: set[tuple[str, str]] = field(default_factory=set)
    # (kind, value, outcome, day) of every check recorded for it
    checks: list[tuple[str, str, str, date]] = field(default_factory=list)
    # each treatment's price confirmed day (None: never)
    price_days: list[date | None] = field(default_factory=list)

    def checked(self, today: date, days: int) -> bool:
        """A check of something it still states is current and none of those says
        "could not be confirmed"."""
        mine = [c for c in self.checks if (c[0], c[1]) in self.stated]
        if any(outcome == "not_confirmed" for _, _, outcome, _ in mine):
            return False
        return any(today < day + timedelta(days=days) for _, _, _, day in mine)

    def prices_recent(self, today: date) -> bool:
        """Every treatment's price was confirmed within PRICE_DAYS."""
        return bool(self.price_days) and all(
            day is not None and (today - day).days <= PRICE_DAYS for day in self.price_days
        )


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _json_list(value) -> list:
    return json.loads(value) if isinstance(value, str) else list(value or [])


def load_listings() -> dict[int, Listing]:
    """Every clinic row with its offerings and vocabulary codes, read with plain SQL."""
    rows = db.session.execute(
        text(
            "SELECT id, kind, status, lat, lng, states_served, last_verified_at, state, "
            "accepting_new_patients FROM clinic"
        )
    )
    listings: dict[int, Listing] = {}
    for id_, kind, status, lat, lng, served, verified, state, accepting in rows:
        if isinstance(served, str):  # SQLite hands JSON back as text
            served = json.loads(served)
        listings[id_] = Listing(
            id_,
            kind,
            status,
            lat,
            lng,
            served or [],
            str(verified) if verified else None,
            state or "",
            bool(accepting),  # SQLite: 1/0; NULL is not accepting
        )
    for clinic_id, code, price_min, confirmed in db.session.execute(
        text(
            "SELECT o.clinic_id, m.code, o.price_min, o.price_confirmed_on FROM offering o "
            "JOIN modality m ON m.id = o.modality_id"
        )
    ):
        listings[clinic_id].prices[code] = price_min
        listings[clinic_id].price_days.append(_day(confirmed))
    for id_, npi, clinicians, licenses, rems, director, specialty in db.session.execute(
        text(
            "SELECT id, npi, clinician_npis, licenses, spravato_rems, medical_director_name, "
            "medical_director FROM clinic"
        )
    ):
        stated = listings[id_].stated
        if npi:
            stated.add(("organization_npi", npi))
        stated |= {("clinician_npi", n) for n in _json_list(clinicians)}
        stated |= {("license", code) for code in _json_list(licenses)}
        if rems:
            stated.add(("spravato_rems", "certified"))
        if director:
            label = MEDICAL_DIRECTORS.get(specialty or "", "")
            stated.add(("medical_director", f"{director} ({label})" if label else director))
    for clinic_id, kind, subject, outcome, day in db.session.execute(
        text("SELECT clinic_id, kind, subject, outcome, checked_on FROM credential_check")
    ):
        listings[clinic_id].checks.append((kind, subject, outcome, _day(day)))
    for table, column, vocab, attr in (
        ("clinic_condition", "condition_id", "condition", "conditions"),
        ("clinic_insurer", "insurer_id", "insurer", "insurers"),
        ("clinic_payment_option", "payment_option_id", "payment_option", "payment"),
    ):
        for clinic_id, code in db.session.execute(
            text(f"SELECT t.clinic_id, v.code FROM {table} t JOIN {vocab} v ON v.id = t.{column}")
        ):
            getattr(listings[clinic_id], attr).add(code)
    return listings


@dataclass
class Expected:
    ids: list[int]
    distances: dict[int, float]
    telehealth: set[int]
    facets: dict[str, dict[str, int]]


def _passes(listing: Listing, name: str, values: list[str]) -> bool:
    if not values:
        return True
    if name == "modality":
        return bool(set(listing.prices) & set(values))
    own = {
        "condition": listing.conditions,
        "insurer": listing.insurers,
        "payment": listing.payment,
    }[name]
    return bool(own & set(values))


def _price_ok(listing: Listing, modalities: list[str], max_price: int | None) -> bool:
    if max_price is None:
        return True
    return any(
        price is not None and price <= max_price and (not modalities or code in modalities)
        for code, price in listing.prices.items()
    )


def expected_results(
    listings: dict[int, Listing],
    *,
    lat: float | None = None,
    lng: float | None = None,
    state: str | None = None,
    in_state: str | None = None,
    radius: int = 50,
    filters: dict[str, list[str]] | None = None,
    max_price: int | None = None,
    accepting: bool = False,
    checked: bool = False,
    sort: str | None = None,
) -> Expected:
    """The results a non-text query must return, in its order.

    A place is a point (`lat`, `lng`, its `state` for telehealth) with a `radius`, or
    a whole state (`in_state`): the in-person clinics of that state, no distances.
    `accepting`: only clinics accepting new patients; `checked`: only listings with a
    current credential check. `sort`: "distance" (the default with a point), "price",
    or "recent" (the default otherwise); at an equal key, clinics accepting new
    patients come first, then those with a current check, then those whose every
    price was confirmed within PRICE_DAYS, then the lower id. In an app context it
    reads CREDENTIAL_CHECK_DAYS.
    """
    filters = {name: list(v) for name, v in (filters or {}).items()}
    for name in ("modality", "condition", "insurer", "payment"):
        filters.setdefault(name, [])
    today, days = _today_and_days()
    published = [
        x
        for x in listings.values()
        if x.status == "published"
        and (x.accepting or not accepting)
        and (x.checked(today, days) or not checked)
    ]
    if in_state is not None:
        state = in_state
    distances: dict[int, float] = {}
    in_range: list[Listing] = []
    for listing in published:
        if in_state is not None:
            if listing.kind in ("in_person", "both") and listing.state == in_state:
                in_range.append(listing)
            continue
        if lat is None:
            in_range.append(listing)
            continue
        if listing.kind not in ("in_person", "both") or listing.lat is None:
            continue
        miles = geodesic((lat, lng), (listing.lat, listing.lng)).miles
        if miles <= radius:
            distances[listing.id] = miles
            in_range.append(listing)

    def matches(listing: Listing, skip: str | None = None) -> bool:
        return _price_ok(listing, filters["modality"], max_price) and all(
            _passes(listing, name, values) for name, values in filters.items() if name != skip
        )

    chosen = [x for x in in_range if matches(x)]
    sort = sort or ("distance" if lat is not None and in_state is None else "recent")

    def key(x: Listing) -> float:
        if sort == "distance":
            return distances[x.id]
        if sort == "price":
            return _lowest(x, filters["modality"])
        return -verified_ordinal(x.verified)

    ordered = sorted(chosen, key=lambda x: (key(x), *ties(x)))
    chosen_ids = {x.id for x in chosen}
    telehealth = set()
    if state:
        telehealth = {
            x.id
            for x in published
            if x.kind in ("telehealth", "both")
            and state in x.states_served
            and matches(x)
            and x.id not in chosen_ids
        }
    facets: dict[str, dict[str, int]] = defaultdict(dict)
    for name in ("modality", "condition", "insurer", "payment"):
        counts: dict[str, int] = defaultdict(int)
        for listing in in_range:
            if not all(_passes(listing, n, v) for n, v in filters.items() if n != name):
                continue
            codes = {
                "modality": set(listing.prices),
                "condition": listing.conditions,
                "insurer": listing.insurers,
                "payment": listing.payment,
            }[name]
            for code in codes:
                if name == "modality":
                    ok = _price_ok(listing, [code], max_price)
                else:
                    ok = _price_ok(listing, filters["modality"], max_price)
                if ok:
                    counts[code] += 1
        facets[name] = dict(counts)
    return Expected([x.id for x in ordered], distances, telehealth, dict(facets))


def _today_and_days() -> tuple[date, int]:
    days = current_app.config["CREDENTIAL_CHECK_DAYS"] if has_app_context() else 365
    return datetime.now(UTC).date(), days


def ties(listing: Listing) -> tuple[bool, bool, bool, int]:
    """What orders listings with an equal sort key: accepting new patients first,
    then a current check, then every price confirmed recently, then the lower id."""
    today, days = _today_and_days()
    return (
        not listing.accepting,
        not listing.checked(today, days),
        not listing.prices_recent(today),
        listing.id,
    )


def _lowest(listing: Listing, modalities: list[str]) -> float:
    """The lowest published price among the chosen modalities (all without any)."""
    prices = [
        price
        for code, price in listing.prices.items()
        if price is not None and (not modalities or code in modalities)
    ]
    return min(prices) if prices else float("inf")


def verified_ordinal(day: str | None) -> int:
    return date.fromisoformat(day[:10]).toordinal() if day else 0
