"""Answer a patient's search: parse the query string, ask the backend, read the cards.

HTML and JSON views both call `find`, so they cannot drift apart. Results are the
cards the index keeps (`cards`): a search reads no listing rows, except for a hit
whose card an engine did not return (an index not yet re-indexed after an upgrade).
A damaged index answers `SearchUnavailable` (503, Retry-After) while it is rebuilt.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flask import current_app

from ..geo import get_gazetteer
from ..search import (
    Hit,
    IndexDamaged,
    SearchBackend,
    SearchPage,
    SearchQuery,
    get_backend,
    healing,
    parse_search_query,
)
from ..search.query import TELEHEALTH_LIMIT
from .cards import Card, Vocabularies, card_of
from .catalog import clinics_by_ids
from .understanding import Understood, understand
from .vocabulary import vocabulary_names


@dataclass(frozen=True)
class Result:
    """A clinic's card with its distance from the searched place (None without a place)."""

    card: Card
    distance_miles: float | None


@dataclass
class Found:
    """Everything a results page or the API needs."""

    query: SearchQuery
    page: SearchPage
    results: list[Result]
    telehealth: list[Result]
    vocabularies: dict[str, dict[str, str]]
    telehealth_total: int = 0
    # Nothing in range: the nearest clinics that match, at any distance.
    nearest: list[Result] = field(default_factory=list)
    # Words corrected or read as filters before searching (None: searched as typed).
    understood: Understood | None = None


# How many nearest clinics a search with nothing in range names.
NEAREST_SHOWN = 3
# Every place on Earth is within this many miles of any other (half the equator).
ANYWHERE_MILES = 12_500


def parse(args: Mapping[str, Any], vocabularies: dict[str, dict[str, str]]) -> SearchQuery:
    """Validate a query string (raises `QueryError` naming the field)."""
    return parse_search_query(args, vocabularies, get_gazetteer().resolve)


def find(args: Mapping[str, Any], *, telehealth_limit: int | None = None) -> Found:
    """Run the search the query string asks for.

    `telehealth_limit` keeps only the first telehealth programs (`telehealth_total`
    still counts them all). A place search with nothing in range also asks for the
    nearest matching clinics at any distance (`nearest`), so a patient always learns
    where the closest care is. Misspelled words are corrected and filter names typed
    as words become filters first (`understanding`); `understood` says what changed.
    """
    vocabularies = vocabulary_names()
    query, understood = understand(parse(args, vocabularies))
    backend = get_backend()
    telehealth_cards = TELEHEALTH_LIMIT if telehealth_limit is None else telehealth_limit
    page = _search(backend, query, telehealth_cards)
    nearest_hits = []
    # (a whole state has no distances: nothing nearer to name)
    if query.location is not None and not query.whole_state and page.total == 0:
        anywhere = replace(
            query, radius=ANYWHERE_MILES, sort="distance", page=1, per_page=NEAREST_SHOWN
        )
        nearest_hits = _search(backend, anywhere, 0).hits
    shown_telehealth = page.telehealth[:telehealth_cards]
    cards = cards_of(page.hits + shown_telehealth + nearest_hits, vocabularies)

    def shown(hits: list[Hit], distances: bool = True) -> list[Result]:
        return [
            Result(cards[h.clinic_id], h.distance_miles if distances else None)
            for h in hits
            if h.clinic_id in cards
        ]

    return Found(
        query,
        page,
        shown(page.hits),
        shown(shown_telehealth, distances=False),
        vocabularies,
        len(page.telehealth),
        shown(nearest_hits),
        understood,
    )


def cards_of(hits: list[Hit], vocabularies: Vocabularies) -> dict[int, Card]:
    """The hits' cards by clinic id: as the index returned them, or, for a hit without
    one, from the listing's row (skipped when it is no longer published)."""
    cards = {h.clinic_id: Card.load(h.card, vocabularies) for h in hits if h.card}
    missing = [h.clinic_id for h in hits if h.clinic_id not in cards]
    for clinic_id, clinic in clinics_by_ids(missing).items():
        cards[clinic_id] = card_of(clinic, vocabularies)
    return cards


def _search(backend: SearchBackend, query: SearchQuery, telehealth_cards: int) -> SearchPage:
    """The backend's answer; a damaged index is reported for repair and answers 503."""
    try:
        return backend.search(query, telehealth_cards)
    except IndexDamaged as exc:
        healing.report_damage(current_app._get_current_object(), exc.where)  # type: ignore[attr-defined]
        raise healing.SearchUnavailable() from exc
