"""Stale listings: patients see "not verified since …", owners get a reminder mail.

A listing is stale when nobody confirmed it within STALE_AFTER_DAYS. Reminders
are recorded as audit events, so an owner is reminded at most once per
REMIND_EVERY_DAYS however often the command runs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import or_, select

from ..extensions import db
from ..models import AuditEvent, Clinic, Ownership
from ..models.clinic import STALE_AFTER_DAYS
from .audit import record_event

REMIND_EVERY_DAYS = 30


def stale_clinics(today: date | None = None) -> list[Clinic]:
    """Published listings not verified within STALE_AFTER_DAYS (or never)."""
    today = today or datetime.now(UTC).date()
    cutoff = today - timedelta(days=STALE_AFTER_DAYS)
    return list(
        db.session.scalars(
            select(Clinic)
            .where(
                Clinic.status == "published",
                or_(Clinic.last_verified_at.is_(None), Clinic.last_verified_at < cutoff),
            )
            .order_by(Clinic.id)
        )
    )


def _reminded_recently(clinic: Clinic, since: datetime) -> bool:
    return (
        db.session.scalar(
            select(AuditEvent.id).where(
                AuditEvent.action == "stale_reminder_sent",
                AuditEvent.clinic_id == clinic.id,
                AuditEvent.created_at >= since,
            )
        )
        is not None
    )


def send_reminders(today: date | None = None) -> int:
    """Mail the owners of stale listings; return how many mails were sent.

    Runs from the CLI, outside any request: the link starts with SITE_URL.
    """
    from ..mail import external_url, render_mail, send_mail

    now = datetime.now(UTC)
    sent = 0
    for clinic in stale_clinics(today):
        owners = db.session.scalars(select(Ownership).where(Ownership.clinic_id == clinic.id)).all()
        if not owners or _reminded_recently(clinic, now - timedelta(days=REMIND_EVERY_DAYS)):
            continue
        since = clinic.last_verified_at.isoformat() if clinic.last_verified_at else "never"
        link = external_url("admin_my_listings.listing", clinic_id=clinic.id)
        for ownership in owners:
            send_mail(
                ownership.user.email,
                *render_mail("stale_reminder", clinic_name=clinic.name, since=since, link=link),
            )
            sent += 1
        record_event(None, "stale_reminder_sent", clinic=clinic, after={"since": since})
        db.session.commit()
    return sent
