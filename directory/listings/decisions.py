"""The editor's decisions: approve, reject, request changes.

Each closes the revision first (`closing.close`, the one conditional UPDATE that
settles a race), applies it to the locked live listing and writes its audit event
in one transaction, queues the clinic for the index, commits, drains the queue and
then mails the author (`notifications`). An approved edit applies its changes (or
the fields the editor chose) on top of the live listing. Access is granted with
`INSERT ... ON CONFLICT DO NOTHING`, so two approvals cannot collide.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Ownership, Revision, User
from ..search import sync
from . import closing, confirmations
from .audit import record_event
from .errors import ModerationError, StaleRevision
from .notifications import notify_decision
from .record_writes import check_record, now, vocab_rows
from .records import apply_record, changed_keys, clinic_record, merge_records
from .review import EditReview, edit_review


def _grant(user_id: int, clinic_id: int) -> bool:
    """Let the user manage the clinic; False when it already did. One statement, so two
    approvals granting the same access cannot collide on the unique constraint."""
    values = {"user_id": user_id, "clinic_id": clinic_id, "created_at": now()}
    dialect = db.session.get_bind().dialect.name
    if dialect in ("postgresql", "sqlite"):
        dialect_insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = Ownership.__table__
        stmt = dialect_insert(table).values(values).returning(table.c.id)
        stmt = stmt.on_conflict_do_nothing(index_elements=["user_id", "clinic_id"])
        return db.session.execute(stmt).scalar_one_or_none() is not None
    exists = db.session.scalar(
        select(Ownership.id).where(Ownership.user_id == user_id, Ownership.clinic_id == clinic_id)
    )
    if exists is None:
        db.session.execute(insert(Ownership.__table__).values(values))
    return exists is None


def _edit_target(review: EditReview, fields: Collection[str] | None) -> dict[str, Any]:
    """The listing an approval publishes: the live one with the chosen changes on top.

    `fields` None applies every change, which a stale edit refuses; otherwise exactly
    the chosen keys, each of which must be one of the edit's changes.
    """
    if review.base is None:
        raise StaleRevision(
            "The listing changed after this edit was made, and this edit is older than "
            "the record of what its form showed, so it cannot be compared field by field. "
            "Request changes so the clinic resubmits against the current listing."
        )
    if fields is None:
        if review.conflicts:
            raise StaleRevision(
                "The listing changed after this edit was made, in fields the edit also "
                "changes: compare the three versions and choose the fields to apply, or "
                "request changes so the clinic resubmits."
            )
        chosen = review.keys
    else:
        unknown = set(fields) - set(review.keys)
        if unknown:
            raise ModerationError("Some of the chosen fields are not changed by this edit.")
        chosen = [key for key in review.keys if key in fields]
        if not chosen:
            raise ModerationError("Choose at least one field to apply, or reject the edit.")
    return merge_records(review.live, review.proposed, chosen)


def approve(
    editor: User,
    revision: Revision,
    lock_version: int | None = None,
    fields: Collection[str] | None = None,
) -> str | None:
    """Apply the revision, write the audit event, commit; then re-index and mail.

    `fields` (edits only): the changes to apply, by `diff_records` key; None for all
    of them. Returns a note for the editor when the approval did less than usual (a
    claim whose account already manages the listing), else None.
    """
    closing.lock(revision, lock_version)
    if revision.kind == "claim" and revision.author_id is None:
        raise ModerationError("The account that made this claim no longer exists: reject it.")
    closing.close(revision, "approved", editor, lock_version)
    try:
        note = _apply(editor, revision, fields)
    except ModerationError:
        db.session.rollback()  # the revision stays pending
        raise
    clinic = revision.clinic
    if clinic is not None:
        sync.enqueue([clinic.id])
    closing.commit_decision()
    sync.drain()
    notify_decision(revision, "approved")
    return note


def _apply(editor: User, revision: Revision, fields: Collection[str] | None) -> str | None:
    """What approving does, by kind, on the locked live listing; writes the audit event."""
    clinic = closing.locked_clinic(revision)
    note = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = revision.payload
    if revision.kind == "edit" and clinic is not None:
        review = edit_review(revision)
        assert review is not None
        before, after = review.live, _edit_target(review, fields)
        check_record(after)
        apply_record(clinic, after, vocab_rows())
        clinic.updated_at = now()
        # The clinic vouches for what it changed: those sections are confirmed today.
        sections, modalities = confirmations.sections_of(changed_keys(before, after))
        confirmations.confirm(clinic, sections, now().date(), "clinic", modalities)
    elif revision.kind == "new" and clinic is not None:
        check_record(revision.payload)
        apply_record(clinic, revision.payload, vocab_rows())
        clinic.updated_at = now()
        clinic.status = "published"
        confirmations.confirm(clinic, confirmations.SECTIONS, now().date(), "clinic")
        if revision.author_id is not None:
            _grant(revision.author_id, clinic.id)
    elif revision.kind == "claim" and clinic is not None:
        before = clinic_record(clinic)
        if not _grant(revision.author_id, clinic.id):
            note = (
                f"Approved, but {revision.author.email} already managed this listing: "
                "access was granted before, nothing else changed."
            )
    elif clinic is not None:
        before = clinic_record(clinic)
    record_event(
        editor,
        f"{revision.kind}_approved",
        clinic=clinic,
        revision=revision,
        before=before,
        after=after,
    )
    return note


def reject(editor: User, revision: Revision, reason: str, lock_version: int | None = None):
    """Refuse a revision, with a reason the author will read."""
    _decide(editor, revision, "rejected", reason, lock_version)


def request_changes(
    editor: User, revision: Revision, reason: str, lock_version: int | None = None
) -> None:
    """Send a revision back to its author with what to change (an edit's author
    reopens the form on its own proposal: `submissions.reopen_base`)."""
    _decide(editor, revision, "changes_requested", reason, lock_version)


def _decide(
    editor: User, revision: Revision, status: str, reason: str, lock_version: int | None
) -> None:
    reason = reason.strip()
    if not reason:
        raise ModerationError("Give a reason: the clinic will read it.")
    if len(reason) > 2000:
        raise ModerationError("Keep the reason under 2,000 characters.")
    closing.lock(revision, lock_version)
    closing.close(revision, status, editor, lock_version, reason)
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
    closing.commit_decision()
    notify_decision(revision, status, reason)
