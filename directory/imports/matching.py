"""Is an imported row a listing the directory already has?

First by its external id (a listing imported from the same list before). Otherwise
by likeness, with rapidfuzz: a listing with the same phone number whose name is
alike, or one in the same ZIP code whose name is very alike and whose street is
alike (or unknown). Rows earlier in the same file count too, so a list that holds
a clinic twice imports it once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import select

from ..extensions import db
from ..models import Clinic

# Name likeness (0-100, token_set_ratio) that makes a duplicate with the same phone,
# or with the same ZIP code and an alike street (STREET_ALIKE).
NAME_WITH_PHONE = 80
NAME_WITH_ZIP = 90
STREET_ALIKE = 85


def digits(phone: str) -> str:
    """A US phone number's ten digits ("" when it has not ten)."""
    found = re.sub(r"\D", "", phone or "")
    found = found[1:] if len(found) == 11 and found.startswith("1") else found
    return found if len(found) == 10 else ""


def derived_id(source: str, record: dict[str, Any]) -> str:
    """An external id for a row of a list without ids: stable for the same clinic."""
    key = "|".join(
        [
            " ".join(str(record.get("name", "")).lower().split()),
            str(record.get("postal_code", "")),
            digits(str(record.get("phone", ""))),
        ]
    )
    return f"{source}:{hashlib.sha1(key.encode()).hexdigest()[:16]}"


@dataclass
class Known:
    """A listing (or an earlier row of the file) as likeness compares it."""

    name: str
    street: str
    postal_code: str
    phone: str
    clinic_id: int | None = None  # None: an earlier row of the file
    line: int | None = None


@dataclass
class Likeness:
    """Everything an import compares its rows with."""

    by_external_id: dict[str, int] = field(default_factory=dict)
    by_phone: dict[str, list[Known]] = field(default_factory=dict)
    by_zip: dict[str, list[Known]] = field(default_factory=dict)

    @classmethod
    def of_directory(cls) -> Likeness:
        likeness = cls()
        rows = db.session.execute(
            select(
                Clinic.id,
                Clinic.name,
                Clinic.street,
                Clinic.postal_code,
                Clinic.phone,
                Clinic.external_id,
            )
        )
        for id_, name, street, postal, phone, external in rows:
            if external:
                likeness.by_external_id[external] = id_
            likeness.add(Known(name, street or "", postal or "", digits(phone or ""), id_))
        return likeness

    def add(self, known: Known) -> None:
        if known.phone:
            self.by_phone.setdefault(known.phone, []).append(known)
        if known.postal_code:
            self.by_zip.setdefault(known.postal_code, []).append(known)

    def alike(self, record: dict[str, Any]) -> tuple[Known, str] | None:
        """The listing or earlier row this record duplicates, and why (None: none)."""
        name = str(record.get("name", ""))
        phone = digits(str(record.get("phone", "")))
        for known in self.by_phone.get(phone, []) if phone else []:
            score = fuzz.token_set_ratio(name.lower(), known.name.lower())
            if score >= NAME_WITH_PHONE:
                return known, f"same phone number, names {score:.0f}% alike"
        street = str(record.get("street", "")).lower()
        for known in self.by_zip.get(str(record.get("postal_code", "")), []):
            score = fuzz.token_set_ratio(name.lower(), known.name.lower())
            if score < NAME_WITH_ZIP:
                continue
            if not street or not known.street:
                return known, f"same ZIP code, names {score:.0f}% alike"
            place = fuzz.token_set_ratio(street, known.street.lower())
            if place >= STREET_ALIKE:
                return known, f"same ZIP code, names {score:.0f}% and streets {place:.0f}% alike"
        return None
