"""The one interface the app uses to search, whatever engine sits behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field

from .documents import ClinicDocument
from .query import TELEHEALTH_LIMIT, SearchQuery


class IndexBusy(Exception):
    """Another writer held the index longer than the caller would wait."""


class IndexDamaged(Exception):
    """The index cannot be read (files missing, truncated or garbled).

    `where` names what was being read, so a repair that finds the damage already
    replaced by someone else's rebuild does nothing.
    """

    def __init__(self, message: str, where: Hashable = None):
        super().__init__(message)
        self.where = where


@dataclass(frozen=True)
class Hit:
    """One clinic in a result list: its id, its distance when a place was given, and
    its result card as the index keeps it (`listings.cards`; None from an engine
    that keeps none). Hits compare by what the search found, not by their cards."""

    clinic_id: int
    distance_miles: float | None = None
    score: float | None = None
    card: str | None = field(default=None, compare=False, repr=False)


@dataclass
class SearchPage:
    """One page of results plus what the filters panel needs."""

    query: SearchQuery
    hits: list[Hit]
    total: int
    telehealth: list[Hit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


@dataclass
class Drift:
    """What `verify` found: ids missing from the index, extra in it, or out of date."""

    missing: list[int] = field(default_factory=list)
    extra: list[int] = field(default_factory=list)
    stale: list[int] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.missing or self.extra or self.stale)


class SearchBackend(ABC):
    """Index published clinics and answer `SearchQuery`s.

    Callers pass documents of *published* clinics only: the listings services
    decide what is public, the backend only stores and finds.
    """

    name: str = "abstract"

    @abstractmethod
    def index(self, documents: Iterable[ClinicDocument]) -> None:
        """Add or replace these documents."""

    @abstractmethod
    def remove(self, clinic_ids: Iterable[int]) -> None:
        """Drop these clinics from the index (absent ids are ignored)."""

    @abstractmethod
    def rebuild(
        self, documents: Iterable[ClinicDocument], replacing: Hashable | None = None
    ) -> int | None:
        """Replace the whole index with these documents; return how many were indexed.

        `replacing` is the `IndexDamaged.where` a repair was started for: when another
        rebuild has replaced that index already, nothing is done and None returned.
        """

    def refresh(
        self,
        clinic_ids: set[int],
        load: Callable[[set[int]], list[ClinicDocument]],
        wait: float | None = None,
    ) -> None:
        """Make the index hold exactly the published ones among these clinics.

        `load(ids)` reads the documents of the published clinics among `ids` from
        committed rows. Engines call it while holding their write lock, so when two
        processes re-index the same clinic the one that writes last has also read
        last, and the index cannot keep an older version than the database. An
        engine raises `IndexBusy` when another writer holds the lock for more than
        `wait` seconds (None: its own default). (This default, without a lock, is
        for engines with a single writer.)
        """
        documents = load(clinic_ids)
        self.remove(clinic_ids - {doc.id for doc in documents})
        self.index(documents)

    @abstractmethod
    def fingerprints(self) -> dict[int, str]:
        """Every indexed clinic id with the fingerprint of the document it was indexed from."""

    @abstractmethod
    def search(self, query: SearchQuery, telehealth_cards: int = TELEHEALTH_LIMIT) -> SearchPage:
        """Run a validated query. Every telehealth program is found and counted, but
        only the first `telehealth_cards` carry their result cards: the rest are not
        shown (a page lists ten of up to fifty)."""

    def warm_up(self) -> None:
        """Open the index for searching before the first search (raises `IndexDamaged`)."""
        self.version()

    def check(self) -> list[str]:
        """Read every part of the index; what is damaged, in words (empty: sound)."""
        return []

    def version(self) -> Hashable | None:
        """A value that changes whenever the index changes (None: not known).

        Answers cached under one version (`page_cache`) are never served under
        another; an engine that cannot tell returns None and nothing is cached.
        """
        return None

    def verify(self, expected: dict[int, str]) -> Drift:
        """Compare the index with the fingerprints the database says it should hold."""
        actual = self.fingerprints()
        return Drift(
            missing=sorted(set(expected) - set(actual)),
            extra=sorted(set(actual) - set(expected)),
            stale=sorted(i for i in expected.keys() & actual.keys() if expected[i] != actual[i]),
        )
