"""The dry run: what importing a list would do, row by row, without writing anything.

Every row gets one outcome: new (no such listing yet), update or unchanged (a
listing imported from this list before, found by external id), duplicate (alike
to a listing the directory has: left alone, see `matching`), or rejected (with
each field and reason, or the earlier row it repeats). A listing its clinic has
claimed is left alone too: the clinic keeps it up to date now.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy import select

from ..extensions import db
from ..listings.records import changed_keys, clinic_record
from ..listings.vocabulary import vocabulary_names
from ..models import Clinic, Ownership
from .columns import EXTERNAL_ID, Column, columns
from .matching import Known, Likeness, derived_id, digits
from .rows import row_record
from .spreadsheet import Table

Outcome = Literal["new", "update", "unchanged", "duplicate", "rejected"]
OUTCOMES: dict[str, str] = {
    "new": "New listings",
    "update": "Updates of listings imported before",
    "unchanged": "Unchanged",
    "duplicate": "Already in the directory (left alone)",
    "rejected": "Rejected",
}
MAX_EXTERNAL_ID = 200


@dataclass
class RowPlan:
    line: int  # the row's line in the file (the header is line 1)
    outcome: Outcome
    external_id: str
    record: dict[str, Any] | None = None
    errors: dict[str, str] = field(default_factory=dict)  # field key -> reason
    clinic_id: int | None = None  # the listing it updates, or duplicates
    reason: str = ""


@dataclass
class ImportPlan:
    source: str
    rows: list[RowPlan]
    known: list[Column]

    def counts(self) -> dict[str, int]:
        found = Counter(row.outcome for row in self.rows)
        return {outcome: found.get(outcome, 0) for outcome in OUTCOMES}

    @property
    def writes(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome in ("new", "update")]

    def field_label(self, key: str) -> str:
        return field_label(self.known, key)


def _cells(table_row: list[str], mapping: dict[int, str]) -> dict[str, str]:
    return {key: table_row[position] for position, key in mapping.items() if key}


def _external_id(source: str, cells: dict[str, str]) -> str:
    given = " ".join(cells.get(EXTERNAL_ID, "").split())
    if given:
        return f"{source}:{given}"
    return derived_id(
        source,
        {
            "name": cells.get("name", ""),
            "postal_code": cells.get("postal_code", "").strip(),
            "phone": cells.get("phone", ""),
        },
    )


def dry_run(table: Table, mapping: dict[int, str], source: str) -> ImportPlan:
    """Decide every row of `table` (columns by `mapping`) against the directory now."""
    vocabularies = vocabulary_names()
    known = columns(vocabularies.get("modality", {}))
    likeness = Likeness.of_directory()
    claimed = set(db.session.scalars(select(Ownership.clinic_id)))
    first_line: dict[str, int] = {}
    rows: list[RowPlan] = []
    for table_row, line in zip(table.rows, table.numbers, strict=True):
        cells = _cells(table_row, mapping)
        external = _external_id(source, cells)
        existing_id = likeness.by_external_id.get(external)
        base = None
        if existing_id is not None:
            base = clinic_record(db.session.get(Clinic, existing_id))
        record, errors = row_record(cells, vocabularies, base)
        if len(external) > MAX_EXTERNAL_ID:
            errors[EXTERNAL_ID] = (
                f"Keep the id under {MAX_EXTERNAL_ID - len(source) - 1} characters."
            )
        plan = RowPlan(line, "rejected", external, record, errors)
        if errors:
            pass  # rejected, with the fields' reasons
        elif external in first_line:
            plan.errors = {EXTERNAL_ID: f"Repeats row {first_line[external]} of this file."}
        elif existing_id is not None:
            plan.clinic_id = existing_id
            if existing_id in claimed:
                plan.outcome, plan.reason = "unchanged", "claimed by its clinic: left alone"
            else:
                changes = changed_keys(base, record)
                plan.outcome = "update" if changes else "unchanged"
                plan.reason = ", ".join(field_label(known, k) for k in changes[:6])
        elif (match := likeness.alike(record)) is not None:
            found, why = match
            if found.clinic_id is None:
                plan.errors = {"name": f"Repeats row {found.line} of this file ({why})."}
            else:
                plan.outcome, plan.clinic_id, plan.reason = "duplicate", found.clinic_id, why
        else:
            plan.outcome = "new"
        if plan.outcome in ("new", "update", "unchanged"):
            first_line.setdefault(external, line)
        if plan.outcome == "new":
            likeness.add(
                Known(
                    record["name"],
                    record.get("street", ""),
                    record.get("postal_code", ""),
                    digits(record.get("phone", "")),
                    None,
                    line,
                )
            )
        rows.append(plan)
    return ImportPlan(source, rows, known)


def field_label(known: list[Column], key: str) -> str:
    """A report's name for a record key ("offerings.iv.price_min" -> its column's)."""
    labels = {c.key: c.label for c in known}
    if key.startswith("offerings.") and key.count(".") == 2:
        _, code, name = key.split(".")
        suffix = {"price_min": "_price", "price_max": "_price_max"}.get(name, "_insurance")
        return labels.get(code + suffix, key)
    if key.startswith("offerings"):
        return labels.get("treatments", key)
    return labels.get(key, key)
