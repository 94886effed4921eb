"""The decision mail to a submission's author, sent once the decision is committed."""

from __future__ import annotations

from flask import current_app

from ..models import Revision


def notify_decision(revision: Revision, status: str, reason: str = "") -> None:
    """Mail the author the decision, `templates/mail/decision.txt` (patients' reports
    have no author to mail). Its link starts with SITE_URL, in a request or the CLI.

    The decision is already committed: a mail server that is down must not turn it
    into an error page, so a failed delivery is logged for the operator instead.
    """
    if revision.author is None:
        return
    from ..mail import external_url, render_mail, send_mail

    subject, body = render_mail(
        "decision",
        status=status,
        reason=reason,
        kind=revision.kind,
        revision_id=revision.id,
        clinic_name=revision.clinic.name if revision.clinic else None,
        link=external_url("admin.index"),
    )
    try:
        send_mail(revision.author.email, subject, body)
    except OSError:
        current_app.logger.exception("Could not mail the decision on revision %s", revision.id)
