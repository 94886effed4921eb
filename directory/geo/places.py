"""What the gazetteer hands out: the states it covers, places, ZIP records, and refusals.

Every other geo module and the search code speak in these types, so they sit apart from
the tables that produce them; `directory.geo` re-exports the public ones.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

US_STATES: dict[str, str] = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania",
    "RI": "Rhode Island", "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee",
    "TX": "Texas", "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands",
}  # fmt: skip


MAX_SUGGESTIONS = 8


class ZipRecord(NamedTuple):
    """One active, located ZIP: the unit the demo generator and nearest-ZIP search share."""

    zip_code: str
    zip_type: str
    city: str
    state: str
    lat: float
    lng: float


@dataclass(frozen=True)
class Place:
    """A resolved `where`: what to show (`label`, re-resolvable) and where to measure from."""

    label: str
    lat: float
    lng: float
    state: str | None
    kind: str
    postal_code: str | None = None
    city: str | None = None


class PlaceError(ValueError):
    """`where` could not be turned into one place; `suggestions` are labels to offer instead."""

    def __init__(self, message: str, suggestions: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.suggestions: list[str] = list(dict.fromkeys(suggestions))[:MAX_SUGGESTIONS]


class UnknownPlace(PlaceError):
    """Nothing matched (or the input is not a place at all)."""


class AmbiguousPlace(PlaceError):
    """Several places matched; `candidates` holds all of them, biggest first."""

    def __init__(self, message: str, candidates: Sequence[Place] = ()) -> None:
        super().__init__(message, [place.label for place in candidates])
        self.candidates: list[Place] = list(candidates)
