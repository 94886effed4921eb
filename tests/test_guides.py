"""Guide pages: valid, safe pages whose live figures match an independent count.

Prices and counts are recomputed here with plain SQL and Python, not with the guides'
own `prices`/`counts` modules, so a wrong query there cannot pass by agreeing with
itself.
"""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import html5lib
import pytest
from sqlalchemy import select, text

from directory.extensions import db
from directory.guides.loader import guides
from directory.models import Clinic, Condition, Modality, Offering

MODALITIES = ("iv", "im", "spravato", "sublingual")
CONDITIONS = (
    "depression",
    "treatment-resistant-depression",
    "ptsd",
    "anxiety",
    "chronic-pain",
    "crps",
    "ocd",
    "suicidal-ideation",
    "bipolar-depression",
    "postpartum-depression",
)
GUIDE_PAGES = [
    "/guides/",
    *(f"/guides/treatments/{code}" for code in MODALITIES),
    *(f"/guides/conditions/{code}" for code in CONDITIONS),
    "/guides/paying-for-treatment",
]


# --- helpers -------------------------------------------------------------------------


def _parse(body: bytes):
    """Strict html5lib parse: any parse error raises."""
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(body)


def _text(element) -> str:
    return re.sub(r"\s+", " ", "".join(element.itertext())).strip()


def _main(doc):
    main = doc.find(".//main")
    assert main is not None
    return main


def _classes(element) -> set[str]:
    return set((element.get("class") or "").split())


def _dollars(value) -> str:
    """Whole dollars, a half rounded up: $1,234."""
    whole = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"${int(whole):,}"


def _percent(part: int, whole: int) -> int:
    return int((Decimal(part * 100) / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _offerings_by_modality() -> dict[str, list[tuple[int | None, int | None, bool]]]:
    """(price_min, price_max, insurance_accepted) of every published clinic's offering;
    a price not confirmed within the last 365 days reads as no price."""
    since = datetime.now(UTC).date() - timedelta(days=365)
    rows = db.session.execute(
        text(
            "SELECT m.code, o.price_min, o.price_max, o.insurance_accepted, "
            "o.price_confirmed_on "
            "FROM offering o "
            "JOIN clinic c ON c.id = o.clinic_id "
            "JOIN modality m ON m.id = o.modality_id "
            "WHERE c.status = 'published'"
        )
    )
    result: dict[str, list[tuple[int | None, int | None, bool]]] = defaultdict(list)
    for code, price_min, price_max, insured, confirmed_on in rows:
        if confirmed_on is not None and not isinstance(confirmed_on, date):
            confirmed_on = date.fromisoformat(str(confirmed_on))  # SQLite: text
        if confirmed_on is None or confirmed_on < since:
            price_min = price_max = None
        result[code].append((price_min, price_max, bool(insured)))
    return result


def _expected_price_sentence(offerings) -> str | None:
    starts = [p for p, _, _ in offerings if p is not None]
    if not starts:
        return None
    low, high = min(starts), max(starts)
    span = _dollars(low) if low == high else f"{_dollars(low)}–{_dollars(high)}"
    noun = "listing" if len(starts) == 1 else "listings"
    return (
        f"Across {len(starts):,} {noun} with a price confirmed in the last 12 months, "
        "a session starts at "
        f"{span}; median {_dollars(statistics.median(starts))}."
    )


# --- every page ----------------------------------------------------------------------


@pytest.mark.parametrize("path", GUIDE_PAGES)
def test_guide_page_is_valid_safe_html(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 200
    doc = _parse(response.data)
    body = response.get_data(as_text=True)

    # The crisis line and the advice note from the shared footer.
    assert 'href="tel:988"' in body and 'href="sms:988"' in body
    assert "not medical advice" in _text(doc.find(".//footer")).lower()

    # Strict CSP and no third-party anything: no inline styles or scripts at all.
    assert "style=" not in body and "<script" not in body
    for url in re.findall(r'(?:src|href)="([^"]+)"', body):
        assert not url.startswith(("http:", "https:", "//")), url

    head = doc.find(".//head")
    description = head.find("meta[@name='description']")
    assert description is not None and len(description.get("content", "")) > 40

    main = _main(doc)
    assert len(doc.findall(".//h1")) == 1
    crumbs = main.find(".//nav[@aria-label='Breadcrumb']")
    assert crumbs is not None and crumbs.find(".//a[@aria-current='page']") is not None

    # "General information, not medical advice" near the top: before the first h2.
    order = [el for el in main.iter() if isinstance(el.tag, str)]
    advice = next(i for i, el in enumerate(order) if "guide-advice" in _classes(el))
    assert "General information, not medical advice" in _text(order[advice])
    first_h2 = next(i for i, el in enumerate(order) if el.tag == "h2")
    assert advice < first_h2

    reviewed = main.find(".//p[@class='guide-reviewed']/time")
    assert reviewed.get("datetime") == "2026-11-25" and reviewed.text == "November 25, 2026"

    # Headings never skip a level, starting from the one h1.
    levels = [int(el.tag[1]) for el in doc.iter() if el.tag in ("h1", "h2", "h3", "h4")]
    assert levels[0] == 1
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, levels

    ids = [el.get("id") for el in doc.iter() if isinstance(el.tag, str) and el.get("id")]
    assert len(ids) == len(set(ids)), "duplicate id"


def test_every_guide_file_is_tested_here():
    """A new Markdown guide joins MODALITIES or CONDITIONS, so every page test covers it."""
    assert tuple(guides().modality) == MODALITIES
    assert tuple(guides().condition) == CONDITIONS


def test_index_links_every_guide(demo_client):
    body = demo_client.get("/guides/").get_data(as_text=True)
    for path in GUIDE_PAGES[1:]:
        assert f'href="{path}"' in body, path


@pytest.mark.parametrize("path", GUIDE_PAGES)
def test_links_between_guides_resolve(demo_client, path):
    body = demo_client.get(path).get_data(as_text=True)
    for target in set(re.findall(r'href="(/guides/[^"]*)"', body)):
        assert demo_client.get(target).status_code == 200, (path, target)


@pytest.mark.parametrize(
    "path",
    [
        "/guides/treatments/ketamine-gummies",
        "/guides/treatments/IV",
        "/guides/treatments/",
        "/guides/conditions/flu",
        # in the vocabulary, but no guide is written for it
        "/guides/conditions/neuropathic-pain",
        "/guides/conditions/ptsd%00",
        "/guides/paying",
    ],
)
def test_unknown_guides_are_404(demo_client, path):
    response = demo_client.get(path)
    assert response.status_code == 404
    _parse(response.data)


# --- modality guides: live prices ----------------------------------------------------


@pytest.mark.parametrize("code", MODALITIES)
def test_modality_price_range_matches_independent_sql(demo_app, demo_client, code):
    with demo_app.app_context():
        offerings = _offerings_by_modality()[code]
    expected = _expected_price_sentence(offerings)
    assert expected, f"demo data has prices for {code}"

    response = demo_client.get(f"/guides/treatments/{code}")
    main_text = _text(_main(_parse(response.data)))
    assert expected in main_text

    insured = sum(1 for _, _, ins in offerings if ins)
    verb = "bills" if insured == 1 else "bill"
    assert (
        f"{insured} of the {len(offerings):,} listings offering it {verb} insurance for it "
        f"({_percent(insured, len(offerings))}%)"
    ) in main_text


@pytest.mark.parametrize("code", MODALITIES)
def test_modality_guide_links_to_matching_search(demo_client, code):
    body = demo_client.get(f"/guides/treatments/{code}").get_data(as_text=True)
    assert f'href="/search?modality={code}"' in body
    assert demo_client.get(f"/search?modality={code}").status_code == 200


def test_spravato_guide_states_rems_monitoring_and_schedule(demo_client):
    text_ = _text(_main(_parse(demo_client.get("/guides/treatments/spravato").data)))
    assert "Spravato REMS" in text_ and "at least two hours" in text_
    assert "two doses a week for weeks 1 to 4" in text_
    assert "prior authorization" in text_


# --- condition guides: live counts ---------------------------------------------------


def _brute_force_condition_counts() -> tuple[dict[str, int], dict[str, dict[str, int]]]:
    """Per condition code: published clinics listing it, and per modality code."""
    published = set(db.session.scalars(text("SELECT id FROM clinic WHERE status = 'published'")))
    conditions: dict[int, set[str]] = defaultdict(set)
    for clinic_id, code in db.session.execute(
        text(
            "SELECT cc.clinic_id, c.code FROM clinic_condition cc "
            "JOIN condition c ON c.id = cc.condition_id"
        )
    ):
        conditions[clinic_id].add(code)
    modalities: dict[int, set[str]] = defaultdict(set)
    for clinic_id, code in db.session.execute(
        text("SELECT o.clinic_id, m.code FROM offering o JOIN modality m ON m.id = o.modality_id")
    ):
        modalities[clinic_id].add(code)
    totals: dict[str, int] = defaultdict(int)
    by_modality: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for clinic_id in published:
        for condition in conditions[clinic_id]:
            totals[condition] += 1
            for modality in modalities[clinic_id]:
                by_modality[condition][modality] += 1
    return totals, by_modality


@pytest.mark.parametrize("code", CONDITIONS)
def test_condition_counts_match_brute_force(demo_app, demo_client, code):
    with demo_app.app_context():
        totals, by_modality = _brute_force_condition_counts()
        names = dict(db.session.execute(select(Modality.code, Modality.name)).all())
        condition_name = db.session.scalar(select(Condition.name).where(Condition.code == code))
    assert totals[code] > 1, "demo data lists this condition"

    doc = _parse(demo_client.get(f"/guides/conditions/{code}").data)
    main = _main(doc)
    total_text = _text(main.find(".//p[@id='listed-total']"))
    assert total_text == (
        f"{totals[code]:,} clinics and programs in this directory list “{condition_name}” "
        "among the conditions they treat."
    )
    shown = {
        _text(row.find("th")): int(_text(row.find("td")))
        for row in main.findall(".//table[@id='listed-by-treatment']/tbody/tr")
    }
    assert shown == {names[m]: by_modality[code].get(m, 0) for m in names}


@pytest.mark.parametrize("code", CONDITIONS)
def test_condition_guide_links_to_matching_search(demo_client, code):
    body = demo_client.get(f"/guides/conditions/{code}").get_data(as_text=True)
    assert f'href="/search?condition={code}"' in body


def test_suicidal_ideation_leads_with_988(demo_client):
    doc = _parse(demo_client.get("/guides/conditions/suicidal-ideation").data)
    main = _main(doc)
    first = next(el for el in main if isinstance(el.tag, str))
    assert "guide-crisis" in _classes(first)
    assert "988" in _text(first)
    hrefs = [a.get("href") for a in first.iter("a")]
    assert "tel:988" in hrefs and "sms:988" in hrefs
    # Nothing of the guide itself (breadcrumbs, title, text) comes before it.
    order = [el for el in main.iter() if isinstance(el.tag, str)]
    assert order.index(first) < order.index(main.find(".//h1"))
    assert order.index(first) < order.index(main.find(".//nav"))
    main_text = _text(main)
    assert main_text.index("988") < main_text.index("What the evidence says")


def test_ptsd_guide_names_its_sources(demo_client):
    text_ = _text(_main(_parse(demo_client.get("/guides/conditions/ptsd").data)))
    assert "VA/DoD PTSD guideline (2023)" in text_
    assert "Veterans Crisis Line" in text_


# --- paying guide --------------------------------------------------------------------


def test_paying_guide_links_payment_searches_with_counts(demo_app, demo_client):
    with demo_app.app_context():
        counts = dict(
            db.session.execute(
                text(
                    "SELECT p.code, COUNT(*) FROM clinic_payment_option cp "
                    "JOIN payment_option p ON p.id = cp.payment_option_id "
                    "JOIN clinic c ON c.id = cp.clinic_id "
                    "WHERE c.status = 'published' GROUP BY p.code"
                )
            ).all()
        )
        offerings = _offerings_by_modality()
    response = demo_client.get("/guides/paying-for-treatment")
    body = response.get_data(as_text=True)
    for code in ("self-pay", "superbill", "hsa-fsa", "financing", "sliding-scale"):
        assert f'href="/search?payment={code}"' in body
        assert re.search(
            rf'href="/search\?payment={code}">[^<]+<span class="count">'
            rf"\({counts[code]}\)</span>",
            body,
        ), code
    assert 'href="/search?modality=spravato"' in body
    main_text = _text(_main(_parse(response.data)))
    for phrase in ("IRS Publication 502", "superbill", "prior authorization", "Good Faith"):
        assert phrase in main_text
    spravato = offerings["spravato"]
    insured = sum(1 for _, _, ins in spravato if ins)
    assert f"{insured} of {len(spravato)} ({_percent(insured, len(spravato))}%)" in main_text


# --- an empty directory and exact figures --------------------------------------------


def test_fresh_database_says_no_prices_yet(fresh_app):
    client = fresh_app.test_client()
    for code in MODALITIES:
        response = client.get(f"/guides/treatments/{code}")
        assert response.status_code == 200
        main_text = _text(_main(_parse(response.data)))
        assert "No recent prices yet" in main_text
        assert "Across" not in main_text and not re.search(r"\$\d", main_text)
    for code in CONDITIONS:
        response = client.get(f"/guides/conditions/{code}")
        assert response.status_code == 200
        assert "No clinic in this directory lists this condition yet" in _text(
            _main(_parse(response.data))
        )
    for path in ("/guides/", "/guides/paying-for-treatment"):
        response = client.get(path)
        assert response.status_code == 200
        _parse(response.data)


def test_exact_figures_ignore_unpublished_clinics_and_follow_renames(fresh_app):
    """Two published IV prices ($300, $451) and a draft ($100): median rounds half up."""
    with fresh_app.app_context():
        modality = db.session.scalar(select(Modality).where(Modality.code == "iv"))
        ptsd = db.session.scalar(select(Condition).where(Condition.code == "ptsd"))
        for slug, status, low, high, insured in (
            ("a-clinic", "published", 300, None, False),
            ("b-clinic", "published", 451, 600, True),
            ("c-clinic", "draft", 100, 100, False),
        ):
            clinic = Clinic(slug=slug, name=slug.title(), status=status, city="Austin", state="TX")
            clinic.offerings.append(
                Offering(
                    modality=modality,
                    price_min=low,
                    price_max=high,
                    insurance_accepted=insured,
                    price_confirmed_on=datetime.now(UTC).date(),
                )
            )
            clinic.conditions = [ptsd]
            db.session.add(clinic)
        modality.name = "Intravenous ketamine infusion"
        db.session.commit()

    client = fresh_app.test_client()
    doc = _parse(client.get("/guides/treatments/iv").data)
    main_text = _text(_main(doc))
    assert (
        "Across 2 listings with a price confirmed in the last 12 months, a session starts "
        "at $300–$451; median $376." in main_text
    )
    assert "Counting the top of each range, the median is $450." in main_text  # (300+600)/2
    assert "1 of the 2 listings offering it bills insurance for it (50%)" in main_text
    assert _text(doc.find(".//h1")) == "Intravenous ketamine infusion: what to expect"

    condition = _text(_main(_parse(client.get("/guides/conditions/ptsd").data)))
    assert "2 clinics and programs in this directory list “PTSD”" in condition
    assert "Intravenous ketamine infusion 2" in condition


def test_price_ranges_count_only_prices_confirmed_in_the_last_year(fresh_app):
    """$400 confirmed yesterday, $9,999 confirmed 400 days ago: only the first counts,
    until the old one is confirmed again."""
    today = datetime.now(UTC).date()
    with fresh_app.app_context():
        modality = db.session.scalar(select(Modality).where(Modality.code == "iv"))
        for slug, price, age in (("fresh-clinic", 400, 1), ("old-clinic", 9999, 400)):
            clinic = Clinic(
                slug=slug, name=slug.title(), status="published", city="Austin", state="TX"
            )
            clinic.offerings.append(
                Offering(
                    modality=modality,
                    price_min=price,
                    price_max=price,
                    price_confirmed_on=today - timedelta(days=age),
                )
            )
            db.session.add(clinic)
        db.session.commit()
    client = fresh_app.test_client()
    main_text = _text(_main(_parse(client.get("/guides/treatments/iv").data)))
    assert (
        "Across 1 listing with a price confirmed in the last 12 months, a session starts "
        "at $400; median $400." in main_text
    )
    assert "$9,999" not in main_text
    assert "1 has no price confirmed in the last 12 months" in main_text
    with fresh_app.app_context():
        old = db.session.scalar(select(Offering).where(Offering.price_min == 9999))
        old.price_confirmed_on = today
        db.session.commit()
    main_text = _text(_main(_parse(client.get("/guides/treatments/iv").data)))
    assert "starts at $400–$9,999" in main_text
