"""People who sign in: clinic staff, editors and admins, and which listings they own.

Roles are a short closed list; what each may do is decided in one place
(`directory.auth.permissions`), never by scattered string comparisons.
"""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .clinic import Clinic, utcnow

ROLES = ("admin", "editor", "clinic")
STAFF_ROLES = ("admin", "editor")


class User(UserMixin, db.Model):
    """An account. Emails are stored lower-cased so lookups cannot be dodged by case."""

    __tablename__ = "user_account"
    __table_args__ = (CheckConstraint("role IN ('admin', 'editor', 'clinic')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="clinic")
    name: Mapped[str] = mapped_column(String(120), default="")
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Trusted clinic accounts publish their edits at once (still audited, reversible).
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Changing the password changes this, which invalidates reset links and sessions.
    session_token: Mapped[str] = mapped_column(String(64), default="")

    ownerships: Mapped[list[Ownership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    def get_id(self) -> str:
        """Session id includes the token, so a password change signs out other sessions."""
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"


class Ownership(db.Model):
    """An approved claim: this user may propose changes to this clinic."""

    __tablename__ = "ownership"
    __table_args__ = (UniqueConstraint("user_id", "clinic_id", name="uq_ownership_user_clinic"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    user: Mapped[User] = relationship(back_populates="ownerships")
    clinic: Mapped[Clinic] = relationship()


class ThrottleEvent(db.Model):
    """One counted attempt (sign-in, report…) for rate limits shared by all processes."""

    __tablename__ = "throttle_event"
    __table_args__ = (Index("ix_throttle_event_key_at", "key", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
