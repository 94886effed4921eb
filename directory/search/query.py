"""`SearchQuery`: the search contract's query string, parsed and validated once.

HTML and JSON share this parser, so both answer the same question with the same
errors. Every problem is reported as a `QueryError` naming the offending field;
nothing a user typed is silently dropped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..geo import Place, PlaceError
from .synonyms import words

FILTERS = ("modality", "condition", "insurer", "payment")
SORTS = ("distance", "relevance", "price", "recent")
DEFAULT_RADIUS = 50
MAX_RADIUS = 500
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 50
MAX_PAGE = 1000
MAX_TEXT = 200
# Telehealth programs serving the searched state: how many a search finds at most,
# and how many an answer lists unless asked for more (`telehealth`).
TELEHEALTH_LIMIT = 50
TELEHEALTH_SHOWN = 10
MAX_PRICE = 100_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# What each parameter is called in a message: people read these, so never the
# parameter's own name (the API's error carries that as `field`).
NAMES = {
    "q": "The search words",
    "where": "The place",
    "radius": "The distance",
    "max_price": "The maximum price",
    "sort": "The order",
    "page": "The page number",
    "per_page": "The number of results per page",
    "exact": "The choice to search the words as typed",
    "accepting": "The choice of clinics accepting new patients",
    "checked": "The choice of listings whose credentials the directory checked",
    "telehealth": "The number of telehealth programs",
}
NUMBER_RULES = {
    "radius": f"The distance must be a whole number of miles from 1 to {MAX_RADIUS}, like 50.",
    "max_price": "Maximum price must be a whole number of dollars, like 500.",
    "page": f"The page number must be a whole number from 1 to {MAX_PAGE:,}.",
    "per_page": f"Results per page must be a whole number from 1 to {MAX_PER_PAGE}.",
    "telehealth": "The number of telehealth programs to list must be a whole number "
    f"from 0 to {TELEHEALTH_LIMIT}.",
}
FILTER_NOUNS = {
    "modality": "treatment",
    "condition": "condition",
    "insurer": "insurer",
    "payment": "payment option",
}
SORT_NAMES = {
    "distance": "nearest first",
    "relevance": "best match",
    "price": "lowest price",
    "recent": "most recently verified",
}
# "$1,200", "500.00": a whole number of dollars, as people write prices.
_YES = ("1", "true", "yes", "on")
_NO = ("", "0", "false", "no", "off")
_AMOUNT = re.compile(r"\$?\s*(\d{1,3}(?:,\d{3})+|\d{1,9})(?:\.0{1,2})?")


class QueryError(ValueError):
    """A parameter that cannot be used, with the field name a form can show it beside."""

    def __init__(self, field: str, message: str, suggestions: list[str] | None = None):
        super().__init__(message)
        self.field = field
        self.message = message
        self.suggestions = suggestions or []


@dataclass(frozen=True)
class SearchQuery:
    """A validated search: what the backends execute and the pages echo back."""

    q: str = ""
    where: str = ""
    location: Place | None = None
    radius: int = DEFAULT_RADIUS
    modality: tuple[str, ...] = ()
    condition: tuple[str, ...] = ()
    insurer: tuple[str, ...] = ()
    payment: tuple[str, ...] = ()
    max_price: int | None = None
    # Only clinics accepting new patients (results and telehealth programs alike).
    accepting: bool = False
    # Only listings with a current credential check by the directory (`trust`).
    checked: bool = False
    sort: str = "recent"
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    explicit_sort: bool = field(default=False, compare=False)
    # The words exactly as typed: no spelling correction, no filters read from them.
    exact: bool = False

    def filters(self) -> dict[str, tuple[str, ...]]:
        """The repeatable vocabulary filters, by name."""
        return {name: getattr(self, name) for name in FILTERS}

    @property
    def is_empty(self) -> bool:
        """True when nothing was asked: the page shows the search box, not results."""
        asked = self.q or self.location or any(self.filters().values()) or self.max_price
        return not (asked or self.accepting or self.checked)

    @property
    def whole_state(self) -> str | None:
        """The state searched as a whole ("Texas"): its in-person clinics are the
        results, with no radius and no distances. None for any other search."""
        place = self.location
        return place.state if place is not None and place.kind == "state" else None

    def to_args(self, **changes: Any) -> dict[str, Any]:
        """The query as URL parameters (for links that change one thing), defaults omitted."""
        values: dict[str, Any] = {
            "q": self.q,
            "where": self.where,
            "radius": self.radius if self.radius != DEFAULT_RADIUS else None,
            "max_price": self.max_price,
            "accepting": 1 if self.accepting else None,
            "checked": 1 if self.checked else None,
            "sort": self.sort if self.explicit_sort else None,
            "page": self.page if self.page != 1 else None,
            "per_page": self.per_page if self.per_page != DEFAULT_PER_PAGE else None,
            "exact": 1 if self.exact else None,
            **{name: list(values) for name, values in self.filters().items()},
        }
        values.update(changes)
        return {k: v for k, v in values.items() if v not in (None, "", [], ())}

    def normalized(self) -> dict[str, Any]:
        """The JSON API's echo of what was searched."""
        return {
            "q": self.q,
            "where": self.where,
            "radius": self.radius,
            **{name: list(values) for name, values in self.filters().items()},
            "max_price": self.max_price,
            "accepting": self.accepting,
            "checked": self.checked,
            "sort": self.sort,
            "page": self.page,
            "per_page": self.per_page,
            "exact": self.exact,
        }


def _single(args: Mapping[str, Any], name: str) -> str:
    """One value of a parameter, cleaned of control characters and outer space."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    values = [str(v) for v in raw if str(v).strip() != ""]
    label = NAMES.get(name, "A search setting")
    if len(values) > 1 and len(set(values)) > 1:
        raise QueryError(name, f"{label} was given twice, with different values: give it once.")
    value = values[0] if values else ""
    if len(value) > MAX_TEXT:
        raise QueryError(name, f"{label} is too long (at most {MAX_TEXT} characters).")
    return _CONTROL.sub(" ", value).strip()


def parse_amount(text: str) -> int | None:
    """A whole number of dollars as people write one ("$1,200", "500.00"); None when
    the text is not one. The search form and spreadsheet imports read prices alike."""
    match = _AMOUNT.fullmatch(text.strip())
    return int(match[1].replace(",", "")) if match else None


def _integer(args: Mapping[str, Any], name: str, low: int, high: int) -> int | None:
    """A whole number from `low` to `high`, written as people write one ("$1,200",
    "500.00"); None when the parameter is absent or blank."""
    text = _single(args, name)
    if text == "":
        return None
    value = parse_amount(text)
    if value is None or not low <= value <= high:
        raise QueryError(name, NUMBER_RULES[name])
    return value


def parse_telehealth_shown(args: Mapping[str, Any]) -> int:
    """How many of the telehealth programs an answer lists (`telehealth`, raises
    `QueryError`): TELEHEALTH_SHOWN unless the client asks for more, or none."""
    shown = _integer(args, "telehealth", 0, TELEHEALTH_LIMIT)
    return TELEHEALTH_SHOWN if shown is None else shown


def _flag(args: Mapping[str, Any], name: str, rule: str) -> bool:
    """A yes/no setting, as a checkbox or a link sends it ("1", "on", "yes", "true")."""
    value = _single(args, name).lower()
    if value not in _YES and value not in _NO:
        raise QueryError(name, rule)
    return value in _YES


def _codes(args: Mapping[str, Any], name: str, known: Mapping[str, str]) -> tuple[str, ...]:
    """Repeated (or comma-separated) vocabulary codes, each checked against the vocabulary."""
    getlist = getattr(args, "getlist", None)
    raw = getlist(name) if getlist else ([args[name]] if name in args else [])
    codes: list[str] = []
    for value in raw:
        for part in str(value).split(","):
            code = part.strip().lower()
            if not code:
                continue
            if code not in known:
                noun = FILTER_NOUNS.get(name, "choice")
                raise QueryError(
                    name,
                    f"We do not know the {noun} “{code[:40]}”. "
                    f"Choose one of: {', '.join(sorted(known.values()))}.",
                )
            if code not in codes:
                codes.append(code)
    if len(codes) > len(known):
        raise QueryError(name, f"Too many {FILTER_NOUNS.get(name, 'choice')}s chosen.")
    return tuple(codes)


def parse_search_query(
    args: Mapping[str, Any],
    vocabularies: Mapping[str, Mapping[str, str]],
    resolve_place: Callable[[str], Place],
) -> SearchQuery:
    """Validate a query string against the contract; raise `QueryError` on the first problem.

    `vocabularies` maps each filter name to its {code: name}; `resolve_place` turns
    `where` into a `Place` or raises `PlaceError` (with suggestions).
    """
    q = re.sub(r"\s+", " ", _single(args, "q"))
    if q and not words(q):
        raise QueryError("q", "Type at least one word or number to search for.")
    where = re.sub(r"\s+", " ", _single(args, "where"))
    location = None
    if where:
        try:
            location = resolve_place(where)
        except PlaceError as exc:
            raise QueryError("where", exc.message, exc.suggestions) from exc
    whole_state = location is not None and location.kind == "state"
    try:
        radius = _integer(args, "radius", 1, MAX_RADIUS) or DEFAULT_RADIUS
    except QueryError:
        if not whole_state:
            raise
        radius = DEFAULT_RADIUS  # a whole state has no radius: whatever was sent is unused
    filters = {name: _codes(args, name, vocabularies.get(name, {})) for name in FILTERS}
    max_price = _integer(args, "max_price", 0, MAX_PRICE)
    accepting = _flag(
        args, "accepting", "Choose whether to show only clinics accepting new patients: yes or no."
    )
    checked = _flag(
        args,
        "checked",
        "Choose whether to show only listings whose credentials we checked: yes or no.",
    )
    page = _integer(args, "page", 1, MAX_PAGE) or 1
    per_page = _integer(args, "per_page", 1, MAX_PER_PAGE) or DEFAULT_PER_PAGE

    sort = _single(args, "sort").lower()
    explicit = bool(sort)
    if not sort:
        sort = "distance" if location and not whole_state else ("relevance" if q else "recent")
    if sort not in SORTS:
        raise QueryError("sort", f"Choose an order: {', '.join(SORT_NAMES.values())}.")
    if sort == "distance" and location is None:
        raise QueryError("sort", "Sorting nearest first needs a place: type a city or ZIP code.")
    if sort == "distance" and whole_state:
        raise QueryError(
            "sort",
            "Sorting nearest first needs a city or ZIP code, not a whole state: "
            f"type a city in {location.label}, or a ZIP code.",
        )
    return SearchQuery(
        q=q,
        where=where,
        location=location,
        radius=radius,
        max_price=max_price,
        accepting=accepting,
        checked=checked,
        sort=sort,
        page=page,
        per_page=per_page,
        explicit_sort=explicit,
        exact=_flag(args, "exact", "Choose whether to search the words as typed: yes or no."),
        **filters,
    )
