"""The comparison page: what it shows is what the rows hold, in the patient's order.

Expected values are read from the database here and written out by the test itself
(prices, dates, labels), never taken from the page's own helpers. Each test runs on
SQLite and on PostgreSQL (`demo_app`), and every answer is checked for a cookie:
comparing, like browsing, must not set one.
"""

from __future__ import annotations

import html as html_lib
import re
from datetime import date
from urllib.parse import parse_qs, urlsplit

import html5lib
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from directory.extensions import db
from directory.geo import get_gazetteer
from directory.models import Clinic, Offering
from tests.helpers import plain, sphere_miles, text

MAX = 4


# -- rows, read without the code under test ---------------------------------------------------
def _published(app, where=(), limit: int = 8) -> list[Clinic]:
    """Published listings (with offerings, insurers and payment loaded), by id, detached."""
    with app.app_context():
        clinics = db.session.scalars(
            select(Clinic)
            .where(Clinic.status == "published", *where)
            .options(
                selectinload(Clinic.offerings).joinedload(Offering.modality),
                selectinload(Clinic.insurers),
                selectinload(Clinic.payment_options),
            )
            .order_by(Clinic.id)
            .limit(limit)
        ).all()
        for clinic in clinics:
            db.session.expunge(clinic)
        return list(clinics)


@pytest.fixture(scope="module")
def varied(demo_app) -> list[Clinic]:
    """Three published in-person clinics that differ: one with insurers, one with a
    series price, one without insurers (self-pay)."""
    clinics = _published(demo_app, [Clinic.kind == "in_person"], limit=200)
    with_insurers = next(c for c in clinics if c.insurers)
    with_series = next(
        c
        for c in clinics
        if c is not with_insurers and any(o.series_price is not None for o in c.offerings)
    )
    self_pay = next(c for c in clinics if not c.insurers and c not in (with_insurers, with_series))
    return [with_insurers, with_series, self_pay]


def _unpublished(app) -> Clinic:
    with app.app_context():
        clinic = db.session.scalars(
            select(Clinic).where(Clinic.status != "published").order_by(Clinic.id)
        ).first()
        assert clinic is not None, "the demo data has drafts and suspended listings"
        db.session.expunge(clinic)
        return clinic


# -- reading the page ---------------------------------------------------------------------------
def _tree(response):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(response.data)


def _words(element) -> str:
    return " ".join("".join(element.itertext()).split())


def _table(response) -> tuple[list[str], dict[str, list[str]]]:
    """(column headers, {row header: cell texts}) of the comparison table."""
    table = _tree(response).find(".//table[@class='compare-table']")
    assert table is not None, "no comparison table"
    heads = [_words(th) for th in table.findall("./thead/tr/th")]
    rows = {}
    for tr in table.findall("./tbody/tr"):
        rows[_words(tr.find("th"))] = [_words(td) for td in tr.findall("td")]
    return heads, rows


def _compare(client, *slugs: str, **extra):
    response = client.get("/compare", query_string={"c": list(slugs), **extra})
    assert "Set-Cookie" not in response.headers
    return response


def _dollars(value: int) -> str:
    return "$" + f"{value:,}"


def _long(day: date) -> str:
    return day.strftime("%B ") + str(day.day) + ", " + str(day.year)


# -- the table ---------------------------------------------------------------------------------
def test_every_row_shows_what_the_listings_hold(demo_client, varied):
    response = _compare(demo_client, *(c.slug for c in varied))
    assert response.status_code == 200
    heads, rows = _table(response)
    assert heads == [c.name for c in varied]

    modalities = {o.modality.name for c in varied for o in c.offerings}
    for name in modalities:
        assert name in rows, (name, list(rows))
    for column, clinic in enumerate(varied):
        offered = {o.modality.name: o for o in clinic.offerings}
        for name in modalities:
            cell = rows[name][column]
            offering = offered.get(name)
            if offering is None:
                assert cell == "Not offered"
                continue
            if offering.price_min is not None:
                low, high = offering.price_min, offering.price_max
                price = _dollars(low)
                if high not in (None, low):
                    price += "–" + _dollars(high)
                assert cell.startswith(price + " per session"), (cell, price)
            if offering.series_price is not None and offering.series_sessions:
                series = f"Series: {_dollars(offering.series_price)} for "
                assert series + f"{offering.series_sessions} sessions" in cell, cell
            elif offering.series_price is None:
                assert "Series: not listed" in cell
            insurance = "accepted for this treatment" if offering.insurance_accepted else "self-pay"
            assert cell.endswith("Insurance: " + insurance), cell

        insurers = " ".join(i.name for i in clinic.insurers) or "None listed (self-pay)"
        assert rows["Insurers"][column] == insurers
        assert rows["Payment options"][column] == (
            " ".join(p.name for p in clinic.payment_options) or "Not listed"
        )
        yes = {True: "Yes", False: "No"}
        assert rows["Accepting new patients"][column] == yes[clinic.accepting_new_patients]
        assert rows["Spravato REMS certified"][column] == yes[clinic.spravato_rems]
        assert clinic.city in rows["Where"][column]
        if clinic.phone:
            assert f"Call {clinic.phone}" in rows["Contact"][column]
        verified = rows["Last verified"][column]
        if clinic.last_verified_at is None:
            assert verified == "Not yet verified"
        else:
            assert verified.endswith(_long(clinic.last_verified_at)), verified
    assert "Distance" not in " ".join(rows), "no place given: no distance row"

    directors = {"psychiatrist": "Psychiatrist", "anesthesiologist": "Anesthesiologist"}
    for column, clinic in enumerate(varied):
        if clinic.medical_director in directors:
            assert rows["Medical director"][column] == directors[clinic.medical_director]


def test_the_patients_order_is_kept_and_named_canonical(demo_client, varied):
    slugs = [c.slug for c in reversed(varied)]
    response = _compare(demo_client, *slugs)
    heads, _ = _table(response)
    assert heads == [c.name for c in reversed(varied)]
    links = re.findall(r'<link rel="canonical" href="([^"]+)">', text(response))
    assert len(links) == 1
    canonical = urlsplit(html_lib.unescape(links[0]))
    assert canonical.path == "/compare"
    assert parse_qs(canonical.query) == {"c": slugs}


def test_comma_separated_slugs_and_repeats(demo_client, varied):
    a, b, c = (clinic.slug for clinic in varied)
    response = demo_client.get(f"/compare?c={a},{b}&c={a}&c=%20{c}%20,,")
    assert response.status_code == 200
    heads, _ = _table(response)
    assert heads == [clinic.name for clinic in varied]


def test_each_clinic_can_be_removed_by_a_link(demo_client, varied):
    slugs = [c.slug for c in varied]
    page = _tree(_compare(demo_client, *slugs, where="99801"))
    chips = page.findall(".//ul[@class='chips']/li/a")
    assert [_words(a) for a in chips] == [f"Remove {c.name} from the comparison ×" for c in varied]
    for removed, chip in zip(slugs, chips, strict=True):
        link = urlsplit(chip.get("href"))
        assert link.path == "/compare"
        assert parse_qs(link.query) == {"c": [s for s in slugs if s != removed], "where": ["99801"]}


def test_at_most_four_the_rest_named(demo_app, demo_client):
    clinics = _published(demo_app, limit=MAX + 2)
    response = _compare(demo_client, *(c.slug for c in clinics))
    assert response.status_code == 200
    heads, _ = _table(response)
    assert heads == [c.name for c in clinics[:MAX]]
    page = plain(response)
    assert f"You can compare up to {MAX} clinics at a time" in page
    notice = page.split("Not shown:", 1)[1].split("</p>", 1)[0]
    for clinic in clinics[MAX:]:
        assert clinic.name in notice


def test_unknown_and_unpublished_listings_are_named_not_shown(demo_app, demo_client, varied):
    hidden = _unpublished(demo_app)
    response = _compare(demo_client, varied[0].slug, "no-such-clinic", hidden.slug)
    assert response.status_code == 200
    heads, _ = _table(response)
    assert heads == [varied[0].name]
    page = plain(response)
    assert "we could not find these listings named in the link" in page
    assert "“no-such-clinic”" in page and f"“{hidden.slug}”" in page
    assert hidden.name not in page, "an unpublished listing's name is never shown"


def test_nothing_found_is_a_404_that_explains(demo_app, demo_client):
    hidden = _unpublished(demo_app)
    response = _compare(demo_client, hidden.slug)
    assert response.status_code == 404
    page = plain(response)
    assert "We could not find this listing named in the link" in page
    assert "How to compare clinics" in page
    assert 'class="compare-table"' not in page
    assert hidden.name not in page


def test_no_clinic_named_explains_how_to_compare(demo_client):
    for url in ("/compare", "/compare?c=", "/compare?c=,,&where="):
        response = demo_client.get(url)
        assert response.status_code == 200, url
        assert "Set-Cookie" not in response.headers
        _tree(response)
        page = plain(response)
        assert "How to compare clinics" in page
        assert 'href="/search"' in page
        assert "no cookie" in page
        assert 'rel="canonical"' not in page


@pytest.mark.parametrize(
    "junk",
    ["NOT-A-SLUG", "a b", "\x00", "x" * 5000, "-", "ü", "<script>", "a--b", "%", "1" * 161],
)
def test_junk_in_the_link_is_named_safely(demo_client, varied, junk):
    response = _compare(demo_client, varied[0].slug, junk)
    assert response.status_code == 200
    heads, _ = _table(response)
    assert heads == [varied[0].name]
    assert "<script>" not in text(response).split("<main", 1)[1]
    assert len(response.data) < 60_000
    alone = _compare(demo_client, junk)
    assert alone.status_code in (200, 404)  # "-" alone names nothing: the explanation


def test_distances_from_a_place(demo_app, demo_client, varied):
    telehealth = _published(demo_app, [Clinic.kind == "telehealth"], limit=1)[0]
    place = get_gazetteer().resolve("99801")  # the input: a ZIP code's point
    response = _compare(demo_client, *(c.slug for c in varied), telehealth.slug, where="99801")
    heads, rows = _table(response)
    assert heads[-1] == telehealth.name
    (row,) = [name for name in rows if name.startswith("Distance from")]
    assert "99801" in row
    cells = rows[row]
    assert cells[-1] == "Telehealth: no travel"
    for clinic, cell in zip(varied, cells, strict=False):
        expected = sphere_miles(place.lat, place.lng, clinic.lat, clinic.lng)
        if cell == "under 0.1 mi":
            assert expected < 0.2, (clinic.slug, expected)
            continue
        shown = float(re.fullmatch(r"([\d,.]+) mi", cell)[1].replace(",", ""))
        assert abs(shown - expected) <= 0.01 * expected + 0.6, (clinic.slug, cell, expected)


def test_an_unknown_place_is_said_in_words_and_the_table_stays(demo_client, varied):
    response = _compare(demo_client, varied[0].slug, varied[1].slug, where="Xyzzyville")
    assert response.status_code == 200
    heads, rows = _table(response)
    assert heads == [varied[0].name, varied[1].name]
    assert not [name for name in rows if name.startswith("Distance")]
    tree = _tree(response)
    error = tree.find(".//p[@id='where-error']")
    assert error is not None and _words(error)
    assert tree.find(".//input[@id='where']").get("aria-invalid") == "true"
    assert not re.search(r"\bwhere\b|\bc\b", _words(error)), "words for people, no parameters"


def test_a_comparison_is_indexable_like_the_results_it_came_from(demo_client, varied):
    """Like a results page (and unlike a demo clinic's own page) a comparison lists
    clinics and may be indexed: one canonical URL per comparison, no noindex."""
    page = text(_compare(demo_client, varied[0].slug, varied[1].slug, where="99801"))
    assert 'name="robots"' not in page
    (canonical,) = re.findall(r'<link rel="canonical" href="([^"]+)">', page)
    assert "where" not in canonical, "the distances are a view of the same comparison"


# -- marking clinics without JavaScript --------------------------------------------------------
def test_result_cards_carry_a_compare_checkbox_for_the_compare_form(demo_app, demo_client):
    response = demo_client.get("/search?where=Austin%2C+TX")
    assert "Set-Cookie" not in response.headers
    tree = _tree(response)
    form = tree.find(".//form[@id='compare']")
    assert form is not None
    assert form.get("action") == "/compare" and form.get("method") == "get"
    assert "Compare selected" in _words(form)
    cards = tree.findall(".//ol[@id='results-list']/li/article")
    assert cards
    with demo_app.app_context():
        slugs = set(db.session.scalars(select(Clinic.slug).where(Clinic.status == "published")))
    for card in cards:
        box = card.find(".//input[@type='checkbox']")
        assert box is not None and box.get("name") == "c" and box.get("form") == "compare"
        assert box.get("value") in slugs
        label = card.find(f".//label[@for='{box.get('id')}']")
        assert _words(label) == "Compare " + _words(card.find(".//h3"))
    script = tree.find(".//script[@src='/static/js/shortlist.js']")
    assert script is not None and script.get("defer") is not None


def test_clinic_page_has_a_hidden_add_to_compare_button(demo_client, varied):
    response = demo_client.get(f"/clinics/{varied[0].slug}")
    tree = _tree(response)
    holder = tree.find(".//p[@data-compare-toggle]")
    assert holder is not None and holder.get("hidden") is not None  # useless without script
    button = holder.find("button")
    assert button.get("data-slug") == varied[0].slug and button.get("type") == "button"
    assert tree.find(".//script[@src='/static/js/shortlist.js']") is not None


def test_the_comparison_page_is_valid_html_and_loads_only_our_assets(demo_client, varied):
    response = _compare(demo_client, *(c.slug for c in varied), where="Austin, TX")
    _tree(response)
    body = text(response)
    for tag in re.findall(r"<(?:script|link|img|iframe)[^>]*>", body):
        for url in re.findall(r'(?:src|href)="([^"]+)"', tag):
            assert urlsplit(url).netloc in ("", "directory.test"), url
    scripts = re.findall(r"<script([^>]*)>", body)
    assert scripts and all(re.search(r'\bsrc="/static/', attrs) for attrs in scripts), scripts
    assert 'href="tel:988"' in body
