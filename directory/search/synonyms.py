"""Words patients use for the same thing, so a search for one finds the others.

Condition synonyms from the vocabulary are indexed with each clinic (see
`documents.clinic_document`); these groups expand the patient's own words at query
time, so they also reach free-text descriptions.
"""

from __future__ import annotations

import re

SYNONYM_GROUPS: tuple[tuple[str, ...], ...] = (
    ("spravato", "esketamine", "nasal spray"),
    ("iv", "infusion", "infusions", "intravenous"),
    ("im", "intramuscular", "injection", "injections"),
    ("sublingual", "oral", "lozenge", "troche", "at home"),
    ("ptsd", "post traumatic stress", "posttraumatic stress"),
    ("trd", "treatment resistant depression"),
    ("ocd", "obsessive compulsive"),
    ("crps", "complex regional pain syndrome", "rsd"),
    ("telehealth", "telemedicine", "virtual", "online"),
    ("depression", "depressive"),
)

_WORD = re.compile(r"[^\W_]+")


def words(text: str) -> list[str]:
    """Lower-case words of a text; punctuation and query syntax are dropped."""
    return _WORD.findall(text.lower())


def _phrase_index() -> dict[tuple[str, ...], tuple[str, ...]]:
    index: dict[tuple[str, ...], tuple[str, ...]] = {}
    for group in SYNONYM_GROUPS:
        for phrase in group:
            index[tuple(words(phrase))] = group
    return index


_PHRASES = _phrase_index()
_LONGEST = max(len(p) for p in _PHRASES)


def expand(text: str) -> list[tuple[str, ...]]:
    """Split a query into units, each a tuple of alternative phrases.

    "ptsd austin" -> [("ptsd", "post traumatic stress", "posttraumatic stress"), ("austin",)]
    Longest synonym phrases win, so "nasal spray" is one unit, not two.
    """
    tokens = words(text)
    units: list[tuple[str, ...]] = []
    i = 0
    while i < len(tokens):
        for size in range(min(_LONGEST, len(tokens) - i), 0, -1):
            group = _PHRASES.get(tuple(tokens[i : i + size]))
            if group:
                units.append(group)
                i += size
                break
        else:
            units.append((tokens[i],))
            i += 1
    return units
