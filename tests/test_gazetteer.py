"""The offline gazetteer, geocoder and distance helpers, against the real `zipcodes` data."""

from __future__ import annotations

import socket
import statistics
import time
from typing import Any

import pytest
from geopy.distance import geodesic
from geopy.location import Location
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory.geo import (
    US_STATES,
    AmbiguousPlace,
    OfflineGeocoder,
    Place,
    PlaceError,
    UnknownPlace,
    bounding_box,
    get_gazetteer,
    miles_between,
)
from directory.geo.gazetteer import EMPTY_MESSAGE, Gazetteer
from directory.geo.nicknames import NICKNAMES
from tests.helpers import sphere_miles

AUSTIN = (30.2672, -97.7431)
NEW_YORK = (40.7128, -74.0060)
ST_LOUIS = (38.6270, -90.1994)
WASHINGTON = (38.9072, -77.0369)
WINSTON_SALEM = (36.0999, -80.2442)
ZIP_78701 = (30.2713, -97.7426)

# A city's point is the mean of its ZIPs, which drifts from downtown towards the suburbs
# (USPS "Saint Louis" covers much of St. Louis County): ~5 miles at worst among these.
CITY_MILES = 8.0
ZIP_MILES = 1.0

ACCEPTED_FORMS = [
    ("78701", "TX", ZIP_78701, ZIP_MILES),
    ("78701-1234", "TX", ZIP_78701, ZIP_MILES),
    (" 78701 ", "TX", ZIP_78701, ZIP_MILES),
    ("78701 (Austin, TX)", "TX", ZIP_78701, ZIP_MILES),
    ("Austin, TX 78701", "TX", ZIP_78701, ZIP_MILES),
    ("Austin, TX", "TX", AUSTIN, CITY_MILES),
    ("austin tx", "TX", AUSTIN, CITY_MILES),
    ("Austin, Texas", "TX", AUSTIN, CITY_MILES),
    ("AUSTIN TEXAS", "TX", AUSTIN, CITY_MILES),
    ("  Austin ,\tTX. ", "TX", AUSTIN, CITY_MILES),
    ("Austin, TX, USA", "TX", AUSTIN, CITY_MILES),
    ("New York, NY", "NY", NEW_YORK, CITY_MILES),
    ("new york new york", "NY", NEW_YORK, CITY_MILES),
    ("New York", "NY", NEW_YORK, CITY_MILES),
    ("St. Louis, MO", "MO", ST_LOUIS, CITY_MILES),
    ("Saint Louis MO", "MO", ST_LOUIS, CITY_MILES),
    ("st louis missouri", "MO", ST_LOUIS, CITY_MILES),
    ("Washington, DC", "DC", WASHINGTON, CITY_MILES),
    ("Washington D.C.", "DC", WASHINGTON, CITY_MILES),
    ("Winston-Salem, NC", "NC", WINSTON_SALEM, CITY_MILES),
    ("winston salem nc", "NC", WINSTON_SALEM, CITY_MILES),
    ("30.2672,-97.7431", "TX", AUSTIN, 0.01),
    ("30.2672, -97.7431", "TX", AUSTIN, 0.01),
    ("(30.2672 -97.7431)", "TX", AUSTIN, 0.01),
]


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return get_gazetteer()


def _miles_from(place: Place, point: tuple[float, float]) -> float:
    return miles_between(place.lat, place.lng, *point)


# -- resolve: accepted forms ------------------------------------------------------------------


@pytest.mark.parametrize(("text", "state", "point", "tolerance"), ACCEPTED_FORMS)
def test_accepted_forms_resolve_to_the_right_place(
    gazetteer: Gazetteer, text: str, state: str, point: tuple[float, float], tolerance: float
) -> None:
    place = gazetteer.resolve(text)
    assert place.state == state
    assert _miles_from(place, point) <= tolerance


def test_zip_place_fields(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("78701")
    assert place.kind == "zip"
    assert place.label == "78701 (Austin, TX)"
    assert (place.postal_code, place.city, place.state) == ("78701", "Austin", "TX")


def test_city_place_fields_use_the_data_spelling(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("st. louis, mo")
    assert (place.kind, place.label, place.city, place.postal_code) == (
        "city",
        "Saint Louis, MO",
        "Saint Louis",
        None,
    )


def test_point_label_round_trips_and_is_a_point(gazetteer: Gazetteer) -> None:
    place = gazetteer.resolve("30.2672,-97.7431")
    assert (place.kind, place.label, place.postal_code, place.city) == (
        "point",
        "30.2672, -97.7431",
        None,
        "Austin",  # the nearest town, for "near Austin, TX"
    )
    assert gazetteer.resolve(place.label) == place


def test_point_far_from_any_zip_has_no_state(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("0, 0").state is None
    assert gazetteer.resolve("0, 0").city is None
    assert gazetteer.resolve("35.0, -40.0").state is None  # mid-Atlantic


def test_points_near_zips_take_their_state(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("64.84, -147.72").state == "AK"  # Fairbanks
    assert gazetteer.resolve("21.31, -157.86").state == "HI"  # Honolulu
    assert gazetteer.resolve("18.47, -66.11").state == "PR"  # San Juan


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Saint Paul, Minnesota", "Saint Paul, MN"),
        ("St Paul MN", "Saint Paul, MN"),
        ("Ft. Worth, TX", "Fort Worth, TX"),
        ("Fort Worth Texas", "Fort Worth, TX"),
        ("Mt. Vernon, NY", "Mount Vernon, NY"),
        ("Helena MT", "Helena, MT"),  # MT is Montana after a city, never "Mount"
        ("Kansas City Kansas", "Kansas City, KS"),
        ("Charleston West Virginia", "Charleston, WV"),
        ("Cañon City, CO", "Canon City, CO"),
        ("Coeur d'Alene, Idaho", "Coeur D Alene, ID"),
        ("San Juan, Puerto Rico", "San Juan, PR"),
        ("Hollywood, CA", "Hollywood, CA"),  # an acceptable_cities alias of Los Angeles ZIPs
        ("Chicago", "Chicago, IL"),  # unique bare city
    ],
)
def test_name_variants(gazetteer: Gazetteer, text: str, label: str) -> None:
    assert gazetteer.resolve(text).label == label


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("NYC", "New York, NY"),
        ("N.Y.C.", "New York, NY"),
        ("new york city", "New York, NY"),
        ("LA", "Los Angeles, CA"),
        ("L.A.", "Los Angeles, CA"),
        ("SF", "San Francisco, CA"),
        ("DC", "Washington, DC"),
        ("Washington D.C.", "Washington, DC"),
        ("Philly", "Philadelphia, PA"),
        ("vegas", "Las Vegas, NV"),
        ("NOLA", "New Orleans, LA"),
        ("Chi-Town", "Chicago, IL"),
    ],
)
def test_city_nicknames_resolve_to_the_city(gazetteer: Gazetteer, typed: str, label: str) -> None:
    place = gazetteer.resolve(typed)
    assert (place.label, place.kind) == (label, "city")


def test_no_nickname_hides_a_real_place(gazetteer: Gazetteer) -> None:
    """A nickname that is also some town's name would send that town's patients away."""
    letters = {
        "".join(ch for ch in name.lower() if ch.isalpha()): f"{name}, {state}"
        for state in US_STATES
        for name, _ in gazetteer.cities(state)
    }
    assert {key: letters[key] for key in NICKNAMES if key in letters} == {}
    for key, target in NICKNAMES.items():
        assert gazetteer.resolve(target).label == target, key


def test_every_city_resolves_from_its_own_label(gazetteer: Gazetteer) -> None:
    """Labels are offered as clickable suggestions, so each must come back to itself."""
    failures = []
    for state in US_STATES:
        for name, _ in gazetteer.cities(state):
            label = f"{name}, {state}"
            place = gazetteer.resolve(label)
            if (place.label, place.state, place.kind) != (label, state, "city"):
                failures.append((label, place.label))
    assert failures == []


def test_every_zip_resolves_from_its_code_and_label(gazetteer: Gazetteer) -> None:
    for record in gazetteer.zip_records()[::97]:
        place = gazetteer.resolve(record.zip_code)
        assert (place.postal_code, place.state, place.lat, place.lng) == (
            record.zip_code,
            record.state,
            record.lat,
            record.lng,
        )
        assert gazetteer.resolve(place.label) == place


# -- resolve: errors ---------------------------------------------------------------------------


def test_bare_ambiguous_city_lists_candidates_biggest_first(gazetteer: Gazetteer) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        gazetteer.resolve("Springfield")
    error = info.value
    assert len(error.suggestions) >= 3
    assert len(error.suggestions) <= 8
    assert "Springfield, IL" in error.suggestions
    assert all(s.startswith("Springfield, ") for s in error.suggestions)
    assert len(error.candidates) > len(error.suggestions)  # all of them, for the geocoder
    assert [c.label for c in error.candidates[:8]] == error.suggestions
    assert "Springfield" in error.message
    sizes = [dict(gazetteer.cities(c.state)).get(c.city or "") for c in error.candidates]
    counts = [size for size in sizes if size is not None]  # aliases are not in cities()
    assert len(counts) >= 8 and counts == sorted(counts, reverse=True)


def test_ambiguity_suggestions_resolve(gazetteer: Gazetteer) -> None:
    with pytest.raises(AmbiguousPlace) as info:
        gazetteer.resolve("kansas city")
    assert info.value.suggestions[:2] == ["Kansas City, MO", "Kansas City, KS"]
    for label in info.value.suggestions:
        assert gazetteer.resolve(label).label == label


def test_misspelt_city_suggests_the_right_one(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve("Austn, TX")
    assert info.value.suggestions[0] == "Austin, TX"
    assert all(s.endswith(", TX") for s in info.value.suggestions)


def test_misspelt_city_without_state_suggests_nationally(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve("Springfeld")
    assert "Springfield, IL" in info.value.suggestions


def test_known_city_in_the_wrong_state(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve("Portland, CA")
    assert "California" in info.value.message
    assert info.value.suggestions[:2] == ["Portland, OR", "Portland, ME"]


def test_misspelt_state_after_a_comma(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve("Austin, Texass")
    assert "Texas" in info.value.message
    assert info.value.suggestions == ["Austin, TX"]


@pytest.mark.parametrize(
    ("typed", "label", "code"),
    [
        ("Texas", "Texas", "TX"),
        ("texas", "Texas", "TX"),
        ("TX", "Texas", "TX"),
        ("Texas, USA", "Texas", "TX"),
        ("New Mexico", "New Mexico", "NM"),
        ("Louisiana", "Louisiana", "LA"),  # not Louisiana, MO: no Louisiana in Louisiana
        ("Washington", "Washington", "WA"),  # no Washington, WA; the capital is "DC"
        ("Washington State", "Washington", "WA"),
        ("NY", "New York State", "NY"),
        ("new york state", "New York State", "NY"),
        ("Puerto Rico", "Puerto Rico", "PR"),
    ],
)
def test_a_state_alone_is_the_state(gazetteer: Gazetteer, typed: str, label: str, code: str):
    place = gazetteer.resolve(typed)
    assert (place.kind, place.label, place.state) == ("state", label, code)
    assert (place.postal_code, place.city) == (None, None)
    # Its point is the mean of the state's ZIPs, computed here from the records.
    points = [(r.lat, r.lng) for r in gazetteer.zip_records() if r.state == code]
    assert place.lat == pytest.approx(statistics.fmean(p[0] for p in points))
    assert place.lng == pytest.approx(statistics.fmean(p[1] for p in points))


@pytest.mark.parametrize(
    ("typed", "label"),
    [
        ("New York", "New York, NY"),  # a city of the state's name in that state wins
        ("Mississippi State", "Mississippi State, MS"),
        ("DC", "Washington, DC"),  # nicknames before state codes, as documented
        ("LA", "Los Angeles, CA"),
        ("Austin Texas", "Austin, TX"),
        ("Kansas City", None),  # still ambiguous, not the state of Kansas
    ],
)
def test_a_city_of_the_states_name_in_that_state_wins(
    gazetteer: Gazetteer, typed: str, label: str | None
) -> None:
    if label is None:
        with pytest.raises(AmbiguousPlace):
            gazetteer.resolve(typed)
        return
    place = gazetteer.resolve(typed)
    assert (place.kind, place.label) == ("city", label)


def test_every_state_resolves_from_its_label_name_and_code(gazetteer: Gazetteer) -> None:
    """The label is shown and echoed by the API, so it must come back to the state; the
    code and the name typed alone are the state unless that state has a city so named."""
    for code, name in US_STATES.items():
        place = gazetteer.resolve(name if code.lower() in NICKNAMES else code)  # "DC", "LA"
        assert (place.kind, place.state) == ("state", code), code
        assert gazetteer.resolve(place.label) == place, code
        named = gazetteer.resolve(name)
        city_here = gazetteer.city_place(name, code)
        assert named == (city_here or place), name


def test_a_misspelt_state_alone_suggests_the_state(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve("Texass")
    assert info.value.suggestions[0] == "Texas"
    assert gazetteer.resolve(info.value.suggestions[0]).kind == "state"


@pytest.mark.parametrize("code", ["99999", "00000", "99999-1234"])
def test_unknown_zip_is_named_in_the_message(gazetteer: Gazetteer, code: str) -> None:
    with pytest.raises(UnknownPlace, match=code[:5]):
        gazetteer.resolve(code)


def test_short_number_is_not_a_zip(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace, match="5 digits"):
        gazetteer.resolve("7870")


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("91, 0", "Latitude"),
        ("-90.5,10", "Latitude"),
        ("45, 180.01", "Longitude"),
        ("45,-200", "Longitude"),
        ("12345, 67890", "Latitude"),
    ],
)
def test_coordinates_out_of_range(gazetteer: Gazetteer, text: str, word: str) -> None:
    with pytest.raises(UnknownPlace, match=word):
        gazetteer.resolve(text)


def test_coordinate_limits_are_inclusive(gazetteer: Gazetteer) -> None:
    assert gazetteer.resolve("90, 180").kind == "point"
    assert gazetteer.resolve("-90,-180").kind == "point"


@pytest.mark.parametrize("text", ["", "   ", "\t\n", ",", "...", "!!!", "😀"])
def test_blank_input_asks_for_a_place(gazetteer: Gazetteer, text: str) -> None:
    with pytest.raises(UnknownPlace) as info:
        gazetteer.resolve(text)
    assert info.value.message == EMPTY_MESSAGE
    assert info.value.suggestions == []


def test_very_long_input_is_refused_early(gazetteer: Gazetteer) -> None:
    with pytest.raises(UnknownPlace, match="too long"):
        gazetteer.resolve("Austin, TX " * 1000)


def test_place_errors_are_value_errors() -> None:
    error = UnknownPlace("nope", [f"City {n}, TX" for n in range(20)])
    assert isinstance(error, ValueError)
    assert str(error) == error.message == "nope"
    assert len(error.suggestions) == 8


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=250))
def test_resolve_returns_a_place_or_raises_place_error(text: str) -> None:
    try:
        place = get_gazetteer().resolve(text)
    except PlaceError as exc:
        assert isinstance(exc.message, str) and exc.message
        assert len(exc.suggestions) <= 8
        assert all(isinstance(s, str) for s in exc.suggestions)
    else:
        assert isinstance(place, Place)
        assert -90 <= place.lat <= 90 and -180 <= place.lng <= 180


_PLACEISH = st.lists(
    st.sampled_from(
        ["austin", "tx", "st.", "new", "york", ",", "-", "78701", "1234", "30.5", "-97", "mt",
         "saint", "washington", "dc", "d.c.", "usa", "(", ")", " ", "springfield", "texas"]
    ),
    max_size=8,
).map(" ".join)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(_PLACEISH)
def test_resolve_on_place_like_noise(text: str) -> None:
    try:
        place = get_gazetteer().resolve(text)
    except PlaceError:
        return
    assert get_gazetteer().resolve(place.label) == place


# -- other lookups ------------------------------------------------------------------------------


def test_zip_and_city_lookups(gazetteer: Gazetteer) -> None:
    assert gazetteer.zip_place("78701") == gazetteer.resolve("78701")
    assert gazetteer.zip_place("99999") is None
    assert gazetteer.zip_place("not a zip") is None
    austin = gazetteer.city_place("austin", "Texas")
    assert austin is not None and austin.label == "Austin, TX"
    assert gazetteer.city_place("St Louis", "mo") == gazetteer.resolve("Saint Louis, MO")
    assert gazetteer.city_place("Austin", "XX") is None
    assert gazetteer.city_place("Nowhereville", "TX") is None


def test_cities_are_sorted_with_zip_counts(gazetteer: Gazetteer) -> None:
    cities = gazetteer.cities("TX")
    names = [name for name, _ in cities]
    assert names == sorted(names, key=lambda n: (n.casefold(), n))
    assert len(names) == len(set(names))
    counts = dict(cities)
    assert counts["Austin"] > 40 > counts["Round Rock"] > 0
    assert gazetteer.cities("Texas") == cities
    assert gazetteer.cities("XX") == []


def test_zip_records_are_clean(gazetteer: Gazetteer) -> None:
    records = gazetteer.zip_records()
    assert len(records) > 40_000
    assert len({r.zip_code for r in records}) == len(records)
    for r in records:
        assert r.state in US_STATES
        assert isinstance(r.lat, float) and isinstance(r.lng, float)
        assert (r.lat, r.lng) != (0.0, 0.0)
        assert r.zip_type in {"STANDARD", "PO BOX", "UNIQUE", "MILITARY"}


def test_nearest_zip(gazetteer: Gazetteer) -> None:
    code, state, miles = gazetteer.nearest_zip(*ZIP_78701)
    assert (code, state) == ("78701", "TX")
    assert miles < 0.01


@settings(max_examples=60, deadline=None)
@given(
    st.floats(min_value=-60, max_value=75),
    st.floats(min_value=-180, max_value=180),
)
def test_nearest_zip_matches_brute_force(lat: float, lng: float) -> None:
    gazetteer = get_gazetteer()
    code, _, miles = gazetteer.nearest_zip(lat, lng)
    best = min(sphere_miles(lat, lng, r.lat, r.lng) for r in gazetteer.zip_records())
    chosen = next(r for r in gazetteer.zip_records() if r.zip_code == code)
    assert sphere_miles(lat, lng, chosen.lat, chosen.lng) <= best + 1e-6
    assert miles == pytest.approx(geodesic((lat, lng), (chosen.lat, chosen.lng)).miles)


def test_nearest_zip_is_fast(gazetteer: Gazetteer) -> None:
    gazetteer.nearest_zip(0, 0)  # build the index outside the timing
    timings = []
    for i in range(200):
        lat, lng = 20 + (i * 7.3) % 45, -160 + (i * 13.7) % 95
        start = time.perf_counter()
        gazetteer.nearest_zip(lat, lng)
        timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 0.005


# -- synthetic data: rules that the real data can only hint at -------------------------------


def _row(code: str, city: str, lat: float, lng: float, **extra: Any) -> dict[str, Any]:
    row = {
        "zip_code": code,
        "zip_code_type": "STANDARD",
        "active": True,
        "city": city,
        "acceptable_cities": [],
        "state": "KS",
        "lat": str(lat),
        "long": str(lng),
    }
    return row | extra


def test_primary_city_wins_over_an_alias_of_the_same_name() -> None:
    gazetteer = Gazetteer(
        [
            _row("66001", "Oakton", 38.0, -97.0),
            _row("66002", "Elmwood", 39.0, -96.0, acceptable_cities=["Oakton", "Pine Hill"]),
        ]
    )
    oakton = gazetteer.resolve("Oakton, KS")
    assert (oakton.lat, oakton.lng) == (38.0, -97.0)
    pine_hill = gazetteer.resolve("pine hill kansas")
    assert (pine_hill.label, pine_hill.lat) == ("Pine Hill, KS", 39.0)
    assert gazetteer.cities("KS") == [("Elmwood", 1), ("Oakton", 1)]  # aliases are not cities


def test_city_centre_prefers_standard_zips() -> None:
    gazetteer = Gazetteer(
        [
            _row("66001", "Oakton", 38.0, -97.0),
            _row("66002", "Oakton", 39.0, -96.0),
            _row("66003", "Oakton", 45.0, -90.0, zip_code_type="PO BOX"),
            _row("66010", "Boxville", 40.0, -95.0, zip_code_type="PO BOX"),
        ]
    )
    oakton = gazetteer.resolve("Oakton, KS")
    assert (oakton.lat, oakton.lng) == (38.5, -96.5)
    assert gazetteer.cities("KS") == [("Boxville", 1), ("Oakton", 3)]
    assert gazetteer.resolve("Boxville, KS").lat == 40.0  # only PO boxes: use them


def test_retired_unlocated_and_foreign_zips_explain_themselves() -> None:
    gazetteer = Gazetteer(
        [
            _row("66001", "Oakton", 38.0, -97.0),
            _row("66002", "Oakton", 38.1, -97.1, active=False),
            _row("66003", "Oakton", 0, 0),
            _row("09001", "Apo", 0, 0, state="AE"),
        ]
    )
    with pytest.raises(UnknownPlace, match="66002 is no longer in use") as retired:
        gazetteer.resolve("66002")
    assert retired.value.suggestions == ["Oakton, KS"]
    with pytest.raises(UnknownPlace, match="66003 has no map location"):
        gazetteer.resolve("66003")
    with pytest.raises(UnknownPlace, match="09001 .*outside"):
        gazetteer.resolve("09001")
    assert [r.zip_code for r in gazetteer.zip_records()] == ["66001"]


def test_display_names_are_tidied() -> None:
    gazetteer = Gazetteer([_row("27101", "Winston-salem", 36.1, -80.2, state="NC")])
    assert gazetteer.resolve("winston salem, nc").label == "Winston-Salem, NC"


# -- the geopy geocoder --------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the offline geocoder tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.mark.usefixtures("no_network")
def test_geocoder_returns_geopy_locations() -> None:
    geocoder = OfflineGeocoder()
    location = geocoder.geocode("Austin, TX")
    assert isinstance(location, Location)
    assert location.address == "Austin, TX"
    assert miles_between(location.latitude, location.longitude, *AUSTIN) < CITY_MILES
    assert location.raw["state"] == "TX" and location.raw["kind"] == "city"
    listed = geocoder.geocode("78701", exactly_one=False)
    assert isinstance(listed, list) and [loc.address for loc in listed] == ["78701 (Austin, TX)"]


@pytest.mark.usefixtures("no_network")
def test_geocoder_returns_none_for_nonsense() -> None:
    geocoder = OfflineGeocoder()
    assert geocoder.geocode("qwxzzy, ZZ") is None
    assert geocoder.geocode("") is None
    assert geocoder.geocode("99999", exactly_one=False) is None


@pytest.mark.usefixtures("no_network")
def test_geocoder_ambiguity() -> None:
    geocoder = OfflineGeocoder()
    first = geocoder.geocode("Springfield")
    every = geocoder.geocode("Springfield", exactly_one=False)
    assert isinstance(first, Location) and isinstance(every, list)
    assert len(every) > 8
    assert first.address == every[0].address
    assert {loc.address for loc in every} >= {"Springfield, IL", "Springfield, MO"}


@pytest.mark.usefixtures("no_network")
def test_geocoder_reverse() -> None:
    geocoder = OfflineGeocoder()
    location = geocoder.reverse("30.2713, -97.7426")
    assert isinstance(location, Location)
    assert location.address == "78701 (Austin, TX)"
    assert location.raw["miles"] < 0.01
    listed = geocoder.reverse((30.2713, -97.7426), exactly_one=False)
    assert isinstance(listed, list) and listed[0].address == location.address


# -- distances and boxes -----------------------------------------------------------------------


def test_miles_between_austin_and_dallas() -> None:
    assert miles_between(*AUSTIN, 32.7767, -96.7970) == pytest.approx(182, abs=3)
    assert miles_between(*AUSTIN, *AUSTIN) == 0


def test_bounding_box_shape() -> None:
    min_lat, max_lat, min_lng, max_lng = bounding_box(*AUSTIN, 50)
    assert min_lat < AUSTIN[0] < max_lat and min_lng < AUSTIN[1] < max_lng
    assert max_lat - min_lat == pytest.approx(2 * 50 / 68.7, rel=0.03)  # ~69 miles a degree
    assert bounding_box(89.9, 0, 50)[2:] == (-180.0, 180.0)  # near the pole: every longitude
    assert bounding_box(52, 179.5, 100)[2:] == (-180.0, 180.0)  # over the antimeridian
    with pytest.raises(ValueError):
        bounding_box(0, 0, -1)
    with pytest.raises(ValueError):
        bounding_box(91, 0, 1)


_LATS = st.floats(min_value=-90, max_value=90)
_LNGS = st.floats(min_value=-180, max_value=180)
_RADII = st.floats(min_value=0, max_value=3000)


def _inside(box: tuple[float, float, float, float], lat: float, lng: float) -> bool:
    min_lat, max_lat, min_lng, max_lng = box
    return min_lat <= lat <= max_lat and min_lng <= lng <= max_lng


@settings(max_examples=500, deadline=None)
@given(
    _LATS,
    _LNGS,
    _RADII,
    st.floats(min_value=0, max_value=360),
    st.floats(min_value=0, max_value=1),
)
def test_bounding_box_contains_every_point_within_radius(
    lat: float, lng: float, radius: float, bearing: float, fraction: float
) -> None:
    """Walk up to `radius` miles in any direction: the end point must be in the box."""
    end = geodesic(miles=radius * fraction).destination((lat, lng), bearing)
    assert _inside(bounding_box(lat, lng, radius), end.latitude, end.longitude)


@settings(max_examples=500, deadline=None)
@given(_LATS, _LNGS, _RADII, st.floats(-5, 5), st.floats(-5, 5))
def test_bounding_box_contains_nearby_points(
    lat: float, lng: float, radius: float, dlat: float, dlng: float
) -> None:
    other_lat = min(90.0, max(-90.0, lat + dlat))
    other_lng = (lng + dlng + 180) % 360 - 180
    if miles_between(lat, lng, other_lat, other_lng) <= radius:
        assert _inside(bounding_box(lat, lng, radius), other_lat, other_lng)
