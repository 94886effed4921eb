"""Result cards: what a search result shows of a listing, kept in the search index.

A search page, its map and the API's results read no listing rows: when a clinic is
indexed, `card_text` writes down what its card needs (name, place, coordinates,
phone, the prices and dates of each treatment, the vocabulary codes, the day numbers
behind its badges) as compact JSON, which both engines store with the document and
return with each hit. `Card.load` turns it back into an object the templates and the
API read like a listing.

What a card keeps is facts, never words or judgements that can change without the
listing changing:
- vocabulary entries by code; their names and order come from the vocabularies at
  render time, so renaming an insurer shows on every card at once, with no re-index;
- dates, not "stale" or "checked": those are judged against today when shown
  (`stale_since`, `trust_summary.summary_of`), so a card runs out at midnight as the
  listing does.

Because the card is part of the search document (and of its fingerprint), the index
queue that keeps documents equal to the rows keeps cards equal too, and `verify`
notices a card that drifted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from ..models import Clinic
from ..models.clinic import price_label, stale_since
from .stated import checked_ordinal
from .trust_summary import CheckSummary, summary_of

Vocabularies = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class Entry:
    """A vocabulary entry as a card shows it."""

    code: str
    name: str


@dataclass(frozen=True, slots=True)
class CardOffering:
    """One treatment a card lists, with its price and when the price was confirmed."""

    modality: Entry
    price_min: int | None
    price_max: int | None
    insurance_accepted: bool
    price_confirmed_on: date | None

    @property
    def price_label(self) -> str:
        return price_label(self.price_min, self.price_max, self.insurance_accepted)

    def price_is_stale(self, today: date | None = None) -> bool:
        return stale_since(self.price_confirmed_on, today)


@dataclass(frozen=True, slots=True)
class Card:
    """A listing as a result shows it: attribute names are the model's, so the card
    macros and the API's field table read a card as they read a `Clinic`."""

    id: int
    slug: str
    name: str
    kind: str
    street: str
    city: str
    state: str
    postal_code: str
    lat: float | None
    lng: float | None
    states_served: tuple[str, ...]
    accepting_new_patients: bool
    is_demo: bool
    phone: str
    website: str
    last_verified_at: date | None
    checked_ordinal: int
    offerings: tuple[CardOffering, ...]
    conditions: tuple[Entry, ...]
    insurers: tuple[Entry, ...]
    payment_options: tuple[Entry, ...]

    @property
    def in_person(self) -> bool:
        return self.kind in ("in_person", "both")

    @property
    def telehealth(self) -> bool:
        return self.kind in ("telehealth", "both")

    def is_stale(self, today: date | None = None) -> bool:
        return stale_since(self.last_verified_at, today)

    def checks(self, today: date | None = None) -> CheckSummary:
        """The card's one trust badge, judged today (`trust_summary`)."""
        return summary_of(self.checked_ordinal, today)

    @classmethod
    def load(cls, text: str, vocabularies: Vocabularies) -> Card:
        """The card stored as `text`, with names and order from `vocabularies`
        (`vocabulary.vocabulary_names`: display order; insurers by name, as listings
        order them)."""
        data = json.loads(text)
        modality_names = vocabularies.get("modality", {})
        return cls(
            id=data["id"],
            slug=data["slug"],
            name=data["name"],
            kind=data["kind"],
            street=data["street"],
            city=data["city"],
            state=data["state"],
            postal_code=data["postal_code"],
            lat=data["lat"],
            lng=data["lng"],
            states_served=tuple(data["served"]),
            accepting_new_patients=data["accepting"],
            is_demo=data["demo"],
            phone=data["phone"],
            website=data["website"],
            last_verified_at=_day(data["verified"]),
            checked_ordinal=data["checked"],
            offerings=tuple(
                CardOffering(
                    Entry(code, modality_names.get(code, code)), low, high, insured, _day(on)
                )
                for code, low, high, insured, on in data["offerings"]
            ),
            conditions=_entries(data["conditions"], vocabularies.get("condition", {})),
            insurers=tuple(
                sorted(
                    _entries(data["insurers"], vocabularies.get("insurer", {})),
                    key=lambda entry: entry.name,
                )
            ),
            payment_options=_entries(data["payment"], vocabularies.get("payment", {})),
        )


def card_text(clinic: Clinic) -> str:
    """What the clinic's card needs, as the JSON the index keeps (its offerings,
    vocabularies and credential checks must be loadable)."""
    return json.dumps(
        {
            "id": clinic.id,
            "slug": clinic.slug,
            "name": clinic.name,
            "kind": clinic.kind,
            "street": clinic.street or "",
            "city": clinic.city or "",
            "state": clinic.state or "",
            "postal_code": clinic.postal_code or "",
            "lat": clinic.lat,
            "lng": clinic.lng,
            "served": sorted(set(clinic.states_served or [])),
            "accepting": bool(clinic.accepting_new_patients),
            "demo": bool(clinic.is_demo),
            "phone": clinic.phone or "",
            "website": clinic.website or "",
            "verified": _iso(clinic.last_verified_at),
            "checked": checked_ordinal(clinic),
            "offerings": [
                [
                    o.modality.code,
                    o.price_min,
                    o.price_max,
                    bool(o.insurance_accepted),
                    _iso(o.price_confirmed_on),
                ]
                for o in clinic.offerings
            ],
            "conditions": sorted(c.code for c in clinic.conditions),
            "insurers": sorted(i.code for i in clinic.insurers),
            "payment": sorted(p.code for p in clinic.payment_options),
        },
        separators=(",", ":"),
    )


def card_of(clinic: Clinic, vocabularies: Vocabularies) -> Card:
    """The card of a listing read from the database (browse pages, a clinic's record)."""
    return Card.load(card_text(clinic), vocabularies)


def _entries(codes: list[str], names: Mapping[str, str]) -> tuple[Entry, ...]:
    """Entries in the vocabulary's display order; a code it no longer has keeps its
    place at the end under its code (never hidden: the listing states it)."""
    wanted = set(codes)
    known = [Entry(code, name) for code, name in names.items() if code in wanted]
    return (*known, *(Entry(code, code) for code in codes if code not in names))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def _day(text: Any) -> date | None:
    return date.fromisoformat(text) if text else None
