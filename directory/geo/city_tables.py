"""From `zipcodes` rows to cities: coordinates, display names, and one point per city.

A city is the group of ZIPs sharing a (folded name, state); its point is the mean of its
STANDARD ZIPs. `Gazetteer` feeds rows through these while it builds its indexes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .place_text import city_key, fold, tidy_name
from .places import ZipRecord


@dataclass(slots=True)
class City:
    """One city name (or accepted alias) in one state, at the mean of its ZIPs."""

    name: str
    state: str
    key: str
    lat: float
    lng: float
    zip_count: int
    has_standard: bool
    is_alias: bool

    @property
    def label(self) -> str:
        return f"{self.name}, {self.state}"


def coordinates(row: Mapping[str, Any]) -> tuple[float, float] | None:
    """(lat, lng), or None when the data has none (it uses 0,0 for "unknown")."""
    try:
        lat, lng = float(row["lat"]), float(row["long"])
    except (TypeError, ValueError):
        return None
    if (lat == 0 and lng == 0) or not (-90 <= lat <= 90 and -180 <= lng <= 180):
        return None
    return lat, lng


class NameBook:
    """(index key, display name) per raw city spelling: 55k lookups, 29k distinct names."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[str, str]] = {}

    def get(self, name: str) -> tuple[str, str]:
        entry = self._entries.get(name)
        if entry is None:
            entry = self._entries[name] = (city_key(fold(name).split()), tidy_name(name))
        return entry


class CityGroups:
    """ZIPs grouped by (city key, state), with a tally of the spellings seen, while building."""

    def __init__(self) -> None:
        self.zips: dict[tuple[str, str], list[ZipRecord]] = {}
        self.names: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, key: str, display: str, record: ZipRecord) -> None:
        if not key:
            return
        group = (key, record.state)
        if (zips := self.zips.get(group)) is None:
            self.zips[group], self.names[group] = [record], {display: 1}
        else:
            zips.append(record)
            names = self.names[group]
            names[display] = names.get(display, 0) + 1

    def cities(self, alias: bool, skip: Mapping[tuple[str, str], object]) -> list[City]:
        """One city per group, at the mean of its STANDARD ZIPs (any ZIPs as a fallback)."""
        cities = []
        for (key, state), zips in self.zips.items():
            if (key, state) in skip:
                continue
            names = self.names[key, state]
            standard = [z for z in zips if z.zip_type == "STANDARD"]
            located = standard or zips
            lat = sum(z.lat for z in located) / len(located)
            lng = sum(z.lng for z in located) / len(located)
            name = max(names, key=names.__getitem__)
            cities.append(City(name, state, key, lat, lng, len(zips), bool(standard), alias))
        return cities


def size_order(city: City) -> tuple[int, bool, str]:
    """Biggest first (by ZIP count), real names before aliases, then by state."""
    return -city.zip_count, city.is_alias, city.state
