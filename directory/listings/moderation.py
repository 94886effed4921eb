"""Submissions and decisions: the only way a listing changes after it is published.

Clinics propose (edit, new listing, claim), patients report, editors decide.
Each decision applies the revision, writes its audit event and queues the clinic
for re-indexing in one transaction, then drains the index queue and mails the
author. Two editors deciding the same
revision race on its lock version: one wins, the other gets `AlreadyDecided`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import Clinic, Ownership, Revision, User
from ..models.taxonomy import VOCABULARIES
from ..search import sync
from .audit import record_event
from .records import apply_record, clinic_record, validate_record
from .vocabulary import vocabulary_names


class ModerationError(Exception):
    """A request the rules refuse, with a message for the person who asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyDecided(ModerationError):
    """Someone else decided (or the author withdrew) this revision first."""


class StaleRevision(ModerationError):
    """The revision was made against an older version of the listing than the live one."""


class InvalidRecord(ModerationError):
    """The proposed listing breaks a rule; `errors` says which fields."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("Some fields need attention.")
        self.errors = errors


def _now() -> datetime:
    return datetime.now(UTC)


def _vocab_rows() -> dict[str, dict[str, Any]]:
    return {
        name: {row.code: row for row in db.session.scalars(select(model))}
        for name, model in VOCABULARIES.items()
    }


def _check(record: dict[str, Any]) -> None:
    errors = validate_record(record, vocabulary_names())
    if errors:
        raise InvalidRecord(errors)


def _slug_for(name: str, city: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", f"{name} {city}".lower()).strip("-")[:150] or "clinic"
    slug, n = base, 2
    while db.session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _notify(revision: Revision, subject: str, body: str) -> None:
    """Mail the author about a decision (patients' reports have no author to mail).

    The decision is already committed: a mail server that is down must not turn it
    into an error page, so a failed delivery is logged for the operator instead.
    """
    if revision.author is None:
        return
    from ..mail import send_mail

    try:
        send_mail(revision.author.email, subject, body)
    except OSError:
        current_app.logger.exception("Could not mail the decision on revision %s", revision.id)


def _commit_decision() -> None:
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise AlreadyDecided(
            "Another editor decided this submission a moment ago. Reload to see the outcome."
        ) from exc


def _lock(revision: Revision, lock_version: int | None) -> None:
    """Refuse decisions on a revision that changed since the editor loaded it."""
    if not revision.is_open or (lock_version is not None and lock_version != revision.lock_version):
        raise AlreadyDecided(
            f"This submission is already {revision.status.replace('_', ' ')}. "
            "Reload to see the outcome."
        )


# -- clinic side ---------------------------------------------------------------------
def submit_edit(user: User, clinic: Clinic, record: dict[str, Any], note: str = "") -> Revision:
    """Propose a new state for a listing the user owns; trusted accounts publish at once."""
    _check(record)
    revision = Revision(
        kind="edit",
        clinic=clinic,
        author=user,
        base_version=clinic.version,
        payload=record,
        note=note,
    )
    db.session.add(revision)
    if user.trusted:
        before = clinic_record(clinic)
        apply_record(clinic, record, _vocab_rows())
        clinic.updated_at = _now()
        revision.status, revision.decided_at = "approved", _now()
        revision.reason = "Published at once: trusted account."
        record_event(
            user,
            "edit_published_trusted",
            clinic=clinic,
            revision=revision,
            before=before,
            after=record,
        )
        sync.commit([clinic.id])
    else:
        record_event(user, "edit_submitted", clinic=clinic, revision=revision, after=record)
        db.session.commit()
    return revision


def submit_new(user: User, record: dict[str, Any], note: str = "") -> Revision:
    """A new listing: stored as `pending` (never shown) until an editor approves it."""
    _check(record)
    clinic = Clinic(slug=_slug_for(record["name"], record.get("city", "")), status="pending")
    apply_record(clinic, record, _vocab_rows())
    db.session.add(clinic)
    revision = Revision(
        kind="new", clinic=clinic, author=user, base_version=None, payload=record, note=note
    )
    db.session.add(revision)
    record_event(user, "new_listing_submitted", clinic=clinic, revision=revision, after=record)
    db.session.commit()
    return revision


def work_email_matches(work_email: str, website: str) -> bool:
    """Whether the email's domain is the website's (or a subdomain): a signal, not proof."""
    domain = work_email.rsplit("@", 1)[-1].lower().strip()
    host = (urlsplit(website).hostname or "").lower().removeprefix("www.")
    return bool(domain and host) and (domain == host or domain.endswith("." + host))


def request_claim(user: User, clinic: Clinic, work_email: str, message: str) -> Revision:
    """Ask to manage an existing listing; the editor sees whether the email domain matches."""
    if db.session.scalar(
        select(Ownership.id).where(Ownership.user_id == user.id, Ownership.clinic_id == clinic.id)
    ):
        raise ModerationError("You already manage this listing.")
    pending = db.session.scalar(
        select(Revision.id).where(
            Revision.kind == "claim",
            Revision.clinic_id == clinic.id,
            Revision.author_id == user.id,
            Revision.status == "pending",
        )
    )
    if pending:
        raise ModerationError("Your claim for this listing is already waiting for review.")
    revision = Revision(
        kind="claim",
        clinic=clinic,
        author=user,
        base_version=clinic.version,
        payload={
            "work_email": work_email,
            "message": message,
            "domain_matches": work_email_matches(work_email, clinic.website),
        },
    )
    db.session.add(revision)
    record_event(user, "claim_submitted", clinic=clinic, revision=revision, after=revision.payload)
    db.session.commit()
    return revision


def report_problem(clinic: Clinic, message: str, contact: str = "") -> Revision:
    """A patient's report or suggested edit; no account needed."""
    revision = Revision(
        kind="report",
        clinic=clinic,
        author=None,
        base_version=clinic.version,
        payload={"message": message, "contact": contact},
    )
    db.session.add(revision)
    record_event(
        None, "report_submitted", clinic=clinic, revision=revision, after={"message": message}
    )
    db.session.commit()
    return revision


def withdraw(user: User, revision: Revision) -> None:
    """The author takes back a pending submission."""
    if revision.author_id != user.id:
        raise ModerationError("Only the author can withdraw a submission.")
    _lock(revision, None)
    revision.status, revision.decided_at = "withdrawn", _now()
    if revision.kind == "new" and revision.clinic is not None:
        revision.clinic.status = "draft"
    record_event(user, "withdrawn", clinic=revision.clinic, revision=revision)
    _commit_decision()


def confirm_accurate(user: User, clinic: Clinic, today: date | None = None) -> None:
    """'Still accurate': the clinic vouches for its listing today."""
    before = clinic.last_verified_at.isoformat() if clinic.last_verified_at else None
    clinic.last_verified_at = today or _now().date()
    record_event(
        user,
        "verified_accurate",
        clinic=clinic,
        before={"last_verified_at": before},
        after={"last_verified_at": clinic.last_verified_at.isoformat()},
    )
    sync.commit([clinic.id])


# -- editor side -----------------------------------------------------------------------
def is_stale(revision: Revision) -> bool:
    """An edit made against an older version than the live listing's."""
    return (
        revision.kind == "edit"
        and revision.clinic is not None
        and revision.base_version is not None
        and revision.base_version != revision.clinic.version
    )


def approve(editor: User, revision: Revision, lock_version: int | None = None) -> None:
    """Apply the revision, write the audit event, commit; then re-index and mail."""
    _lock(revision, lock_version)
    clinic = revision.clinic
    if is_stale(revision):
        raise StaleRevision(
            "The listing changed after this edit was made (it was based on version "
            f"{revision.base_version}, the live listing is version {clinic.version}). "
            "Applying it would silently undo those changes: request changes so the clinic "
            "resubmits against the current listing."
        )
    before = clinic_record(clinic) if clinic is not None and revision.kind != "new" else None
    if revision.kind in ("edit", "new"):
        _check(revision.payload)
        apply_record(clinic, revision.payload, _vocab_rows())
        clinic.updated_at = _now()
        if revision.kind == "new":
            clinic.status = "published"
            clinic.last_verified_at = _now().date()
            db.session.add(Ownership(user=revision.author, clinic=clinic))
    elif revision.kind == "claim":
        db.session.add(Ownership(user=revision.author, clinic=clinic))
    revision.status, revision.reviewer, revision.decided_at = "approved", editor, _now()
    record_event(
        editor,
        f"{revision.kind}_approved",
        clinic=clinic,
        revision=revision,
        before=before,
        after=revision.payload,
    )
    if clinic is not None:
        sync.enqueue([clinic.id])
    _commit_decision()
    sync.drain()
    _notify(
        revision,
        f"Approved: {clinic.name if clinic else 'your submission'}",
        _decision_body(revision, "was approved and is now live."),
    )


def reject(editor: User, revision: Revision, reason: str, lock_version: int | None = None):
    """Refuse a revision, with a reason the author will read."""
    _decide(editor, revision, "rejected", reason, lock_version)


def request_changes(
    editor: User, revision: Revision, reason: str, lock_version: int | None = None
) -> None:
    """Send a revision back to its author with what to change."""
    _decide(editor, revision, "changes_requested", reason, lock_version)


def _decide(
    editor: User, revision: Revision, status: str, reason: str, lock_version: int | None
) -> None:
    reason = reason.strip()
    if not reason:
        raise ModerationError("Give a reason: the clinic will read it.")
    if len(reason) > 2000:
        raise ModerationError("Keep the reason under 2,000 characters.")
    _lock(revision, lock_version)
    revision.status, revision.reviewer, revision.decided_at = status, editor, _now()
    revision.reason = reason
    if revision.kind == "new" and revision.clinic is not None:
        # Off the queue either way; a corrected submission makes a new revision.
        revision.clinic.status = "draft"
    record_event(
        editor,
        f"{revision.kind}_{status}",
        clinic=revision.clinic,
        revision=revision,
        after={"reason": reason},
    )
    _commit_decision()
    verb = "was not approved" if status == "rejected" else "needs changes before it can go live"
    _notify(
        revision,
        f"Update on your submission #{revision.id}",
        _decision_body(revision, f"{verb}.\n\nThe editor wrote:\n{reason}"),
    )


def _decision_body(revision: Revision, outcome: str) -> str:
    """The decision mail's text; its link starts with SITE_URL, in a request or the CLI."""
    from ..mail import external_url

    name = revision.clinic.name if revision.clinic else "your listing"
    link = external_url("admin.index")
    return (
        f"Hello,\n\nYour {revision.kind} submission for {name} {outcome}\n\n"
        f"See it in your admin: {link}\n\n"
        f"{current_app.config.get('SITE_NAME', 'Ketamine Clinic Directory')}\n"
    )


def pending_counts() -> dict[str, int]:
    """How many submissions of each kind wait for an editor."""
    rows = db.session.execute(
        select(Revision.kind, func.count(Revision.id))
        .where(Revision.status == "pending")
        .group_by(Revision.kind)
    )
    counts = {kind: 0 for kind in ("new", "edit", "claim", "report")}
    counts.update({kind: n for kind, n in rows})
    return counts


def queue() -> list[Revision]:
    """Pending submissions, oldest first."""
    return list(
        db.session.scalars(
            select(Revision)
            .where(Revision.status == "pending")
            .order_by(Revision.created_at, Revision.id)
        )
    )


def set_trusted(editor: User, user: User, trusted: bool) -> None:
    """Let a clinic account publish without review (or take that back)."""
    before = {"trusted": user.trusted}
    user.trusted = trusted
    record_event(
        editor, "trust_changed", target=user.email, before=before, after={"trusted": trusted}
    )
    db.session.commit()


def revert_to(editor: User, clinic: Clinic, record: dict[str, Any], reason: str) -> None:
    """Put a listing back to an earlier state (e.g. an audit event's `before`)."""
    _check(record)
    before = clinic_record(clinic)
    apply_record(clinic, record, _vocab_rows())
    clinic.updated_at = _now()
    record_event(
        editor, "reverted", clinic=clinic, before=before, after=record, target=reason[:200]
    )
    sync.commit([clinic.id])
