"""Proposed changes and the permanent record of what was decided.

A `Revision` carries a whole proposed listing state (the same record shape the
demo loader uses), the listing as the author's form showed it (its base), and its
review. An
`AuditEvent` is written in the same transaction as every action and is never
updated or deleted.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .clinic import Clinic, utcnow

REVISION_KINDS = ("new", "edit", "claim", "report")
REVISION_STATUSES = ("pending", "approved", "rejected", "changes_requested", "withdrawn")
OPEN_STATUSES = ("pending",)
_PENDING_CLAIM = text("kind = 'claim' AND status = 'pending'")


class Revision(db.Model):
    """A submission waiting for, or past, an editor's decision."""

    __tablename__ = "revision"
    __table_args__ = (
        CheckConstraint("kind IN ('new', 'edit', 'claim', 'report')", name="kind"),
        CheckConstraint(
            "status IN ('pending', 'approved', 'rejected', 'changes_requested', 'withdrawn')",
            name="status",
        ),
        Index("ix_revision_status_created", "status", "created_at"),
        # One pending claim per account and listing, however many requests race.
        Index(
            "uq_revision_pending_claim",
            "clinic_id",
            "author_id",
            unique=True,
            sqlite_where=_PENDING_CLAIM,
            postgresql_where=_PENDING_CLAIM,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    # The clinic.version the author's form was opened at (None for new listings), and
    # the listing as that form showed it: staleness compares fields against it.
    base_version: Mapped[int | None] = mapped_column(Integer)
    base_record: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped by every decision (an atomic `UPDATE ... WHERE status = 'pending'`), and
    # SQLAlchemy's optimistic lock for any other write: two deciders cannot both win.
    lock_version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": lock_version}

    clinic: Mapped[Clinic | None] = relationship()
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    reviewer: Mapped[User | None] = relationship(foreign_keys=[reviewer_id])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return f"<Revision {self.id} {self.kind} {self.status}>"


class AuditEvent(db.Model):
    """Who did what, when, with the state before and after. Append-only."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_created", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(254), default="")
    action: Mapped[str] = mapped_column(String(40))
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id", ondelete="SET NULL"))
    revision_id: Mapped[int | None] = mapped_column(ForeignKey("revision.id", ondelete="SET NULL"))
    target: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    actor: Mapped[User | None] = relationship()
    clinic: Mapped[Clinic | None] = relationship()
    revision: Mapped[Revision | None] = relationship()
