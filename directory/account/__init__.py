"""Accounts: sign up, sign in/out, email verification, password reset, staff CLI."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from flask import Blueprint, current_app
from flask.blueprints import BlueprintSetupState
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from ..models import User

bp = Blueprint("account", __name__)


def load_user(session_id: str) -> User | None:
    """Flask-Login's loader: "id:session_token" → the active user it names, else None.

    The token is part of the id, so rotating it (a password reset) ends every other
    session. A database error counts as "signed out" (and is logged) rather than
    raising, so error pages, which show the header, still render.
    """
    from ..extensions import db
    from ..models import User

    user_id, sep, token = session_id.partition(":")
    if not sep or not (user_id.isascii() and user_id.isdigit()):
        return None
    try:
        user = db.session.get(User, int(user_id))
    except SQLAlchemyError:
        current_app.logger.exception("Could not load the signed-in user")
        db.session.rollback()
        return None
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(user.session_token.encode(), token.encode()):
        return None
    return user


@bp.record_once
def _wire_login(state: BlueprintSetupState) -> None:
    """Flask-Login needs a user loader before any template renders; add the CLI too."""
    from ..extensions import login_manager
    from .cli import users_cli

    login_manager.user_loader(load_user)
    login_manager.login_view = "account.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    # Drop the session when the client's address or browser changes (a stolen cookie).
    login_manager.session_protection = "strong"
    state.app.cli.add_command(users_cli)


from . import invitation_views, views  # noqa: E402,F401  (routes register themselves on `bp`)
