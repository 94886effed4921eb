"""Live counts of published listings for the condition and paying guides.

A guide saying "12 clinics list PTSD, 9 of them offer IV infusions" helps a patient
judge what is available, and stays true as listings change. Only published clinics
count, as on every public page.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..extensions import db
from ..models import Clinic, Condition, Modality, Offering, PaymentOption
from ..models.clinic import clinic_condition, clinic_payment_option

PUBLISHED = Clinic.status == "published"


@dataclass(frozen=True)
class ConditionListings:
    """How many published clinics list a condition, in all and per modality offered.

    A clinic offering several modalities counts once under each; one listing the
    condition with no offerings yet counts only in `total`.
    """

    total: int
    by_modality: dict[str, int] = field(default_factory=dict)


def condition_listings(condition_code: str) -> ConditionListings:
    """Published clinics listing `condition_code`, and how many of them offer each modality."""
    listing_condition = (
        select(clinic_condition.c.clinic_id)
        .join(Condition, Condition.id == clinic_condition.c.condition_id)
        .where(Condition.code == condition_code)
    )
    total = db.session.scalar(
        select(func.count(Clinic.id)).where(PUBLISHED, Clinic.id.in_(listing_condition))
    )
    rows = db.session.execute(
        select(Modality.code, func.count(func.distinct(Offering.clinic_id)))
        .join(Offering, Offering.modality_id == Modality.id)
        .join(Clinic, Clinic.id == Offering.clinic_id)
        .where(PUBLISHED, Clinic.id.in_(listing_condition))
        .group_by(Modality.code)
    )
    return ConditionListings(total=total or 0, by_modality={code: n for code, n in rows})


def payment_option_counts() -> dict[str, int]:
    """{payment option code: published clinics accepting it}; options nobody takes are absent."""
    rows = db.session.execute(
        select(PaymentOption.code, func.count(Clinic.id))
        .join(
            clinic_payment_option,
            clinic_payment_option.c.payment_option_id == PaymentOption.id,
        )
        .join(Clinic, Clinic.id == clinic_payment_option.c.clinic_id)
        .where(PUBLISHED)
        .group_by(PaymentOption.code)
    )
    return {code: n for code, n in rows}
