"""The editors' credential checks: what is due, and one listing's credentials to check.

`listings.credentials` decides and writes; this module parses the forms and says
what happened. Each credential on a listing's page has its own form (field names
prefixed by its position, so ids stay unique); the form carries the credential's
kind and stated value, which the service checks against what the listing states
now, so a tampered or outdated form gets a message, not a wrong row.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import flash, redirect
from flask_admin import BaseView, expose
from flask_login import current_user
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import Optional

from ..extensions import db
from ..forms import SiteForm
from ..listings.credentials import (
    MAX_REFERENCE,
    USUAL_SOURCE,
    InvalidCheck,
    credential_statuses,
    due_checks,
    record_check,
)
from ..models import Clinic
from ..models.credentials import OUTCOMES, SOURCES
from .access import StaffOnly
from .forms import choices


class CheckForm(SiteForm):
    """One editor's check of one stated credential."""

    kind = HiddenField()
    subject = HiddenField()
    outcome = SelectField("What the source said", choices=choices(OUTCOMES.items()))
    source = SelectField("Where you checked", choices=choices(SOURCES.items()))
    reference = StringField(
        "The record's web address or reference", render_kw={"maxlength": MAX_REFERENCE}
    )
    checked_on = DateField("Checked on", validators=[Optional()])


def _form(position: int, kind: str, subject: str, formdata=None) -> CheckForm:
    defaults = {
        "kind": kind,
        "subject": subject,
        "source": USUAL_SOURCE.get(kind, "other"),
        "outcome": "confirmed",
        "checked_on": datetime.now(UTC).date(),
    }
    return CheckForm(formdata=formdata, prefix=f"c{position}", data=defaults)


class CheckView(StaffOnly, BaseView):
    """Credential checks that ran out, and the page where an editor records one."""

    own_headings = True

    @expose("/")
    def index(self):
        """Every check of a published listing's stated credential that is due again."""
        return self.render("admin/directory/checks.html", due=due_checks())

    @expose("/<int:clinic_id>/")
    def listing(self, clinic_id: int):
        """Each credential the listing states, its last check and a form to record one."""
        return self._page(db.get_or_404(Clinic, clinic_id))

    @expose("/<int:clinic_id>/record/<int:position>", methods=("POST",))
    def record(self, clinic_id: int, position: int):
        """Record one check; errors come back beside their fields with the values kept."""
        clinic = db.get_or_404(Clinic, clinic_id)
        form = CheckForm(prefix=f"c{position}")
        if not form.validate_on_submit():
            if form.csrf_token.errors:
                return self._page(
                    clinic, {}, 400, "The form expired: reload the page and try again."
                )
            form.checked_on.errors = ["Enter the day you checked, like 2026-11-30."]
            return self._page(clinic, {position: form}, 400)
        try:
            record_check(
                current_user._get_current_object(),
                clinic,
                form.kind.data or "",
                form.subject.data or "",
                form.outcome.data or "",
                form.source.data or "",
                form.reference.data or "",
                form.checked_on.data,
            )
        except InvalidCheck as exc:
            db.session.rollback()
            for name, message in exc.errors.items():
                field = (
                    form[name] if name in ("outcome", "source", "checked_on") else form.reference
                )
                field.errors = [*field.errors, message]
            return self._page(clinic, {position: form}, 400)
        flash("Check recorded: patients see it on the listing now.", "success")
        return redirect(self.get_url(".listing", clinic_id=clinic.id), code=303)

    def _page(self, clinic: Clinic, forms: dict | None = None, status: int = 200, note: str = ""):
        statuses = credential_statuses(clinic)
        forms = forms or {}
        rows = [
            (item, forms.get(n) or _form(n, item.credential.kind, item.credential.subject), n)
            for n, item in enumerate(statuses)
        ]
        if note:
            flash(note, "warning")
        return self.render("admin/directory/check_listing.html", clinic=clinic, rows=rows), status
