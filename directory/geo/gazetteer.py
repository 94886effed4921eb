"""An offline US gazetteer: turns what people type into `where` into a point on the map.

Everything comes from the `zipcodes` package, so search never waits on (or leaks queries
to) a geocoding service. Its 42k rows are read once into compact records and small indexes
(`city_tables`, `nearest`); this module holds the built gazetteer, the process-wide one,
and `resolve`, which reads free text (folded by `place_text`) as a ZIP, a point, a city or
a whole state.

A state typed alone ("Texas", "TX", "Washington State") is the state, unless a city of
that name lies in that same state: "New York" is New York, NY (the state is "NY" or "New
York State"), while "Louisiana" is the state, not Louisiana, MO, and "Washington" is the
state, not the capital (there is no Washington, WA; "DC" or "Washington, DC" is the
capital).
"""

from __future__ import annotations

import difflib
import gc
import re
import threading
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from functools import cached_property
from typing import Any

import zipcodes

from .city_tables import City, CityGroups, NameBook, coordinates, size_order
from .distance import miles_between
from .nearest import NearestIndex
from .nicknames import nickname_target
from .place_text import STATE_KEYS, STATE_NAMES, city_key, fold, squash, state_code, strip_country
from .places import (
    MAX_SUGGESTIONS,
    US_STATES,
    AmbiguousPlace,
    Place,
    PlaceError,
    UnknownPlace,
    ZipRecord,
)

# In the data but not covered: military mail (AA/AE/AP) and the freely associated states.
OTHER_USPS_STATES = ("AA", "AE", "AP", "FM", "MH", "PW")

MAX_INPUT_CHARS = 200
POINT_STATE_MILES = 50.0
EMPTY_MESSAGE = "Enter a ZIP code, a city and state, or latitude,longitude."

_LONGEST_STATE_WORDS = 3

_ZIP_RE = re.compile(r"(\d{5})(?:\s*-\s*\d{4}|\s?\d{4})?", re.ASCII)
_ZIP_LABEL_RE = re.compile(r"(\d{5})(?:-\d{4})?\s*\(", re.ASCII)  # "78701 (Austin, TX)"
_ZIP_TAIL_RE = re.compile(r"(?<![\d.+-])(\d{5})(?:-\d{4})?$", re.ASCII)  # "Austin, TX 78701"
_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_LATLNG_RE = re.compile(rf"({_NUMBER})\s*(?:,|\s)\s*({_NUMBER})", re.ASCII)


def _shown(words: Sequence[str]) -> str:
    """User text echoed in messages, tamed: folded, capitalised, and not too long."""
    text = " ".join(word.capitalize() for word in words)
    return text if len(text) <= 60 else text[:57] + "..."


def _format_coordinate(value: float) -> str:
    text = f"{value:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


# -- the gazetteer ---------------------------------------------------------------------------


class Gazetteer:
    """ZIPs and cities of the US and its territories, resolvable from free text."""

    def __init__(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Index `rows` shaped like `zipcodes.list_all()`: only active, located ZIPs resolve."""
        self._unusable: dict[str, tuple[str, str, str]] = {}  # zip -> (why, city, state)
        book, primary, alias = NameBook(), CityGroups(), CityGroups()
        records: list[ZipRecord] = []
        for row in rows:
            if record := self._take_row(row, book):
                records.append(record)
                primary.add(*book.get(row["city"]), record)
                for other in row.get("acceptable_cities") or ():
                    alias.add(*book.get(other), record)
        self._records = tuple(records)
        self._zips = {r.zip_code: r for r in records}
        # Primary names first: an alias never shadows a real city of the same name.
        self._index_cities(primary.cities(False, {}) + alias.cities(True, primary.zips))

    def _take_row(self, row: Mapping[str, Any], book: NameBook) -> ZipRecord | None:
        """The row as a record if it can resolve; otherwise remember why, for the message."""
        code, state, city = row["zip_code"], row["state"], book.get(row["city"])[1]
        point = coordinates(row)
        if state not in US_STATES:
            why = "outside"
        elif not row["active"]:
            why = "retired"
        elif point is None:
            why = "unlocated"
        else:
            return ZipRecord(code, row["zip_code_type"], city, state, *point)
        self._unusable[code] = (why, city, state)
        return None

    def _index_cities(self, cities: list[City]) -> None:
        self._cities = {(c.key, c.state): c for c in cities}
        by_key: dict[str, list[City]] = defaultdict(list)
        for c in cities:
            by_key[c.key].append(c)
        by_squashed: dict[str, list[City]] = defaultdict(list)
        for key, group in by_key.items():
            by_squashed[squash(key)].extend(group)
        for group in (*by_key.values(), *by_squashed.values()):
            if len(group) > 1:
                group.sort(key=size_order)
        self._by_key, self._by_squashed = dict(by_key), dict(by_squashed)

    @cached_property
    def _keys_by_state(self) -> dict[str, list[str]]:
        """City keys per state, for spelling suggestions (built on the first misspelling)."""
        keys: dict[str, list[str]] = defaultdict(list)
        for key, state in self._cities:
            keys[state].append(key)
        return keys

    @cached_property
    def _nearest(self) -> NearestIndex:
        """Built on the first lat,lng query: most searches never need it."""
        return NearestIndex(self._records)

    @cached_property
    def _state_centres(self) -> dict[str, tuple[float, float]]:
        """Each state's mean ZIP point: where a map of a whole-state search centres."""
        points: dict[str, list[tuple[float, float]]] = defaultdict(list)
        for record in self._records:
            points[record.state].append((record.lat, record.lng))
        return {
            state: (sum(p[0] for p in found) / len(found), sum(p[1] for p in found) / len(found))
            for state, found in points.items()
        }

    @cached_property
    def _longest_key(self) -> int:
        return max(map(len, self._by_key), default=0)

    @cached_property
    def _primary_by_state(self) -> dict[str, list[City]]:
        """Real (non-alias) city names per state, alphabetical: for browse pages."""
        by_state: dict[str, list[City]] = defaultdict(list)
        for c in sorted(self._cities.values(), key=lambda c: (c.name.casefold(), c.name)):
            if not c.is_alias:
                by_state[c.state].append(c)
        return by_state

    @classmethod
    def from_zipcodes(cls) -> Gazetteer:
        """Build from the `zipcodes` package, one state at a time.

        `zipcodes.list_all()` would materialise (and cache for good) all 42k rows at once,
        ~140 MB; per-state queries peak at a few MB and leave no cache behind. The cyclic GC
        is paused meanwhile: rescanning thousands of fresh dicts would double the build time.
        """
        gc_was_enabled = gc.isenabled()
        gc.disable()
        try:
            codes = (*US_STATES, *OTHER_USPS_STATES)
            return cls(row for code in codes for row in zipcodes.filter_by(state=code))
        finally:
            if gc_was_enabled:
                gc.enable()

    # -- lookups used by other modules ------------------------------------------------------

    def zip_records(self) -> tuple[ZipRecord, ...]:
        """Active ZIPs with coordinates in covered states, for the demo-data generator."""
        return self._records

    def cities(self, state: str) -> list[tuple[str, int]]:
        """(city name, ZIP count) for a state's primary city names, alphabetical."""
        code = state_code(state)
        return [(c.name, c.zip_count) for c in self._primary_by_state.get(code or "", [])]

    def zip_place(self, code: str) -> Place | None:
        """The Place for a 5-digit (or ZIP+4) code, or None if it does not resolve."""
        match = _ZIP_RE.fullmatch(code.strip())
        record = self._zips.get(match.group(1)) if match else None
        return _zip_place(record) if record else None

    def city_place(self, city: str, state: str) -> Place | None:
        """The Place for a city in a state (code or name), or None."""
        code = state_code(state)
        found = self._city_in_state(fold(city).split(), code) if code else None
        return _city_place(found) if found else None

    def nearest_zip(self, lat: float, lng: float) -> tuple[str, str, float]:
        """(zip code, state, geodesic miles) of the ZIP centroid nearest to a point."""
        if not self._records:
            raise LookupError("the gazetteer holds no ZIP codes")
        record = self._records[self._nearest.nearest(lat, lng)]
        return record.zip_code, record.state, miles_between(lat, lng, record.lat, record.lng)

    # -- resolve ------------------------------------------------------------------------------

    def resolve(self, text: str) -> Place:
        """Turn user input into a Place, or raise PlaceError with something to try instead."""
        if not isinstance(text, str):
            raise UnknownPlace(EMPTY_MESSAGE)
        if len(text) > MAX_INPUT_CHARS:
            raise UnknownPlace(f"That is too long for a place. {EMPTY_MESSAGE}")
        raw = " ".join(unicodedata.normalize("NFKC", text).split()).strip(" .,;")
        if not fold(raw):
            raise UnknownPlace(EMPTY_MESSAGE)
        if match := _ZIP_RE.fullmatch(raw):
            return self._resolve_zip(match.group(1))
        if match := _LATLNG_RE.fullmatch(raw.strip("()[] ")):
            return self._resolve_point(match.group(1), match.group(2))
        if raw.isdigit() or re.fullmatch(r"[\d\s-]+", raw, re.ASCII):
            raise UnknownPlace(f"'{raw[:20]}' is not a ZIP code: ZIP codes have 5 digits.")
        if match := (_ZIP_LABEL_RE.match(raw) or _ZIP_TAIL_RE.search(raw)):
            return self._resolve_embedded_zip(raw, match)
        return self._resolve_name(raw)

    def _resolve_zip(self, code: str) -> Place:
        if record := self._zips.get(code):
            return _zip_place(record)
        if code not in self._unusable:
            raise UnknownPlace(f"There is no ZIP code {code}. Check the number, or enter a city.")
        why, city, state = self._unusable[code]
        found = self._city_in_state(fold(city).split(), state) if state in US_STATES else None
        suggestions = [found.label] if found else []
        if why == "outside":
            message = f"ZIP code {code} ({state}) is outside the areas this directory covers."
        elif why == "retired":
            message = f"ZIP code {code} is no longer in use. Try the city instead."
        else:
            message = f"ZIP code {code} has no map location on file. Try the city instead."
        raise UnknownPlace(message, suggestions)

    def _resolve_embedded_zip(self, raw: str, match: re.Match[str]) -> Place:
        """A ZIP inside a longer text ("Austin, TX 78701", a ZIP label) is the precise part."""
        try:
            return self._resolve_zip(match.group(1))
        except UnknownPlace as exc:
            rest = (raw[: match.start()] + " " + raw[match.end() :]).strip(" ()")
            try:
                extra = [self._resolve_name(rest).label] if fold(rest) else []
            except PlaceError:
                extra = []
            raise UnknownPlace(exc.message, [*exc.suggestions, *extra]) from None

    def _resolve_point(self, lat_text: str, lng_text: str) -> Place:
        lat, lng = float(lat_text), float(lng_text)
        if not -90 <= lat <= 90:
            raise UnknownPlace(f"Latitude must be between -90 and 90; {lat:g} is not.")
        if not -180 <= lng <= 180:
            raise UnknownPlace(f"Longitude must be between -180 and 180; {lng:g} is not.")
        zip_code, state, miles = self.nearest_zip(lat, lng)
        label = f"{_format_coordinate(lat)}, {_format_coordinate(lng)}"
        if miles > POINT_STATE_MILES:
            return Place(label, lat, lng, None, "point")
        # The nearest town, so a page can say "near Austin, TX" instead of the numbers.
        town = self._zips[zip_code].city
        return Place(label, lat, lng, state, "point", None, town)

    def _resolve_name(self, raw: str) -> Place:
        chunks = strip_country([fold(chunk).split() for chunk in raw.split(",")])
        if not chunks:
            raise UnknownPlace(EMPTY_MESSAGE)
        words = [word for chunk in chunks for word in chunk]
        if len(chunks) < 2:
            if target := nickname_target(" ".join(words)):
                return self._resolve_name(target)
            return self._resolve_words(words)
        if code := STATE_KEYS.get(" ".join(chunks[-1])):
            return self._resolve_in_state(chunks[-2], code)
        try:
            return self._resolve_words(words)
        except UnknownPlace as exc:
            raise self._misspelt_state(chunks[-2], chunks[-1]) or exc from None

    def _misspelt_state(self, city: list[str], state: list[str]) -> UnknownPlace | None:
        """For "Austin, Texass": the part after the comma is nearly, but not quite, a state."""
        guesses = difflib.get_close_matches(" ".join(state), STATE_NAMES, n=1, cutoff=0.75)
        if not guesses:
            return None
        code = STATE_KEYS[guesses[0]]
        found = self._city_in_state(city, code)
        return UnknownPlace(
            f"'{_shown(state)}' is not a US state or territory. Did you mean {US_STATES[code]}?",
            [found.label] if found else [],
        )

    def _resolve_in_state(self, words: Sequence[str], code: str) -> Place:
        if found := self._city_in_state(words, code):
            return _city_place(found)
        raise self._unknown_in_state(words, code)

    def _resolve_words(self, words: list[str]) -> Place:
        """No comma to go by: try a state alone, a trailing state name ("new york new
        york"), then a bare city."""
        if place := self._state_alone(words):
            return place
        tried: list[tuple[list[str], str]] = []
        for size in range(min(_LONGEST_STATE_WORDS, len(words) - 1), 0, -1):
            if code := STATE_KEYS.get(" ".join(words[-size:])):
                if found := self._city_in_state(words[:-size], code):
                    return _city_place(found)
                tried.append((words[:-size], code))
        if candidates := self._cities_named(words):
            return self._pick(candidates, words)
        if tried:
            raise self._unknown_in_state(*tried[0])
        states = difflib.get_close_matches(" ".join(words), STATE_NAMES, n=1, cutoff=0.8)
        raise UnknownPlace(
            f"No place called '{_shown(words)}' was found. Add the state, as in 'Austin, TX', "
            "or enter a ZIP code.",
            [
                *(
                    self.state_place(STATE_KEYS[n]).label
                    for n in states
                    if STATE_KEYS[n] in self._state_centres
                ),
                *self._close_cities(city_key(words), list(self._by_key), None),
            ],
        )

    def _state_alone(self, words: list[str]) -> Place | None:
        """The state these words name ("texas", "tx", "washington state"), unless a city
        of that name lies in that same state (see the module docstring)."""
        code = STATE_KEYS.get(" ".join(words))
        if code is None and len(words) > 1 and words[-1] == "state":
            code = STATE_KEYS.get(" ".join(words[:-1]))
        if code is None or code not in self._state_centres or self._city_in_state(words, code):
            return None
        return self.state_place(code)

    def state_place(self, code: str) -> Place:
        """A whole state as a place: its name (with "State" when a city in it has the
        bare name, so the label resolves back to the state), at its mean ZIP point."""
        name = US_STATES[code]
        if self._city_in_state(fold(name).split(), code):
            name = f"{name} State"
        lat, lng = self._state_centres[code]
        return Place(name, lat, lng, code, "state")

    def _pick(self, candidates: list[City], words: Sequence[str]) -> Place:
        if len(candidates) == 1:
            return _city_place(candidates[0])
        places = [_city_place(c) for c in candidates]
        raise AmbiguousPlace(
            f"There is more than one '{_shown(words)}'. Add the state, as in '{places[0].label}'.",
            places,
        )

    def _city_in_state(self, words: Sequence[str], state: str) -> City | None:
        key = city_key(words)
        if not key:
            return None
        if found := self._cities.get((key, state)):
            return found
        return next((c for c in self._by_squashed.get(squash(key), ()) if c.state == state), None)

    def _cities_named(self, words: Sequence[str]) -> list[City]:
        key = city_key(words)
        return list(self._by_key.get(key) or self._by_squashed.get(squash(key)) or ())

    def _unknown_in_state(self, words: Sequence[str], code: str) -> UnknownPlace:
        """Wrong state for a real city, or a misspelling: offer the likeliest fixes."""
        key = city_key(words)
        if not key:
            return UnknownPlace("Enter a city before the state, as in 'Austin, TX'.")
        elsewhere = [c.label for c in self._cities_named(words)[:3]]
        nearby = self._close_cities(key, self._keys_by_state.get(code, []), code)
        return UnknownPlace(
            f"No place called '{_shown(words)}' was found in {US_STATES[code]}.",
            [*elsewhere, *nearby],
        )

    def _close_cities(self, key: str, keys: Sequence[str], state: str | None) -> list[str]:
        """Labels of cities spelled like `key`: closest first, then biggest."""
        if not key or len(key) > self._longest_key + 10:
            return []
        scored: list[tuple[float, int, str]] = []
        for name in difflib.get_close_matches(key, keys, n=MAX_SUGGESTIONS * 2, cutoff=0.6):
            score = difflib.SequenceMatcher(None, key, name).ratio()
            for c in self._by_key[name]:
                if state is None or c.state == state:
                    scored.append((-score, -c.zip_count, c.label))
        return [label for *_, label in sorted(scored)[:MAX_SUGGESTIONS]]


def _city_place(city: City) -> Place:
    return Place(city.label, city.lat, city.lng, city.state, "city", None, city.name)


def _zip_place(record: ZipRecord) -> Place:
    label = f"{record.zip_code} ({record.city}, {record.state})"
    return Place(label, record.lat, record.lng, record.state, "zip", record.zip_code, record.city)


_instance: Gazetteer | None = None
_instance_lock = threading.Lock()


def get_gazetteer() -> Gazetteer:
    """The process-wide gazetteer, built on first use (a few hundred ms)."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Gazetteer.from_zipcodes()
    return _instance
