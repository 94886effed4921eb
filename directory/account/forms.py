"""Account forms. Every rule a person can break has a message written for them.

Length limits are checked on the server only, never rendered as `maxlength`:
browsers silently cut pasted text at `maxlength`, and a password cut short
without notice is a password its owner does not know. Too-long input is rejected
with a message instead.

Each field stops at its first problem (`StopValidation`), so one clear message
stands next to it rather than a pile.
"""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, Field, Form, HiddenField, PasswordField
from wtforms.validators import Email, InputRequired, StopValidation

from ..forms import SiteForm
from .services import EMAIL_MAX, PASSWORD_MAX, normalize_email, password_problem

EMAIL_EXAMPLE = "Enter an email address like name@example.com."


def _clean_email(value: Any) -> Any:
    return normalize_email(value) if isinstance(value, str) else value


def _max_chars(limit: int, message: str):
    def check(form: Form, field: Field) -> None:
        if field.data and len(field.data) > limit:
            raise StopValidation(message)

    return check


def _looks_like_email(form: Form, field: Field) -> None:
    """Loose on purpose for sign-in and reset: any stored account must be reachable,
    including addresses the stricter sign-up check would now refuse."""
    local, at, domain = (field.data or "").partition("@")
    if not (local and at and domain) or any(c.isspace() or not c.isprintable() for c in field.data):
        raise StopValidation(EMAIL_EXAMPLE)


def _email_field(label: str, *, strict: bool) -> EmailField:
    check = (
        Email(message=EMAIL_EXAMPLE, check_deliverability=False) if strict else _looks_like_email
    )
    return EmailField(
        label,
        filters=[_clean_email],
        validators=[
            InputRequired("Enter your email address."),
            _max_chars(EMAIL_MAX, f"Use an email address of at most {EMAIL_MAX} characters."),
            check,
        ],
    )


class _NewPasswordMixin:
    """Password + confirmation, checked against the account's email."""

    password: PasswordField
    confirm: PasswordField

    def account_email(self) -> str:
        raise NotImplementedError

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data or "", self.account_email())
        if problem:
            raise StopValidation(problem)

    def validate_confirm(self, field: PasswordField) -> None:
        if not self.password.errors and field.data != self.password.data:
            raise StopValidation("The two passwords do not match. Type the same password twice.")


class SignUpForm(_NewPasswordMixin, SiteForm):
    email = _email_field("Email address", strict=True)
    password = PasswordField("Password", validators=[InputRequired("Choose a password.")])
    confirm = PasswordField(
        "Type the password again", validators=[InputRequired("Type the password again.")]
    )

    def account_email(self) -> str:
        return self.email.data or ""


class SignInForm(SiteForm):
    email = _email_field("Email address", strict=False)
    password = PasswordField(
        "Password",
        validators=[
            InputRequired("Enter your password."),
            _max_chars(PASSWORD_MAX, f"Passwords here have at most {PASSWORD_MAX} characters."),
        ],
    )
    next = HiddenField()


class ResetRequestForm(SiteForm):
    email = _email_field("Email address", strict=False)


class ResetPasswordForm(_NewPasswordMixin, SiteForm):
    password = PasswordField("New password", validators=[InputRequired("Choose a password.")])
    confirm = PasswordField(
        "Type the new password again", validators=[InputRequired("Type the password again.")]
    )

    def __init__(self, *args: Any, email: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._email = email

    def account_email(self) -> str:
        return self._email


class ActionForm(SiteForm):
    """No fields: a POST button (sign out, resend) that carries only the CSRF token."""
