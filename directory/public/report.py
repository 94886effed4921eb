"""'Suggest an edit / report a problem': no account, CSRF, a honeypot and a rate limit.

The form lives on its own page so that reading a clinic page sets no cookie; the
CSRF session starts only when someone opens the form.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, render_template, request
from flask_wtf import FlaskForm
from wtforms import EmailField, StringField, TextAreaField
from wtforms.validators import Email, Length, Optional, ValidationError

from ..forms import SiteForm
from ..listings import catalog
from ..listings.submissions import report_problem
from . import bp

REPORTS_PER_HOUR = 5
_TAG = ("<", ">")


def _strip(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def _plain_text(form: FlaskForm, field) -> None:
    if field.data and any(mark in field.data for mark in _TAG):
        raise ValidationError("Please remove < and > characters: plain text only.")


class ReportForm(SiteForm):
    """What is wrong, and optionally how to reach the reporter."""

    message = TextAreaField(
        "What should change?",
        filters=[_strip],
        validators=[
            Length(min=10, max=2000, message="Write 10 to 2,000 characters."),
            _plain_text,
        ],
    )
    contact = EmailField(
        "Your email (optional, only if you want a reply)",
        filters=[_strip],
        validators=[
            Optional(),
            Length(max=254, message="Use an email address of at most 254 characters."),
            Email(check_deliverability=False, message="Enter an email like name@example.com."),
        ],
    )
    # Honeypot: hidden from people (CSS and aria-hidden); bots fill it in.
    homepage = StringField("Leave this field empty", validators=[Optional()])


@bp.route("/clinics/<slug:slug>/report", methods=["GET", "POST"])
def report(slug: str):
    """A patient's correction or problem report, queued for an editor."""
    from ..throttle import take, too_many

    clinic = catalog.published_clinic(slug)
    if clinic is None:
        abort(404)
    form = ReportForm()
    if request.method == "POST":
        address_key = f"report:{request.remote_addr}"
        if too_many(address_key, REPORTS_PER_HOUR, timedelta(hours=1)):
            return render_template("report.html", clinic=clinic, form=form, limited=True), 429
        if form.validate_on_submit():
            if not take(address_key, REPORTS_PER_HOUR, timedelta(hours=1)):  # a parallel burst
                return render_template("report.html", clinic=clinic, form=form, limited=True), 429
            if not form.homepage.data:
                report_problem(clinic, form.message.data, form.contact.data or "")
            return render_template("report_sent.html", clinic=clinic)
        return render_template("report.html", clinic=clinic, form=form, limited=False), 400
    return render_template("report.html", clinic=clinic, form=form, limited=False)
