"""Arbitrary query strings never break search: a 200, or a 400 naming the field.

Search URLs are fuzzed on every (database, search backend) pair (`search_app`):
the patient's text reaches PostgreSQL's full-text parser on the postgres backend.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape

from directory.geo import US_STATES

CONTRACT = [
    "q",
    "where",
    "radius",
    "modality",
    "condition",
    "insurer",
    "payment",
    "max_price",
    "accepting",
    "checked",
    "exact",
    "sort",
    "page",
    "per_page",
]
FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

values = st.one_of(
    st.text(max_size=40),
    st.text(alphabet="0123456789-.,+e ", max_size=12),
    st.sampled_from(
        [
            "iv",
            "IM",
            "spravato",
            "ptsd",
            "aetna",
            "self-pay",
            "distance",
            "price",
            "78701",
            "Austin, TX",
            "austin tx",
            "30.27,-97.74",
            "999,999",
            "0",
            "-1",
            "51",
            "1e9",
            "NaN",
            "",
            " ",
            "%00",
            "\x00",
            "Springfield",
            "Texas",
            "TX",
            "new york state",
            "Louisiana",
            "Guam",
            "on",
            "yes",
            "maybe",
            "🙂" * 3,
        ]
    ),
    st.text(min_size=190, max_size=260),
)
params = st.lists(
    st.tuples(st.one_of(st.sampled_from(CONTRACT), st.text(max_size=8)), values), max_size=8
)


# A message names what a person sees ("the distance"), never a parameter.
PARAMETER_WORDS = re.compile(
    r"max_price|per_page|\bradius\b|\bmodality\b"
    r"|'(?:q|where|sort|page|condition|insurer|payment|accepting|checked)'"
)


def _check_api(response) -> None:
    assert response.status_code in (200, 400), response.status_code
    data = response.get_json()
    if response.status_code == 400:
        assert data["error"]["field"] in CONTRACT
        assert data["error"]["message"]
        assert not PARAMETER_WORDS.search(data["error"]["message"]), data["error"]
    else:
        assert isinstance(data["results"], list) and data["total"] >= len(data["results"])


def _check_html(response) -> None:
    assert response.status_code in (200, 400), response.status_code
    assert response.mimetype == "text/html"
    if response.status_code == 400:
        assert b'class="error' in response.data


@FUZZ
@given(pairs=params)
def test_api_answers_any_query_string(search_app, pairs):
    client = search_app.test_client()
    _check_api(client.get("/api/v1/search?" + urlencode(pairs)))


@FUZZ
@given(pairs=params)
def test_results_page_answers_any_query_string(search_app, pairs):
    client = search_app.test_client()
    _check_html(client.get("/search?" + urlencode(pairs)))


@FUZZ
@given(raw=st.binary(max_size=80))
def test_raw_bytes_in_the_query_string(search_app, raw):
    client = search_app.test_client()
    query = quote(raw, safe="=&")
    _check_api(client.get("/api/v1/search?" + query))
    _check_html(client.get("/search?" + query))


@FUZZ
@given(slug=st.text(max_size=60))
def test_any_clinic_or_browse_url_is_a_page_or_a_404(demo_app, slug):
    client = demo_app.test_client()
    path = quote(slug, safe="")
    for url in (
        f"/clinics/{path}",
        f"/api/v1/clinics/{path}",
        f"/browse/{path}",
        f"/browse/tx/{path}",
    ):
        response = client.get(url)
        # 308: werkzeug folds "//" into "/" and redirects to that same-origin URL.
        assert response.status_code in (200, 308, 404), url
        if response.status_code == 308:
            assert response.location.startswith("/") or "directory.test" in response.location


STATES = st.sampled_from(sorted(US_STATES)).flatmap(
    lambda code: st.sampled_from([code, code.lower(), US_STATES[code], f"{US_STATES[code]} State"])
)


@FUZZ
@given(
    where=STATES,
    accepting=st.sampled_from(["", "1", "on", "0", "no"]),
    sort=st.sampled_from(["", "recent", "price", "relevance"]),
    radius=values,
    extra=params,
)
def test_a_state_alone_is_a_whole_state_search(search_app, where, accepting, sort, radius, extra):
    """Any state however typed, with any radius (ignored) and any other parameters: a
    whole-state search without distances, or a 400 in words; never a 500."""
    client = search_app.test_client()
    if where.lower() in ("la", "dc"):
        return  # nicknames: Los Angeles and Washington, DC
    base = [("where", where), ("accepting", accepting), ("sort", sort), ("radius", radius)]
    response = client.get("/api/v1/search?" + urlencode(base + extra))
    _check_api(response)
    plain = client.get("/api/v1/search?" + urlencode(base[:3]))
    _check_api(plain)
    if plain.status_code != 200:
        return
    data = plain.get_json()
    if data["location"]["kind"] != "state":
        # A city of the state's name in that state ("New York"): a place search.
        assert data["location"]["label"].endswith(", " + data["location"]["state"])
        return
    assert data["query"]["accepting"] == (accepting in ("1", "on"))
    assert all(r["distance_miles"] is None for r in data["results"])
    assert all(r["state"] == data["location"]["state"] for r in data["results"])


def test_errors_name_the_field(search_client):
    cases = {
        "radius=0": "radius",
        "radius=abc": "radius",
        "page=0": "page",
        "per_page=51": "per_page",
        "modality=laser": "modality",
        "max_price=-5": "max_price",
        "sort=best": "sort",
        "sort=distance": "sort",
        "where=Xyzzyville": "where",
        "where=00000": "where",
        "where=91,200": "where",
        "q=%21%21": "q",
        "accepting=maybe": "accepting",
        "where=Texas&sort=distance": "sort",
    }
    for query, field in cases.items():
        response = search_client.get(f"/api/v1/search?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"]["field"] == field, query
        page = search_client.get(f"/search?{query}")
        assert page.status_code == 400
        assert str(escape(response.get_json()["error"]["message"])) in page.get_data(as_text=True)
        if field not in ("page", "per_page"):  # the form's own inputs
            assert f'name="{field}"'.encode() in page.data, query


def test_prices_are_read_as_people_write_them(search_client):
    for typed, dollars in (("$500", 500), ("500.00", 500), ("1,000", 1000), ("$ 1,200.0", 1200)):
        data = search_client.get(f"/api/v1/search?max_price={quote(typed)}").get_json()
        assert data["query"]["max_price"] == dollars, typed
    for typed in ("499.99", "five hundred", "1,00", "-5"):
        response = search_client.get(f"/api/v1/search?max_price={quote(typed)}")
        assert response.status_code == 400, typed
        message = response.get_json()["error"]["message"]
        assert message == "Maximum price must be a whole number of dollars, like 500.", typed
        page = search_client.get(f"/search?max_price={quote(typed)}").get_data(as_text=True)
        assert "Maximum price must be a whole number of dollars, like 500." in page


def test_ambiguous_place_suggests_candidates(search_client):
    data = search_client.get("/api/v1/search?where=Springfield").get_json()
    assert data["error"]["field"] == "where"
    assert "Springfield, IL" in data["error"]["suggestions"]
    page = search_client.get("/search?where=Springfield")
    assert b"Springfield, IL" in page.data


# Listings in every demo set (published first ones of Alaska), and slug-shaped junk.
COMPARE_VALUES = st.one_of(
    values,
    st.sampled_from(
        [
            "northern-lights-ketamine-institute-anchorage",
            "juniper-valley-ketamine-center-juneau",
            "northern-lights-ketamine-institute-anchorage,juniper-valley-ketamine-center-juneau",
            "no-such-clinic",
            "a,b,c,d,e,f,g,h,i,j,k,l,m,n",
            "99801",
        ]
    ),
)


def _check_compare(response) -> None:
    assert response.status_code in (200, 404), response.status_code
    assert response.mimetype == "text/html"
    assert "Set-Cookie" not in response.headers


@FUZZ
@given(
    pairs=st.lists(
        st.tuples(st.one_of(st.sampled_from(["c", "where"]), st.text(max_size=4)), COMPARE_VALUES),
        max_size=8,
    ),
    raw=st.binary(max_size=80),
)
def test_compare_answers_any_query_string(demo_app, pairs, raw):
    client = demo_app.test_client()
    _check_compare(client.get("/compare?" + urlencode(pairs)))
    _check_compare(client.get("/compare?" + quote(raw, safe="=&")))
