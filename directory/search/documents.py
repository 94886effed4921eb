"""The search document: the part of a published clinic that every backend indexes.

Both backends index the same `ClinicDocument`, and `fingerprint` lets `verify`
notice any drift between the index and the database, including vocabulary renames.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields

from ..geo import US_STATES
from ..listings.cards import card_text
from ..listings.stated import checked_ordinal
from ..models import Clinic


@dataclass(frozen=True)
class ClinicDocument:
    """Plain data for one published clinic, as the search engines see it (its
    `credential_checks` must be loadable too)."""

    id: int
    name: str
    description: str
    city: str
    state: str
    kind: str
    lat: float | None
    lng: float | None
    states_served: tuple[str, ...]
    # modality code -> lowest published session price (None: no published price)
    prices: tuple[tuple[str, int | None], ...]
    conditions: tuple[str, ...]
    insurers: tuple[str, ...]
    payment: tuple[str, ...]
    # words that describe the clinic's modalities and conditions, synonyms included
    tags: str
    verified_ordinal: int
    # accepting new patients: a filter, and ahead of those who are not at equal rank
    accepting: bool
    # day numbers of the newest current-or-expired confirmed credential check (0:
    # none, or a stated credential could not be confirmed) and of the oldest price
    # confirmation (0: a treatment's price never was); `trust.cutoffs` judges them
    checked_ordinal: int = 0
    prices_ordinal: int = 0
    # what the listing's result card shows (`listings.cards`), returned with each hit
    card: str = ""

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(code for code, _ in self.prices)

    @property
    def body(self) -> str:
        """Free text that is not the name: description and place."""
        return " ".join([self.description, self.city, US_STATES.get(self.state, self.state)])

    @property
    def fingerprint(self) -> str:
        """A digest of every field. Built from the field values directly: `asdict`
        deep-copies each tuple, a large share of a full rebuild (docs/performance.md,
        "What changed, and why")."""
        payload = json.dumps([getattr(self, f.name) for f in fields(self)], default=str)
        return hashlib.sha1(payload.encode()).hexdigest()


def clinic_document(clinic: Clinic) -> ClinicDocument:
    """Build the document of a clinic (its offerings and vocabularies must be loadable)."""
    tags: list[str] = []
    for offering in clinic.offerings:
        tags += [offering.modality.name, offering.modality.short_name, offering.modality.code]
    for condition in clinic.conditions:
        tags += [condition.name, *condition.synonyms]
    return ClinicDocument(
        id=clinic.id,
        name=clinic.name,
        description=clinic.description or "",
        city=clinic.city or "",
        state=clinic.state or "",
        kind=clinic.kind,
        lat=clinic.lat,
        lng=clinic.lng,
        states_served=tuple(sorted(set(clinic.states_served or []))),
        prices=tuple(sorted((o.modality.code, o.price_min) for o in clinic.offerings)),
        conditions=tuple(sorted(c.code for c in clinic.conditions)),
        insurers=tuple(sorted(i.code for i in clinic.insurers)),
        payment=tuple(sorted(p.code for p in clinic.payment_options)),
        tags=" ".join(t for t in tags if t),
        verified_ordinal=clinic.last_verified_at.toordinal() if clinic.last_verified_at else 0,
        accepting=bool(clinic.accepting_new_patients),
        checked_ordinal=checked_ordinal(clinic),
        prices_ordinal=_prices_ordinal(clinic),
        card=card_text(clinic),
    )


def _prices_ordinal(clinic: Clinic) -> int:
    """The oldest treatment's price confirmation as a day number (0: one never was)."""
    days = [o.price_confirmed_on for o in clinic.offerings]
    if not days or None in days:
        return 0
    return min(day.toordinal() for day in days if day is not None)
