"""The clinic's and the patient's side of moderation: what is proposed, and taken back.

Clinics propose (an edit, a new listing, a claim), patients report, an author
withdraws; each is one transaction with its audit event. An edit carries the
listing as the clinic's form showed it (`edit_base`): a trusted account's edit is
published at once only when nobody changed the fields it changes since. One pending
claim per account and listing is a partial unique index (migration 0006).
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Clinic, Ownership, Revision, User
from ..search import sync
from ..slugs import MAX_LENGTH, slugify, unique_slug
from . import closing, confirmations
from .audit import record_event
from .edit_base import EditBase
from .errors import ModerationError
from .record_writes import check_record, now, vocab_rows
from .records import (
    apply_record,
    changed_keys,
    clinic_record,
    conflicting_keys,
    merge_records,
    validate_record,
)
from .vocabulary import vocabulary_names

# Room left under Clinic.slug's length for `unique_slug`'s "-2", "-3", … suffix.
_SUFFIX_ROOM = 10


def new_slug(name: str, city: str) -> str:
    """A new listing's slug, from its name and city; "clinic" when neither has a letter
    or digit. Cut short enough that the "-2" `unique_slug` may add still fits."""
    base = slugify(f"{name} {city}", max_length=MAX_LENGTH - _SUFFIX_ROOM) or "clinic"
    return unique_slug(base, _slug_taken)


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None


def submit_edit(
    user: User,
    clinic: Clinic,
    record: dict[str, Any],
    note: str = "",
    base: EditBase | None = None,
) -> Revision:
    """Propose a new state for a listing the user owns; trusted accounts publish at once.

    `base` is the listing as the user's form showed it (`edit_base.read`); None means
    the caller read the live listing just now (a script). A trusted account's edit
    goes live at once only when nobody changed the same fields since its base and the
    merged listing is valid; otherwise it waits for an editor like any other.
    """
    check_record(record)
    live = clinic_record(clinic)
    base = base or EditBase(clinic.version, live)
    revision = Revision(
        kind="edit",
        clinic=clinic,
        author=user,
        base_version=base.version,
        base_record=base.record,
        payload=record,
        note=note,
    )
    db.session.add(revision)
    merged = merge_records(live, record, changed_keys(base.record, record))
    publish = (
        user.trusted
        and not conflicting_keys(base.record, live, record)
        and not validate_record(merged, vocabulary_names())
    )
    if publish:
        before = live
        apply_record(clinic, merged, vocab_rows())
        clinic.updated_at = now()
        revision.status, revision.decided_at = "approved", now()
        revision.reason = "Published at once: trusted account."
        record_event(
            user,
            "edit_published_trusted",
            clinic=clinic,
            revision=revision,
            before=before,
            after=merged,
        )
        sync.commit([clinic.id])
    else:
        record_event(user, "edit_submitted", clinic=clinic, revision=revision, after=record)
        db.session.commit()
    return revision


def submit_new(user: User, record: dict[str, Any], note: str = "") -> Revision:
    """A new listing: stored as `pending` (never shown) until an editor approves it."""
    check_record(record)
    clinic = Clinic(slug=new_slug(record["name"], record.get("city", "")), status="pending")
    apply_record(clinic, record, vocab_rows())
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
    if _pending_claim(user.id, clinic.id):
        raise ModerationError(CLAIM_WAITING)
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
    try:
        db.session.commit()
    except IntegrityError:
        # A parallel request's claim won the partial unique index (uq_revision_pending_claim).
        db.session.rollback()
        if _pending_claim(user.id, clinic.id):
            raise ModerationError(CLAIM_WAITING) from None
        raise
    return revision


CLAIM_WAITING = "Your claim for this listing is already waiting for review."


def _pending_claim(user_id: int, clinic_id: int) -> bool:
    return (
        db.session.scalar(
            select(Revision.id).where(
                Revision.kind == "claim",
                Revision.clinic_id == clinic_id,
                Revision.author_id == user_id,
                Revision.status == "pending",
            )
        )
        is not None
    )


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
    closing.lock(revision, None)
    closing.close(revision, "withdrawn", None, None)
    if revision.kind == "new" and revision.clinic is not None:
        revision.clinic.status = "draft"
    record_event(user, "withdrawn", clinic=revision.clinic, revision=revision)
    closing.commit_decision()


def confirm_accurate(
    user: User, clinic: Clinic, part: str = "listing", today: date | None = None
) -> None:
    """'Still accurate': the clinic vouches today for its prices (`part="prices"`) or
    for the rest of its listing (`"listing"`), each with its own date."""
    sections = confirmations.PRICES if part == "prices" else confirmations.NOT_PRICES
    confirmations.record_confirmation(
        user, clinic, sections, today or now().date(), "clinic", "verified_accurate", {"part": part}
    )


def reopen_base(revision: Revision) -> EditBase:
    """What an edit sent back for changes is reopened on: its own base, so the fields
    the clinic did not change keep whatever the live listing has by then."""
    clinic = revision.clinic
    assert clinic is not None
    if revision.base_record is not None and revision.base_version is not None:
        return EditBase(revision.base_version, revision.base_record)
    return EditBase(clinic.version, clinic_record(clinic))
