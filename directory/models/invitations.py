"""An editor's invitation to claim an unclaimed listing, mailed to the listing's address.

The mailed link is signed and names this row; the row says whether it was used, by
whom and when, and until when it can be. `listings.invitations` writes it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .clinic import Clinic, utcnow


class ClaimInvitation(db.Model):
    __tablename__ = "claim_invitation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # where it was mailed
    sent_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )

    clinic: Mapped[Clinic] = relationship()
    sent_by: Mapped[User | None] = relationship(foreign_keys=[sent_by_id])
    claimed_by: Mapped[User | None] = relationship(foreign_keys=[claimed_by_id])

    def __repr__(self) -> str:
        return f"<ClaimInvitation {self.id} clinic {self.clinic_id} {self.email}>"
