"""The base of every form on the site: it can say "busy, nothing was saved".

When a form's save finds the database busy (`database.DatabaseBusy`, SQLite's write
lock taken past the busy timeout), `errors.py` rolls back and runs the same view
once more with `retry_after_busy()` set. On that second run every form fails
validation with BUSY_MESSAGE as a form-level error, so the view re-renders its
own page, every typed value kept, exactly as for any other invalid form; no view
has to know about it. Templates show `form.form_errors` above the fields.
"""

from __future__ import annotations

from typing import Any

from flask import g, has_request_context
from flask_wtf import FlaskForm

BUSY_MESSAGE = "The site is busy and nothing was saved. Please try again."


def retry_after_busy() -> None:
    """Mark this request's second run: forms now fail with BUSY_MESSAGE."""
    g.retrying_after_busy = True


def retrying() -> bool:
    """True on a request's second run, after the first found the database busy."""
    return g.get("retrying_after_busy", False)


def form_was_validated() -> bool:
    """True when a form of this request passed or failed validation (its view reads forms)."""
    return g.get("form_validated", False)


def busy_message_shown() -> bool:
    """True when a form of this request's second run took BUSY_MESSAGE."""
    return g.get("busy_message_shown", False)


class BusyAwareMixin:
    """Validation that fails with BUSY_MESSAGE on a request's run after a busy database."""

    form_errors: list[str]

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)  # type: ignore[misc]
        if not has_request_context():
            return valid
        g.form_validated = True
        if retrying():
            if BUSY_MESSAGE not in self.form_errors:
                self.form_errors.append(BUSY_MESSAGE)
            g.busy_message_shown = True
            return False
        return valid


class SiteForm(BusyAwareMixin, FlaskForm):
    """Flask-WTF's form (CSRF token included) for every page of the site."""
