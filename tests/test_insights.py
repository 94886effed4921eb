"""Clinic insights: plain monthly counters, on SQLite and PostgreSQL.

Counts arrive as the beacons static/js/counts.js sends (POST /count/<kind>?c=<id>),
are answered 204 without a cookie, count only published listings, and add up
exactly however many requests count at once (real threads). A clinic reads its own
listing's months and nobody else's; editors read every listing's summed. The table
holds numbers, never a visitor, address or time. Expected figures are what the test
itself sent, summed here.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy import inspect, select

from directory.extensions import db
from directory.models import Clinic, ListingCount
from tests.helpers import all_at_once, client_for, make_user, text


def _month():
    return datetime.now(UTC).date().replace(day=1)


def _stored(app) -> dict[tuple[int, str], int]:
    """(clinic, kind) -> this month's count, read straight from the table."""
    with app.app_context():
        rows = db.session.scalars(select(ListingCount).where(ListingCount.month == _month()))
        return {(r.clinic_id, r.kind): r.count for r in rows}


def _beacon(client, kind: str, *ids):
    query = "&".join(f"c={i}" for i in ids)
    return client.post(f"/count/{kind}?{query}")


def test_a_beacon_adds_one_and_sets_no_cookie(site):
    visitor = site.app.test_client()
    for kind in ("view", "phone", "website"):
        response = _beacon(visitor, kind, site.a)
        assert response.status_code == 204 and response.data == b""
        assert "Set-Cookie" not in response.headers
    assert _beacon(visitor, "appearance", site.a, site.b, site.a).status_code == 204
    assert _beacon(visitor, "view", site.a).status_code == 204
    assert visitor.get_cookie("session") is None
    assert _stored(site.app) == {
        (site.a, "view"): 2,
        (site.a, "phone"): 1,
        (site.a, "website"): 1,
        (site.a, "appearance"): 2,
        (site.b, "appearance"): 1,
    }


def test_bad_beacons_count_nothing_and_say_why(site):
    visitor = site.app.test_client()
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.ids[-1])
        clinic.status = "suspended"
        db.session.commit()
        hidden = clinic.id
    assert _beacon(visitor, "glance", site.a).status_code == 404
    assert visitor.get(f"/count/view?c={site.a}").status_code == 405
    for kind, ids, words in (
        ("view", (), "Name between 1 and 50 listings"),
        ("appearance", tuple(range(1, 52)), "Name between 1 and 50 listings"),
        ("view", ("12abc",), "named by their numbers"),
        ("view", ("-3",), "named by their numbers"),
        ("view", ("9" * 12,), "named by their numbers"),
        ("phone", (site.a, site.b), "the one listing"),
    ):
        response = _beacon(visitor, kind, *ids)
        assert response.status_code == 400, (kind, ids)
        assert words in response.get_data(as_text=True)
    # Unknown and unpublished listings are ignored, not errors.
    assert _beacon(visitor, "view", 999_999).status_code == 204
    assert _beacon(visitor, "appearance", hidden, 999_999).status_code == 204
    assert _stored(site.app) == {}


def test_counts_from_many_threads_at_once_all_land(site):
    """Eight threads send 20 beacons each, appearances naming overlapping listings in
    random orders (a deadlock would hang or fail them) and views of one listing: every
    count is stored, equal to what was sent."""
    rng = random.Random(7)
    plans = [
        [rng.sample(site.ids, rng.randint(1, len(site.ids))) for _ in range(20)] for _ in range(8)
    ]
    clients = [site.app.test_client() for _ in plans]

    def send(n: int) -> list[int]:
        statuses = []
        for ids in plans[n]:
            statuses.append(_beacon(clients[n], "appearance", *ids).status_code)
            statuses.append(_beacon(clients[n], "view", site.a).status_code)
        return statuses

    results = all_at_once(len(plans), send)
    assert {status for statuses in results for status in statuses} == {204}
    expected = Counter((i, "appearance") for plan in plans for ids in plan for i in ids)
    expected[(site.a, "view")] = 8 * 20
    assert _stored(site.app) == dict(expected)


def test_the_counter_table_holds_numbers_only(site):
    """Privacy by construction: no column could hold a visitor, address or time."""
    with site.app.app_context():
        columns = {c["name"] for c in inspect(db.engine).get_columns("listing_count")}
    assert columns == {"id", "clinic_id", "month", "kind", "count"}


def test_a_clinic_sees_its_own_months_and_nobody_elses(site):
    visitor = site.app.test_client()
    for _ in range(3):
        _beacon(visitor, "view", site.a)
    _beacon(visitor, "phone", site.a)
    _beacon(visitor, "view", site.b)
    owner = client_for(site.app, site.clinic_user)
    page = owner.get(f"/admin/my-listings/{site.a}/insights")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    row = html[html.index(f'data-month="{_month().isoformat()}"') :]
    row = row[: row.index("</tr>")]
    assert 'data-kind="view">3<' in row and 'data-kind="phone">1<' in row
    assert 'data-kind="website">0<' in row and 'data-kind="appearance">0<' in row
    assert html.count("<tr data-month=") == 12
    assert "How patients found you" in text(owner.get(f"/admin/my-listings/{site.a}/"))
    # Someone else's listing: as if it did not exist, by direct URL.
    assert owner.get(f"/admin/my-listings/{site.b}/insights").status_code == 404
    assert owner.get("/admin/insights/").status_code == 403
    signed_out = site.app.test_client().get(f"/admin/my-listings/{site.a}/insights")
    assert signed_out.status_code == 302 and "/account/sign-in" in signed_out.headers["Location"]


def test_editors_see_every_listing_summed(site):
    visitor = site.app.test_client()
    sent = Counter()
    for clinic_id in site.ids[:4]:
        for kind in ("view", "website"):
            for _ in range(clinic_id % 3 + 1):
                _beacon(visitor, kind, clinic_id)
                sent[kind] += 1
    editor = client_for(site.app, site.editor)
    html = editor.get("/admin/insights/").get_data(as_text=True)
    row = html[html.index(f'data-month="{_month().isoformat()}"') :]
    row = row[: row.index("</tr>")]
    assert f'data-kind="view">{sent["view"]}<' in row
    assert f'data-kind="website">{sent["website"]}<' in row
    assert "4 listings had a count this month" in html
    other = make_user(site.app, "third@clinic.example")
    assert client_for(site.app, other).get("/admin/insights/").status_code == 403


def test_pages_carry_the_marks_the_script_reads(site):
    """Result cards name their listing for appearances; the clinic page for a view;
    its phone and website links for taps; the script tag says where counts go."""
    visitor = site.app.test_client()
    with site.app.app_context():
        clinic = db.session.get(Clinic, site.a)
        slug, city, state = clinic.slug, clinic.city, clinic.state
    results = visitor.get("/search", query_string={"where": f"{city}, {state}"})
    html = results.get_data(as_text=True)
    assert f'data-count-appearance="{site.a}"' in html
    assert 'data-count-url="/count/"' in html and 'data-count-max="50"' in html
    page = visitor.get(f"/clinics/{slug}").get_data(as_text=True)
    assert f'data-count-view="{site.a}"' in page
    assert f'data-count="phone" data-clinic="{site.a}"' in page
    assert "Set-Cookie" not in results.headers
