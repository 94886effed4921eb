"""Writing what a dry run decided: new listings and updates, a batch per transaction.

Each batch commits whole or not at all, audited row by row ("imported" or
"import_updated", the external id as the target) and re-indexed after its commit;
`should_stop` is asked before each batch, so cancelling never leaves part of one.
New listings are unclaimed, published or pending as the editor chose, and carry
no confirmed dates: nobody has verified them yet. A row whose external id another
import wrote since the dry run updates that listing instead (the unique external
id makes two imports of one list at once add each listing once).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..listings.audit import record_event
from ..listings.record_writes import now, vocab_rows
from ..listings.records import apply_record, changed_keys, clinic_record
from ..listings.submissions import new_slug
from ..models import Clinic, User
from ..search import sync
from .plan import ImportPlan, RowPlan

BATCH = 100
STATUSES = ("published", "pending")


@dataclass
class Applied:
    created: int = 0
    updated: int = 0
    batches: int = 0
    stopped: bool = False  # cancelled before every batch was written


def _write(row: RowPlan, actor: User | None, status: str, vocab: dict) -> tuple[int, str]:
    """One row into the session (not committed): (clinic id, "created"/"updated"/"")."""
    assert row.record is not None
    clinic = db.session.scalar(select(Clinic).where(Clinic.external_id == row.external_id))
    if clinic is None:
        clinic = Clinic(
            slug=new_slug(row.record["name"], row.record.get("city", "")),
            status=status,
            external_id=row.external_id,
        )
        apply_record(clinic, row.record, vocab)
        db.session.add(clinic)
        db.session.flush()
        record_event(actor, "imported", clinic=clinic, after=row.record, target=row.external_id)
        return clinic.id, "created"
    before = clinic_record(clinic)
    if not changed_keys(before, row.record):
        return clinic.id, ""
    apply_record(clinic, row.record, vocab)
    clinic.updated_at = now()
    record_event(
        actor,
        "import_updated",
        clinic=clinic,
        before=before,
        after=row.record,
        target=row.external_id,
    )
    return clinic.id, "updated"


def apply_plan(
    plan: ImportPlan,
    actor: User | None,
    status: str = "pending",
    batch: int = BATCH,
    should_stop: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int], None] | None = None,
) -> Applied:
    """Write the plan's new and updated rows in batches of `batch`."""
    if status not in STATUSES:
        raise ValueError(f"Imported listings are published or pending, not {status!r}")
    rows = plan.writes
    applied = Applied()
    vocab = vocab_rows()
    for start in range(0, len(rows), batch):
        if should_stop():
            applied.stopped = True
            break
        chunk = rows[start : start + batch]
        for attempt in range(2):
            try:
                results = [_write(row, actor, status, vocab) for row in chunk]
                ids = [clinic_id for clinic_id, what in results if what]
                sync.commit(ids)  # commits the batch, then re-indexes it
            except IntegrityError:
                # Another import wrote one of these external ids (or slugs) meanwhile:
                # the retry finds those rows and updates them instead.
                db.session.rollback()
                if attempt:
                    raise
                vocab = vocab_rows()
                continue
            break
        applied.created += sum(1 for _, what in results if what == "created")
        applied.updated += sum(1 for _, what in results if what == "updated")
        applied.batches += 1
        if progress is not None:
            progress(min(start + batch, len(rows)), len(rows))
    return applied
