"""An editor's direct change to a listing (the admin's clinic form): no revision, no queue.

The same rules as a clinic's edit (`records.validate_record`), applied to the
fields the editor changed (and those a change of kind makes required), so a
listing with an old flaw elsewhere can still be suspended. The change is audited
with before and after, queued for the index and committed in one transaction,
then the index queue is drained. Two editors on one listing: the form carries the
version it showed, and `Clinic.version` (SQLAlchemy's optimistic lock) catches a
write that lands between this request's read and its commit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from ..database import lost_race_raises
from ..extensions import db
from ..geo import get_gazetteer
from ..models import Clinic, User
from ..models.listing_fields import FIELDS, LABELS, SCALAR_FIELDS, STAFF_FIELDS
from ..search import sync
from .audit import changed_values, record_event
from .errors import InvalidRecord, ModerationError
from .records import clinic_record, field_error, normalize_values, validate_record
from .vocabulary import vocabulary_names

# A change of kind can make other fields required (an in-person clinic needs an address).
_KIND_DEPENDENT = ("street", "city", "postal_code", "states_served")


class ChangedMeanwhile(ModerationError):
    """Someone else saved the listing after this editor's form was opened."""


def update_listing(
    editor: User,
    clinic: Clinic,
    values: dict[str, Any],
    expected_version: int | None = None,
) -> dict[str, tuple[Any, Any]]:
    """Apply an editor's values to a listing: checked, audited, committed, re-indexed.

    `values`: new values by name (any of STAFF_FIELDS); `expected_version`: the
    `Clinic.version` the editor's form showed (None: no check). Returns what
    changed, {name: (before, after)}; nothing is written when nothing changed.
    Raises `ChangedMeanwhile` or `InvalidRecord` (its message names each field)
    with nothing written.
    """
    unknown = set(values) - set(STAFF_FIELDS)
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    if expected_version is not None and expected_version != clinic.version:
        raise ChangedMeanwhile(
            f"This listing changed while you were editing it (you opened version "
            f"{expected_version}, it is now version {clinic.version}). Reload and try again."
        )
    values = normalize_values(values)
    changes = changed_values(clinic, values)
    if not changes:
        return {}
    _check(clinic, {name: after for name, (_, after) in changes.items()})
    for name, (_, after) in changes.items():
        setattr(clinic, name, after)
    if "postal_code" in changes and clinic.postal_code:
        place = get_gazetteer().zip_place(clinic.postal_code)
        if place is not None:
            clinic.lat, clinic.lng, clinic.geo_precision = place.lat, place.lng, "zip"
    saved_meanwhile = ChangedMeanwhile(
        "Someone else saved this record while you were editing it. "
        "Reload the page and make your change again."
    )
    with lost_race_raises(saved_meanwhile):
        db.session.flush()  # the first write: where the optimistic lock fails
        record_event(
            editor,
            "clinic_updated",
            clinic=clinic,
            before={name: _jsonable(before) for name, (before, _) in changes.items()},
            after={name: _jsonable(after) for name, (_, after) in changes.items()},
        )
        sync.enqueue([clinic.id])
        db.session.commit()
    sync.drain()
    return changes


def _check(clinic: Clinic, changed: dict[str, Any]) -> None:
    """Refuse values the listing form would refuse, for the fields this change touches."""
    record = clinic_record(clinic) | {k: v for k, v in changed.items() if k in SCALAR_FIELDS}
    relevant = set(changed) | (set(_KIND_DEPENDENT) if "kind" in changed else set())
    errors = {
        key: message
        for key, message in validate_record(record, vocabulary_names()).items()
        if key in relevant
    }
    for name in changed.keys() - set(SCALAR_FIELDS):  # staff-only fields: their own rules
        problem = field_error(FIELDS[name], changed[name], {})
        if problem:
            errors[name] = problem
    if errors:
        raise InvalidRecord(errors, " ".join(f"{LABELS.get(k, k)}: {m}" for k, m in errors.items()))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value
