"""JSON API, version 1: the search contract and clinic records, and their description."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from . import docs_view, views  # noqa: E402,F401  (routes register themselves on bp)

bp.record_once(docs_view.register)  # the page for people, at /developers
