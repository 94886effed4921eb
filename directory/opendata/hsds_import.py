"""Load an HSDS 3.0 package made by `hsds` into an empty site (`flask import --format hsds`).

The package's JSON files are read (the CSV files say the same for spreadsheets),
every record is checked against its HSDS schema, and each organization becomes a
published listing through the same field table the export used: its native HSDS
columns, then its attributes. Each listing must pass `validate_record`, the rule
every listing form obeys. Vocabulary codes the site lacks are added from the
package's taxonomy terms. Everything goes in one transaction, then the search
index is rebuilt; a failure leaves the site as it was.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..listings.records import validate_record
from ..listings.vocabulary import vocabulary_names
from ..models import VOCABULARIES, Clinic, Offering
from ..models.listing_fields import OFFERING_FIELDS, RECORD_FIELDS, ListingField
from ..search import sync
from ..slugs import MAX_LENGTH, SLUG_PATTERN, slugify, unique_slug
from . import hsds
from .hsds import FIELD_TAXONOMY, HsdsError

_SLUG = re.compile(SLUG_PATTERN)
Index = dict[str, list[dict[str, Any]]]


def import_package(path: Path, reindex: bool = True) -> dict[str, int]:
    """Load the package at `path` into this site, which must have no listings yet."""
    existing = db.session.scalar(select(func.count(Clinic.id))) or 0
    if existing:
        raise HsdsError(
            f"This site already has {existing:,} listing{'s' if existing != 1 else ''}: "
            "an HSDS package is imported only into a site without listings."
        )
    tables = read_package(path)
    found = hsds.problems(tables)
    if found:
        raise HsdsError(
            f"{path} does not match HSDS 3.0, nothing was imported: " + "; ".join(found)
        )
    try:
        clinics = _Reader(tables).clinics()
        db.session.add_all(clinics)
        db.session.commit()
    except (HsdsError, SQLAlchemyError, KeyError, TypeError, ValueError) as exc:
        db.session.rollback()
        if isinstance(exc, HsdsError):
            raise
        detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise HsdsError(f"The import failed and nothing was saved: {detail}") from exc
    if reindex:
        sync.rebuild()
    return {"listings": len(clinics), "treatments": sum(len(c.offerings) for c in clinics)}


def read_package(path: Path) -> dict[str, list[dict[str, Any]]]:
    """Each table's records, from the JSON resources datapackage.json names."""
    try:
        with zipfile.ZipFile(path) as archive:
            description = json.loads(archive.read("datapackage.json"))
            tables: dict[str, list[dict[str, Any]]] = {t: [] for t in hsds.TABLES}
            for resource in description.get("resources", []):
                table = str(resource.get("name", "")).removesuffix("-json")
                if resource.get("format") == "json" and table in tables:
                    tables[table] = json.loads(archive.read(resource["path"]))
    except (OSError, KeyError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HsdsError(f"{path} is not an HSDS data package ({exc}).") from exc
    if not all(isinstance(rows, list) for rows in tables.values()):
        raise HsdsError(f"{path}: every JSON table must be a list of records.")
    return tables


def _by(records: list[dict[str, Any]], key: str) -> Index:
    index: Index = defaultdict(list)
    for record in records:
        if key in record:
            index[record[key]].append(record)
    return index


class _Reader:
    """Turns the records of one package back into listings."""

    def __init__(self, tables: dict[str, list[dict[str, Any]]]) -> None:
        self.tables = tables
        self.terms = {t["id"]: t for t in tables["taxonomy_term"]}
        self.attributes = _by(tables["attribute"], "link_id")
        by_org = {t: _by(tables[t], "organization_id") for t in ("service", "location", "phone")}
        self.services, self.locations, self.phones = (
            by_org["service"],
            by_org["location"],
            by_org["phone"],
        )
        self.contacts = _by(tables["contact"], "organization_id")
        self.identifiers = _by(tables["organization_identifier"], "organization_id")
        self.addresses = _by(tables["address"], "location_id")
        self.schedules = _by(tables["schedule"], "location_id")
        self.service_schedules = _by(tables["schedule"], "service_id")
        self.areas = _by(tables["service_area"], "service_id")
        self.languages = _by(tables["language"], "service_id")
        self.costs = _by(tables["cost_option"], "service_id")

    def values(self, link_id: str) -> dict[tuple[str, str], list[str]]:
        """A record's attributes: (taxonomy, term code) -> values (vocabularies: codes)."""
        found: dict[tuple[str, str], list[str]] = defaultdict(list)
        for attribute in self.attributes.get(link_id, []):
            term = self.terms.get(attribute["taxonomy_term_id"])
            if term is None:
                raise HsdsError(f"Attribute {attribute['id']} names an unknown taxonomy term.")
            if term.get("taxonomy") == FIELD_TAXONOMY:
                found[(FIELD_TAXONOMY, term["code"])].append(attribute.get("value", ""))
            else:
                found[(term.get("taxonomy", ""), "")].append(term["code"])
        return found

    def vocabulary(self) -> dict[str, dict[str, Any]]:
        """The site's vocabulary rows by code, with the package's missing codes added."""
        vocab = {
            name: {row.code: row for row in db.session.scalars(select(model))}
            for name, model in VOCABULARIES.items()
        }
        for term in self.tables["taxonomy_term"]:
            name = term.get("taxonomy")
            if name in vocab and term["code"] not in vocab[name]:
                row = VOCABULARIES[name](code=term["code"], name=term["name"])
                if name == "modality":
                    row.description = term.get("description", "")  # type: ignore[attr-defined]
                db.session.add(row)
                vocab[name][term["code"]] = row
        db.session.flush()
        return vocab

    def clinics(self) -> list[Clinic]:
        vocab = self.vocabulary()
        names = vocabulary_names()
        taken: set[str] = set()
        clinics = []
        for org in self.tables["organization"]:
            record, place, offerings = self.listing(org)
            errors = validate_record(record | {"offerings": offerings}, names)
            if errors:
                field, problem = next(iter(errors.items()))
                raise HsdsError(f"Organization {org['name']!r}: {field}: {problem}")
            place["slug"] = self.slug(org, record, taken)
            clinics.append(self.clinic(record, place, offerings, vocab))
        return clinics

    def listing(self, org: dict[str, Any]) -> tuple[dict, dict, list[dict]]:
        """The listing form's record, the place and bookkeeping values, the treatments."""
        values = self.values(org["id"])
        record: dict[str, Any] = {}
        for spec in hsds.attribute_fields():
            key = (
                (spec.vocabulary, "") if spec.kind == "vocabulary" else (FIELD_TAXONOMY, spec.name)
            )
            record[spec.name] = hsds.decode(spec, values.get(key, []))
        place = {extra: _extra(extra, values) for extra in hsds.CLINIC_EXTRAS}
        services = self.services.get(org["id"], [])
        first = services[0] if services else {}
        location = _first(self.locations, org["id"])
        address = _first(self.addresses, location["id"]) if location else {}
        phone = _first(self.phones, org["id"])
        director = _first(self.contacts, org["id"], title=hsds.MEDICAL_DIRECTOR_TITLE)
        npi = _first(self.identifiers, org["id"], identifier_scheme=hsds.NPI_SCHEME)
        schedules = self.schedules.get(location["id"], []) if location else []
        schedules = schedules or self.service_schedules.get(first.get("id", ""), [])
        record |= {
            "name": org["name"],
            "description": org.get("description", ""),
            "website": org.get("website", ""),
            "email": org.get("email", ""),
            "phone": phone.get("number", ""),
            "street": address.get("address_1", ""),
            "city": address.get("city", ""),
            "state": address.get("state_province", ""),
            "postal_code": address.get("postal_code", ""),
            "states_served": [
                a["extent"].removeprefix("US-") for a in self.areas.get(first.get("id", ""), [])
            ],
            "hours": schedules[0].get("description", "") if schedules else "",
            "languages": [lang["code"] for lang in self.languages.get(first.get("id", ""), [])],
            "npi": npi.get("identifier", ""),
            "medical_director_name": director.get("name", ""),
        }
        record = {spec.name: record[spec.name] for spec in RECORD_FIELDS}
        assured = first.get("assured_date")
        place |= {
            "last_verified_at": date.fromisoformat(assured) if assured else None,
            "lat": location.get("latitude") if location else None,
            "lng": location.get("longitude") if location else None,
        }
        if location:
            precision = self.values(location["id"]).get((FIELD_TAXONOMY, "geo_precision"), [])
            place["geo_precision"] = precision[0] if precision else "zip"
        offerings = [self.offering(s) for s in services]
        return record, place, [o for o in offerings if o is not None]

    def offering(self, service: dict[str, Any]) -> dict[str, Any] | None:
        """A treatment from its service (None: the service names no modality)."""
        values = self.values(service["id"])
        modality = values.get(("modality", ""), [])
        if not modality:
            return None
        offer: dict[str, Any] = {"modality": modality[0], "notes": service.get("description", "")}
        for spec in hsds.offering_attribute_fields():
            offer[spec.name] = hsds.decode(spec, values.get((FIELD_TAXONOMY, spec.name), []))
        for extra in hsds.OFFERING_EXTRAS:
            offer[extra] = _extra(extra, values)
        by_label = {spec.label: spec for spec in hsds.price_fields()}
        for spec in hsds.price_fields():
            offer[spec.name] = None
        for cost in self.costs.get(service["id"], []):
            spec = by_label.get(cost.get("option", ""))
            if spec is not None and "amount" in cost:
                offer[spec.name] = _whole_dollars(cost["amount"], cost.get("currency", "USD"))
        return offer

    @staticmethod
    def slug(org: dict[str, Any], record: dict[str, Any], taken: set[str]) -> str:
        """The slug of the listing's page address, or a new one from its name and city."""
        slug = urlsplit(org.get("uri", "")).path.rstrip("/").rpartition("/")[2]
        if not _SLUG.fullmatch(slug) or len(slug) > MAX_LENGTH or slug in taken:
            base = slugify(f"{record['name']} {record['city']}", MAX_LENGTH - 4) or "listing"
            slug = unique_slug(base, taken.__contains__)
        taken.add(slug)
        return slug

    @staticmethod
    def clinic(
        record: dict[str, Any],
        place: dict[str, Any],
        offerings: list[dict[str, Any]],
        vocab: dict[str, dict[str, Any]],
    ) -> Clinic:
        clinic = Clinic(status="published", **place)
        for spec in RECORD_FIELDS:
            value = record[spec.name]
            if spec.kind == "vocabulary":
                value = [vocab[spec.vocabulary][code] for code in value]
                setattr(clinic, spec.attribute, value)
            else:
                setattr(clinic, spec.name, value)
        for position, offer in enumerate(offerings):
            modality = vocab["modality"][offer["modality"]]
            clinic.offerings.append(
                Offering(
                    modality=modality,
                    sort_key=modality.sort_order * 10 + position,
                    **{k: offer[k] for k in hsds.OFFERING_EXTRAS},
                    **{f.name: _stored(f, offer[f.name]) for f in OFFERING_FIELDS},
                )
            )
        return clinic


def _first(index: Index, key: str, **match: str) -> dict[str, Any]:
    """The first record under `key` whose columns have the `match` values, or {}."""
    records = index.get(key, [])
    return next((r for r in records if all(r.get(k) == v for k, v in match.items())), {})


def _extra(name: str, values: dict[tuple[str, str], list[str]]) -> Any:
    """A value outside the field table: None when absent (not recorded), but yes/no."""
    spec = hsds.extra_field(name)
    found = values.get((FIELD_TAXONOMY, name), [])
    return hsds.decode(spec, found) if found or spec.kind == "yes_no" else None


def _stored(spec: ListingField, value: Any) -> Any:
    return spec.empty if value is None else value


def _whole_dollars(amount: Any, currency: str) -> int:
    if currency != "USD" or float(amount) != int(amount):
        raise HsdsError(f"Prices are whole US dollars, not {amount!r} {currency}.")
    return int(amount)
