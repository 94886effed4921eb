"""Read a patient's words as they meant them, before the search engine sees them.

Misspelled words are corrected against the words the listings and vocabularies
hold (`search.spelling`), then insurer, treatment and condition names become their
filters (`search.text_filters`). Both engines then answer the same, already
understood query, so the search contract is untouched; what was changed is
reported (`Understood`) so the page and the API can say so and offer the words as
typed (`exact`).
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..geo import US_STATES
from ..models import VOCABULARIES, Clinic
from ..search import SearchQuery, get_backend
from ..search.spelling import Correction, Speller
from ..search.synonyms import SYNONYM_GROUPS, words
from ..search.text_filters import INSURER_ALIASES, Derived, Entry, PhraseTable, without_phrase
from .catalog import PUBLISHED


@dataclass(frozen=True)
class Understood:
    """What was done to the words: corrections first, then filters read from them."""

    original: SearchQuery
    corrected: str
    corrections: tuple[Correction, ...]
    derived: tuple[Derived, ...]
    # Treatments and conditions the words name: searched as words, offered as filters.
    offered: tuple[Derived, ...] = ()

    @property
    def typed(self) -> str:
        return self.original.q

    def as_typed(self) -> dict[str, Any]:
        """URL arguments of the search with the words exactly as typed."""
        return self.original.to_args(exact=1, page=None)

    def as_json(self) -> dict[str, Any]:
        return {
            "typed": self.typed,
            "corrections": [{"typed": c.typed, "searched": c.searched} for c in self.corrections],
            "filters_from_text": [_derived(d) for d in self.derived],
            "filters_offered": [_derived(d) for d in self.offered],
        }

    def with_offered(self, offered: Derived) -> dict[str, Any]:
        """URL arguments of the search with an offered filter applied instead of its
        words (the words corrected, as searched)."""
        kept = without_phrase(self.corrected, offered.typed)
        codes = [*getattr(self.original, offered.filter), offered.code]
        return self.original.to_args(q=kept or None, page=None, **{offered.filter: codes})


def _derived(found: Derived) -> dict[str, str]:
    return {"typed": found.typed, "filter": found.filter, "code": found.code}


@dataclass(frozen=True)
class _Reader:
    """The speller and phrase table of one index version."""

    version: Any
    speller: Speller
    phrases: PhraseTable


_build_lock = threading.Lock()


def understand(query: SearchQuery) -> tuple[SearchQuery, Understood | None]:
    """The query as the patient meant it, and what changed (None: nothing did)."""
    if query.exact or not query.q:
        return query, None
    reader = _reader(fresh=False)
    text, corrections = reader.speller.correct_text(query.q)
    if corrections and reader.version != get_backend().version():
        # Listings changed since the words were read: a "typo" may be a new word.
        reader = _reader(fresh=True)
        text, corrections = reader.speller.correct_text(query.q)
    rest, derived, offered = reader.phrases.read(text)
    offered = [o for o in offered if o.code not in getattr(query, o.filter)]
    if not corrections and not derived and not offered:
        return query, None
    filters: dict[str, tuple[str, ...]] = {}
    for found in derived:
        codes = filters.get(found.filter, getattr(query, found.filter))
        if found.code not in codes:
            filters[found.filter] = (*codes, found.code)
    changed = replace(query, q=rest, **filters)
    if not rest and not query.explicit_sort and query.sort == "relevance":
        by_distance = query.location is not None and not query.whole_state
        changed = replace(changed, sort="distance" if by_distance else "recent")
    understood = Understood(query, text, tuple(corrections), tuple(derived), tuple(offered))
    return changed, understood


def _reader(fresh: bool) -> _Reader:
    """This app's reader, built on first use and again when asked for a fresh one
    after the index moved on (one thread builds; the others wait for it)."""
    extensions = current_app.extensions
    reader = extensions.get("understanding")
    if reader is not None and not fresh:
        return reader
    with _build_lock:
        reader = extensions.get("understanding")
        version = get_backend().version()
        if reader is None or reader.version != version:
            entries = _entries()
            reader = _Reader(version, Speller(_word_counts(entries)), PhraseTable(entries))
            extensions["understanding"] = reader
        return reader


def _entries() -> dict[str, list[Entry]]:
    """Every vocabulary entry with the names people use for it."""
    found: dict[str, list[Entry]] = {}
    for name, model in VOCABULARIES.items():
        entries = []
        for row in db.session.scalars(select(model)):
            names = [row.name, getattr(row, "short_name", "") or ""]
            names += getattr(row, "synonyms", None) or []
            if name == "insurer":
                names += INSURER_ALIASES.get(row.code, ())
            entries.append(Entry(row.code, tuple(n for n in names if n)))
        found[name] = entries
    return found


def _word_counts(entries: dict[str, list[Entry]]) -> Counter[str]:
    """How many published listings use each word (names, descriptions, cities), plus
    every vocabulary, synonym and state name, so those are never "corrected"."""
    counts: Counter[str] = Counter()
    rows = db.session.execute(select(Clinic.name, Clinic.description, Clinic.city).where(PUBLISHED))
    for row in rows:
        counts.update(set(words(" ".join(part or "" for part in row))))
    extra = [*US_STATES.values(), *(p for group in SYNONYM_GROUPS for p in group)]
    extra += [name for listed in entries.values() for entry in listed for name in entry.names]
    counts.update(words(" ".join(extra)))
    return counts
