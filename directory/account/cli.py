"""`flask users …`: create staff accounts and change roles from the server's shell.

The first admin can only come from here; later ones too, so no web form can
mint staff accounts.
"""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask.cli import AppGroup

from ..models.accounts import ROLES, STAFF_ROLES
from . import services, staff_edits

users_cli = AppGroup("users", help="Create accounts and change roles.")


def _checked_email(value: str) -> str:
    email = services.normalize_email(value)
    try:
        # test_environment: also accept *.test addresses for local and CI accounts.
        validate_email(email, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise click.BadParameter(str(exc), param_hint="--email") from exc
    return email


@users_cli.command("create")
@click.option("--email", required=True, help="Sign-in address (stored lower-cased).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="admin, editor or clinic.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Prompted for (twice, hidden) when omitted; avoid it on shared shells' history.",
)
def create(email: str, role: str, password: str) -> None:
    """Create an account. Staff (admin, editor) are marked verified."""
    email = _checked_email(email)
    try:
        user = services.create_user(email, password, role, verified=role in STAFF_ROLES)
    except services.AccountError as exc:
        raise click.ClickException(exc.message) from exc
    state = "verified" if user.is_verified else "not verified"
    click.echo(f"Created {user.email} ({user.role}, {state}).")


@users_cli.command("set-role")
@click.option("--email", required=True, help="The account's address.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="admin, editor or clinic.")
def set_role(email: str, role: str) -> None:
    """Change an account's role (staff roles also mark the address verified)."""
    try:
        user = staff_edits.set_role(email, role)
    except services.AccountError as exc:
        raise click.ClickException(exc.message) from exc
    click.echo(f"{user.email} is now {user.role}.")
