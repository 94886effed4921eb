"""Accounts: sign up, sign in/out, email verification, password reset, staff CLI."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("account", __name__)


@bp.record_once
def _wire_login(state: BlueprintSetupState) -> None:
    """Flask-Login needs a user loader before any template renders."""
    from ..extensions import login_manager

    @login_manager.user_loader
    def load_user(user_id: str):
        return None
