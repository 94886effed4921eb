"""A clinic listing and its per-modality offerings.

One row per listing: an in-person clinic, a telehealth program, or both. What a
patient may see is decided by `status`; only `published` rows reach the search
index. `version` is SQLAlchemy's optimistic lock, counting every write of the row
(the admin's edit form checks it). Moderation does not compare versions: an edit
is stale only where a field it changes changed since its form was opened
(`Revision.base_record`), so a "still accurate" click never makes one stale.

The columns a person edits come from `listing_fields` (one table for the form,
validation, diff and API); the model declares only the rest: identity, place,
bookkeeping and the vocabulary relationships.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

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
from .listing_fields import (
    KINDS,
    LISTING_FIELDS,
    MEDICAL_DIRECTORS,
    OFFERING_FIELDS,
    STATUSES,
    ListingField,
)
from .taxonomy import Condition, Insurer, Modality, PaymentOption

if TYPE_CHECKING:
    from .credentials import CredentialCheck

__all__ = [
    "KINDS",
    "MEDICAL_DIRECTORS",
    "PRICE_CONFIRMATIONS",
    "STATUSES",
    "Clinic",
    "Offering",
]

STALE_AFTER_DAYS = 180
# How a price was last confirmed, as a patient reads it: "confirmed ... {label}".
PRICE_CONFIRMATIONS = {
    "clinic": "by the clinic",
    "editor_call": "by the directory, by phone",
    "website": "by the directory, on the clinic's website",
}


def utcnow() -> datetime:
    """Timezone-aware now, as a callable default (never evaluated at import)."""
    return datetime.now(UTC)


def stale_since(day: date | None, today: date | None = None) -> bool:
    """Whether a confirmation made on `day` is too old to trust (None: never made),
    for listings and prices alike: older than STALE_AFTER_DAYS."""
    if day is None:
        return True
    today = today or datetime.now(UTC).date()
    return (today - day).days > STALE_AFTER_DAYS


def price_label(price_min: int | None, price_max: int | None, insurance_accepted: bool) -> str:
    """ "$450", "$400–$600", or a plain note when no price is published."""
    if price_min is None:
        return "Billed to insurance" if insurance_accepted else "Price not published"
    if price_max is None or price_max == price_min:
        return f"${price_min:,}"
    return f"${price_min:,}–${price_max:,}"


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back the naive UTC times
    the app wrote, PostgreSQL aware ones (in the session's zone)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _column(spec: ListingField) -> Any:
    """The column behind a field of `listing_fields` (the migration makes the same)."""
    if spec.kind in ("number", "date"):
        return mapped_column(Integer if spec.kind == "number" else Date, nullable=True)
    if spec.kind == "codes":
        return mapped_column(JSON, nullable=False, default=list)
    if spec.kind == "text":
        column_type: Any = String(spec.width or spec.limit)
    elif spec.kind == "choice":
        column_type = String(spec.width or max(map(len, spec.choices)))
    else:
        column_type = Text if spec.kind == "long_text" else Boolean
    return mapped_column(column_type, nullable=False, default=spec.empty)


def _columns(name: str, fields: tuple[ListingField, ...]) -> type:
    """A declarative mixin with one column per stored field (vocabularies are tables)."""
    return type(name, (), {f.name: _column(f) for f in fields if f.kind != "vocabulary"})


def _one_of(column: str, codes: Any) -> CheckConstraint:
    allowed = ", ".join(f"'{code}'" for code in codes)
    return CheckConstraint(f"{column} IN ({allowed})", name=column)


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


class Clinic(_columns("ListingColumns", LISTING_FIELDS), db.Model):
    """One listing in the directory: the columns of `LISTING_FIELDS`, and these."""

    __tablename__ = "clinic"
    __table_args__ = (
        _one_of("kind", KINDS),
        _one_of("status", STATUSES),
        Index("ix_clinic_state_city", "state", "city"),
        Index("ix_clinic_status", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(160), unique=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    geo_precision: Mapped[str] = mapped_column(String(10), default="zip")
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    # Where an imported listing came from ("<source>:<its id there>"): a second import
    # of the same list updates these rows instead of adding new ones (listings.imports).
    external_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    # When each section was last confirmed (listings.confirmations); prices are per
    # offering. `last_verified_at` is the oldest of them.
    details_confirmed_on: Mapped[date | None] = mapped_column(Date)
    hours_confirmed_on: Mapped[date | None] = mapped_column(Date)
    insurance_confirmed_on: Mapped[date | None] = mapped_column(Date)

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
    # Editors' checks of what the listing states (models.credentials); written only
    # by listings.credentials, read by the pages, the API and the search documents.
    credential_checks: Mapped[list[CredentialCheck]] = relationship(
        viewonly=True, order_by="CredentialCheck.id"
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
        return stale_since(self.last_verified_at, today)

    @property
    def has_published_price(self) -> bool:
        return any(o.price_min is not None for o in self.offerings)

    def __repr__(self) -> str:
        return f"<Clinic {self.slug}>"


class Offering(_columns("OfferingColumns", OFFERING_FIELDS), db.Model):
    """A modality a clinic offers (the columns of `OFFERING_FIELDS`: prices in whole
    dollars)."""

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
    sort_key: Mapped[int] = mapped_column(Integer, default=0)
    # When and how the price was last confirmed (PRICE_CONFIRMATIONS; None: not recorded).
    price_confirmed_on: Mapped[date | None] = mapped_column(Date)
    price_confirmed_how: Mapped[str | None] = mapped_column(String(16))

    clinic: Mapped[Clinic] = relationship(back_populates="offerings")
    modality: Mapped[Modality] = relationship(lazy="joined")

    def price_is_stale(self, today: date | None = None) -> bool:
        """True when nobody confirmed this price within STALE_AFTER_DAYS."""
        return stale_since(self.price_confirmed_on, today)

    @property
    def price_label(self) -> str:
        """See `price_label`."""
        return price_label(self.price_min, self.price_max, self.insurance_accepted)
