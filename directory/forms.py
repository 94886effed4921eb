"""The base of every form on the site: it can say "busy, nothing was saved".

When a form's save finds the database busy (`database.DatabaseBusy`, SQLite's write
lock taken past the busy timeout), `errors.py` rolls back and runs the same view
once more with `retry_after_busy()` set. On that second run every form fails
validation with BUSY_MESSAGE as a form-level error, so the view re-renders its
own page, every typed value kept, exactly as for any other invalid form; no view
has to know about it. Templates show `form.form_errors` above the fields.

No field takes control characters either (`RefuseControlCharacters`): NUL cannot
be stored in PostgreSQL text at all (the query fails, a 500) and the others are
invisible on the page, so each field refuses them with a message beside it,
before its own validators run (some query the database with the value). Tabs
and line breaks stay allowed: text areas hold them.
"""

from __future__ import annotations

import re
from typing import Any

from flask import g, has_request_context
from flask_wtf import FlaskForm
from wtforms import Field, FieldList, FormField, HiddenField
from wtforms import Form as WTForm
from wtforms.validators import StopValidation

BUSY_MESSAGE = "The site is busy and nothing was saved. Please try again."
# C0 controls but tab, line feed and carriage return; DEL.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_MESSAGE = "Remove control characters (they do not show on the page)."


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


def has_control_characters(value: Any) -> bool:
    """True for a string holding a character CONTROL_CHARACTERS refuses."""
    return isinstance(value, str) and CONTROL_CHARACTERS.search(value) is not None


def refuse_control_characters(form: WTForm, field: Field) -> None:
    """Stop validating a field whose submitted value holds control characters.

    Reads `raw_data` (what was sent, before filters and coercion), so selects and
    number fields are covered too. Its message replaces theirs ("not a valid
    choice", "not a number"): it is the one to act on first.
    """
    if any(has_control_characters(value) for value in getattr(field, "raw_data", None) or ()):
        field.errors[:] = []
        raise StopValidation(CONTROL_MESSAGE)


class RefuseControlCharacters:
    """WTForms Meta mixin: every bound field checks for control characters first.

    Hidden fields are left to the code that reads them (the CSRF token, `next`,
    lock versions): nobody types them, and an error there would show nowhere.
    """

    def bind_field(self, form: WTForm, unbound_field: Any, options: dict[str, Any]) -> Field:
        field = super().bind_field(form, unbound_field, options)  # type: ignore[misc]
        if not isinstance(field, HiddenField | FormField | FieldList):
            field.validators = [refuse_control_characters, *field.validators]
        return field


class SubForm(WTForm):
    """A form nested in another with `FormField` (the parent carries the CSRF token)."""

    class Meta(RefuseControlCharacters):
        pass


class SiteForm(BusyAwareMixin, FlaskForm):
    """Flask-WTF's form (CSRF token included) for every page of the site."""

    class Meta(RefuseControlCharacters):
        pass
