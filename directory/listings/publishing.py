"""Change what patients can see: each change commits with its clinic queued for
re-indexing (`sync.commit`), so the index always follows the committed rows."""

from __future__ import annotations

from ..extensions import db
from ..models import Clinic
from ..models.clinic import STATUSES
from ..search import sync


def set_status(clinic: Clinic, status: str) -> None:
    """Publish, suspend or withdraw a listing and bring the index in line."""
    if status not in STATUSES:
        raise ValueError(f"Unknown status {status!r}")
    clinic.status = status
    sync.commit([clinic.id])


def save(clinic: Clinic) -> None:
    """Commit changes to a listing (fields, offerings, vocabularies) and re-index it."""
    db.session.add(clinic)
    db.session.flush()  # a new clinic gets its id
    sync.commit([clinic.id])
