"""Submissions and decisions: the only way a listing changes after it is published.

Clinics propose (edit, new listing, claim), patients report, editors decide.
Each decision applies the revision, writes its audit event and queues the clinic
for re-indexing in one transaction, then drains the index queue and mails the
author.

Races end in a message, never in a server error:
- Who decides a revision is settled by its transaction's first write, one atomic
  `UPDATE revision ... WHERE status = 'pending'` (`_close`): a second decider waits
  for the first (PostgreSQL's row lock, SQLite's write lock), finds nothing to
  update and gets `AlreadyDecided` naming who decided and when.
- The winner then reads the live listing again, locked until its commit, so what it
  applies and checks is the listing as it is, not as the page showed it.
- Access is granted with `INSERT ... ON CONFLICT DO NOTHING`, and one pending claim
  per account and listing is a partial unique index (migration 0006).
- An edit carries the listing as the clinic's form showed it (`edit_base`): it is
  stale only where someone else changed a field it changes, and approving applies
  its changes (or the fields the editor chose) on top of the live listing.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, InvalidRequestError
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import Clinic, Ownership, Revision, User
from ..models.taxonomy import VOCABULARIES
from ..search import sync
from ..slugs import MAX_LENGTH, slugify, unique_slug
from .audit import record_event
from .edit_base import EditBase
from .records import (
    apply_record,
    changed_keys,
    clinic_record,
    conflicting_keys,
    merge_records,
    validate_record,
)
from .vocabulary import vocabulary_names


class ModerationError(Exception):
    """A request the rules refuse, with a message for the person who asked."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class AlreadyDecided(ModerationError):
    """Someone else decided (or the author withdrew) this revision first; the message
    says who and when."""


class StaleRevision(ModerationError):
    """The revision was made against an older version of the listing than the live one."""


class InvalidRecord(ModerationError):
    """The proposed listing breaks a rule; `errors` says which fields."""

    def __init__(self, errors: dict[str, str], message: str = "Some fields need attention."):
        super().__init__(message)
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


# Room left under Clinic.slug's length for `unique_slug`'s "-2", "-3", … suffix.
_SUFFIX_ROOM = 10


def _slug_for(name: str, city: str) -> str:
    """A new listing's slug, from its name and city; "clinic" when neither has a letter
    or digit. Cut short enough that the "-2" `unique_slug` may add still fits."""
    base = slugify(f"{name} {city}", max_length=MAX_LENGTH - _SUFFIX_ROOM) or "clinic"
    return unique_slug(base, _slug_taken)


def _slug_taken(slug: str) -> bool:
    return db.session.scalar(select(Clinic.id).where(Clinic.slug == slug)) is not None


def _notify(revision: Revision, status: str, reason: str = "") -> None:
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


def _commit_decision() -> None:
    """Commit a decision. The revision and the listing are locked by then, so a
    version conflict means a writer outside moderation (a model view) got in first."""
    try:
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        raise AlreadyDecided(
            "The listing was changed by someone else a moment ago, so nothing was saved. "
            "Reload and decide again."
        ) from exc


def _when(moment: datetime | None) -> str:
    """'a moment ago', '5 minutes ago', 'on 2026-12-01': how long ago a decision was."""
    if moment is None:
        return "earlier"
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # SQLite: naive UTC
    seconds = (_now() - moment).total_seconds()
    if seconds < 120:
        return "a moment ago"
    if seconds < 3600:
        return f"{int(seconds // 60)} minutes ago"
    if seconds < 86400:
        hours = int(seconds // 3600)
        return f"{hours} hour{'' if hours == 1 else 's'} ago"
    return f"on {moment.date().isoformat()}"


_DONE = {
    "approved": ("approved", "approved it"),
    "rejected": ("rejected", "rejected it"),
    "changes_requested": ("sent back for changes", "asked for changes"),
    "withdrawn": ("withdrawn", "withdrew it"),
}


def decided_message(revision: Revision) -> str:
    """'This submission was already approved: Ann Editor approved it a moment ago.'"""
    if revision.is_open:
        return "This submission changed since you opened it. Reload to review it again."
    state, verb = _DONE.get(revision.status, (revision.status, "decided it"))
    if revision.status == "withdrawn":
        who = "the author"
    elif revision.reviewer is not None:
        who = revision.reviewer.name or revision.reviewer.email
    else:
        who = "another editor"
    return f"This submission was already {state}: {who} {verb} {_when(revision.decided_at)}."


def _already_decided(revision: Revision) -> AlreadyDecided:
    """The loser's answer, read from the committed row (the session is rolled back)."""
    db.session.rollback()
    try:
        db.session.refresh(revision)
    except InvalidRequestError:  # deleted meanwhile (with its listing)
        return AlreadyDecided("This submission no longer exists.")
    return AlreadyDecided(decided_message(revision))


def _lock(revision: Revision, lock_version: int | None) -> None:
    """Refuse at once a decision on a revision decided (or changed) since the page was
    loaded; `_close` settles the races this cheap check cannot see."""
    if not revision.is_open or (lock_version is not None and lock_version != revision.lock_version):
        raise AlreadyDecided(decided_message(revision))


def _close(
    revision: Revision,
    status: str,
    reviewer: User | None,
    lock_version: int | None,
    reason: str = "",
) -> None:
    """Decide the revision if nobody did: the first write of the decision's transaction.

    One `UPDATE ... WHERE status = 'pending'` (and the lock version the editor saw);
    whoever updates no row lost, and learns who won. Everything the winner reads
    afterwards is read again, inside its own write transaction.
    """
    conditions = [Revision.id == revision.id, Revision.status == "pending"]
    if lock_version is not None:
        conditions.append(Revision.lock_version == lock_version)
    result = db.session.execute(
        update(Revision)
        .where(*conditions)
        .values(
            status=status,
            reviewer_id=reviewer.id if reviewer else None,
            decided_at=_now(),
            reason=reason,
            lock_version=Revision.lock_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _already_decided(revision)
    db.session.expire_all()  # read the revision and its listing as they are now


def _locked_clinic(revision: Revision) -> Clinic | None:
    """The revision's listing, read again and locked (FOR UPDATE; SQLite's write lock is
    already held) until the decision commits."""
    clinic = revision.clinic
    if clinic is not None:
        db.session.refresh(clinic, with_for_update=True)
    return clinic


def _grant(user_id: int, clinic_id: int) -> bool:
    """Let the user manage the clinic; False when it already did. One statement, so two
    approvals granting the same access cannot collide on the unique constraint."""
    values = {"user_id": user_id, "clinic_id": clinic_id, "created_at": _now()}
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


# -- clinic side ---------------------------------------------------------------------
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
    _check(record)
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
        apply_record(clinic, merged, _vocab_rows())
        clinic.updated_at = _now()
        revision.status, revision.decided_at = "approved", _now()
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
    _lock(revision, None)
    _close(revision, "withdrawn", None, None)
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
@dataclass(frozen=True)
class EditReview:
    """An edit seen three ways: the listing its form showed, the live one, the proposal.

    `base` is None for an edit stored before bases were kept (migration 0006) whose
    listing changed since: what it was made against is unknown, so it is stale.
    """

    base: dict[str, Any] | None
    live: dict[str, Any]
    proposed: dict[str, Any]
    keys: list[str]  # what the edit changes (`records.changed_keys`)
    conflicts: list[str]  # of those, the ones someone else changed since the base

    @property
    def stale(self) -> bool:
        return self.base is None or bool(self.conflicts)


def edit_review(revision: Revision) -> EditReview | None:
    """The three-way view of an edit of a listing that still exists (None otherwise)."""
    clinic = revision.clinic
    if revision.kind != "edit" or clinic is None:
        return None
    live, proposed = clinic_record(clinic), revision.payload
    base = revision.base_record
    if base is None and revision.base_version == clinic.version:
        base = live  # made before bases were kept, and nothing changed since
    if base is None:
        return EditReview(None, live, proposed, changed_keys(live, proposed), [])
    return EditReview(
        base, live, proposed, changed_keys(base, proposed), conflicting_keys(base, live, proposed)
    )


def is_stale(revision: Revision) -> bool:
    """An open edit some of whose changes were also changed by someone else since its
    form was opened (changes to other fields, or 'still accurate', do not count)."""
    if not revision.is_open:
        return False
    review = edit_review(revision)
    return review is not None and review.stale


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
    _lock(revision, lock_version)
    if revision.kind == "claim" and revision.author_id is None:
        raise ModerationError("The account that made this claim no longer exists: reject it.")
    _close(revision, "approved", editor, lock_version)
    try:
        note = _apply(editor, revision, fields)
    except ModerationError:
        db.session.rollback()  # the revision stays pending
        raise
    clinic = revision.clinic
    if clinic is not None:
        sync.enqueue([clinic.id])
    _commit_decision()
    sync.drain()
    _notify(revision, "approved")
    return note


def _apply(editor: User, revision: Revision, fields: Collection[str] | None) -> str | None:
    """What approving does, by kind, on the locked live listing; writes the audit event."""
    clinic = _locked_clinic(revision)
    note = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = revision.payload
    if revision.kind == "edit" and clinic is not None:
        review = edit_review(revision)
        assert review is not None
        before, after = review.live, _edit_target(review, fields)
        _check(after)
        apply_record(clinic, after, _vocab_rows())
        clinic.updated_at = _now()
    elif revision.kind == "new" and clinic is not None:
        _check(revision.payload)
        apply_record(clinic, revision.payload, _vocab_rows())
        clinic.updated_at = _now()
        clinic.status = "published"
        clinic.last_verified_at = _now().date()
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
    reopens the form on its own proposal: `reopen_base`)."""
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
    _close(revision, status, editor, lock_version, reason)
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
    _notify(revision, status, reason)


def reopen_base(revision: Revision) -> EditBase:
    """What an edit sent back for changes is reopened on: its own base, so the fields
    the clinic did not change keep whatever the live listing has by then."""
    clinic = revision.clinic
    assert clinic is not None
    if revision.base_record is not None and revision.base_version is not None:
        return EditBase(revision.base_version, revision.base_record)
    return EditBase(clinic.version, clinic_record(clinic))


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
