"""Clinics whose search documents must be rewritten: the index queue.

A service that changes what search shows adds rows here in the transaction of the
change itself, so a commit and its index work cannot come apart: whoever drains
the queue next (the same request after its commit, the next request, a worker at
start-up) brings the index up to date, even when the process that committed was
killed a moment later. `clinic_id` has no foreign key, because a deleted clinic
still has to leave the index.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .clinic import utcnow


class SearchQueue(db.Model):
    """One clinic to re-index; drained oldest first, deleted once indexed."""

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(Integer, index=True)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def __repr__(self) -> str:
        return f"<SearchQueue {self.id} clinic {self.clinic_id}>"
