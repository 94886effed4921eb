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
# first word -> the phrases it starts, so `annotate` looks up only where one may begin
_STARTS: dict[str, list[tuple[str, ...]]] = {}
for _phrase in _PHRASES:
    _STARTS.setdefault(_phrase[0], []).append(_phrase)


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


def group_token(group: tuple[str, ...]) -> str:
    """One made-up word standing for a whole synonym group, e.g. "synonymptsd".

    Indexing this word wherever any member phrase occurs turns a synonym search into
    a single-term query: no phrase matching at search time.
    """
    return "synonym" + "".join(words(group[0]))


def annotate(text: str) -> str:
    """The text followed by the group word of every synonym phrase found in it."""
    tokens = words(text)
    # (longest first, then by position): every phrase occurrence, overlaps included
    hits: list[tuple[int, int, str]] = []
    for i, token in enumerate(tokens):
        for phrase in _STARTS.get(token, ()):
            if tuple(tokens[i : i + len(phrase)]) == phrase:
                hits.append((-len(phrase), i, group_token(_PHRASES[phrase])))
    found = [token for _, _, token in sorted(hits)]
    return f"{text} {' '.join(found)}" if found else text
