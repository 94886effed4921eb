"""Thin views: parse input, call a listings service, render a template."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode

from flask import abort, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from ..geo import US_STATES
from ..listings import catalog
from ..listings.cards import Card, card_of
from ..listings.confirmations import section_dates
from ..listings.credentials import credential_statuses
from ..listings.finder import find
from ..listings.vocabulary import vocabulary_names
from ..models import Clinic
from ..models.clinic import PRICE_CONFIRMATIONS, STALE_AFTER_DAYS
from ..models.credentials import SOURCES
from ..page_cache import cached_for_anonymous
from ..search import QueryError
from ..search.query import FILTERS, TELEHEALTH_SHOWN
from ..slugs import slugify
from . import bp, search_summary
from .map_data import map_data
from .structured_data import clinic_json_ld

# Each trust label links to where the How we verify page explains it.
STATUS_ANCHORS = {
    "stated": "stated",
    "checked": "checked",
    "due": "out-of-date",
    "not_confirmed": "not-confirmed",
}


@bp.get("/")
def home():
    """A what/where search box, modality shortcuts and the states we list."""
    return render_template(
        "home.html",
        vocabularies=vocabulary_names(),
        states=catalog.states_with_counts(),
    )


@bp.get("/search")
@cached_for_anonymous
def search():
    """Results with filters, counts and a telehealth section; errors keep the form values."""
    try:
        # A phone shows a few telehealth programs, and links to the rest.
        found = find(request.args, telehealth_limit=TELEHEALTH_SHOWN)
    except QueryError as error:
        return (
            render_template(
                "search.html",
                found=None,
                error=error,
                args=request.args,
                vocabularies=vocabulary_names(),
            ),
            400,
        )
    place = found.query.location
    understood = found.understood
    return render_template(
        "search.html",
        found=found,
        error=None,
        # The form shows what was searched: corrected words, and words read as
        # filters ticked in the panel instead of left in the box.
        args=MultiDict(found.query.to_args()) if understood else request.args,
        read_as=search_summary.read_as(understood.derived, found.vocabularies)
        if understood
        else "",
        offers=search_summary.offers(
            understood.offered, understood.with_offered, found.vocabularies
        )
        if understood
        else [],
        heading=search_summary.heading(found.page.total, found.query, found.vocabularies),
        chips=search_summary.chips(found.query, found.vocabularies),
        clear_all=search_summary.without_filters(found.query),
        back=urlencode(found.query.to_args(), doseq=True),
        canonical_url=canonical_search_url(request.args),
        vocabularies=found.vocabularies,
        map=map_data(
            [(r.card, r.distance_miles) for r in found.results or found.nearest],
            center=(place.lat, place.lng, search_summary.place_name(place)) if place else None,
        ),
    )


# What a search is about; paging, page size and order are views of the same results.
CANONICAL_SEARCH_PARAMS = (
    "q",
    "where",
    "radius",
    *FILTERS,
    "max_price",
    "accepting",
    "checked",
    "exact",
)


def canonical_search_url(args: MultiDict[str, str]) -> str:
    """The results page's canonical URL: its search, without paging or ordering, so
    search engines see one page per search however it was reached."""
    kept = [(k, v) for k in CANONICAL_SEARCH_PARAMS for v in args.getlist(k) if v.strip()]
    query = urlencode(kept)
    return url_for("public.search", _external=True) + (f"?{query}" if query else "")


# What a results page is: its search, plus the page and order the patient was on.
RESULTS_PARAMS = (*CANONICAL_SEARCH_PARAMS, "sort", "page", "per_page")
MAX_BACK_LENGTH = 2000


def results_url(back: str) -> str | None:
    """The results page a clinic page was opened from (`?from=` holds its query
    string), rebuilt from known search parameters only; None for anything else."""
    if not back or len(back) > MAX_BACK_LENGTH:
        return None
    kept = [(k, v) for k, v in parse_qsl(back) if k in RESULTS_PARAMS and v.strip()]
    return url_for("public.search") + "?" + urlencode(kept) if kept else None


@bp.get("/clinics/<slug:slug>")
def clinic(slug: str):
    """Everything about one listing, with schema.org data for search engines; opened
    from results (`?from=`), its back link returns to exactly those results."""
    record = catalog.published_clinic(slug)
    if record is None:
        abort(404)
    return render_template(
        "clinic.html",
        clinic=record,
        credentials=credential_statuses(record),
        status_anchors=STATUS_ANCHORS,
        confirmed=section_dates(record),
        price_how=PRICE_CONFIRMATIONS,
        today=datetime.now(UTC).date(),
        json_ld=clinic_json_ld(record),
        map=map_data([(record, None)]),
        back=results_url(request.args.get("from", "")),
        canonical_url=url_for("public.clinic", slug=record.slug, _external=True),
    )


@bp.get("/how-we-verify")
def how_we_verify():
    """What each trust label means, what the directory checks and what it does not."""
    return render_template(
        "how_we_verify.html",
        check_days=current_app.config["CREDENTIAL_CHECK_DAYS"],
        stale_days=STALE_AFTER_DAYS,
        sources=SOURCES,
    )


@bp.get("/browse")
def browse_states():
    """Every state with listed clinics."""
    return render_template(
        "browse_states.html", states=catalog.states_with_counts(), state_names=US_STATES
    )


@bp.get("/browse/<state>")
def browse_state(state: str):
    """Cities of a state with listed clinics, and the telehealth programs serving it."""
    code = state.upper()
    if code not in US_STATES:
        abort(404)
    return render_template(
        "browse_state.html",
        state=code,
        state_name=US_STATES[code],
        cities=[(city, slugify(city), n) for city, n in catalog.cities_with_counts(code)],
        telehealth=cards(catalog.telehealth_serving(code)),
    )


@bp.get("/browse/<state>/<slug:city>")
def browse_city(state: str, city: str):
    """The clinics of one city."""
    code = state.upper()
    if code not in US_STATES:
        abort(404)
    names = {slugify(name): name for name, _ in catalog.cities_with_counts(code)}
    if city not in names:
        abort(404)
    name = names[city]
    return render_template(
        "browse_city.html",
        state=code,
        state_name=US_STATES[code],
        city=name,
        clinics=cards(catalog.clinics_in_city(code, name)),
        search_url=url_for("public.search", where=f"{name}, {code}"),
    )


def cards(clinics: list[Clinic]) -> list[Card]:
    """Listings read from the database as the cards that results show."""
    vocabularies = vocabulary_names()
    return [card_of(clinic, vocabularies) for clinic in clinics]


@bp.get("/about")
def about():
    """What the directory is, where listings come from, and that demo data is fictional."""
    return render_template("about.html")


from . import compare, report  # noqa: E402,F401  (the comparison and the report form register routes)
