"""Offline geography: places from what users type, and distances between them."""

from __future__ import annotations

from .distance import bounding_box, miles_between
from .gazetteer import get_gazetteer
from .geocoder import OfflineGeocoder
from .places import US_STATES, AmbiguousPlace, Place, PlaceError, UnknownPlace

__all__ = [
    "US_STATES",
    "AmbiguousPlace",
    "OfflineGeocoder",
    "Place",
    "PlaceError",
    "UnknownPlace",
    "bounding_box",
    "get_gazetteer",
    "miles_between",
]
