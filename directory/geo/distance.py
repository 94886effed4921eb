"""Distances on the WGS-84 ellipsoid, and boxes cheap enough to pre-filter radius searches.

Search ranks clinics by exact geodesic miles, but first narrows candidates with a
latitude/longitude box. The box only has to be *conservative*: too big costs a few extra
distance computations, too small silently drops clinics, so every bound below errs wide.
"""

from __future__ import annotations

import math

from geopy.distance import geodesic

# The WGS-84 ellipsoid and the international mile: every distance in the code (the
# geodesic, the search estimate, PostGIS's metres, the boxes) starts from these.
METERS_PER_MILE = 1609.344
WGS84_A_METERS = 6_378_137.0  # equatorial radius a
WGS84_F = 1 / 298.257223563  # flattening
WGS84_E2 = WGS84_F * (2 - WGS84_F)  # first eccentricity squared
WGS84_B_METERS = WGS84_A_METERS * (1 - WGS84_F)  # polar radius b

# The IUGG mean radius (2a + b) / 3, for spherical approximations (tests, demo figures).
MEAN_RADIUS_MILES = (2 * WGS84_A_METERS + WGS84_B_METERS) / 3 / METERS_PER_MILE
# East-west: the prime-vertical radius N is never below the equatorial radius a.
EARTH_EQUATORIAL_RADIUS_MILES = WGS84_A_METERS / METERS_PER_MILE
# North-south: the meridional radius M is smallest at the equator, a(1 - e^2).
EARTH_MIN_MERIDIONAL_RADIUS_MILES = WGS84_A_METERS * (1 - WGS84_E2) / METERS_PER_MILE

BOX_PADDING = 1.01
BOX_SLACK_MILES = 0.01


def miles_between(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Geodesic miles on WGS-84: the figure shown to users, so the accurate one."""
    return float(geodesic((lat1, lng1), (lat2, lng2)).miles)


def bounding_box(lat: float, lng: float, radius_miles: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lng, max_lng) containing every point within `radius_miles`.

    Along any path, d(lat) <= ds / M_min and d(lng) <= ds / (a cos(lat)), with lat bounded
    by the box's poleward edge, so the box is a true bound; it is then padded 1 %. A box
    that would reach a pole or cross the antimeridian widens to all longitudes instead of
    wrapping, which keeps callers to a plain BETWEEN comparison.
    """
    if not (math.isfinite(lat) and -90.0 <= lat <= 90.0):
        raise ValueError(f"latitude must be between -90 and 90, got {lat!r}")
    if not (math.isfinite(lng) and -180.0 <= lng <= 180.0):
        raise ValueError(f"longitude must be between -180 and 180, got {lng!r}")
    if not (math.isfinite(radius_miles) and radius_miles >= 0):
        raise ValueError(f"radius must be a non-negative number of miles, got {radius_miles!r}")

    reach = radius_miles * BOX_PADDING + BOX_SLACK_MILES
    dlat = math.degrees(reach / EARTH_MIN_MERIDIONAL_RADIUS_MILES)
    min_lat, max_lat = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    return (min_lat, max_lat, *_longitude_span(lng, max(abs(min_lat), abs(max_lat)), reach))


def _longitude_span(lng: float, edge_lat: float, reach: float) -> tuple[float, float]:
    """Longitude range reachable within `reach` miles when latitude stays below `edge_lat`."""
    cos_edge = math.cos(math.radians(edge_lat))
    if cos_edge <= 1e-9:
        return -180.0, 180.0
    dlng = math.degrees(reach / (EARTH_EQUATORIAL_RADIUS_MILES * cos_edge))
    if lng - dlng < -180.0 or lng + dlng > 180.0:
        return -180.0, 180.0
    return lng - dlng, lng + dlng
