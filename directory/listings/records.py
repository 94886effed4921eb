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
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from ..forms import CONTROL_CHARACTERS, CONTROL_MESSAGE
from ..geo import US_STATES, get_gazetteer
from ..models import Clinic, Offering
from ..models.listing_fields import (
    LABELS,
    LICENSE_TYPES,
    LIST_FIELDS,
    MAX_CREDENTIALS,
    MAX_PRICE,
    OFFERING_FIELDS,
    RECORD_FIELDS,
    SCALAR_FIELDS,
    ListingField,
)
from .npi import npi_problem

__all__ = ["LABELS", "LIST_FIELDS", "MAX_PRICE", "SCALAR_FIELDS"]

OFFERING_NAMES = tuple(f.name for f in OFFERING_FIELDS)
_HTML = re.compile(r"<[^>]*>|<\s*/?\s*[a-zA-Z!]|&#?\w+;")
_PHONE = re.compile(r"^\+?1?[\s.-]?\(?([2-9]\d{2})\)?[\s.-]?(\d{3})[\s.-]?(\d{4})$")
_ZIP = re.compile(r"^\d{5}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
# A state licence as a listing states it: "AZ MD 12345" (state, type, number).
_LICENSE = re.compile(r"^([A-Z]{2}) ([A-Z]{2,4}) ([A-Z0-9][A-Z0-9-]{0,19})$")


def clinic_record(clinic: Clinic) -> dict[str, Any]:
    """The editable state of a live listing, in canonical order."""
    record: dict[str, Any] = {}
    for spec in RECORD_FIELDS:
        if spec.kind == "vocabulary":
            record[spec.name] = sorted(row.code for row in getattr(clinic, spec.attribute))
        elif spec.kind == "codes":
            record[spec.name] = _codes(spec, getattr(clinic, spec.name))
        else:
            record[spec.name] = getattr(clinic, spec.name)
    record["offerings"] = sorted(
        (
            {"modality": o.modality.code, **{name: getattr(o, name) for name in OFFERING_NAMES}}
            for o in clinic.offerings
        ),
        key=lambda o: o["modality"],
    )
    return record


def _codes(spec: ListingField, codes: Iterable[str] | None) -> list[str]:
    """A list field's codes as stored: codes from a fixed list sorted and once each,
    free codes (languages) in the order given."""
    return sorted(set(codes or [])) if spec.choices else list(codes or [])


def _text_error(value: Any, limit: int | None, required: bool = False) -> str | None:
    if not isinstance(value, str):
        return "Enter text."
    if required and not value.strip():
        return "This field is required."
    if limit is not None and len(value) > limit:
        return f"Use at most {limit} characters (you entered {len(value)})."
    if _HTML.search(value):
        return "Remove HTML tags and entities: plain text only."
    if CONTROL_CHARACTERS.search(value):
        return CONTROL_MESSAGE
    return None


def _int_error(value: Any, low: int, high: int | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        return "Enter a whole number of dollars."
    if high is not None and not low <= value <= high:
        return f"Enter a number from {low} to {high:,}."
    return None


def field_error(
    spec: ListingField, value: Any, vocabularies: dict[str, dict[str, str]]
) -> str | None:
    """What is wrong with one value by the field's own kind and limits (None: nothing).

    Rules that involve other fields or outside data are `validate_record`'s.
    """
    if spec.kind in ("text", "long_text"):
        return _text_error(value, spec.limit, spec.required)
    if spec.kind == "choice":
        return None if value in spec.choices else spec.message or "Choose one of the options."
    if spec.kind == "number":
        return _int_error(value, spec.minimum, spec.limit)
    if spec.kind == "yes_no":
        return None if isinstance(value, bool) else spec.message or "Choose yes or no."
    if spec.kind == "date":
        is_day = isinstance(value, date) and not isinstance(value, datetime)
        return None if value is None or is_day else spec.message or "Enter a date."
    if spec.kind in ("codes", "vocabulary"):
        codes = value or []
        if spec.kind == "vocabulary":
            known: Any = vocabularies.get(spec.vocabulary, {})
            message = f"Unknown {spec.vocabulary} codes: {{codes}}."
        else:
            known, message = spec.choices, spec.message
        if not isinstance(codes, list):
            bad = [codes]
        elif known or spec.kind == "vocabulary":
            bad = [c for c in codes if c not in known]
        else:  # free codes: the pattern is the rule (see validate_record)
            bad = []
        if bad:
            return message.format(codes=", ".join(map(str, bad[:5])))
    return None


def normalize_phone(value: str) -> str | None:
    """'512.555.0142' -> '(512) 555-0142'; None when it is not a US number."""
    match = _PHONE.match(value.strip())
    return f"({match[1]}) {match[2]}-{match[3]}" if match else None


def normalize_values(values: dict[str, Any]) -> dict[str, Any]:
    """Values as they are stored: a US phone number in one spelling."""
    phone = values.get("phone")
    if isinstance(phone, str) and phone:
        values = {**values, "phone": normalize_phone(phone) or phone}
    return values


def validate_record(record: dict[str, Any], vocabularies: dict[str, dict[str, str]]) -> dict:
    """Every problem of a proposed listing, keyed by field ("offerings.iv.price_min").

    Services call this on every payload, so a tampered form cannot store what the
    form itself would have refused. Each field's own limits first, then the rules
    that tie fields together.
    """
    errors: dict[str, str] = {}
    for spec in RECORD_FIELDS:
        problem = field_error(spec, record.get(spec.name, spec.empty), vocabularies)
        if problem:
            errors[spec.name] = problem
    if "name" not in errors and len(record["name"].strip()) < 2:
        errors["name"] = "Enter the clinic's name."
    kind = record.get("kind")
    in_person = kind in ("in_person", "both")
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
    if "states_served" not in errors and kind in ("telehealth", "both"):
        if not record.get("states_served"):
            errors["states_served"] = "A telehealth program must list the states it serves."
    languages = record.get("languages") or []
    if "languages" not in errors and not all(
        isinstance(x, str) and _LANGUAGE.match(x) for x in languages
    ):
        errors["languages"] = "Use two- or three-letter language codes, like en, es."
    errors.update(_credential_errors(record, errors))
    errors.update(_offering_errors(record.get("offerings"), vocabularies.get("modality", {})))
    return errors


def license_problem(code: str) -> str | None:
    """What is wrong with one stated licence ("AZ MD 12345"), or None."""
    match = _LICENSE.match(code)
    if match is None:
        return f"Write each licence as state, type and number, like AZ MD 12345 (not {code[:40]})."
    state, kind, _ = match.groups()
    if state not in US_STATES:
        return f"{state} is not a US state code (in {code})."
    if kind not in LICENSE_TYPES:
        return f"{kind} is not a licence type we know (in {code}): use one of the types listed."
    return None


def _credential_errors(record: dict[str, Any], found: dict[str, str]) -> dict[str, str]:
    """The NPIs' check digits and the licences' shape (a form cannot hold a wrong one)."""
    errors: dict[str, str] = {}
    npi = record.get("npi") or ""
    if "npi" not in found and npi:
        problem = npi_problem(npi)
        if problem:
            errors["npi"] = problem
    for name, problem_of in (("clinician_npis", npi_problem), ("licenses", license_problem)):
        values = record.get(name) or []
        if name in found or not isinstance(values, list):
            continue
        if len(values) > MAX_CREDENTIALS:
            errors[name] = f"List at most {MAX_CREDENTIALS} (you listed {len(values)})."
            continue
        problems = [p for p in (problem_of(str(v)) for v in values) if p]
        if problems:
            errors[name] = " ".join(problems[:3])
        elif len(set(values)) < len(values):
            errors[name] = "Each one once, please: one is listed twice."
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
        for spec in OFFERING_FIELDS:
            problem = field_error(spec, offering.get(spec.name, spec.empty), {})
            if problem:
                errors[prefix + spec.name] = problem
        low, high = offering.get("price_min"), offering.get("price_max")
        if prefix + "price_min" not in errors and prefix + "price_max" not in errors:
            if low is not None and high is not None and low > high:
                errors[prefix + "price_max"] = "The highest price must not be below the lowest."
            elif low is None and high is not None:
                errors[prefix + "price_min"] = "Enter the lowest price too."
    return errors


def apply_record(clinic: Clinic, record: dict[str, Any], vocab: dict[str, dict[str, Any]]) -> None:
    """Make a clinic match a (validated) record; `vocab` maps codes to vocabulary rows.

    Coordinates follow the ZIP code (precision "zip") unless they were geocoded
    more precisely for the same ZIP before.
    """
    old_postal = clinic.postal_code
    record = normalize_values(record)
    for spec in RECORD_FIELDS:
        value = record[spec.name]
        if spec.kind == "vocabulary":
            setattr(clinic, spec.attribute, [vocab[spec.vocabulary][c] for c in value])
        elif spec.kind == "codes":
            setattr(clinic, spec.name, _codes(spec, value))
        else:
            setattr(clinic, spec.name, value)
    if clinic.postal_code and (clinic.postal_code != old_postal or clinic.lat is None):
        place = get_gazetteer().zip_place(clinic.postal_code)
        if place is not None:
            clinic.lat, clinic.lng, clinic.geo_precision = place.lat, place.lng, "zip"
    existing = {o.modality.code: o for o in clinic.offerings}
    offerings: list[Offering] = []
    for offer in record["offerings"]:
        modality = vocab["modality"][offer["modality"]]
        offering = existing.get(offer["modality"]) or Offering(modality=modality)
        for spec in OFFERING_FIELDS:
            value = offer.get(spec.name)
            setattr(offering, spec.name, spec.empty if value is None else value)
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
    for spec in RECORD_FIELDS:
        name = spec.name
        old, new = before.get(name), after.get(name)
        if spec.is_list:
            old, new = sorted(old or []), sorted(new or [])
        if old != new:
            changes.append(FieldChange(name, spec.label, old, new))
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
        for spec in OFFERING_FIELDS:
            old_value = old.get(spec.name) if old else None
            if old_value != new.get(spec.name):
                changes.append(
                    FieldChange(
                        f"offerings.{code}.{spec.name}",
                        f"{code}: {spec.phrase}",
                        old_value,
                        new.get(spec.name),
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
