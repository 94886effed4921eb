"""The distance estimate that spares most geodesic computations must bound them.

Search orders and filters by the exact WGS-84 geodesic, but only computes it where
the cheap estimate is within ESTIMATE_ERROR of a boundary. That is only correct if
the estimate really stays that close, which this checks against geopy.
"""

from __future__ import annotations

from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.search.evaluate import ESTIMATE_ERROR, estimate_miles

# The United States and its territories, with room to spare.
latitudes = st.floats(min_value=-15.0, max_value=72.0)
longitudes = st.floats(min_value=-180.0, max_value=-60.0)
offsets = st.floats(min_value=-9.0, max_value=9.0)


@settings(max_examples=3000, deadline=None)
@given(latitudes, longitudes, offsets, offsets)
def test_estimate_is_within_the_promised_error_of_the_geodesic(lat, lng, dlat, dlng):
    lat2 = max(-89.0, min(89.0, lat + dlat))
    lng2 = lng + dlng
    exact = geodesic((lat, lng), (lat2, lng2)).miles
    estimate = estimate_miles(lat, lng, lat2, lng2)
    assert abs(estimate - exact) <= ESTIMATE_ERROR * exact + 1e-9


def test_same_place_is_zero_and_known_distance_matches():
    assert estimate_miles(30.27, -97.74, 30.27, -97.74) == 0.0
    # Austin to Dallas: about 182 miles along the geodesic.
    exact = geodesic((30.2672, -97.7431), (32.7767, -96.7970)).miles
    assert abs(estimate_miles(30.2672, -97.7431, 32.7767, -96.7970) - exact) < 0.01
