"""Keep the search index equal to the published rows.

The listings services call `refresh` after every commit that touches clinics;
`rebuild` and `verify` back the `flask search` commands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import Clinic, Offering
from . import get_backend
from .backend import Drift
from .documents import ClinicDocument, clinic_document

BATCH = 500


def _published(ids: Iterable[int] | None = None) -> Iterator[Clinic]:
    """Published clinics with everything a document needs, loaded in batches."""
    stmt = (
        select(Clinic)
        .where(Clinic.status == "published")
        .options(
            selectinload(Clinic.offerings).joinedload(Offering.modality),
            selectinload(Clinic.conditions),
            selectinload(Clinic.insurers),
            selectinload(Clinic.payment_options),
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
    for clinic in _published(ids):
        yield clinic_document(clinic)


def refresh(clinic_ids: Iterable[int]) -> None:
    """Re-index these clinics from committed rows: published ones in, all others out."""
    ids = set(clinic_ids)
    if not ids:
        return
    # The backend reads the rows under its write lock (see SearchBackend.refresh).
    get_backend().refresh(ids, lambda wanted: list(published_documents(wanted)))


def rebuild() -> int:
    """Replace the whole index with the published rows."""
    return get_backend().rebuild(published_documents())


def verify() -> Drift:
    """Compare the index with what the database says it should hold."""
    expected = {doc.id: doc.fingerprint for doc in published_documents()}
    return get_backend().verify(expected)
