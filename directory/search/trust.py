"""The two trust facts search filters and breaks ties by, as day numbers.

A document keeps day numbers (`ClinicDocument.checked_ordinal`: its newest
confirmed credential check; `prices_ordinal`: its oldest price confirmation), and
a search compares them with cutoffs computed when it runs. So a check that runs
out overnight stops counting without any re-indexing, and both backends and the
result cards apply one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from flask import current_app, has_app_context

from ..models.clinic import STALE_AFTER_DAYS

DEFAULT_CHECK_DAYS = 365


@dataclass(frozen=True)
class TrustCutoffs:
    """The first day number that still counts, for each fact (always at least 1, so a
    document without the fact, whose number is 0, never passes)."""

    checked_since: int  # a check on or after this day is current
    prices_since: int  # prices all confirmed on or after this day are recent

    def checked(self, ordinal: int) -> bool:
        return ordinal >= self.checked_since

    def prices_recent(self, ordinal: int) -> bool:
        return ordinal >= self.prices_since


def check_days() -> int:
    """How long a credential check counts (CREDENTIAL_CHECK_DAYS; outside an app, the
    default)."""
    if not has_app_context():
        return DEFAULT_CHECK_DAYS
    return int(current_app.config.get("CREDENTIAL_CHECK_DAYS", DEFAULT_CHECK_DAYS))


def cutoffs(today: date | None = None) -> TrustCutoffs:
    """Today's cutoffs: a check counts until its day plus the check window (the clinic
    page's "checked" until "due"), a price until STALE_AFTER_DAYS have passed."""
    today = today or datetime.now(UTC).date()
    checked = today - timedelta(days=check_days()) + timedelta(days=1)
    prices = today - timedelta(days=STALE_AFTER_DAYS)
    return TrustCutoffs(max(1, checked.toordinal()), max(1, prices.toordinal()))
