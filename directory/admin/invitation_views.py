"""Editors' invitations to claim: every published listing nobody manages, with its
invitation's state, and a form to invite the ticked ones (or all not yet invited)."""

from __future__ import annotations

from collections import Counter

from flask import flash, redirect, request
from flask_admin import BaseView, expose
from flask_login import current_user

from ..forms import SiteForm
from ..listings import invitations
from .access import StaffOnly


class InviteForm(SiteForm):
    """The ticked listings come as repeated `clinic` values; the token is the form's."""


class InvitationView(StaffOnly, BaseView):
    own_headings = True

    @expose("/")
    def index(self):
        rows = invitations.listing_rows()
        counts = Counter(row.status for row in rows)
        return self.render(
            "admin/directory/invitations.html",
            rows=rows,
            counts={status: counts.get(status, 0) for status in invitations.STATUS_LABELS},
            labels=invitations.STATUS_LABELS,
            form=InviteForm(),
            days=invitations.INVITATION_DAYS,
        )

    @expose("/send", methods=("POST",))
    def send(self):
        """Invite the ticked listings, or every listing not invited yet ("all")."""
        if not InviteForm().validate_on_submit():
            flash("The form expired: reload the page and try again.", "warning")
            return redirect(self.get_url(".index"), code=303)
        if request.form.get("all") == "1":
            wanted = [
                row.clinic.id
                for row in invitations.listing_rows()
                if row.status in ("not_invited", "expired")
            ]
        else:
            raw = request.form.getlist("clinic")
            wanted = [int(v) for v in raw if v.isascii() and v.isdigit() and len(v) < 10]
        if not wanted:
            flash("Tick the listings to invite first.", "warning")
            return redirect(self.get_url(".index"), code=303)
        sent, skipped = invitations.invite(current_user._get_current_object(), wanted)
        message = f"Sent {sent} invitation{'s' if sent != 1 else ''}."
        if skipped:
            message += (
                f" {skipped} not sent: no email address, already managed, or an invitation "
                "is still open."
            )
        flash(message, "success" if sent else "warning")
        return redirect(self.get_url(".index"), code=303)
