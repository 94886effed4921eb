"""How often patients found and contacted a listing, as plain monthly counters.

One row per listing, month and kind of event, holding a number and nothing else:
no visitor, address, cookie, time of day or order of events is kept anywhere, so
the counts cannot be joined into anyone's trail. `insights.counters` is the one
writer (an atomic upsert that adds to the number).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

# What is counted, as the clinic's insights page and the privacy notice name it.
COUNTED = {
    "appearance": "Shown in search results",
    "view": "Listing page views",
    "phone": "Phone taps",
    "website": "Website clicks",
}


class ListingCount(db.Model):
    """How many times one kind of event happened to one listing in one month."""

    __tablename__ = "listing_count"
    __table_args__ = (
        UniqueConstraint("clinic_id", "month", "kind", name="uq_listing_count"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in COUNTED)})", name="kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month (UTC)
    kind: Mapped[str] = mapped_column(String(12))
    count: Mapped[int] = mapped_column(Integer, default=0)

    def __repr__(self) -> str:
        return f"<ListingCount {self.clinic_id} {self.month:%Y-%m} {self.kind} {self.count}>"
