"""Read-only queries the public pages and the API share: what patients may see."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import raiseload, selectinload

from ..extensions import db
from ..models import Clinic, Offering

PUBLISHED = Clinic.status == "published"


def _with_details(conditions: bool = True):
    """Eager loads for what a page shows (a listing's card, `cards.card_text`, reads
    all of them). The compare page shows no conditions, and loading them is the
    costliest relationship (about 3 ms a page of 40), so they can be left out;
    `raiseload` then makes any template that reads them fail loudly in tests instead
    of quietly issuing one query per clinic. The editors' checks give a card its
    badge (`stated.checked_ordinal`): one query a page."""
    return (
        selectinload(Clinic.offerings).joinedload(Offering.modality),
        selectinload(Clinic.conditions) if conditions else raiseload(Clinic.conditions),
        selectinload(Clinic.insurers),
        selectinload(Clinic.payment_options),
        selectinload(Clinic.credential_checks),
    )


def published_clinic(slug: str) -> Clinic | None:
    """The published clinic with this slug, or None (drafts and suspended ones are 404s)."""
    return db.session.scalar(
        select(Clinic)
        .where(Clinic.slug == slug, PUBLISHED)
        .options(*_with_details(), selectinload(Clinic.credential_checks))
    )


def clinics_by_ids(ids: Iterable[int], conditions: bool = True) -> dict[int, Clinic]:
    """Published clinics by id, with details loaded in a few queries."""
    wanted = list(ids)
    if not wanted:
        return {}
    rows = db.session.scalars(
        select(Clinic).where(Clinic.id.in_(wanted), PUBLISHED).options(*_with_details(conditions))
    )
    return {clinic.id: clinic for clinic in rows}


def states_with_counts() -> list[tuple[str, int]]:
    """States that have published in-person clinics, with how many."""
    rows = db.session.execute(
        select(Clinic.state, func.count(Clinic.id))
        .where(PUBLISHED, Clinic.kind != "telehealth", Clinic.state != "")
        .group_by(Clinic.state)
        .order_by(Clinic.state)
    )
    return [(state, count) for state, count in rows]


def cities_with_counts(state: str) -> list[tuple[str, int]]:
    rows = db.session.execute(
        select(Clinic.city, func.count(Clinic.id))
        .where(PUBLISHED, Clinic.state == state, Clinic.kind != "telehealth")
        .group_by(Clinic.city)
        .order_by(Clinic.city)
    )
    return [(city, count) for city, count in rows]


def clinics_in_city(state: str, city: str) -> list[Clinic]:
    return list(
        db.session.scalars(
            select(Clinic)
            .where(
                PUBLISHED,
                Clinic.state == state,
                func.lower(Clinic.city) == city.lower(),
                Clinic.kind != "telehealth",
            )
            .options(*_with_details())
            .order_by(Clinic.name, Clinic.id)
        )
    )


def telehealth_serving(state: str) -> list[Clinic]:
    """Published telehealth programs licensed in a state (JSON list filtered in Python:
    portable across SQLite and PostgreSQL, and the list is short)."""
    rows = db.session.scalars(
        select(Clinic)
        .where(PUBLISHED, Clinic.kind.in_(("telehealth", "both")))
        .options(*_with_details())
        .order_by(Clinic.name, Clinic.id)
    )
    return [c for c in rows if state in (c.states_served or []) and c.kind == "telehealth"]
