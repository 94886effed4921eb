"""A clinic listing and its per-modality offerings.

One row per listing: an in-person clinic, a telehealth program, or both. What a
patient may see is decided by `status`; only `published` rows reach the search
index. `version` is SQLAlchemy's optimistic lock, counting every write of the row
(the admin's edit form checks it). Moderation does not compare versions: an edit
is stale only where a field it changes changed since its form was opened
(`Revision.base_record`), so a "still accurate" click never makes one stale.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .taxonomy import Condition, Insurer, Modality, PaymentOption

KINDS = ("in_person", "telehealth", "both")
STATUSES = ("draft", "pending", "published", "suspended")
GEO_PRECISIONS = ("rooftop", "zip", "city")
MEDICAL_DIRECTORS = {
    "anesthesiologist": "Anesthesiologist",
    "psychiatrist": "Psychiatrist",
    "emergency-physician": "Emergency physician",
    "crna": "Nurse anesthetist (CRNA)",
    "nurse-practitioner": "Nurse practitioner",
    "other": "Other physician",
}
STALE_AFTER_DAYS = 180


def utcnow() -> datetime:
    """Timezone-aware now, as a callable default (never evaluated at import)."""
    return datetime.now(UTC)


clinic_condition = Table(
    "clinic_condition",
    db.metadata,
    Column("clinic_id", ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True),
    Column("condition_id", ForeignKey("condition.id", ondelete="CASCADE"), primary_key=True),
)
clinic_insurer = Table(
    "clinic_insurer",
    db.metadata,
    Column("clinic_id", ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True),
    Column("insurer_id", ForeignKey("insurer.id", ondelete="CASCADE"), primary_key=True),
)
clinic_payment_option = Table(
    "clinic_payment_option",
    db.metadata,
    Column("clinic_id", ForeignKey("clinic.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "payment_option_id",
        ForeignKey("payment_option.id", ondelete="CASCADE"),
        primary_key=True,
    ),
)


class Clinic(db.Model):
    """One listing in the directory."""

    __tablename__ = "clinic"
    __table_args__ = (
        CheckConstraint("kind IN ('in_person', 'telehealth', 'both')", name="kind"),
        CheckConstraint("status IN ('draft', 'pending', 'published', 'suspended')", name="status"),
        Index("ix_clinic_state_city", "state", "city"),
        Index("ix_clinic_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16), default="in_person")

    street: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="")
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(10), default="zip")
    # Telehealth reach: the 2-letter states a program is licensed to treat in.
    states_served: Mapped[list[str]] = mapped_column(JSON, default=list)

    phone: Mapped[str] = mapped_column(String(32), default="")
    website: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    hours: Mapped[str] = mapped_column(String(300), default="")
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)

    medical_director: Mapped[str] = mapped_column(String(32), default="other")
    integration_therapy: Mapped[bool] = mapped_column(Boolean, default=False)
    spravato_rems: Mapped[bool] = mapped_column(Boolean, default=False)
    accepting_new_patients: Mapped[bool] = mapped_column(Boolean, default=True)
    consultation_fee: Mapped[int | None] = mapped_column(Integer)
    free_consultation: Mapped[bool] = mapped_column(Boolean, default=False)

    status: Mapped[str] = mapped_column(String(16), default="draft")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    last_verified_at: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)

    __mapper_args__ = {"version_id_col": version}

    offerings: Mapped[list[Offering]] = relationship(
        back_populates="clinic",
        cascade="all, delete-orphan",
        order_by="Offering.sort_key",
    )
    conditions: Mapped[list[Condition]] = relationship(
        secondary=clinic_condition, order_by=Condition.sort_order
    )
    insurers: Mapped[list[Insurer]] = relationship(secondary=clinic_insurer, order_by=Insurer.name)
    payment_options: Mapped[list[PaymentOption]] = relationship(
        secondary=clinic_payment_option, order_by=PaymentOption.sort_order
    )

    @property
    def is_published(self) -> bool:
        return self.status == "published"

    @property
    def in_person(self) -> bool:
        return self.kind in ("in_person", "both")

    @property
    def telehealth(self) -> bool:
        return self.kind in ("telehealth", "both")

    @property
    def medical_director_label(self) -> str:
        return MEDICAL_DIRECTORS.get(self.medical_director, "Other physician")

    def is_stale(self, today: date | None = None) -> bool:
        """True when nobody confirmed the listing within STALE_AFTER_DAYS."""
        if self.last_verified_at is None:
            return True
        today = today or datetime.now(UTC).date()
        return (today - self.last_verified_at).days > STALE_AFTER_DAYS

    @property
    def has_published_price(self) -> bool:
        return any(o.price_min is not None for o in self.offerings)

    def __repr__(self) -> str:
        return f"<Clinic {self.slug}>"


class Offering(db.Model):
    """A modality a clinic offers, with its price per session in whole dollars."""

    __tablename__ = "offering"
    __table_args__ = (
        UniqueConstraint("clinic_id", "modality_id", name="uq_offering_clinic_modality"),
        CheckConstraint(
            "price_min IS NULL OR price_max IS NULL OR price_min <= price_max",
            name="price_order",
        ),
        CheckConstraint("price_min IS NULL OR price_min >= 0", name="price_min_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"))
    modality_id: Mapped[int] = mapped_column(ForeignKey("modality.id"))
    price_min: Mapped[int | None] = mapped_column(Integer)
    price_max: Mapped[int | None] = mapped_column(Integer)
    series_price: Mapped[int | None] = mapped_column(Integer)
    series_sessions: Mapped[int | None] = mapped_column(Integer)
    insurance_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str] = mapped_column(String(500), default="")
    sort_key: Mapped[int] = mapped_column(Integer, default=0)

    clinic: Mapped[Clinic] = relationship(back_populates="offerings")
    modality: Mapped[Modality] = relationship(lazy="joined")

    @property
    def price_label(self) -> str:
        """ "$450", "$400–$600", or a plain note when no price is published."""
        if self.price_min is None:
            return "Billed to insurance" if self.insurance_accepted else "Price not published"
        if self.price_max is None or self.price_max == self.price_min:
            return f"${self.price_min:,}"
        return f"${self.price_min:,}–${self.price_max:,}"
