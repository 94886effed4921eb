"""What a result card and a search result say about a listing's checks, in one word.

A card has room for one badge, not the clinic page's list: "Credentials checked" when
the newest confirmed check of a credential the listing still states is within
CREDENTIAL_CHECK_DAYS, "Checks out of date" when every such check has run out. Both
follow `search_facts`, the rule search filters and ranks by, so a card never claims
more than the filter that found it: a listing with a credential that could not be
confirmed gets neither badge (its clinic page says which one and why).

Reads `clinic.credential_checks`: load it with the page (`catalog._with_details`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from ..models import Clinic
from .credentials import check_days, search_facts


@dataclass(frozen=True)
class CheckSummary:
    """The two facts a result shows; at most one of them is true."""

    credentials_checked: bool
    checks_expired: bool


def check_summary(clinic: Clinic, today: date | None = None) -> CheckSummary:
    """Whether the listing's checks are current, or all out of date (neither: never
    checked, or a stated credential could not be confirmed)."""
    newest = search_facts(clinic)
    if not newest:
        return CheckSummary(credentials_checked=False, checks_expired=False)
    today = today or datetime.now(UTC).date()
    # `credentials.status_of`'s rule: a check counts until its day plus the window.
    current = today < date.fromordinal(newest) + timedelta(days=check_days())
    return CheckSummary(credentials_checked=current, checks_expired=not current)
