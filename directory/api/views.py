"""JSON endpoints. Errors answer 400/404 with {"error": {"field", "message"}}.

The document at /openapi.json describes every answer (`openapi.py`). Clinic records
carry ETag and Last-Modified so clients can ask again cheaply; search pages carry
links to their neighbours, in the body and in a Link header.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from urllib.parse import urlencode

from flask import Response, abort, jsonify, request, url_for

from ..listings.catalog import published_clinic
from ..listings.finder import Found, find
from ..models import Clinic
from ..models.clinic import as_utc
from ..page_cache import cached_for_anonymous
from ..search import QueryError
from ..search.query import MAX_PAGE, parse_telehealth_shown
from . import bp
from .openapi import SEARCH_PARAMETERS, document
from .serialize import card_summary, clinic_detail

# The registered relations (RFC 8288) of the Link header: the pages of the search.
PAGE_RELS = ("next", "prev", "first", "last")
# Headers that describe a body, which a 304 (that has none) must not send.
_BODY_HEADERS = ("Content-Length", "Content-Type")


def error_response(status: int, message: str, field: str | None = None, **extra) -> Response:
    response = jsonify({"error": {"field": field, "message": message, **extra}})
    response.status_code = status
    return response


@bp.get("/search")
@cached_for_anonymous
def search() -> Response:
    """The search contract as JSON."""
    try:
        found = find(request.args, telehealth_limit=parse_telehealth_shown(request.args))
    except QueryError as exc:
        return error_response(400, exc.message, exc.field, suggestions=exc.suggestions)
    query = found.query
    location = query.location
    links = page_links(found)
    response = jsonify(
        {
            # What was searched, after corrections and filters read from the words
            # (`understood`: what changed, and the words as typed; null when nothing).
            "query": {
                **query.normalized(),
                "understood": found.understood.as_json() if found.understood else None,
            },
            "location": (
                {
                    "label": location.label,
                    "lat": location.lat,
                    "lng": location.lng,
                    "state": location.state,
                    # "zip", "city", "point", or "state" for a whole state (no radius)
                    "kind": location.kind,
                }
                if location
                else None
            ),
            "total": found.page.total,
            "page": query.page,
            "per_page": query.per_page,
            "results": [card_summary(r.card, r.distance_miles) for r in found.results],
            # The first few programs serving the state; `links.telehealth` lists them all.
            "telehealth": [card_summary(r.card) for r in found.telehealth],
            "telehealth_total": found.telehealth_total,
            # Nothing within the radius: the nearest clinics that match, at any distance.
            "nearest": [card_summary(r.card, r.distance_miles) for r in found.nearest],
            "facets": found.page.facets,
            "demo_data": any(
                r.card.is_demo for r in found.results + found.telehealth + found.nearest
            ),
            "links": links,
        }
    )
    response.headers["Link"] = ", ".join(
        f'<{url}>; rel="{rel}"' for rel, url in links.items() if url and rel in PAGE_RELS
    )
    return response


def page_links(found: Found) -> dict[str, str | None]:
    """Absolute URLs of this search's pages: the request's own parameters of the
    contract with only `page` changed, so every page answers the same question (the
    same words corrected the same way) and nothing else the client sent is echoed."""
    query = found.query
    last = min(found.page.pages, MAX_PAGE)
    base = url_for("api.search", _external=True)
    kept = [
        (name, value)
        for name, value in request.args.items(multi=True)
        if name in SEARCH_PARAMETERS and name != "page"
    ]

    def page(number: int) -> str:
        return f"{base}?{urlencode([*kept, ('page', number)])}"

    every_program = None
    if found.telehealth_total > len(found.telehealth):
        listed = [(name, value) for name, value in kept if name != "telehealth"]
        every = [*listed, ("telehealth", found.telehealth_total), ("page", query.page)]
        every_program = f"{base}?{urlencode(every)}"

    return {
        "self": page(query.page),
        "next": page(query.page + 1) if query.page < last else None,
        # Past the end, "prev" goes to the last page that has results.
        "prev": page(min(query.page - 1, last)) if query.page > 1 else None,
        "first": page(1),
        "last": page(last),
        "telehealth": every_program,
    }


@bp.get("/clinics/<slug:slug>")
def clinic(slug: str) -> Response:
    """One published listing, answered 304 when the client's copy is still current."""
    record = published_clinic(slug)
    if record is None:
        abort(404)
    response = jsonify(clinic_detail(record))
    response.last_modified = last_modified(record)
    return conditional(response)


def last_modified(clinic: Clinic) -> datetime:
    """When the record last changed, as far as the rows tell: the listing's own
    `updated_at`, a credential check recorded since (it does not touch the clinic
    row), and the start of today, because price_stale, verified and each check's
    status are worked out for today and may change overnight with no row changing."""
    today = datetime.combine(datetime.now(UTC).date(), time(), tzinfo=UTC)
    moments = [clinic.updated_at, *(check.recorded_at for check in clinic.credential_checks)]
    return max([today, *(as_utc(moment) for moment in moments if moment is not None)])


def conditional(response: Response) -> Response:
    """Tag the body with a strong ETag (its hash) and answer If-None-Match /
    If-Modified-Since: a 304 without body when the client's copy is current."""
    response.add_etag()
    response.cache_control.no_cache = True
    response.make_conditional(request)
    if response.status_code == 304:
        response.set_data(b"")
        for name in _BODY_HEADERS:
            response.headers.pop(name, None)
    elif response.status_code == 412:  # If-Match naming another version
        answer = error_response(412, "This record has changed since the copy you have.")
        answer.headers["ETag"] = response.headers["ETag"]
        return answer
    return response


@bp.get("/openapi.json")
def openapi() -> Response:
    """This API described as OpenAPI 3.1: what the docs page and the tests read."""
    return conditional(jsonify(document()))
