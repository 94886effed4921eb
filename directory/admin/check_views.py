"""The editors' checks: what is due, one listing's credentials to check, and the
sections an editor confirmed by calling the clinic or reading its website.

`listings.credentials` and `listings.confirmations` decide and write; this module
parses the forms and says what happened. Each credential on a listing's page has
its own form (field names prefixed by its position, so ids stay unique); the form
carries the credential's kind and stated value, which the service checks against
what the listing states now, so a tampered or outdated form gets a message, not a
wrong row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from flask import flash, redirect
from flask_admin import BaseView, expose
from flask_login import current_user
from wtforms import DateField, HiddenField, SelectField, StringField
from wtforms.validators import Length, Optional

from ..extensions import db
from ..forms import SiteForm
from ..listings.confirmations import SECTIONS, record_confirmation, section_dates
from ..listings.credentials import (
    MAX_REFERENCE,
    USUAL_SOURCE,
    InvalidCheck,
    credential_statuses,
    due_checks,
    record_check,
)
from ..listings.errors import ModerationError
from ..models import Clinic
from ..models.clinic import PRICE_CONFIRMATIONS
from ..models.credentials import OUTCOMES, SOURCES
from .access import StaffOnly
from .forms import MultiCheckboxField, choices

# How an editor confirms: the clinic's own confirmations come from its "still accurate".
EDITOR_CONFIRMATIONS = {k: v for k, v in PRICE_CONFIRMATIONS.items() if k != "clinic"}
# A confirmation older than this is not news: every date it could set is newer already
# or would read as stale at once.
OLDEST_CONFIRMATION_DAYS = 180
MAX_CONFIRMATION_NOTE = 500


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


class ConfirmForm(SiteForm):
    """An editor's call to the clinic, or a read of its website, covering some sections."""

    sections = MultiCheckboxField(
        "What you confirmed is still right", choices=choices(SECTIONS.items())
    )
    how = SelectField("How", choices=choices(EDITOR_CONFIRMATIONS.items()))
    confirmed_on = DateField("Confirmed on", validators=[Optional()])
    note = StringField(
        "Who you spoke to, or the page you read (optional)",
        validators=[Length(max=MAX_CONFIRMATION_NOTE)],
        render_kw={"maxlength": MAX_CONFIRMATION_NOTE},
    )


def confirm_problems(form: ConfirmForm, today: date) -> dict[str, str]:
    """What is wrong with a confirmation form, by field (empty: nothing)."""
    problems = {}
    if not form.sections.data:
        problems["sections"] = "Tick at least one part of the listing you confirmed."
    day = form.confirmed_on.data
    if day is None:
        problems["confirmed_on"] = "Enter the day you confirmed it, like 2026-11-30."
    elif day > today:
        problems["confirmed_on"] = "The day cannot be in the future."
    elif day < today - timedelta(days=OLDEST_CONFIRMATION_DAYS):
        problems["confirmed_on"] = (
            f"That is more than {OLDEST_CONFIRMATION_DAYS} days ago: call again before "
            "confirming it."
        )
    if form.note.errors:
        problems["note"] = f"Keep the note under {MAX_CONFIRMATION_NOTE} characters."
    return problems


def _confirm_form(formdata=None) -> ConfirmForm:
    defaults = {"how": "editor_call", "confirmed_on": datetime.now(UTC).date()}
    return ConfirmForm(formdata=formdata, prefix="confirm", data=defaults)


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

    @expose("/<int:clinic_id>/confirm", methods=("POST",))
    def confirm(self, clinic_id: int):
        """Record sections an editor confirmed; errors beside their fields, values kept."""
        clinic = db.get_or_404(Clinic, clinic_id)
        form = ConfirmForm(prefix="confirm")
        valid = form.validate_on_submit()
        if form.csrf_token.errors:
            return self._page(clinic, status=400, note="The form expired: reload the page.")
        problems = confirm_problems(form, datetime.now(UTC).date())
        if not valid or problems:
            for field in (form.sections, form.how):
                if field.errors:  # a tampered choice: WTForms' words are about values
                    field.errors = ["Choose from the list."]
            for name, message in problems.items():
                form[name].errors = [message]
            return self._page(clinic, confirm_form=form, status=400)
        how = form.how.data or "editor_call"
        try:
            record_confirmation(
                current_user._get_current_object(),
                clinic,
                form.sections.data or [],
                form.confirmed_on.data,
                how,
                "sections_confirmed",
                {"how": how, "note": (form.note.data or "").strip()},
            )
        except ModerationError as exc:
            db.session.rollback()
            return self._page(clinic, confirm_form=form, status=409, note=exc.message)
        named = ", ".join(SECTIONS[s].lower() for s in form.sections.data or [])
        flash(f"Confirmed {named}: patients see the new dates now.", "success")
        return redirect(self.get_url(".listing", clinic_id=clinic.id), code=303)

    def _page(
        self,
        clinic: Clinic,
        forms: dict | None = None,
        status: int = 200,
        note: str = "",
        confirm_form: ConfirmForm | None = None,
    ):
        statuses = credential_statuses(clinic)
        forms = forms or {}
        rows = [
            (item, forms.get(n) or _form(n, item.credential.kind, item.credential.subject), n)
            for n, item in enumerate(statuses)
        ]
        if note:
            flash(note, "warning")
        page = self.render(
            "admin/directory/check_listing.html",
            clinic=clinic,
            rows=rows,
            confirm_form=confirm_form or _confirm_form(),
            dates=section_dates(clinic),
            sections=SECTIONS,
        )
        return page, status
