"""When each part of a listing was last confirmed, and by what.

A listing has four sections that go out of date at their own pace: its details
(address, contact, everything else), its hours, its insurance and payment, and its
prices (each treatment's own date and how it was confirmed). A patient reads each
date where the section is shown; `Clinic.last_verified_at`, the date results show
and sort by, is the oldest of them, so "verified" never claims more than the part
nobody has looked at for longest.

Who confirms what: an approved new listing confirms everything; an approved edit
confirms the sections it changed; the clinic's "still accurate" confirms either its
prices or the rest; an editor records a phone call or a look at the clinic's
website for the sections it covered. `confirm` only sets the dates;
`record_confirmation` is the whole write (audited, committed, re-indexed).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date
from typing import Any

from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import Clinic, Offering, User
from ..models.clinic import PRICE_CONFIRMATIONS
from ..search import sync
from .audit import record_event
from .errors import ModerationError

SECTIONS = {
    "details": "Details",
    "hours": "Hours",
    "insurance": "Insurance and payment",
    "prices": "Prices",
}
# The sections a clinic's "still accurate" covers: its prices, or all of the rest.
PRICES = ("prices",)
NOT_PRICES = ("details", "hours", "insurance")
# Record fields (diff keys) that are not "details": every other field is.
_SECTION_OF = {"hours": "hours", "insurers": "insurance", "payment": "insurance"}


def section_dates(clinic: Clinic) -> dict[str, date | None]:
    """Each section's confirmed date; prices: the oldest treatment's (None: never)."""
    prices = [o.price_confirmed_on for o in clinic.offerings]
    return {
        "details": clinic.details_confirmed_on,
        "hours": clinic.hours_confirmed_on,
        "insurance": clinic.insurance_confirmed_on,
        "prices": None if not prices or None in prices else min(prices),  # type: ignore[type-var]
    }


def overall_date(clinic: Clinic) -> date | None:
    """The oldest section's date: what "verified" may claim (None if one never was)."""
    dates = list(section_dates(clinic).values())
    return None if None in dates else min(dates)  # type: ignore[type-var]


def sections_of(keys: Iterable[str]) -> tuple[set[str], set[str]]:
    """The sections a set of changed record keys touches, and the treatments whose
    prices it touches (their modality codes)."""
    sections: set[str] = set()
    modalities: set[str] = set()
    for key in keys:
        if key.startswith("offerings."):
            sections.add("prices")
            modalities.add(key.split(".")[1])
        else:
            sections.add(_SECTION_OF.get(key, "details"))
    return sections, modalities


def confirm(
    clinic: Clinic,
    sections: Collection[str],
    on: date,
    how: str = "clinic",
    modalities: Collection[str] | None = None,
) -> dict[str, Any]:
    """Mark sections confirmed on a day; returns {"before": …, "after": …} for the audit.

    `how` says how prices were confirmed (a key of PRICE_CONFIRMATIONS);
    `modalities` narrows prices to those treatments (None: all of them). A date
    never moves backwards: a confirmation recorded late for an older call leaves a
    newer one standing.
    """
    unknown = set(sections) - set(SECTIONS)
    if unknown or how not in PRICE_CONFIRMATIONS:
        raise ValueError(f"Unknown section or confirmation: {sorted(unknown)} {how!r}")
    before = _snapshot(clinic)
    for section in sections:
        if section == "prices":
            for offering in _offerings(clinic, modalities):
                if offering.price_confirmed_on is None or offering.price_confirmed_on <= on:
                    offering.price_confirmed_on, offering.price_confirmed_how = on, how
        else:
            column = f"{section}_confirmed_on"
            current = getattr(clinic, column)
            if current is None or current <= on:
                setattr(clinic, column, on)
    clinic.last_verified_at = overall_date(clinic)
    return {"before": before, "after": _snapshot(clinic)}


def record_confirmation(
    actor: User,
    clinic: Clinic,
    sections: Collection[str],
    on: date,
    how: str,
    action: str,
    note: dict[str, Any] | None = None,
) -> None:
    """Confirm sections, audit it as `action` (with `note` beside the dates), commit and
    re-index.

    Confirming is idempotent and commutes with any other write, so when another
    writer saved the listing first (the optimistic lock's StaleDataError) it is
    simply applied again on top of theirs: two "still accurate" clicks at once, or
    one during an editor's change, both land and neither person sees an error.
    """
    for _attempt in range(3):
        change = confirm(clinic, sections, on, how)
        record_event(
            actor,
            action,
            clinic=clinic,
            before=change["before"],
            after=change["after"] | (note or {}),
        )
        try:
            sync.commit([clinic.id])
        except StaleDataError:
            db.session.rollback()
            db.session.refresh(clinic)
        else:
            return
    raise ModerationError("The listing kept changing while we saved this: try again.")


def _offerings(clinic: Clinic, modalities: Collection[str] | None) -> list[Offering]:
    if modalities is None:
        return list(clinic.offerings)
    return [o for o in clinic.offerings if o.modality.code in modalities]


def _snapshot(clinic: Clinic) -> dict[str, Any]:
    """The dates as the audit log keeps them (ISO text; prices per treatment)."""
    dates: dict[str, Any] = {
        f"{name}_confirmed_on": _iso(getattr(clinic, f"{name}_confirmed_on")) for name in NOT_PRICES
    }
    dates["prices"] = {
        o.modality.code: [_iso(o.price_confirmed_on), o.price_confirmed_how]
        for o in clinic.offerings
    }
    dates["last_verified_at"] = _iso(clinic.last_verified_at)
    return dates


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
