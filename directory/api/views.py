"""JSON endpoints. Errors answer 400/404 with {"error": {"field", "message"}}."""

from __future__ import annotations

from flask import Response, abort, jsonify, request

from ..listings.catalog import published_clinic
from ..listings.finder import find
from ..page_cache import cached_for_anonymous
from ..search import QueryError
from . import bp
from .serialize import clinic_detail, clinic_summary


def error_response(status: int, message: str, field: str | None = None, **extra) -> Response:
    response = jsonify({"error": {"field": field, "message": message, **extra}})
    response.status_code = status
    return response


@bp.get("/search")
@cached_for_anonymous
def search() -> Response:
    """The search contract as JSON."""
    try:
        found = find(request.args)
    except QueryError as exc:
        return error_response(400, exc.message, exc.field, suggestions=exc.suggestions)
    query = found.query
    location = query.location
    return jsonify(
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
            "results": [clinic_summary(r.clinic, r.distance_miles) for r in found.results],
            "telehealth": [clinic_summary(r.clinic) for r in found.telehealth],
            # Nothing within the radius: the nearest clinics that match, at any distance.
            "nearest": [clinic_summary(r.clinic, r.distance_miles) for r in found.nearest],
            "facets": found.page.facets,
            "demo_data": any(
                r.clinic.is_demo for r in found.results + found.telehealth + found.nearest
            ),
        }
    )


@bp.get("/clinics/<slug:slug>")
def clinic(slug: str) -> Response:
    """One published listing."""
    record = published_clinic(slug)
    if record is None:
        abort(404)
    return jsonify(clinic_detail(record))
