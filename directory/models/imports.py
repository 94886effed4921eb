"""An editor's import of a clinic list: the file, its column mapping, and its progress.

The file is kept with the job so the dry run an editor reads and the import that
follows read the same bytes; the import re-plans against the directory as it is
when it runs. `state` moves planned -> running -> done | cancelled | failed, each
step a conditional UPDATE (`imports.jobs`), so a double click starts one run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .clinic import utcnow

JOB_STATES = ("planned", "running", "done", "cancelled", "failed")


class ImportJob(db.Model):
    __tablename__ = "import_job"
    __table_args__ = (
        CheckConstraint(f"state IN ({', '.join(repr(s) for s in JOB_STATES)})", name="state"),
        CheckConstraint("new_status IN ('pending', 'published')", name="new_status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Moved on by every batch: a running job that stops moving was interrupted.
    touched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    filename: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(80))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # position -> key
    new_status: Mapped[str] = mapped_column(String(10), default="pending")
    state: Mapped[str] = mapped_column(String(12), default="planned")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)  # rows to write
    done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(500), default="")

    created_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ImportJob {self.id} {self.filename} {self.state} {self.done}/{self.total}>"
