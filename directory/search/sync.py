"""Keep the search index equal to the published rows.

A change that affects search queues its clinics (`enqueue`, the `search_queue`
table) in the transaction of the change itself; after the commit the service calls
`drain`, and so does the next request that finds the queue non-empty and every
worker at start-up, so a process killed between a commit and its re-indexing only
leaves the index behind until someone drains. `rebuild` and `verify` back the
`flask search` commands.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Iterator
from datetime import UTC, datetime

from flask import current_app
from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import selectinload
from sqlalchemy.sql import Select

from ..extensions import db
from ..models import Clinic, Offering, SearchQueue
from . import get_backend, healing
from .backend import Drift, IndexBusy, IndexDamaged
from .documents import ClinicDocument, clinic_document

BATCH = 500
# How long the drain right after a commit waits for another writer of the index
# (a rebuild holds it for minutes at 100k listings): a request never hangs on it,
# the queue keeps the work for whoever drains next.
COMMIT_DRAIN_WAIT = 3.0


def published_clinics(ids: Iterable[int] | None = None) -> Iterator[Clinic]:
    """Published clinics with everything a document (or an export) needs, loaded in
    batches, by id."""
    stmt = (
        select(Clinic)
        .where(Clinic.status == "published")
        .options(
            selectinload(Clinic.offerings).joinedload(Offering.modality),
            selectinload(Clinic.conditions),
            selectinload(Clinic.insurers),
            selectinload(Clinic.payment_options),
            selectinload(Clinic.credential_checks),
        )
        .order_by(Clinic.id)
    )
    if ids is not None:
        stmt = stmt.where(Clinic.id.in_(list(ids)))
    # populate_existing: a clinic this session loaded earlier is read again, so a
    # document never carries attributes older than the row (another process may
    # have committed since).
    options = {"yield_per": BATCH, "populate_existing": True}
    yield from db.session.execute(stmt.execution_options(**options)).scalars()


def published_documents(ids: Iterable[int] | None = None) -> Iterator[ClinicDocument]:
    for clinic in published_clinics(ids):
        yield clinic_document(clinic)


def enqueue(clinic_ids: Iterable[int]) -> None:
    """Queue these clinics for re-indexing, in the caller's transaction (not committed)."""
    ids = sorted(set(clinic_ids))
    if ids:
        now = datetime.now(UTC)
        db.session.execute(insert(SearchQueue), [{"clinic_id": i, "queued_at": now} for i in ids])


def enqueue_selected(clinic_ids: Select) -> None:
    """Queue the clinics a `select(<clinic id>)` finds, in one statement (vocabulary
    renames touch every clinic using the entry)."""
    rows = select(clinic_ids.subquery().c[0], literal(datetime.now(UTC)))
    db.session.execute(insert(SearchQueue).from_select(["clinic_id", "queued_at"], rows))


def commit(clinic_ids: Iterable[int]) -> None:
    """Commit the session's work with these clinics queued in it, then drain."""
    enqueue(clinic_ids)
    db.session.commit()
    drain()


def queued() -> int:
    """How many queue entries wait (the same clinic may be queued more than once)."""
    return db.session.scalar(select(func.count(SearchQueue.id))) or 0


def drain(wait: float = COMMIT_DRAIN_WAIT) -> bool:
    """Index every queued clinic from committed rows and delete its entries.

    Returns True when the queue was emptied. Never raises: when another writer holds
    the index longer than `wait` seconds, the index is damaged (which starts its
    repair) or the database fails, the entries stay for the next drain. Entries
    are deleted by id, so a change queued while a batch is indexed stays queued.
    Commits the session: call it with no work of the caller's pending.
    """
    backend = get_backend()
    while True:
        rows = db.session.execute(
            select(SearchQueue.id, SearchQueue.clinic_id).order_by(SearchQueue.id).limit(BATCH)
        ).all()
        if not rows:
            db.session.commit()
            return True
        ids = {clinic_id for _, clinic_id in rows}
        try:
            # The backend reads the rows under its write lock (see SearchBackend.refresh).
            backend.refresh(ids, lambda wanted: list(published_documents(wanted)), wait=wait)
            db.session.execute(delete(SearchQueue).where(SearchQueue.id.in_([r[0] for r in rows])))
            db.session.commit()
        except IndexBusy:
            db.session.rollback()
            return False
        except IndexDamaged as exc:
            db.session.rollback()
            current_app.logger.warning("Queued re-indexing waits for a repair: %s", exc)
            healing.report_damage(current_app._get_current_object(), exc.where)  # type: ignore[attr-defined]
            return False
        except Exception:  # the database (busy, gone): the next drain tries again
            db.session.rollback()
            current_app.logger.exception("Re-indexing %d queued clinics failed", len(ids))
            return False


def refresh(clinic_ids: Iterable[int]) -> None:
    """Re-index these clinics now, through the queue (for callers that committed)."""
    commit(clinic_ids)


def rebuild(replacing: Hashable | None = None) -> int | None:
    """Replace the whole index with the published rows; the queue entries seen before
    the rows were read are covered by it, later ones are drained after it.

    `replacing`: see `SearchBackend.rebuild` (None when that index was replaced already).
    """
    backend = get_backend()
    covered = list(db.session.scalars(select(SearchQueue.id)))
    count = backend.rebuild(published_documents(), replacing)
    if count is None:
        db.session.rollback()
        return None
    if covered:
        for start in range(0, len(covered), BATCH):
            batch = covered[start : start + BATCH]
            db.session.execute(delete(SearchQueue).where(SearchQueue.id.in_(batch)))
    db.session.commit()
    drain()
    return count


def verify(drain_first: bool = True) -> Drift:
    """Compare the index with what the database says it should hold, by default after
    draining the queue (its entries are changes on their way, not drift)."""
    if drain_first:
        drain()
    expected = {doc.id: doc.fingerprint for doc in published_documents()}
    return get_backend().verify(expected)
