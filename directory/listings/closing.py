"""Closing a revision (a decision, or the author's withdrawal): who closes it wins.

Races end in a message, never in a server error:
- Who decides a revision is settled by its transaction's first write, one atomic
  `UPDATE revision ... WHERE status = 'pending'` (`close`): a second decider waits
  for the first (PostgreSQL's row lock, SQLite's write lock), finds nothing to
  update and gets `AlreadyDecided` naming who decided and when.
- The winner then reads the live listing again, locked until its commit
  (`locked_clinic`), so what it applies and checks is the listing as it is, not as
  the page showed it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.exc import InvalidRequestError

from ..database import lost_race_raises
from ..extensions import db
from ..models import Clinic, Revision, User
from ..models.clinic import as_utc
from .errors import AlreadyDecided
from .record_writes import now


def commit_decision() -> None:
    """Commit a decision. The revision and the listing are locked by then, so a
    version conflict means a writer outside moderation (a model view) got in first."""
    changed = AlreadyDecided(
        "The listing was changed by someone else a moment ago, so nothing was saved. "
        "Reload and decide again."
    )
    with lost_race_raises(changed):
        db.session.commit()


def _when(moment: datetime | None) -> str:
    """'a moment ago', '5 minutes ago', 'on 2026-12-01': how long ago a decision was."""
    if moment is None:
        return "earlier"
    seconds = (now() - as_utc(moment)).total_seconds()
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


def lock(revision: Revision, lock_version: int | None) -> None:
    """Refuse at once a decision on a revision decided (or changed) since the page was
    loaded; `close` settles the races this cheap check cannot see."""
    if not revision.is_open or (lock_version is not None and lock_version != revision.lock_version):
        raise AlreadyDecided(decided_message(revision))


def close(
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
            decided_at=now(),
            reason=reason,
            lock_version=Revision.lock_version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise _already_decided(revision)
    db.session.expire_all()  # read the revision and its listing as they are now


def locked_clinic(revision: Revision) -> Clinic | None:
    """The revision's listing, read again and locked (FOR UPDATE; SQLite's write lock is
    already held) until the decision commits."""
    clinic = revision.clinic
    if clinic is not None:
        db.session.refresh(clinic, with_for_update=True)
    return clinic
