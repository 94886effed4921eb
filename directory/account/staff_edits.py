"""Staff changes to accounts: a role set from the server's shell, the admin's user form.

Both change someone else's account, so the rules of who may change what sit here,
apart from what anyone may ask for themselves (sign-up, sign-in, reset: `services`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..listings.audit import changed_values, record_event
from ..models import User
from ..models.accounts import ROLES, STAFF_ROLES
from .services import EMAIL_MAX, AccountError, EmailTaken, find_user, normalize_email


def set_role(email: str, role: str) -> User:
    """Change a role (CLI). Staff accounts are created by people we trust: verified."""
    if role not in ROLES:
        raise AccountError(f"Role must be one of: {', '.join(ROLES)}.")
    user = find_user(email)
    if user is None:
        raise AccountError(f"No account uses {normalize_email(email)}.")
    user.role = role
    if role in STAFF_ROLES and user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    db.session.commit()
    return user


# What staff change on an account (the admin's user form); editors only the first three.
ACCOUNT_FIELDS = ("name", "active", "trusted", "email", "role")


def update_account(actor: User, user: User, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """An editor's or admin's change to an account: checked, audited, committed.

    Editors manage clinic accounts (name, active, trusted); only an admin changes
    roles, emails or staff accounts, and an admin cannot remove their own admin
    access or deactivate themselves (someone must be left to manage the others).
    Trust is audited as `trust_changed`, everything else as `user_changed`, with
    before and after, in the one transaction of the change. Returns what changed,
    {name: (before, after)}; raises `AccountError` (`EmailTaken`) with nothing written.
    """
    unknown = set(values) - set(ACCOUNT_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    values = dict(values)
    if "email" in values:
        values["email"] = normalize_email(values["email"] or "")
    changes = changed_values(user, values)
    actor_is_admin = actor.active and actor.role == "admin"  # read before anything changes
    if not actor_is_admin and (
        actor.role not in STAFF_ROLES
        or user.role != "clinic"
        or "role" in changes
        or "email" in changes
    ):
        raise AccountError("Only an admin can change roles, emails or staff accounts.")
    role, active = values.get("role", user.role), values.get("active", user.active)
    if role not in ROLES:
        raise AccountError("Choose clinic, editor or admin.")
    if user.id == actor.id and actor_is_admin and (role != "admin" or not active):
        raise AccountError("You cannot remove your own admin access or deactivate yourself.")
    if "email" in changes:
        _check_new_email(user, values["email"])
    if not changes:
        return {}
    others = {name: change for name, change in changes.items() if name != "trusted"}
    try:
        for name, (_, after) in changes.items():
            setattr(user, name, after)
        db.session.flush()  # the unique email: where a save racing this one fails
        if others:
            record_event(
                actor,
                "user_changed",
                target=user.email,
                before={name: before for name, (before, _) in others.items()},
                after={name: after for name, (_, after) in others.items()},
            )
        if "trusted" in changes:
            before, after = changes["trusted"]
            record_event(
                actor,
                "trust_changed",
                target=user.email,
                before={"trusted": before},
                after={"trusted": after},
            )
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise EmailTaken("Another account already uses that email.") from exc
    return changes


def _check_new_email(user: User, email: str) -> None:
    if not email or len(email) > EMAIL_MAX:
        raise AccountError(f"Enter an email address of at most {EMAIL_MAX} characters.")
    taken = db.session.scalar(select(User.id).where(User.email == email, User.id != user.id))
    if taken:
        raise EmailTaken("Another account already uses that email.")
