"""The gazetteer behind geopy's `Geocoder` interface, with the network refused outright."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from geopy.adapters import BaseSyncAdapter
from geopy.exc import GeocoderServiceError
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point

from .gazetteer import Gazetteer, get_gazetteer
from .places import AmbiguousPlace, Place, PlaceError


class _NoNetworkAdapter(BaseSyncAdapter):
    """Refuses every request: the offline geocoder has no reason to make one."""

    def get_json(self, url: str, *, timeout: float | None, headers: dict[str, str]) -> Any:
        raise GeocoderServiceError("OfflineGeocoder never uses the network.")

    def get_text(self, url: str, *, timeout: float | None, headers: dict[str, str]) -> str:
        raise GeocoderServiceError("OfflineGeocoder never uses the network.")


def _location(place: Place, **extra: Any) -> Location:
    return Location(place.label, (place.lat, place.lng), {**asdict(place), **extra})


class OfflineGeocoder(Geocoder):
    """The gazetteer behind geopy's Geocoder interface, for code written against geopy.

    Ambiguous queries ("Springfield") yield the biggest candidate when `exactly_one` is
    true, and every candidate, biggest first, otherwise. Unknown queries yield None.
    """

    def __init__(
        self, gazetteer: Gazetteer | None = None, *, user_agent: str = "ketamine-directory"
    ) -> None:
        super().__init__(scheme="https", user_agent=user_agent, adapter_factory=_NoNetworkAdapter)
        self._gazetteer = gazetteer

    @property
    def gazetteer(self) -> Gazetteer:
        return self._gazetteer or get_gazetteer()

    def geocode(
        self, query: str, *, exactly_one: bool = True, timeout: float | None = None
    ) -> Location | list[Location] | None:
        """Locations for `query`; `timeout` is accepted for geopy compatibility and unused."""
        try:
            places = [self.gazetteer.resolve(query)]
        except AmbiguousPlace as exc:
            places = exc.candidates
        except PlaceError:
            return None
        locations = [_location(place) for place in places]
        return locations[0] if exactly_one else locations

    def reverse(
        self, query: Any, *, exactly_one: bool = True, timeout: float | None = None
    ) -> Location | list[Location] | None:
        """The nearest ZIP to a point ("lat, lng", a (lat, lng) pair or a geopy Point)."""
        point = Point(query)
        code, _, miles = self.gazetteer.nearest_zip(point.latitude, point.longitude)
        place = self.gazetteer.zip_place(code)
        if place is None:
            return None
        location = _location(place, miles=miles)
        return location if exactly_one else [location]
