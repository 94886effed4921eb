"""Names of filters typed as search words: "aetna", "nasal spray", "PTSD".

Each vocabulary entry's name, short name, code and synonyms (and the synonym
groups of `synonyms` holding one of them) are its phrases; the longest phrase
found in the words wins. A phrase that names two entries is no one's.

Insurers and payment options are not in the indexed text, so typed as words they
find nothing: their phrases leave the text and become the filter (`APPLIED`).
Treatment and condition words already find every clinic listing them (the index
holds each clinic's treatments and conditions with their synonyms) and also
clinics named or described with them ("Migraine Relief Partners"), so they stay
words and the filter is only offered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .synonyms import SYNONYM_GROUPS, words

# Other ways people write an insurer than its name, by vocabulary code.
INSURER_ALIASES: dict[str, tuple[str, ...]] = {
    "bcbs": ("bcbs", "blue cross", "blue shield", "bluecross"),
    "unitedhealthcare": ("uhc", "united healthcare", "united health care"),
    "kaiser": ("kaiser",),
    "va-community-care": ("veterans affairs", "veterans"),
    "tricare": ("tri care",),
}
# Words left over that ask for nothing by themselves ("ketamine clinic for PTSD near
# me"): when nothing else is left, the text is dropped rather than searched for.
FILLER = frozenset(
    "a an and any accept accepts accepting by clinic clinics center centers covered "
    "doctor doctors for help in insurance ketamine me my near of on or provider "
    "providers that the therapy treatment treatments take takes taking to with".split()
)
_PARTS = re.compile(r"[/()]")
_TOKEN = re.compile(r"[^\W_]+")
# The vocabularies whose names typed as words become the filter.
APPLIED = frozenset({"insurer", "payment"})


@dataclass(frozen=True)
class Entry:
    """What a vocabulary entry may be called: its name, short name, code and synonyms."""

    code: str
    names: tuple[str, ...]


@dataclass(frozen=True)
class Derived:
    """One phrase of the text read as a filter."""

    typed: str
    filter: str
    code: str


class PhraseTable:
    """Every phrase that names exactly one entry of a vocabulary, by its words."""

    def __init__(self, vocabularies: Mapping[str, Iterable[Entry]]):
        owners: dict[tuple[str, ...], set[tuple[str, str]]] = {}
        for filter_name, entries in vocabularies.items():
            for entry in entries:
                for phrase in _phrases(entry):
                    owners.setdefault(phrase, set()).add((filter_name, entry.code))
        self._phrases = {
            phrase: next(iter(found))
            for phrase, found in owners.items()
            if len({name for name, _ in found}) == 1 and len(found) == 1
        }
        self._longest = max((len(p) for p in self._phrases), default=0)

    def read(self, text: str) -> tuple[str, list[Derived], list[Derived]]:
        """The text without the phrases that become filters, those filters, and the
        filters the remaining words name (offered, not applied).

        Words keep their original spelling and order; leftover filler alone is dropped.
        """
        tokens = [(m.group(0), m.group(0).lower()) for m in _TOKEN.finditer(text)]
        derived: list[Derived] = []
        offered: list[Derived] = []
        rest: list[str] = []
        i = 0
        while i < len(tokens):
            for size in range(min(self._longest, len(tokens) - i), 0, -1):
                key = tuple(low for _, low in tokens[i : i + size])
                if key in self._phrases:
                    name, code = self._phrases[key]
                    originals = [original for original, _ in tokens[i : i + size]]
                    found = Derived(" ".join(originals), name, code)
                    if name in APPLIED:
                        derived.append(found)
                    else:
                        offered.append(found)
                        rest += originals
                    i += size
                    break
            else:
                rest.append(tokens[i][0])
                i += 1
        if not derived:
            return text, [], offered
        if all(word.lower() in FILLER for word in rest):
            rest = []
        return " ".join(rest), derived, offered


def without_phrase(text: str, phrase: str) -> str:
    """The words of `text` without the first occurrence of `phrase`'s words (and
    without what is left when that is only filler)."""
    tokens = _TOKEN.findall(text)
    target = [w.lower() for w in _TOKEN.findall(phrase)]
    for i in range(len(tokens) - len(target) + 1):
        if [w.lower() for w in tokens[i : i + len(target)]] == target:
            tokens = tokens[:i] + tokens[i + len(target) :]
            break
    return "" if all(w.lower() in FILLER for w in tokens) else " ".join(tokens)


def _phrases(entry: Entry) -> set[tuple[str, ...]]:
    """The word sequences that name an entry: each name whole and in its parts
    ("Sublingual / oral (at-home)" -> "sublingual", "oral", "at home"), and every
    phrase of a synonym group that holds one of them."""
    found: set[tuple[str, ...]] = set()
    for name in (*entry.names, entry.code.replace("-", " ")):
        for text in (name, *_PARTS.split(name)):
            if phrase := tuple(words(text)):
                found.add(phrase)
    for group in SYNONYM_GROUPS:
        members = {tuple(words(p)) for p in group}
        if members & found:
            found |= members
    return found
