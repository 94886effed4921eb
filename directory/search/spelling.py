"""Correct misspelled search words against the words the directory actually holds.

"depresion" or "spravado" match nothing; the closest word the listings use is what
the patient meant. rapidfuzz's optimal-string-alignment distance counts a swapped
pair of letters as one edit ("anxeity"), which is how people mistype. A word is
left alone when it, or its stem, is already known ("infusions" is not a typo of
"infusion"), when it is short (three letters have too many neighbours) or holds
digits, and when nothing is near enough. Ties go to the commoner word.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from rapidfuzz import process
from rapidfuzz.distance import OSA
from whoosh.lang.porter import stem

from .memo import Memo

SHORTEST = 4
# Edits allowed: one in a word of up to five letters, two in a longer one.
LONG_FROM = 6
# Close words considered before the commonest is chosen.
CANDIDATES = 25
_TOKEN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Correction:
    typed: str
    searched: str


class Speller:
    """The known words with how many listings use each; read-only once built, so
    threads share one."""

    def __init__(self, counts: Mapping[str, int]):
        self._counts = {w.lower(): n for w, n in counts.items() if w}
        self._choices = list(self._counts)
        self._stems = {stem(w) for w in self._counts}
        self._memo = Memo(4096)

    def __len__(self) -> int:
        return len(self._counts)

    def knows(self, word: str) -> bool:
        low = word.lower()
        return low in self._counts or stem(low) in self._stems

    def correct(self, word: str) -> str | None:
        """The known word the patient most likely meant, or None to leave it as typed."""
        low = word.lower()
        if len(low) < SHORTEST or not low.isalpha() or self.knows(low):
            return None
        if (cached := self._memo.get(low)) is not None:
            return cached or None
        limit = 2 if len(low) >= LONG_FROM else 1
        found = process.extract(
            low, self._choices, scorer=OSA.distance, score_cutoff=limit, limit=CANDIDATES
        )
        best = min(found, key=lambda f: (f[1], -self._counts[f[0]], f[0]), default=None)
        answer = best[0] if best else ""
        self._memo.put(low, answer)
        return answer or None

    def correct_text(self, text: str) -> tuple[str, list[Correction]]:
        """The text with each misspelled word replaced, and what was replaced."""
        corrections: list[Correction] = []

        def fix(match: re.Match[str]) -> str:
            word = match.group(0)
            if better := self.correct(word):
                corrections.append(Correction(word, better))
                return better
            return word

        fixed = _TOKEN.sub(fix, text)
        return (fixed, corrections) if corrections else (text, [])
