"""The OpenAPI document is valid and true: its parameters are the parser's, its
limits are the ones enforced, clinic records answer conditional GETs with 304, the
paging links walk a whole search, the API page shows every path, and the check that
validates every API answer of the suite can fail.

Expected values are worked out here (hashes, dates, page counts), never read from
the code under test; everything runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import jsonify
from openapi_spec_validator import validate
from sqlalchemy import select, update
from werkzeug.datastructures import MultiDict

from directory.api.openapi import document
from directory.extensions import db
from directory.geo import PlaceError
from directory.listings import publishing
from directory.models import Clinic, CredentialCheck
from directory.search import query as contract
from directory.search.query import parse_search_query, parse_telehealth_shown
from tests import openapi_check
from tests.helpers import add_check, first_published

SERVER = "/api/v1"
# A search with a few pages at a small page size, in the demo data.
PAGED_SEARCH = {"where": "Alabama", "per_page": "2"}


def _search_parameters(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The documented query parameters of GET /search, references followed."""
    found = {}
    for item in doc["paths"]["/search"]["get"]["parameters"]:
        name = item["$ref"].rsplit("/", 1)[-1]
        found[name] = doc["components"]["parameters"][name]
    return found


# -- the document ----------------------------------------------------------------------------
def test_the_document_is_valid_openapi_3_1_and_served_as_built(demo_client):
    doc = document()
    validate(doc)  # raises on any problem
    assert doc["openapi"] == "3.1.0"
    assert doc["servers"] == [{"url": SERVER}]  # relative: right on every host
    response = demo_client.get(f"{SERVER}/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == doc
    assert "Set-Cookie" not in response.headers
    again = demo_client.get(
        f"{SERVER}/openapi.json", headers={"If-None-Match": response.headers["ETag"]}
    )
    assert again.status_code == 304 and again.data == b""


def test_every_example_in_the_document_validates_against_its_schema():
    check = openapi_check.checker()
    examples = 0
    for path, methods in check.doc["paths"].items():
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                media = answer.get("content", {}).get("application/json", {})
                if "example" not in media:
                    continue
                pointer = "/".join(
                    [
                        "",
                        "paths",
                        path.replace("/", "~1"),
                        method,
                        "responses",
                        status,
                        "content",
                        "application~1json",
                        "schema",
                    ]
                )
                errors = list(check.validator(pointer).iter_errors(media["example"]))
                assert not errors, (path, status, [e.message for e in errors])
                examples += 1
    assert examples >= 4


class _Recording(MultiDict):
    """Query arguments that remember every name the parser asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def getlist(self, key: str, type: Any = None) -> list[Any]:  # noqa: A002 (MultiDict's name)
        self.asked.add(key)
        return super().getlist(key, type)

    def __contains__(self, key: object) -> bool:
        self.asked.add(str(key))
        return super().__contains__(key)

    def __getitem__(self, key: str) -> Any:
        self.asked.add(key)
        return super().__getitem__(key)


def _no_place(text: str) -> Any:
    raise PlaceError("no places in this test")


def test_the_documented_parameters_are_exactly_those_the_parser_reads():
    """Which names `parse_search_query` (and the API's count of telehealth programs)
    read is observed, not taken from their tables."""
    args = _Recording()
    parse_search_query(args, {}, _no_place)
    parse_telehealth_shown(args)
    documented = set(_search_parameters(document()))
    assert documented == args.asked
    # and every parameter the messages can name, and every filter, is documented
    assert set(contract.NAMES) | set(contract.FILTERS) <= documented


def _integer_limits(doc: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {
        name: (spec["schema"]["minimum"], spec["schema"]["maximum"])
        for name, spec in _search_parameters(doc).items()
        if spec["schema"].get("type") == "integer"
    }


def test_the_documented_limits_are_the_ones_enforced(demo_client):
    doc = document()
    limits = _integer_limits(doc)
    assert set(limits) == {"radius", "max_price", "page", "per_page", "telehealth"}

    def field_of(params: dict[str, Any]) -> str | None:
        response = demo_client.get(f"{SERVER}/search", query_string=params)
        assert response.status_code in (200, 400), response.status_code
        return response.get_json()["error"]["field"] if response.status_code == 400 else None

    for name, (low, high) in limits.items():
        assert field_of({name: low}) is None, (name, low)
        assert field_of({name: high}) is None, (name, high)
        assert field_of({name: high + 1}) == name, (name, high + 1)
        assert field_of({name: low - 1}) == name, (name, low - 1)
    for name in ("q", "where"):
        longest = _search_parameters(doc)[name]["schema"]["maxLength"]
        assert field_of({name: "a" * (longest + 1)}) == name
    sorts = _search_parameters(doc)["sort"]["schema"]["enum"]
    assert field_of({"sort": "cheapest"}) == "sort"
    for sort in sorts:  # each documented order works (nearest first needs a place)
        place = {"where": "Anchorage, AK"} if sort == "distance" else {}
        assert field_of({"sort": sort, **place}) is None, sort


# -- conditional GETs ------------------------------------------------------------------------
def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _expected_last_modified(app, clinic_id: int) -> str:
    """The later of the row's updated_at, its checks' recorded_at and today's midnight
    (UTC), as an HTTP date (whole seconds)."""
    with app.app_context():
        updated = db.session.scalar(select(Clinic.updated_at).where(Clinic.id == clinic_id))
        recorded = db.session.scalars(
            select(CredentialCheck.recorded_at).where(CredentialCheck.clinic_id == clinic_id)
        ).all()
    midnight = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    latest = max([midnight, _utc(updated), *map(_utc, recorded)])
    return format_datetime(latest.replace(microsecond=0), usegmt=True)


def _backdate(app, clinic_id: int, hours: int) -> None:
    """The listing last changed `hours` ago (an UPDATE that skips the ORM's onupdate)."""
    with app.app_context():
        earlier = datetime.now(UTC) - timedelta(hours=hours)
        db.session.execute(update(Clinic).where(Clinic.id == clinic_id).values(updated_at=earlier))
        db.session.commit()


def test_a_clinic_record_answers_304_while_unchanged(site):
    app, clinic = site.app, first_published(site.app)
    _backdate(app, clinic.id, 2)
    client = app.test_client()
    url = f"{SERVER}/clinics/{clinic.slug}"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag == f'"{hashlib.sha1(first.data).hexdigest()}"'  # strong: no W/
    assert first.headers["Last-Modified"] == _expected_last_modified(app, clinic.id)
    assert first.headers["Cache-Control"] == "no-cache"

    by_etag = client.get(url, headers={"If-None-Match": etag})
    assert by_etag.status_code == 304
    assert by_etag.data == b"" and "Content-Type" not in by_etag.headers
    assert by_etag.headers["ETag"] == etag
    by_date = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert by_date.status_code == 304 and by_date.data == b""
    a_second_before = parsedate_to_datetime(first.headers["Last-Modified"]) - timedelta(seconds=1)
    older = client.get(
        url, headers={"If-Modified-Since": format_datetime(a_second_before, usegmt=True)}
    )
    assert older.status_code == 200 and older.data == first.data
    other = client.get(url, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.headers["ETag"] == etag
    for answer in (first, by_etag, by_date, older, other):
        assert "Set-Cookie" not in answer.headers


def test_a_changed_listing_answers_200_with_a_new_etag(site):
    app, clinic = site.app, first_published(site.app)
    _backdate(app, clinic.id, 2)
    client = app.test_client()
    url = f"{SERVER}/clinics/{clinic.slug}"
    before = client.get(url)
    new_phone = "(907) 555-0123"
    assert before.get_json()["phone"] != new_phone
    with app.app_context():
        row = db.session.get(Clinic, clinic.id)
        row.phone = new_phone
        publishing.save(row)
    asked = {
        "If-None-Match": before.headers["ETag"],
        "If-Modified-Since": before.headers["Last-Modified"],
    }
    for name, value in asked.items():
        after = client.get(url, headers={name: value})
        assert after.status_code == 200, name
        assert after.get_json()["phone"] == new_phone
        assert after.headers["ETag"] == f'"{hashlib.sha1(after.data).hexdigest()}"'
        assert after.headers["ETag"] != before.headers["ETag"]
        assert after.headers["Last-Modified"] == _expected_last_modified(app, clinic.id)
    assert client.get(url, headers={"If-None-Match": after.headers["ETag"]}).status_code == 304


def test_a_new_credential_check_counts_as_a_change(site):
    """A check is its own row: the clinic's updated_at stays, the record still changes."""
    app, clinic = site.app, first_published(site.app)
    _backdate(app, clinic.id, 2)
    client = app.test_client()
    url = f"{SERVER}/clinics/{clinic.slug}"
    before = client.get(url)
    with app.app_context():
        row = db.session.get(Clinic, clinic.id)
        row.npi = "1234567893"
        db.session.commit()
    _backdate(app, clinic.id, 2)
    middle = client.get(url)
    with app.app_context():
        add_check(clinic.id, "organization_npi", "1234567893", "confirmed", "nppes", "ref", 1)
        db.session.commit()
    after = client.get(url, headers={"If-Modified-Since": middle.headers["Last-Modified"]})
    assert after.status_code == 200
    assert after.headers["Last-Modified"] == _expected_last_modified(app, clinic.id)
    assert after.headers["ETag"] not in (before.headers["ETag"], middle.headers["ETag"])


# -- paging ----------------------------------------------------------------------------------
_LINK = re.compile(r'<([^>]+)>;\s*rel="([^"]+)"')


def _link_header(value: str) -> dict[str, str]:
    return {rel: url for url, rel in _LINK.findall(value)}


def _params(url: str) -> list[tuple[str, str]]:
    return sorted(parse_qsl(urlsplit(url).query, keep_blank_values=True))


def test_paging_links_walk_every_page_to_exactly_the_total(search_client):
    first = search_client.get(f"{SERVER}/search", query_string=PAGED_SEARCH).get_json()
    total, per_page = first["total"], int(PAGED_SEARCH["per_page"])
    pages = math.ceil(total / per_page)
    assert pages >= 3, total  # a search worth walking
    assert first["links"]["prev"] is None
    ids: list[int] = []
    url: str | None = first["links"]["first"]
    seen = 0
    while url:
        response = search_client.get(url)
        assert response.status_code == 200 and "Set-Cookie" not in response.headers
        data = response.get_json()
        seen += 1
        assert data["page"] == seen and data["links"]["self"] == url
        links = data["links"]
        header = _link_header(response.headers["Link"])
        assert header == {
            rel: links[rel] for rel in ("next", "prev", "first", "last") if links[rel]
        }
        # every page link asks the same search: only the page differs
        for link in filter(None, (links[rel] for rel in ("self", *header))):
            kept = [(k, v) for k, v in _params(link) if k != "page"]
            assert kept == sorted(PAGED_SEARCH.items()), link
            assert urlsplit(link).netloc == "directory.test"
        ids += [r["id"] for r in data["results"]]
        url = links["next"]
    assert seen == pages
    assert len(ids) == len(set(ids)) == total
    assert (
        dict(_params(links["last"]))["page"] == str(pages) == dict(_params(links["self"]))["page"]
    )


def test_a_page_past_the_end_links_back_to_the_last_page(search_client):
    first = search_client.get(f"{SERVER}/search", query_string=PAGED_SEARCH).get_json()
    pages = math.ceil(first["total"] / int(PAGED_SEARCH["per_page"]))
    beyond = search_client.get(
        f"{SERVER}/search", query_string={**PAGED_SEARCH, "page": pages + 3}
    ).get_json()
    assert beyond["results"] == [] and beyond["links"]["next"] is None
    assert dict(_params(beyond["links"]["prev"]))["page"] == str(pages)
    nothing = search_client.get(f"{SERVER}/search", query_string={"q": "zyzzogeton"}).get_json()
    assert nothing["total"] == 0 and nothing["links"]["next"] is None
    assert nothing["links"]["last"] == nothing["links"]["first"] == nothing["links"]["self"]


# -- the page for people ---------------------------------------------------------------------
def test_the_api_page_shows_every_path_and_sets_no_cookie(demo_client):
    doc = document()
    response = demo_client.get("/developers")
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    for path in doc["paths"]:
        assert f"GET {SERVER}{path}" in page, path
    for name in _search_parameters(doc):
        assert f"<code>{name}</code>" in page, name
    assert f'href="{SERVER}/openapi.json"' in page
    # nothing from another origin: every address is on this site
    for address in re.findall(r'(?:src|href)="([^"]+)"', page):
        assert not re.match(r"(?i)(https?:)?//", address) or "directory.test" in address, address
    assert "<script" not in page


# -- the check itself ------------------------------------------------------------------------
def _problems(method: str, path: str, status: int, body: Any, **headers: str) -> list[str]:
    import json

    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return openapi_check.checker().problems(
        method, path, status, {"Content-Type": "application/json", **headers}, data
    )


def _without(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != key}


def test_a_wrong_answer_fails_the_check(demo_client):
    search = demo_client.get(f"{SERVER}/search?where=Anchorage%2C+AK").get_json()
    assert _problems("GET", f"{SERVER}/search", 200, search, Link="") == []
    result = search["results"][0]
    wrong = {
        "an extra key": {**search, "surprise": 1},
        "a key missing": _without(search, "total"),
        "a wrong type": {**search, "total": "12"},
        "a result drifting": {**search, "results": [{**result, "rating": 5}]},
        "a bad date": {
            **search,
            "results": [{**result, "last_verified_at": "29 October 2026"}],
        },
    }
    for why, body in wrong.items():
        assert _problems("GET", f"{SERVER}/search", 200, body, Link=""), why
    assert _problems("GET", f"{SERVER}/search", 200, search), "no Link header"
    assert _problems("GET", f"{SERVER}/search", 400, {"error": {"field": "q"}})
    assert _problems("GET", f"{SERVER}/clinics/a-slug", 304, b"{}", ETag='"x"')
    assert _problems("GET", f"{SERVER}/undocumented", 200, {})


def test_an_app_answer_that_breaks_the_document_fails_the_request(fresh_app):
    """The hook every test app has: a view answering off-document raises in the test."""
    fresh_app.view_functions["api.clinic"] = lambda slug: jsonify({"name": slug})
    with pytest.raises(openapi_check.AnswerDoesNotMatchDocument, match="clinics/anything"):
        fresh_app.test_client().get(f"{SERVER}/clinics/anything")
    assert len(openapi_check.FAILURES) == 1
    openapi_check.FAILURES.clear()  # expected here; any other test would fail on it
