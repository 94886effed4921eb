"""Monthly figures from the counters: one listing's for its clinic, every listing's
summed for editors. Months without a count show as zero."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from ..extensions import db
from ..models import ListingCount
from ..models.insights import COUNTED
from .counters import this_month

MONTHS_SHOWN = 12


@dataclass(frozen=True)
class Month:
    """One month's counts by kind (every kind of COUNTED present)."""

    month: date
    counts: dict[str, int]

    @property
    def label(self) -> str:
        return f"{self.month:%b} {self.month.year}"


def recent_months(today: date | None = None, months: int = MONTHS_SHOWN) -> list[date]:
    """The first days of the last `months` months, oldest first, this month last."""
    first = this_month(today)
    days = []
    year, month = first.year, first.month
    for _ in range(months):
        days.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return days[::-1]


def _months(rows, today: date | None) -> list[Month]:
    found: dict[date, dict[str, int]] = {}
    for month, kind, n in rows:
        found.setdefault(month, {})[kind] = int(n)
    return [
        Month(m, {kind: found.get(m, {}).get(kind, 0) for kind in COUNTED})
        for m in recent_months(today)
    ]


def listing_months(clinic_id: int, today: date | None = None) -> list[Month]:
    """One listing's last twelve months."""
    start = recent_months(today)[0]
    rows = db.session.execute(
        select(ListingCount.month, ListingCount.kind, ListingCount.count).where(
            ListingCount.clinic_id == clinic_id, ListingCount.month >= start
        )
    )
    return _months(rows, today)


def all_listings_months(today: date | None = None) -> list[Month]:
    """Every listing's counts summed, per month, for the last twelve months."""
    start = recent_months(today)[0]
    rows = db.session.execute(
        select(ListingCount.month, ListingCount.kind, func.sum(ListingCount.count))
        .where(ListingCount.month >= start)
        .group_by(ListingCount.month, ListingCount.kind)
    )
    return _months(rows, today)


def listings_counted(today: date | None = None) -> int:
    """How many listings had any count this month."""
    return db.session.scalar(
        select(func.count(func.distinct(ListingCount.clinic_id))).where(
            ListingCount.month == this_month(today)
        )
    )
