"""Where static/js/counts.js sends its counts: listing numbers, nothing about the visitor.

A count is a POST without a body or a form (navigator.sendBeacon cannot carry a
CSRF token, and there is nothing to forge: anyone may say a listing was shown),
answered 204 with no cookie. Unknown kinds are 404; malformed or too many
listing numbers are 400, in words.
"""

from __future__ import annotations

from flask import Response, abort, request
from flask.blueprints import BlueprintSetupState

from ..extensions import csrf
from ..insights import counters
from ..models.insights import COUNTED
from . import bp

# Kinds that name the one listing they happened to.
_SINGLE = frozenset(COUNTED) - {"appearance"}


@bp.record_once
def _register_limit(state: BlueprintSetupState) -> None:
    """How many listings one count may name, for the script tag (data-count-max)."""
    state.app.add_template_global(counters.MAX_PER_COUNT, "count_max")


def _bad(message: str) -> Response:
    return Response(message, status=400, mimetype="text/plain")


@bp.post("/count/<kind>")
@csrf.exempt
def count_event(kind: str) -> Response:
    """Add one to `kind` for each listing named by `c` (see static/js/counts.js)."""
    if kind not in COUNTED:
        abort(404)
    raw = request.args.getlist("c")
    if not raw or len(raw) > counters.MAX_PER_COUNT:
        return _bad(f"Name between 1 and {counters.MAX_PER_COUNT} listings.")
    if not all(v.isascii() and v.isdigit() and len(v) < 10 for v in raw):
        return _bad("Listings are named by their numbers.")
    if kind in _SINGLE and len(raw) != 1:
        return _bad("Name the one listing this happened to.")
    counters.count(kind, (int(v) for v in raw))
    return Response(status=204)
