"""One row of an imported list as a listing record, checked by the listing form's rules.

Cells are text as a person typed it. Each is read by its field's kind (a choice by
its code or its name, "$1,200" as 1200, "yes"/"no", lists separated by commas or
semicolons, conditions and insurers by code or name); then `records.validate_record`,
the rule every listing form and service applies, checks the whole record. Markup is
refused in every text: a list copied from web pages carries tags nobody should see.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from ..geo import US_STATES
from ..listings.records import RECORD_FIELDS, normalize_values, validate_record
from ..models.listing_fields import OFFERING_FIELDS, ListingField
from ..search.query import parse_amount
from .columns import TREATMENTS

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
_SPLIT = re.compile(r"\s*[;,|\n]\s*")
_YES = {"yes", "y", "true", "1", "x"}
_NO = {"no", "n", "false", "0"}
NO_MARKUP = "Plain text only: remove the HTML tags."


def _words(value: str) -> list[str]:
    return [part for part in _SPLIT.split(value.strip()) if part]


def _lookup(value: str, choices: dict[str, str]) -> str | None:
    """A code by itself or by its name, case aside ("TX", "Texas", "Texas (TX)")."""
    low = value.strip().lower()
    for code, label in choices.items():
        if low in (code.lower(), label.lower()):
            return code
    return None


def _yes_no(value: str) -> bool | None:
    low = value.strip().lower()
    return True if low in _YES else False if low in _NO else None


def _state_choices() -> dict[str, str]:
    return dict(US_STATES)


def parse_cell(
    spec: ListingField, raw: str, vocabularies: dict[str, dict[str, str]]
) -> tuple[Any, str | None]:
    """The value a cell means for this field, or the reason it means nothing."""
    if spec.kind in ("text", "long_text"):
        return raw, NO_MARKUP if _TAG.search(raw) else None
    if spec.kind == "choice":
        choices = _state_choices() if spec.name == "state" else dict(spec.choices)
        code = _lookup(raw, choices) or _lookup(raw, dict(spec.choices))
        return code, None if code else spec.message or "Choose one of the options."
    if spec.kind == "number":
        number = parse_amount(raw)
        return number, None if number is not None else "Enter a whole number, like 450."
    if spec.kind == "yes_no":
        answer = _yes_no(raw)
        return answer, None if answer is not None else "Write yes or no."
    if spec.kind == "codes":
        parts = [" ".join(p.split()) for p in _words(raw)]
        if spec.choices:  # a fixed list (states, languages): by code or name, sorted
            choices = _state_choices() if spec.name == "states_served" else dict(spec.choices)
            return sorted(
                {_lookup(p, choices) or _lookup(p, dict(spec.choices)) or p for p in parts}
            ), None
        return [p.upper() if spec.upper else p.lower() for p in parts], None
    if spec.kind == "vocabulary":
        known = vocabularies.get(spec.vocabulary, {})
        codes, unknown = [], []
        for part in _words(raw):
            code = _lookup(part, known)
            (codes if code else unknown).append(code or part)
        if unknown:
            return sorted(set(codes)), f"Unknown {spec.vocabulary}: {', '.join(unknown[:5])}."
        return sorted(set(codes)), None
    return raw, None


def _offerings(
    cells: dict[str, str],
    modalities: dict[str, str],
    base: list[dict[str, Any]],
    errors: dict[str, str],
) -> list[dict[str, Any]]:
    """`base`'s treatments, with those the row names (in "treatments" or by a price
    column) added or given the row's prices."""
    offerings = {o["modality"]: copy.deepcopy(o) for o in base}
    named: set[str] = set()
    for part in _words(cells.get(TREATMENTS, "")):
        code = _lookup(part, modalities)
        if code is None:
            errors[TREATMENTS] = f"Unknown treatment: {part}."
        else:
            named.add(code)
    for code in modalities:
        given = {
            key: cells.get(f"{code}{suffix}", "").strip()
            for key, suffix in (
                ("price_min", "_price"),
                ("price_max", "_price_max"),
                ("insurance_accepted", "_insurance"),
            )
        }
        if code not in named and not any(given.values()):
            continue
        offer = offerings.setdefault(
            code, {"modality": code, **{f.name: copy.copy(f.empty) for f in OFFERING_FIELDS}}
        )
        for key in ("price_min", "price_max"):
            if given[key]:
                offer[key] = parse_amount(given[key])
                if offer[key] is None:
                    errors[f"offerings.{code}.{key}"] = "Enter a price in whole dollars, like 450."
        if given["price_min"] and not given["price_max"]:
            offer["price_max"] = offer["price_min"]  # one price: as the listing form stores it
        if given["insurance_accepted"]:
            answer = _yes_no(given["insurance_accepted"])
            offer["insurance_accepted"] = bool(answer)
            if answer is None:
                errors[f"offerings.{code}.insurance_accepted"] = "Write yes or no."
    return [offerings[code] for code in sorted(offerings)]


def empty_record() -> dict[str, Any]:
    """A new listing's defaults, as the listing form starts them."""
    record: dict[str, Any] = {spec.name: copy.copy(spec.empty) for spec in RECORD_FIELDS}
    record["offerings"] = []
    return record


def row_record(
    cells: dict[str, str],
    vocabularies: dict[str, dict[str, str]],
    base: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """The record a row describes, over `base` (a listing it updates; a new listing's
    defaults without): a blank cell keeps the base's value. Every problem is returned
    by field, as the listing form would name it."""
    record = copy.deepcopy(base) if base is not None else empty_record()
    errors: dict[str, str] = {}
    for spec in RECORD_FIELDS:
        raw = cells.get(spec.name, "").strip()
        if not raw:
            continue
        value, problem = parse_cell(spec, raw, vocabularies)
        if problem:
            errors[spec.name] = problem
        else:
            record[spec.name] = value
    record["offerings"] = _offerings(
        cells, vocabularies.get("modality", {}), record["offerings"], errors
    )
    record = normalize_values(record)
    # The cell's own reason first: a field it could not read keeps its default, about
    # which the record's rules may say something less to the point.
    return record, {**validate_record(record, vocabularies), **errors}
