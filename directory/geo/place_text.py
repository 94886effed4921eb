"""Text folding shared by the tables and the resolver, so typed input meets data spellings.

`fold` and `city_key` are applied both to the `zipcodes` city names when the tables are
built and to what a person types, so "St. Louis", "saint louis" and "ST LOUIS" meet in
one key. State codes and names, and a pasted country, are recognised here too.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from .places import US_STATES

# Applied to city words only: "MT" after a city is Montana, "Mt" before one is Mount.
_CITY_ABBREVIATIONS = {
    "st": "saint", "ste": "sainte", "ft": "fort", "mt": "mount", "pt": "point",
    "n": "north", "s": "south", "e": "east", "w": "west",
}  # fmt: skip
_COUNTRY_TAILS = (
    ("united", "states", "of", "america"), ("united", "states"), ("usa",), ("us",), ("america",),
)  # fmt: skip

_DOTTED_INITIALS_RE = re.compile(r"\b[a-z](?:\.[a-z])+\b\.?")
_NON_ALNUM_RE = re.compile(r"[\W_]+")
_WORD_START_RE = re.compile(r"(?:^|(?<=[\s-]))[a-z]")


def fold(text: str) -> str:
    """Lower-case ASCII-ish words: accents, punctuation and spacing stop mattering."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _DOTTED_INITIALS_RE.sub(_undot, text.casefold())  # "D.C." -> "dc"
    return _NON_ALNUM_RE.sub(" ", text.replace("&", " and ")).strip()


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")


def city_key(words: Iterable[str]) -> str:
    """Index key for a city: "St. Louis", "Saint Louis" and "st louis" all agree."""
    return " ".join(_CITY_ABBREVIATIONS.get(word, word) for word in words)


def squash(key: str) -> str:
    """Second-chance key: "Mc Allen" / "McAllen", "Winston Salem" / "Winstonsalem"."""
    return key.replace(" ", "")


def tidy_name(name: str) -> str:
    """Display fix for the data's "Winston-salem": capitalise after hyphens and spaces."""
    return _WORD_START_RE.sub(lambda m: m.group().upper(), name.strip())


STATE_KEYS: dict[str, str] = {
    **{code.lower(): code for code in US_STATES},
    **{fold(name): code for code, name in US_STATES.items()},
    "virgin islands": "VI",
}


STATE_NAMES = [key for key in STATE_KEYS if len(key) > 2]


def state_code(text: str) -> str | None:
    """A state or territory from its code or name, in any case."""
    return STATE_KEYS.get(fold(text))


def strip_country(chunks: list[list[str]]) -> list[list[str]]:
    """Drop a trailing ", USA" / "United States": people paste whole addresses."""
    chunks = [list(chunk) for chunk in chunks if chunk]
    while chunks:
        last = chunks[-1]
        tail = next((t for t in _COUNTRY_TAILS if tuple(last[-len(t) :]) == t), None)
        if tail is None or (len(chunks) == 1 and len(last) == len(tail)):
            break
        del last[-len(tail) :]
        if not last:
            chunks.pop()
    return chunks
