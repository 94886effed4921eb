"""Public pages: home, search results, clinic pages and browsing by place."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("public", __name__)


@bp.record_once
def _register_template_helpers(state: BlueprintSetupState) -> None:
    """Filters and globals the templates use, installed with the blueprint."""
    from .template_helpers import register

    register(state.app)


from . import counts, views  # noqa: E402,F401  (routes register themselves on bp)
