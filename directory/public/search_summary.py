"""Say in words what a search asks for, and how to take each part of it back.

The results page names its search in the heading ("IV infusion for PTSD within
50 miles of Austin, TX") and shows each active filter as a chip that removes just
that filter, so a patient always knows what was searched and cannot lose a
filter without seeing it go.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..geo import Place
from ..search import SearchQuery
from ..search.query import DEFAULT_RADIUS, FILTER_NOUNS
from ..search.text_filters import Derived
from .template_helpers import plural


@dataclass(frozen=True)
class Chip:
    """One active part of a search, and the search without it (URL arguments)."""

    label: str
    without: dict[str, Any]


def _names(query: SearchQuery, name: str, vocabularies: dict[str, dict[str, str]]) -> list[str]:
    known = vocabularies.get(name, {})
    return [known.get(code, code) for code in getattr(query, name)]


def _either(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"


def place_name(place: Place) -> str:
    """A place as a patient reads it: coordinates (from "use my location") by the
    nearest town, "your location near Austin, TX", not as numbers."""
    if place.kind == "point" and place.city:
        return f"your location near {place.city}, {place.state}"
    return place.label


def describe(query: SearchQuery, vocabularies: dict[str, dict[str, str]]) -> str:
    """The search in one phrase, after the count: "IV infusion for PTSD, taking Aetna,
    matching “calm” within 50 miles of Austin, TX" (empty for an empty search)."""
    parts = []
    if modalities := _names(query, "modality", vocabularies):
        parts.append(_either(modalities))
    if conditions := _names(query, "condition", vocabularies):
        parts.append(f"for {_either(conditions)}")
    phrase = " ".join(parts)
    extras = []
    if insurers := _names(query, "insurer", vocabularies):
        extras.append(f"taking {_either(insurers)}")
    if payments := _names(query, "payment", vocabularies):
        extras.append(f"with {_either(payments)}")
    if query.max_price is not None:
        extras.append(f"up to ${query.max_price:,} a session")
    if query.accepting:
        extras.append("accepting new patients")
    if query.checked:
        extras.append("with credentials checked")
    phrase = ", ".join(p for p in (phrase, *extras) if p)
    if query.q:
        phrase = f"{phrase} matching “{query.q}”".strip()
    if query.whole_state is not None and query.location is not None:
        phrase = f"{phrase} in {query.location.label}".strip()
    elif query.location is not None:
        phrase = f"{phrase} within {query.radius} miles of {place_name(query.location)}".strip()
    return phrase


def heading(total: int, query: SearchQuery, vocabularies: dict[str, dict[str, str]]) -> str:
    """ "12 clinics: IV infusion for PTSD within 50 miles of Austin, TX";
    "3 clinics matching “calm”" when only words or a place were given."""
    count = plural(total, "clinic")
    phrase = describe(query, vocabularies)
    if not phrase:
        return count
    joined = phrase.startswith(("matching ", "within ", "in ", "accepting ", "with "))
    return f"{count} {phrase}" if joined else f"{count}: {phrase}"


def chips(query: SearchQuery, vocabularies: dict[str, dict[str, str]]) -> list[Chip]:
    """Each active filter (not the words or the place, which the form shows), with the
    search as it would be without it, from page one."""
    found = []
    for name in ("modality", "condition", "insurer", "payment"):
        codes = getattr(query, name)
        known = vocabularies.get(name, {})
        for code in codes:
            rest = [c for c in codes if c != code]
            found.append(Chip(known.get(code, code), query.to_args(**{name: rest, "page": None})))
    if query.max_price is not None:
        label = f"Up to ${query.max_price:,}"
        found.append(Chip(label, query.to_args(max_price=None, page=None)))
    if query.accepting:
        found.append(Chip("Accepting new patients", query.to_args(accepting=None, page=None)))
    if query.checked:
        found.append(Chip("Credentials checked", query.to_args(checked=None, page=None)))
    if query.location is not None and not query.whole_state and query.radius != DEFAULT_RADIUS:
        label = f"Within {query.radius} miles"
        found.append(Chip(label, query.to_args(radius=None, page=None)))
    return found


def without_filters(query: SearchQuery) -> dict[str, Any]:
    """The search with only its words and place: what "Clear all" links to."""
    return {k: v for k, v in (("q", query.q), ("where", query.where)) if v}


def read_as(derived: tuple[Derived, ...], vocabularies: dict[str, dict[str, str]]) -> str:
    """Which words were searched as filters: "“aetna” is searched as the insurer
    Aetna and “PTSD” as the condition PTSD." (empty when none were)."""
    parts = []
    for d in derived:
        name = vocabularies.get(d.filter, {}).get(d.code, d.code)
        verb = "" if parts else "is searched "
        parts.append(f"“{d.typed}” {verb}as the {FILTER_NOUNS[d.filter]} {name}")
    if not parts:
        return ""
    head = ", ".join(parts[:-1])
    return f"{head} and {parts[-1]}." if head else f"{parts[-1]}."


def offers(
    offered: tuple[Derived, ...], with_filter: Any, vocabularies: dict[str, dict[str, str]]
) -> list[Chip]:
    """Treatments and conditions the words name, each as a link that filters by it:
    "Only clinics that list PTSD as a condition" (`with_filter` gives the link's
    arguments for one)."""
    found = []
    for d in offered:
        name = vocabularies.get(d.filter, {}).get(d.code, d.code)
        label = f"Only clinics that list {name} as a {FILTER_NOUNS[d.filter]}"
        found.append(Chip(label, with_filter(d)))
    return found
