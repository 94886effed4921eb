"""The page a mailed invitation opens: whose listing, and a button to start managing it.

Signed out, the page says to sign in or create an account and come back (the
sign-in form returns here); signed in, "Manage this listing" makes the account its
manager (`listings.invitations.accept`). A link that cannot be used says why.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from ..listings import invitations
from ..listings.errors import ModerationError
from . import bp
from .forms import ActionForm


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def invitation(token: str) -> ResponseReturnValue:
    """Show the invitation, or accept it (POST, signed in, with the form's token)."""
    found, problem = invitations.check(token)
    if problem or found is None:
        page = render_template(
            "account/invitation.html", problem=invitations.PROBLEMS[problem or "invalid"]
        )
        return page, 400
    form = ActionForm()
    if request.method == "POST" and current_user.is_authenticated:
        if not form.validate_on_submit():
            return render_template("account/invitation.html", invitation=found, form=form), 400
        try:
            clinic = invitations.accept(current_user._get_current_object(), token)
        except ModerationError as exc:
            return render_template("account/invitation.html", problem=exc.message), 409
        flash(f"You now manage {clinic.name}. Check that everything is right.", "success")
        return redirect(f"/admin/my-listings/{clinic.id}/", code=303)
    return render_template(
        "account/invitation.html",
        invitation=found,
        form=form,
        sign_in=url_for("account.sign_in", next=request.path),
    )
