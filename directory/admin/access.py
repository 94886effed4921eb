"""Who may open which admin view: by role, checked on the server for every request.

Each admin view mixes in one of the classes below. `is_accessible` decides both
what the menu shows and whether a request runs: a signed-in user without the
role gets 403, an anonymous visitor is sent to sign in and brought back after.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from flask import abort, redirect, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

STAFF = ("admin", "editor")
CLINIC_OR_STAFF = ("admin", "editor", "clinic")


def has_role(*roles: str) -> bool:
    """True when the current user is signed in, active and holds one of `roles`."""
    user = current_user
    return bool(
        user
        and user.is_authenticated
        and getattr(user, "is_active", False)
        and getattr(user, "role", None) in roles
    )


def sign_in_url() -> str:
    """The sign-in page, with a same-site `next` that brings the user back here."""
    target = request.full_path if request.query_string else request.path
    try:
        return url_for("account.sign_in", next=target)
    except BuildError:  # the account blueprint is not wired yet
        return "/account/sign-in?" + urlencode({"next": target})


class RoleRequired:
    """Mixin for Flask-Admin views: only users holding `allowed_roles` get in."""

    allowed_roles: tuple[str, ...] = ()
    # Pages that print their own <h1> (the base template then skips Flask-Admin's title).
    own_headings = False

    def is_accessible(self) -> bool:
        return has_role(*self.allowed_roles)

    def inaccessible_callback(self, name: str, **kwargs: Any):
        if current_user.is_authenticated:
            abort(403)
        return redirect(sign_in_url())

    def _run_view(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        # Flask-Admin (2.2.1, pinned) retries a view that raised TypeError with
        # `cls=self`, which hides the real error behind "unexpected keyword argument
        # 'cls'". Call it once. A private method: tests/test_pinned_internals.py.
        return fn(self, *args, **kwargs)


class StaffOnly(RoleRequired):
    """Editors and admins."""

    allowed_roles = STAFF


class AdminOnly(RoleRequired):
    """Admins only."""

    allowed_roles = ("admin",)


class ClinicOrStaff(RoleRequired):
    """Any signed-in account with a role: clinic staff, editors, admins."""

    allowed_roles = CLINIC_OR_STAFF


class ClinicMenu(ClinicOrStaff):
    """The clinic area: open to staff too, but only listed in the clinic users' menu."""

    own_headings = True

    def is_visible(self) -> bool:
        return has_role("clinic")
