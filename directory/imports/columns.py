"""The columns an import understands, the template's header, and guessing which column
of another layout is which.

A column is a listing field (`RECORD_FIELDS`, by its name or its label), one of
three per treatment (`<code>_price`, `<code>_price_max`, `<code>_insurance`),
"treatments" (the treatments offered, named), or "external_id" (the row's id in the
list it came from). Headers are matched without regard to case, spacing or
punctuation, and a few common spellings ("ZIP", "Address", "Telephone") are known.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..listings.records import RECORD_FIELDS

EXTERNAL_ID = "external_id"
TREATMENTS = "treatments"
# Other spellings of the commonest columns, as clinic lists from elsewhere write them.
ALIASES = {
    "id": EXTERNAL_ID,
    "external id": EXTERNAL_ID,
    "record id": EXTERNAL_ID,
    "clinic": "name",
    "clinic name": "name",
    "practice name": "name",
    "address": "street",
    "street": "street",
    "address line 1": "street",
    "zip": "postal_code",
    "zipcode": "postal_code",
    "zip code": "postal_code",
    "postal code": "postal_code",
    "telephone": "phone",
    "phone number": "phone",
    "tel": "phone",
    "url": "website",
    "web site": "website",
    "web": "website",
    "e mail": "email",
    "modalities": TREATMENTS,
    "services": TREATMENTS,
}


@dataclass(frozen=True)
class Column:
    key: str
    label: str


def _plain(header: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", header.lower()).split())


def columns(modalities: dict[str, str]) -> list[Column]:
    """Every column an import reads, in the template's order."""
    found = [Column(EXTERNAL_ID, "Id in your list")]
    found += [Column(spec.name, spec.label) for spec in RECORD_FIELDS]
    found.append(Column(TREATMENTS, "Treatments offered"))
    for code, name in modalities.items():
        found += [
            Column(f"{code}_price", f"{name}: lowest price per session"),
            Column(f"{code}_price_max", f"{name}: highest price per session"),
            Column(f"{code}_insurance", f"{name}: insurance accepted"),
        ]
    return found


def guess_mapping(headers: list[str], known: list[Column]) -> dict[int, str]:
    """{column position: key} for the headers we recognise (each key used once)."""
    by_plain: dict[str, str] = {}
    for column in known:
        by_plain.setdefault(_plain(column.key), column.key)
        by_plain.setdefault(_plain(column.label), column.key)
    for alias, key in ALIASES.items():
        by_plain.setdefault(alias, key)
    mapping: dict[int, str] = {}
    for position, header in enumerate(headers):
        key = by_plain.get(_plain(header))
        if key is not None and key not in mapping.values():
            mapping[position] = key
    return mapping


def mapping_problem(mapping: dict[int, str], known: list[Column]) -> str | None:
    """Why a column mapping cannot be used (None: it can)."""
    keys = [k for k in mapping.values() if k]
    valid = {c.key for c in known}
    if any(k not in valid for k in keys):
        return "Choose each column's meaning from the list."
    if len(keys) != len(set(keys)):
        return "Two columns are set to the same field: give each field one column."
    if "name" not in keys:
        return "One column must hold the clinic's name."
    return None
