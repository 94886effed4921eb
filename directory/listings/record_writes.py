"""What every moderated write of a whole listing record shares, and the revert.

A proposal is checked as a whole (`check_record`, the rules of
`records.validate_record`) before `records.apply_record` writes it with the
vocabulary rows it links (`vocab_rows`). Reverting to an earlier record is only
these steps, audited, committed with the clinic queued and then drained.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Clinic, User
from ..models.taxonomy import VOCABULARIES
from ..search import sync
from .audit import record_event
from .errors import InvalidRecord
from .records import apply_record, clinic_record, validate_record
from .vocabulary import vocabulary_names


def now() -> datetime:
    """Now, in UTC: what a decision, an update or a verification is stamped with."""
    return datetime.now(UTC)


def vocab_rows() -> dict[str, dict[str, Any]]:
    """Each vocabulary's rows by code, as `records.apply_record` links them."""
    return {
        name: {row.code: row for row in db.session.scalars(select(model))}
        for name, model in VOCABULARIES.items()
    }


def check_record(record: dict[str, Any]) -> None:
    """Refuse a record that breaks a rule: `InvalidRecord`, with its errors by field."""
    errors = validate_record(record, vocabulary_names())
    if errors:
        raise InvalidRecord(errors)


def revert_to(editor: User, clinic: Clinic, record: dict[str, Any], reason: str) -> None:
    """Put a listing back to an earlier state (e.g. an audit event's `before`)."""
    check_record(record)
    before = clinic_record(clinic)
    apply_record(clinic, record, vocab_rows())
    clinic.updated_at = now()
    record_event(
        editor, "reverted", clinic=clinic, before=before, after=record, target=reason[:200]
    )
    sync.commit([clinic.id])
