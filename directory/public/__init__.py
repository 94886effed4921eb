"""Public pages: home, search results, clinic pages and browsing by place."""

from flask import Blueprint

bp = Blueprint("public", __name__)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
