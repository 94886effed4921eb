"""How admin pages show values: diffs with readable labels, ages, yes/no, lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask

from ..listings.records import diff_records, record_value
from ..models.clinic import as_utc
from ..models.listing_fields import FIELDS, OFFERING, RECORD_FIELDS, ListingField

if TYPE_CHECKING:
    from ..listings.review import EditReview


@dataclass(frozen=True)
class ChangeRow:
    """One line of a before/after table."""

    field: str
    label: str
    before: Any
    after: Any


def change_rows(
    before: dict[str, Any] | None, after: dict[str, Any], modality_names: dict[str, str]
) -> list[ChangeRow]:
    """`diff_records`, with treatment, language and state codes turned into the names
    editors and clinics know."""
    rows = []
    for change in diff_records(before, after):
        label, old, new = change.label, change.before, change.after
        spec = FIELDS.get(change.field)
        if spec is not None and spec.kind == "codes" and spec.choices:
            old, new = code_names(spec, old), code_names(spec, new)
        if change.field.startswith("offerings."):
            parts = change.field.split(".")
            name = modality_names.get(parts[1], parts[1])
            label = (
                f"Offers {name}"
                if len(parts) == 2
                else f"{name}: {OFFERING[parts[2]].phrase if parts[2] in OFFERING else parts[2]}"
            )
        rows.append(ChangeRow(change.field, label, old, new))
    return rows


def code_names(spec: ListingField, codes: Any) -> Any:
    """A fixed list's codes as their names ("en" -> "English"); unknown codes as given."""
    if not isinstance(codes, list):
        return codes
    return [spec.choices.get(code, code) for code in codes]


@dataclass(frozen=True)
class ThreeWayRow:
    """One change of an edit: the listing its form showed, the live one, the proposal."""

    field: str
    label: str
    base: Any
    live: Any
    proposed: Any
    conflict: bool  # someone else changed this field since the base, to something else


def three_way_rows(review: EditReview, modality_names: dict[str, str]) -> list[ThreeWayRow]:
    """The edit's own changes (base -> proposed), each with today's live value."""
    base = review.base if review.base is not None else review.live
    conflicts = set(review.conflicts)
    return [
        ThreeWayRow(
            row.field,
            row.label,
            row.before,
            record_value(review.live, row.field),
            row.after,
            row.field in conflicts,
        )
        for row in change_rows(base, review.proposed, modality_names)
    ]


def record_rows(
    record: dict[str, Any], vocabularies: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
    """(label, text) lines of a listing as patients would read it."""
    rows = []
    for spec in RECORD_FIELDS:
        if not spec.shown:
            continue
        value = record.get(spec.name)
        if spec.kind == "choice":
            value = spec.choices.get(value, value)
        elif spec.kind == "codes" and spec.choices:
            value = code_names(spec, value or [])
        elif spec.kind == "vocabulary":
            names = vocabularies.get(spec.vocabulary, {})
            value = [names.get(code, code) for code in value or []]
        rows.append((spec.label, show_value(value)))
    modalities = vocabularies.get("modality", {})
    for offer in record.get("offerings") or []:
        low, high = offer.get("price_min"), offer.get("price_max")
        if low is None:
            price = "Price not published"
        elif high is None or high == low:
            price = f"${low:,} per session"
        else:
            price = f"${low:,}–${high:,} per session"
        extras = [price]
        if offer.get("series_price"):
            extras.append(
                f"series of {offer.get('series_sessions') or '?'}: ${offer['series_price']:,}"
            )
        if offer.get("insurance_accepted"):
            extras.append("insurance accepted")
        if offer.get("notes"):
            extras.append(offer["notes"])
        rows.append((modalities.get(offer["modality"], offer["modality"]), " · ".join(extras)))
    return rows


def show_value(value: Any) -> str:
    """Plain text for a record value: "—" for nothing, Yes/No, comma lists."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(show_value(v) for v in value)
    if isinstance(value, datetime):
        return as_utc(value).strftime("%Y-%m-%d %H:%M UTC")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def age(moment: datetime | None, now: datetime | None = None) -> str:
    """'just now', '5 hours', '3 days': how long a submission has waited."""
    if moment is None:
        return "—"
    seconds = ((now or datetime.now(UTC)) - as_utc(moment)).total_seconds()
    if seconds < 60:
        return "just now"
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute")):
        if seconds >= size:
            count = int(seconds // size)
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "just now"


def register_filters(app: Flask) -> None:
    """Jinja filters the admin templates use (prefixed, so they cannot clash)."""
    app.add_template_filter(show_value, "admin_value")
    app.add_template_filter(age, "admin_age")
