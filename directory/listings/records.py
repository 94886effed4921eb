"""A listing as plain data: read from a clinic, validated, compared and applied.

The same record shape serves the demo loader, clinic submissions (a revision's
payload), the editor's diff and the audit log, so there is one definition of
what a listing holds and one set of rules for what a valid listing is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from ..geo import US_STATES, get_gazetteer
from ..models import Clinic, Offering
from ..models.clinic import KINDS, MEDICAL_DIRECTORS

TEXT_LIMITS = {
    "name": 160,
    "description": 4000,
    "street": 200,
    "city": 100,
    "hours": 300,
    "website": 300,
    "email": 254,
    "phone": 32,
}
BOOLEAN_FIELDS = (
    "integration_therapy",
    "spravato_rems",
    "accepting_new_patients",
    "free_consultation",
)
SCALAR_FIELDS = (
    "name",
    "description",
    "kind",
    "street",
    "city",
    "state",
    "postal_code",
    "phone",
    "website",
    "email",
    "hours",
    "medical_director",
    "consultation_fee",
    *BOOLEAN_FIELDS,
)
LIST_FIELDS = ("states_served", "languages", "conditions", "insurers", "payment")
OFFERING_FIELDS = (
    "price_min",
    "price_max",
    "series_price",
    "series_sessions",
    "insurance_accepted",
    "notes",
)
LABELS = {
    "name": "Name",
    "description": "Description",
    "kind": "Kind of listing",
    "street": "Street address",
    "city": "City",
    "state": "State",
    "postal_code": "ZIP code",
    "phone": "Phone",
    "website": "Website",
    "email": "Email",
    "hours": "Hours",
    "medical_director": "Medical director",
    "consultation_fee": "Consultation fee",
    "integration_therapy": "Integration therapy",
    "spravato_rems": "Spravato REMS certified",
    "accepting_new_patients": "Accepting new patients",
    "free_consultation": "Free consultation",
    "states_served": "States served (telehealth)",
    "languages": "Languages",
    "conditions": "Conditions treated",
    "insurers": "Insurers",
    "payment": "Payment options",
    "offerings": "Treatments and prices",
}
MAX_PRICE = 100_000
_HTML = re.compile(r"<[^>]*>|<\s*/?\s*[a-zA-Z!]|&#?\w+;")
# Control characters (line breaks and tabs aside) are invisible on the page and NUL
# cannot be stored in PostgreSQL text at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PHONE = re.compile(r"^\+?1?[\s.-]?\(?([2-9]\d{2})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})$")
_ZIP = re.compile(r"^\d{5}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def clinic_record(clinic: Clinic) -> dict[str, Any]:
    """The editable state of a live listing, in canonical order."""
    record: dict[str, Any] = {name: getattr(clinic, name) for name in SCALAR_FIELDS}
    record["states_served"] = sorted(clinic.states_served or [])
    record["languages"] = list(clinic.languages or [])
    record["conditions"] = sorted(c.code for c in clinic.conditions)
    record["insurers"] = sorted(i.code for i in clinic.insurers)
    record["payment"] = sorted(p.code for p in clinic.payment_options)
    record["offerings"] = sorted(
        (
            {"modality": o.modality.code, **{name: getattr(o, name) for name in OFFERING_FIELDS}}
            for o in clinic.offerings
        ),
        key=lambda o: o["modality"],
    )
    return record


def _text_error(value: Any, limit: int, required: bool = False) -> str | None:
    if not isinstance(value, str):
        return "Enter text."
    if required and not value.strip():
        return "This field is required."
    if len(value) > limit:
        return f"Use at most {limit} characters (you entered {len(value)})."
    if _HTML.search(value):
        return "Remove HTML tags and entities: plain text only."
    if _CONTROL.search(value):
        return "Remove control characters (they do not show on the page)."
    return None


def _int_error(value: Any, low: int, high: int) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "Enter a whole number of dollars."
    if not low <= value <= high:
        return f"Enter a number from {low} to {high:,}."
    return None


def normalize_phone(value: str) -> str | None:
    """'512.555.0142' -> '(512) 555-0142'; None when it is not a US number."""
    match = _PHONE.match(value.strip())
    return f"({match[1]}) {match[2]}-{match[3]}" if match else None


def validate_record(record: dict[str, Any], vocabularies: dict[str, dict[str, str]]) -> dict:
    """Every problem of a proposed listing, keyed by field ("offerings.iv.price_min").

    Services call this on every payload, so a tampered form cannot store what the
    form itself would have refused.
    """
    errors: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        problem = _text_error(record.get(name, ""), limit, required=name == "name")
        if problem:
            errors[name] = problem
    if "name" not in errors and len(record["name"].strip()) < 2:
        errors["name"] = "Enter the clinic's name."
    kind = record.get("kind")
    if kind not in KINDS:
        errors["kind"] = "Choose in person, telehealth or both."
    in_person = kind in ("in_person", "both")
    if record.get("state") not in US_STATES:
        errors["state"] = "Choose a US state."
    postal = record.get("postal_code") or ""
    if not isinstance(postal, str) or (postal and not _ZIP.match(postal)):
        errors["postal_code"] = "Enter a 5-digit ZIP code."
    elif postal and get_gazetteer().zip_place(postal) is None:
        errors["postal_code"] = f"We do not know the ZIP code {postal}."
    elif in_person and not postal:
        errors["postal_code"] = "An in-person clinic needs a ZIP code."
    if in_person and "street" not in errors and not str(record.get("street", "")).strip():
        errors["street"] = "An in-person clinic needs a street address."
    if in_person and "city" not in errors and not str(record.get("city", "")).strip():
        errors["city"] = "An in-person clinic needs a city."
    phone = record.get("phone") or ""
    if "phone" not in errors and phone and normalize_phone(phone) is None:
        errors["phone"] = "Enter a US phone number, like (512) 555-0142."
    website = record.get("website") or ""
    if "website" not in errors and website:
        parts = urlsplit(website)
        if parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in website:
            errors["website"] = "Enter a full web address starting with https://."
    email = record.get("email") or ""
    if "email" not in errors and email and not _EMAIL.match(email):
        errors["email"] = "Enter an email address like name@clinic.com."
    if record.get("medical_director") not in MEDICAL_DIRECTORS:
        errors["medical_director"] = "Choose who directs the clinic medically."
    fee_problem = _int_error(record.get("consultation_fee"), 0, 10_000)
    if fee_problem:
        errors["consultation_fee"] = fee_problem
    for name in BOOLEAN_FIELDS:
        if not isinstance(record.get(name), bool):
            errors[name] = "Choose yes or no."

    served = record.get("states_served") or []
    unknown = [s for s in served if s not in US_STATES] if isinstance(served, list) else [served]
    if unknown:
        errors["states_served"] = f"Unknown state codes: {', '.join(map(str, unknown[:5]))}."
    elif kind in ("telehealth", "both") and not served:
        errors["states_served"] = "A telehealth program must list the states it serves."
    languages = record.get("languages") or []
    if not isinstance(languages, list) or not all(
        isinstance(x, str) and _LANGUAGE.match(x) for x in languages
    ):
        errors["languages"] = "Use two- or three-letter language codes, like en, es."
    for name, vocabulary in (
        ("conditions", "condition"),
        ("insurers", "insurer"),
        ("payment", "payment"),
    ):
        codes = record.get(name) or []
        known = vocabularies.get(vocabulary, {})
        bad = [c for c in codes if c not in known] if isinstance(codes, list) else [codes]
        if bad:
            errors[name] = f"Unknown {vocabulary} codes: {', '.join(map(str, bad[:5]))}."
    errors.update(_offering_errors(record.get("offerings"), vocabularies.get("modality", {})))
    return errors


def _offering_errors(offerings: Any, modalities: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not isinstance(offerings, list) or not offerings:
        return {"offerings": "List at least one treatment you offer."}
    seen: set[str] = set()
    for offering in offerings:
        code = offering.get("modality") if isinstance(offering, dict) else None
        if code not in modalities:
            errors["offerings"] = f"Unknown treatment code: {str(code)[:40]}."
            continue
        if code in seen:
            errors["offerings"] = f"{modalities[code]} is listed twice."
            continue
        seen.add(code)
        prefix = f"offerings.{code}."
        for name, high in (
            ("price_min", MAX_PRICE),
            ("price_max", MAX_PRICE),
            ("series_price", MAX_PRICE * 20),
            ("series_sessions", 52),
        ):
            problem = _int_error(offering.get(name), 1 if name == "series_sessions" else 0, high)
            if problem:
                errors[prefix + name] = problem
        low, high = offering.get("price_min"), offering.get("price_max")
        if prefix + "price_min" not in errors and prefix + "price_max" not in errors:
            if low is not None and high is not None and low > high:
                errors[prefix + "price_max"] = "The highest price must not be below the lowest."
            elif low is None and high is not None:
                errors[prefix + "price_min"] = "Enter the lowest price too."
        if not isinstance(offering.get("insurance_accepted"), bool):
            errors[prefix + "insurance_accepted"] = "Choose yes or no."
        problem = _text_error(offering.get("notes", ""), 500)
        if problem:
            errors[prefix + "notes"] = problem
    return errors


def apply_record(clinic: Clinic, record: dict[str, Any], vocab: dict[str, dict[str, Any]]) -> None:
    """Make a clinic match a (validated) record; `vocab` maps codes to vocabulary rows.

    Coordinates follow the ZIP code (precision "zip") unless they were geocoded
    more precisely for the same ZIP before.
    """
    old_postal = clinic.postal_code
    for name in SCALAR_FIELDS:
        setattr(clinic, name, record[name])
    if record["phone"]:
        clinic.phone = normalize_phone(record["phone"]) or record["phone"]
    clinic.states_served = sorted(set(record["states_served"]))
    clinic.languages = list(record["languages"])
    clinic.conditions = [vocab["condition"][c] for c in record["conditions"]]
    clinic.insurers = [vocab["insurer"][c] for c in record["insurers"]]
    clinic.payment_options = [vocab["payment"][c] for c in record["payment"]]
    if clinic.postal_code and (clinic.postal_code != old_postal or clinic.lat is None):
        place = get_gazetteer().zip_place(clinic.postal_code)
        if place is not None:
            clinic.lat, clinic.lng, clinic.geo_precision = place.lat, place.lng, "zip"
    existing = {o.modality.code: o for o in clinic.offerings}
    offerings: list[Offering] = []
    for offer in record["offerings"]:
        modality = vocab["modality"][offer["modality"]]
        offering = existing.get(offer["modality"]) or Offering(modality=modality)
        for name in OFFERING_FIELDS:
            value = offer.get(name)
            setattr(offering, name, "" if name == "notes" and value is None else value)
        if offering.price_min is not None and offering.price_max is None:
            offering.price_max = offering.price_min
        offering.sort_key = modality.sort_order
        offerings.append(offering)
    clinic.offerings = offerings


@dataclass(frozen=True)
class FieldChange:
    """One line of an editor's diff."""

    field: str
    label: str
    before: Any
    after: Any


def diff_records(before: dict[str, Any] | None, after: dict[str, Any]) -> list[FieldChange]:
    """Field-by-field differences; offerings compare per treatment and per price field."""
    before = before or {}
    changes: list[FieldChange] = []
    for name in (*SCALAR_FIELDS, *LIST_FIELDS):
        old, new = before.get(name), after.get(name)
        if name in LIST_FIELDS:
            old, new = sorted(old or []), sorted(new or [])
        if old != new:
            changes.append(FieldChange(name, LABELS.get(name, name), old, new))
    old_offers = {o["modality"]: o for o in before.get("offerings") or []}
    new_offers = {o["modality"]: o for o in after.get("offerings") or []}
    for code in sorted(old_offers.keys() | new_offers.keys()):
        old, new = old_offers.get(code), new_offers.get(code)
        if old is None or new is None:
            changes.append(
                FieldChange(f"offerings.{code}", f"Offers {code}", old is not None, new is not None)
            )
            if new is None:
                continue
        for name in OFFERING_FIELDS:
            old_value = old.get(name) if old else None
            if old_value != new.get(name):
                changes.append(
                    FieldChange(
                        f"offerings.{code}.{name}",
                        f"{code}: {name.replace('_', ' ')}",
                        old_value,
                        new.get(name),
                    )
                )
    return changes


# -- three-way: what an edit changes, what changed since, and the merge ------------------
# Keys are `diff_records` fields: a listing field ("phone"), whether a treatment is
# offered ("offerings.iv") or one of its values ("offerings.iv.price_min").
def changed_keys(before: dict[str, Any] | None, after: dict[str, Any]) -> list[str]:
    """The keys at which `after` differs from `before`, in diff order."""
    return [change.field for change in diff_records(before, after)]


def record_value(record: dict[str, Any], key: str) -> Any:
    """A record's value at a diff key (lists sorted, as `diff_records` compares them)."""
    if not key.startswith("offerings."):
        value = record.get(key)
        return sorted(value or []) if key in LIST_FIELDS else value
    _, code, *field = key.split(".", 2)
    offer = next((o for o in record.get("offerings") or [] if o.get("modality") == code), None)
    if not field:
        return offer is not None
    return offer.get(field[0]) if offer else None


def conflicting_keys(
    base: dict[str, Any], live: dict[str, Any], proposed: dict[str, Any]
) -> list[str]:
    """Keys the proposal changes (base -> proposed) that someone else changed since the
    base to a different value: the only changes applying it could silently undo.

    A field the proposal leaves alone may change freely meanwhile, and one changed
    to the very value proposed is no conflict either.
    """
    conflicts = []
    for key in changed_keys(base, proposed):
        now = record_value(live, key)
        if now != record_value(base, key) and now != record_value(proposed, key):
            conflicts.append(key)
    return conflicts


def merge_records(
    live: dict[str, Any], proposed: dict[str, Any], keys: Iterable[str]
) -> dict[str, Any]:
    """The live record with the proposal's values at `keys` (and only there).

    A treatment value whose treatment the live listing no longer offers brings the
    proposal's whole treatment back with it: there is nothing else to set it on.
    """
    merged = copy.deepcopy(live)
    offers = {o["modality"]: o for o in merged.get("offerings") or []}
    proposed_offers = {o["modality"]: o for o in proposed.get("offerings") or []}
    for key in keys:
        if not key.startswith("offerings."):
            merged[key] = copy.deepcopy(proposed.get(key))
            continue
        _, code, *field = key.split(".", 2)
        source = proposed_offers.get(code)
        if source is None:
            if not field:  # the proposal stops offering this treatment
                offers.pop(code, None)
        elif code not in offers:
            offers[code] = copy.deepcopy(source)
        elif field:
            offers[code][field[0]] = source.get(field[0])
    merged["offerings"] = sorted(offers.values(), key=lambda o: o["modality"])
    return merged
