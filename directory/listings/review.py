"""What the editors' desk reads: the queue, its counts, and an edit seen three ways.

Read-only. An edit is stale only where someone else changed, since its form was
opened, a field it also changes (`records.conflicting_keys`); the queue marks it,
and the review shows base, live and proposed side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import Revision
from .records import changed_keys, clinic_record, conflicting_keys


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
