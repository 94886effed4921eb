"""Clinic records in the JSON shape of the search contract."""

from __future__ import annotations

from typing import Any

from flask import url_for

from ..models import Clinic


def clinic_summary(clinic: Clinic, distance_miles: float | None = None) -> dict[str, Any]:
    """The contract's result shape: enough to list and map a clinic."""
    return {
        "id": clinic.id,
        "slug": clinic.slug,
        "name": clinic.name,
        "kind": clinic.kind,
        "city": clinic.city,
        "state": clinic.state,
        "postal_code": clinic.postal_code,
        "lat": clinic.lat,
        "lng": clinic.lng,
        "distance_miles": round(distance_miles, 2) if distance_miles is not None else None,
        "modalities": [
            {
                "code": o.modality.code,
                "price_min": o.price_min,
                "price_max": o.price_max,
                "insurance_accepted": o.insurance_accepted,
            }
            for o in clinic.offerings
        ],
        "conditions": [c.code for c in clinic.conditions],
        "insurers": [i.code for i in clinic.insurers],
        "payment": [p.code for p in clinic.payment_options],
        "states_served": list(clinic.states_served or []),
        "verified": clinic.last_verified_at is not None and not clinic.is_stale(),
        "last_verified_at": clinic.last_verified_at.isoformat()
        if clinic.last_verified_at
        else None,
        "demo": clinic.is_demo,
        "url": url_for("public.clinic", slug=clinic.slug, _external=True),
    }


def clinic_detail(clinic: Clinic) -> dict[str, Any]:
    """Every public field of a listing."""
    record = clinic_summary(clinic)
    record.update(
        {
            "description": clinic.description,
            "street": clinic.street,
            "geo_precision": clinic.geo_precision,
            "phone": clinic.phone,
            "website": clinic.website,
            "email": clinic.email,
            "hours": clinic.hours,
            "languages": list(clinic.languages or []),
            "medical_director": clinic.medical_director,
            "integration_therapy": clinic.integration_therapy,
            "spravato_rems": clinic.spravato_rems,
            "accepting_new_patients": clinic.accepting_new_patients,
            "consultation_fee": clinic.consultation_fee,
            "free_consultation": clinic.free_consultation,
            "offerings": [
                {
                    "modality": o.modality.code,
                    "modality_name": o.modality.name,
                    "price_min": o.price_min,
                    "price_max": o.price_max,
                    "series_price": o.series_price,
                    "series_sessions": o.series_sessions,
                    "insurance_accepted": o.insurance_accepted,
                    "notes": o.notes,
                }
                for o in clinic.offerings
            ],
            "updated_at": clinic.updated_at.isoformat() if clinic.updated_at else None,
        }
    )
    return record
