"""schema.org `MedicalClinic` JSON-LD for a clinic page."""

from __future__ import annotations

import json
from typing import Any

from flask import url_for
from markupsafe import Markup

from ..models import Clinic


def clinic_json_ld(clinic: Clinic) -> Markup:
    """JSON-LD safe to place inside <script type="application/ld+json">."""
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "MedicalClinic",
        "name": clinic.name,
        "description": clinic.description,
        "url": url_for("public.clinic", slug=clinic.slug, _external=True),
        "medicalSpecialty": ["Psychiatric", "Anesthesia"],
        "availableService": [
            {"@type": "MedicalTherapy", "name": o.modality.name} for o in clinic.offerings
        ],
    }
    if clinic.phone:
        data["telephone"] = clinic.phone
    if clinic.website:
        data["sameAs"] = clinic.website
    if clinic.in_person and clinic.street:
        data["address"] = {
            "@type": "PostalAddress",
            "streetAddress": clinic.street,
            "addressLocality": clinic.city,
            "addressRegion": clinic.state,
            "postalCode": clinic.postal_code,
            "addressCountry": "US",
        }
    if clinic.lat is not None and clinic.in_person:
        data["geo"] = {"@type": "GeoCoordinates", "latitude": clinic.lat, "longitude": clinic.lng}
    priced = [o for o in clinic.offerings if o.price_min is not None]
    if priced:
        low = min(o.price_min for o in priced)
        high = max(o.price_max or o.price_min for o in priced)
        data["priceRange"] = f"${low}–${high}" if high != low else f"${low}"
    data["isAcceptingNewPatients"] = clinic.accepting_new_patients
    payment = [p.name for p in clinic.payment_options] + [i.name for i in clinic.insurers]
    if payment:
        data["paymentAccepted"] = ", ".join(payment)
    # "</" cannot end the script element early once escaped.
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return Markup(text)
