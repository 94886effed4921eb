"""Live price and insurance figures for the treatment guides.

The guides quote what clinics in this directory actually charge instead of a number
written once and left to go stale. Only published clinics count: drafts, pending and
suspended listings are not visible to patients, so their prices must not shape what
a patient is told to expect.

A price counts only when it was confirmed within PRICE_WINDOW_DAYS (the clinic's edit
or "still accurate", an editor's call): a price nobody has looked at for over a year
says little about what a patient will pay today, and the guides say so beside the
range. Such an offering still counts as offered, like an unpriced one.

Medians are computed in Python rather than in SQL: SQLite has no median aggregate
and PostgreSQL's `percentile_cont` does not exist there, and the lists are short
(one row per clinic and modality), so portability costs nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from ..extensions import db
from ..models import Clinic, Modality, Offering

PUBLISHED = Clinic.status == "published"
PRICE_WINDOW_DAYS = 365


@dataclass(frozen=True)
class PriceRange:
    """What published clinics charge per session for one modality.

    Prices are the clinic's published starting price per session (`price_min`) in
    whole dollars. `offered` counts every published clinic offering the modality,
    priced or not; `priced` only those whose starting price was confirmed within
    PRICE_WINDOW_DAYS, and the low,
    median and high figures come from those. A clinic has at most one offering per
    modality (a unique constraint), so counts of offerings are counts of clinics.
    """

    modality: str
    offered: int
    priced: int
    insured: int
    low: int | None
    median: int | None
    high: int | None
    median_max: int | None

    @property
    def has_prices(self) -> bool:
        """True when at least one published clinic gives a price for this modality."""
        return self.priced > 0

    @property
    def unpriced(self) -> int:
        """Clinics offering the modality without a published price (often insurance-billed)."""
        return self.offered - self.priced

    @property
    def insured_share(self) -> float:
        """Share of the clinics offering the modality that bill insurance for it (0 to 1).

        The denominator is every clinic offering it, not only the priced ones: clinics
        billing insurance (typically for Spravato) often publish no self-pay price, so
        restricting to priced offerings would hide exactly the insured ones.
        """
        return self.insured / self.offered if self.offered else 0.0

    @property
    def insured_percent(self) -> int:
        """`insured_share` as a whole percentage, rounded half up, for display."""
        return (self.insured * 200 + self.offered) // (self.offered * 2) if self.offered else 0


def median_whole_dollars(values: Sequence[int]) -> int | None:
    """The median of whole-dollar amounts, itself in whole dollars (None when empty).

    With an even count the two middle values are averaged and a half dollar is rounded
    up, in integer arithmetic so no float rounding rule (Python rounds halves to even)
    can make the page and an independent check disagree.
    """
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle] + 1) // 2


def modality_price_ranges() -> dict[str, PriceRange]:
    """{modality code: PriceRange} for every modality a published clinic offers.

    Modalities nobody offers are absent, so a fresh database gives `{}` and the guides
    say that no prices are published yet rather than showing "$0".
    """
    since = datetime.now(UTC).date() - timedelta(days=PRICE_WINDOW_DAYS)
    rows = db.session.execute(
        select(
            Modality.code,
            Offering.price_min,
            Offering.price_max,
            Offering.insurance_accepted,
            Offering.price_confirmed_on,
        )
        .join(Offering, Offering.modality_id == Modality.id)
        .join(Clinic, Clinic.id == Offering.clinic_id)
        .where(PUBLISHED)
    )
    offered: dict[str, int] = defaultdict(int)
    insured: dict[str, int] = defaultdict(int)
    starts: dict[str, list[int]] = defaultdict(list)
    tops: dict[str, list[int]] = defaultdict(list)
    for code, price_min, price_max, insurance_accepted, confirmed_on in rows:
        offered[code] += 1
        if insurance_accepted:
            insured[code] += 1
        if price_min is not None and confirmed_on is not None and confirmed_on >= since:
            starts[code].append(price_min)
            # A single price has no separate upper end: its top is its start.
            tops[code].append(price_max if price_max is not None else price_min)
    return {
        code: PriceRange(
            modality=code,
            offered=count,
            priced=len(starts[code]),
            insured=insured[code],
            low=min(starts[code], default=None),
            median=median_whole_dollars(starts[code]),
            high=max(starts[code], default=None),
            median_max=median_whole_dollars(tops[code]),
        )
        for code, count in offered.items()
    }
