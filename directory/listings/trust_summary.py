"""What a result card and a search result say about a listing's checks, in one word.

A card has room for one badge, not the clinic page's list: "Credentials checked" when
the newest confirmed check of a credential the listing still states is within
CREDENTIAL_CHECK_DAYS, "Checks out of date" when every such check has run out. Both
follow `stated.checked_ordinal` and `search.trust.cutoffs`, the rule search filters
and ranks by, so a card never claims more than the filter that found it: a listing
with a credential that could not be confirmed gets neither badge (its clinic page
says which one and why).

A result card keeps the day number (`listings.cards`, from `stated.checked_ordinal`
when the listing is indexed); `summary_of` judges it when the card is shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..search.trust import cutoffs


@dataclass(frozen=True)
class CheckSummary:
    """The two facts a result shows; at most one of them is true."""

    credentials_checked: bool
    checks_expired: bool


def summary_of(newest: int, today: date | None = None) -> CheckSummary:
    """Whether the listing's checks are current, or all out of date (neither: never
    checked, or a stated credential could not be confirmed), from the day number
    `stated.checked_ordinal` gives."""
    if not newest:
        return CheckSummary(credentials_checked=False, checks_expired=False)
    current = cutoffs(today).checked(newest)
    return CheckSummary(credentials_checked=current, checks_expired=not current)
