"""Adding to a listing's monthly counters: one statement that cannot lose a count.

Each count is an upsert that adds to the stored number in the database itself
(INSERT ... ON CONFLICT DO UPDATE SET count = count + n), so any number of
requests counting the same listing at once all land. Rows are written in clinic
order, so two requests counting overlapping listings take their row locks in the
same order and cannot deadlock on PostgreSQL. Only published listings count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from ..extensions import db
from ..models import Clinic, ListingCount
from ..models.insights import COUNTED
from ..search.query import MAX_PER_PAGE

# One results page shows at most MAX_PER_PAGE listings; a beacon names no more.
MAX_PER_COUNT = MAX_PER_PAGE


def this_month(today: date | None = None) -> date:
    today = today or datetime.now(UTC).date()
    return today.replace(day=1)


def count(kind: str, clinic_ids: Iterable[int], today: date | None = None) -> int:
    """Add one to `kind` for each published listing named (a listing named twice
    counts twice); commit; return how many counts were added."""
    if kind not in COUNTED:
        raise ValueError(f"Unknown kind of count: {kind!r}")
    wanted = Counter(clinic_ids)
    if not wanted:
        return 0
    published = set(
        db.session.scalars(
            select(Clinic.id).where(Clinic.id.in_(list(wanted)), Clinic.status == "published")
        )
    )
    month = this_month(today)
    rows = [
        {"clinic_id": clinic_id, "month": month, "kind": kind, "count": wanted[clinic_id]}
        for clinic_id in sorted(published)
    ]
    if not rows:
        db.session.rollback()
        return 0
    dialect = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(ListingCount).values(rows)
    statement = statement.on_conflict_do_update(
        index_elements=["clinic_id", "month", "kind"],
        set_={"count": ListingCount.count + statement.excluded["count"]},
    )
    db.session.execute(statement)
    db.session.commit()
    return sum(row["count"] for row in rows)
