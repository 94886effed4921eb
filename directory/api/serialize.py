"""Clinic records in the JSON shape of the search contract.

Which listing fields appear where is the field table's `api` column
(`models.listing_fields`): "summary" in every search result, "detail" only on a
clinic's own record. A summary is made from a result card (`listings.cards`), which
search results come as; a clinic's own record makes its card from the row, so the
two shapes cannot drift apart.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from flask import url_for

from ..listings.cards import Card, CardOffering, card_of
from ..listings.confirmations import section_dates
from ..listings.credentials import credential_statuses
from ..listings.vocabulary import vocabulary_names
from ..models import Clinic, Offering
from ..models.listing_fields import LISTING_FIELDS, OFFERING_FIELDS, ApiShape, ListingField


def _value(spec: ListingField, row: Any) -> Any:
    if spec.kind == "vocabulary":
        return [entry.code for entry in getattr(row, spec.attribute)]
    value = getattr(row, spec.name)
    if spec.kind == "codes":
        return list(value or [])
    return value.isoformat() if isinstance(value, date) else value


def _fields(row: Any, specs: tuple[ListingField, ...], shape: ApiShape) -> dict[str, Any]:
    return {spec.name: _value(spec, row) for spec in specs if spec.api == shape}


def _offering(offering: Offering | CardOffering, shape: ApiShape) -> dict[str, Any]:
    return _fields(offering, OFFERING_FIELDS, shape)


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _price_date(offering: Offering | CardOffering, today: date) -> dict[str, Any]:
    """When the price was last confirmed, and whether that is too long ago to trust."""
    return {
        "price_confirmed_on": _iso(offering.price_confirmed_on),
        "price_stale": offering.price_is_stale(today),
    }


def _credentials(clinic: Clinic, today: date) -> list[dict[str, Any]]:
    """Each stated credential with what the directory's check of it says today."""
    return [
        {
            "kind": item.credential.kind,
            "value": item.credential.subject,
            "label": item.credential.label,
            "status": item.status,
            "checked_on": _iso(item.check.checked_on) if item.check else None,
            "source": item.check.source if item.check else None,
            "source_label": item.source_label or None,
            "reference": item.check.reference if item.check else None,
            "due_on": _iso(item.due_on),
        }
        for item in credential_statuses(clinic, today)
    ]


def card_summary(card: Card, distance_miles: float | None = None) -> dict[str, Any]:
    """The contract's result shape: enough to list and map a clinic."""
    today = datetime.now(UTC).date()
    return {
        "id": card.id,
        "slug": card.slug,
        **_fields(card, LISTING_FIELDS, "summary"),
        "lat": card.lat,
        "lng": card.lng,
        "distance_miles": round(distance_miles, 2) if distance_miles is not None else None,
        "modalities": [
            {"code": o.modality.code, **_offering(o, "summary"), **_price_date(o, today)}
            for o in card.offerings
        ],
        "verified": card.last_verified_at is not None and not card.is_stale(today),
        **asdict(card.checks(today)),
        "demo": card.is_demo,
        "url": url_for("public.clinic", slug=card.slug, _external=True),
    }


def clinic_detail(clinic: Clinic) -> dict[str, Any]:
    """Every public field of a listing, with who checked what and when."""
    today = datetime.now(UTC).date()
    return {
        **card_summary(card_of(clinic, vocabulary_names())),
        **_fields(clinic, LISTING_FIELDS, "detail"),
        "geo_precision": clinic.geo_precision,
        "offerings": [
            {
                "modality": o.modality.code,
                "modality_name": o.modality.name,
                **_offering(o, "summary"),
                **_offering(o, "detail"),
                **_price_date(o, today),
                "price_confirmed_how": o.price_confirmed_how,
            }
            for o in clinic.offerings
        ],
        "confirmed": {name: _iso(day) for name, day in section_dates(clinic).items()},
        "credentials": _credentials(clinic, today),
        "updated_at": clinic.updated_at.isoformat() if clinic.updated_at else None,
    }
