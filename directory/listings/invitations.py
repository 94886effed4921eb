"""Invitations to claim unclaimed listings: editors send them in bulk, a clinic accepts.

An invitation is mailed to the address the listing itself gives, so whoever reads
that mailbox speaks for the listing: following the link and accepting makes the
signed-in account the listing's manager at once, with no editor's review (a claim
from anyone else still goes through `submissions.request_claim`). The link is
signed (its own salt) and names the invitation row; it works once, until
`INVITATION_DAYS` have passed, and only while nobody manages the listing. Two
people accepting one link at once: a conditional UPDATE lets exactly one win.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from .. import mail
from ..extensions import db
from ..models import ClaimInvitation, Clinic, Ownership, User
from ..models.clinic import as_utc, utcnow
from .audit import record_event
from .errors import ModerationError

SALT = "claim-invitation"
INVITATION_DAYS = 30
Problem = Literal["invalid", "expired", "used", "managed"]
PROBLEMS: dict[str, str] = {
    "invalid": "This link is not one we sent, or it was cut short. Copy the whole link "
    "from the email, or ask us for a new invitation.",
    "expired": f"This invitation was valid for {INVITATION_DAYS} days and has expired. "
    "Claim the listing from your account instead, or ask us for a new invitation.",
    "used": "This invitation has already been used.",
    "managed": "Someone already manages this listing. If that is not right, report it "
    "from the listing's page.",
}
Status = Literal["not_invited", "invited", "expired", "claimed"]
STATUS_LABELS: dict[str, str] = {
    "not_invited": "Not invited",
    "invited": "Invited",
    "expired": "Invitation expired",
    "claimed": "Claimed",
}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def managed_ids() -> set[int]:
    return set(db.session.scalars(select(Ownership.clinic_id)))


def status_of(latest: ClaimInvitation | None) -> Status:
    """What the latest invitation of a listing says (claimed, open, expired, none)."""
    if latest is not None and latest.claimed_at is not None:
        return "claimed"
    if latest is None:
        return "not_invited"
    return "invited" if as_utc(latest.expires_at) > utcnow() else "expired"


@dataclass(frozen=True)
class Row:
    """An unclaimed published listing (or one claimed through an invitation), as the
    editors' page lists it."""

    clinic: Clinic
    status: Status
    latest: ClaimInvitation | None

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]


def listing_rows() -> list[Row]:
    """Published listings nobody manages, and those claimed through an invitation."""
    managed = managed_ids()
    latest: dict[int, ClaimInvitation] = {}
    for invitation in db.session.scalars(select(ClaimInvitation).order_by(ClaimInvitation.id)):
        latest[invitation.clinic_id] = invitation
    clinics = db.session.scalars(
        select(Clinic).where(Clinic.status == "published").order_by(Clinic.name, Clinic.id)
    )
    rows = []
    for clinic in clinics:
        invitation = latest.get(clinic.id)
        status = status_of(invitation)
        if clinic.id in managed and status != "claimed":
            continue  # claimed some other way: nothing to invite
        rows.append(Row(clinic, status, invitation))
    return rows


def invite(editor: User, clinic_ids: Iterable[int]) -> tuple[int, int]:
    """Invite each listing that can be (published, with an email, managed by nobody, no
    invitation still open); commit, then mail. Returns (sent, skipped)."""
    wanted = sorted(set(clinic_ids))
    managed = managed_ids()
    open_ones = set(
        db.session.scalars(
            select(ClaimInvitation.clinic_id).where(
                ClaimInvitation.claimed_at.is_(None), ClaimInvitation.expires_at > utcnow()
            )
        )
    )
    made: list[ClaimInvitation] = []
    for clinic in db.session.scalars(select(Clinic).where(Clinic.id.in_(wanted))):
        if (
            clinic.status != "published"
            or not clinic.email
            or clinic.id in managed
            or clinic.id in open_ones
        ):
            continue
        invitation = ClaimInvitation(
            clinic=clinic,
            email=clinic.email,
            sent_by_id=editor.id,
            expires_at=utcnow() + timedelta(days=INVITATION_DAYS),
        )
        db.session.add(invitation)
        made.append(invitation)
    db.session.flush()
    for invitation in made:
        record_event(editor, "claim_invited", clinic=invitation.clinic, target=invitation.email)
    db.session.commit()
    for invitation in made:
        _mail(invitation)
    return len(made), len(wanted) - len(made)


def token_for(invitation: ClaimInvitation) -> str:
    return _serializer().dumps({"inv": invitation.id, "cid": invitation.clinic_id})


def _mail(invitation: ClaimInvitation) -> None:
    link = mail.external_url("account.invitation", token=token_for(invitation))
    subject, body = mail.render_mail(
        "claim_invitation",
        clinic_name=invitation.clinic.name,
        link=link,
        days=INVITATION_DAYS,
        sign_up=mail.external_url("account.sign_up"),
    )
    try:
        mail.send_mail(invitation.email, subject, body)
    except Exception:  # any transport error: the row stays, an editor can see and resend
        current_app.logger.exception("Could not mail invitation %s", invitation.id)


def check(token: str) -> tuple[ClaimInvitation | None, Problem | None]:
    """The invitation a link names, or why it cannot be used."""
    try:
        data = _serializer().loads(token, max_age=INVITATION_DAYS * 24 * 3600)
    except SignatureExpired:
        return None, "expired"
    except BadSignature:
        return None, "invalid"
    if not isinstance(data, dict):
        return None, "invalid"
    invitation = db.session.get(ClaimInvitation, data.get("inv"))
    if invitation is None or invitation.clinic_id != data.get("cid"):
        return None, "invalid"
    if invitation.claimed_at is not None:
        return invitation, "used"
    if as_utc(invitation.expires_at) <= utcnow():
        return invitation, "expired"
    if invitation.clinic_id in managed_ids():
        return invitation, "managed"
    return invitation, None


def accept(user: User, token: str) -> Clinic:
    """Make `user` the listing's manager; raises ModerationError with PROBLEMS' words."""
    invitation, problem = check(token)
    if problem or invitation is None:
        raise ModerationError(PROBLEMS[problem or "invalid"])
    won = db.session.execute(
        update(ClaimInvitation)
        .where(ClaimInvitation.id == invitation.id, ClaimInvitation.claimed_at.is_(None))
        .values(claimed_at=utcnow(), claimed_by_id=user.id)
    ).rowcount
    if not won:
        db.session.rollback()
        raise ModerationError(PROBLEMS["used"])
    clinic = invitation.clinic
    db.session.add(Ownership(user_id=user.id, clinic_id=clinic.id))
    record_event(user, "claimed_by_invitation", clinic=clinic, target=invitation.email)
    db.session.commit()
    return clinic
