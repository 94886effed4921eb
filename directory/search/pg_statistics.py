"""What the PostgreSQL backend keeps in a process, keyed by the index generation.

Every write of the index gives it a new generation (`search_stats`, see
`pg_index`), so what is kept here (the document frequencies of query words; the
facets, total and telehealth programs of a search, the same for all its pages and
sorts; the first results of a search without a place, in the order of its sort)
never outlives the index contents it came from, and several app servers still see
every commit at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from .backend import Hit
from .memo import Memo
from .pg_index import STATS, TABLE
from .pg_query import Plan, Sql, ts_query
from .query import FILTERS, SearchQuery

# tsvector weight letter -> field weight: name (A) > tags (B) > body (C), as in Whoosh.
FIELD_WEIGHTS = {"a": 3.0, "b": 2.0, "c": 1.0}
# Entries kept in the process, least recently used dropped first: document
# frequencies (one per query word and field) and what the pages of one search share
# (facets, total, telehealth programs; a few kB each).
FREQUENCY_CACHE = 4096
SHARED_CACHE = 512
# A search without a place reads every match of its text to order them (a word
# most of 100k listings hold: tens of thousands of rows, about 100 ms): it keeps
# its first RANKED results per sort (10 pages of 20; about 20 kB), so its next
# pages, and the same search again, read none (docs/performance.md).
RANKED = 200
RANKED_CACHE = 512
# Pages deeper than this many results are read by LIMIT and OFFSET, and not kept.
RANKED_DEEPEST = 1000
_READ_STATS = text(f"SELECT generation, documents FROM {STATS}")


@dataclass(frozen=True)
class Shared:
    """What every page and sort of one search share (see `PostgresBackend._shared_key`)."""

    facets: dict[str, dict[str, int]]
    total: int
    telehealth: tuple[Hit, ...]


@dataclass(frozen=True)
class Ranked:
    """The first results of a search without a place in one sort's order (at most
    RANKED, or every result when `complete`)."""

    hits: tuple[Hit, ...]
    complete: bool

    def page(self, first: int, count: int) -> list[Hit] | None:
        """Results first .. first + count - 1, or None if they are not all kept."""
        if not self.complete and first + count > len(self.hits):
            return None
        return list(self.hits[first : first + count])


@dataclass(frozen=True)
class Stats:
    """The search_stats row a search read; `generation` is None when the row is missing."""

    generation: int | None
    documents: int


def read_stats(conn: Connection) -> Stats:
    row = conn.execute(_READ_STATS).first()
    if row is None:  # removed by hand: count, and cache nothing until a write
        return Stats(None, conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())
    return Stats(int(row.generation), int(row.documents))


class Statistics:
    """The document frequencies and shared search parts of one process."""

    def __init__(self) -> None:
        self._frequencies = Memo(FREQUENCY_CACHE)
        self._shared = Memo(SHARED_CACHE)
        self._ranked = Memo(RANKED_CACHE)

    def shared(self, key: tuple | None) -> Shared | None:
        return self._shared.get(key) if key else None

    def keep(self, key: tuple, shared: Shared) -> None:
        self._shared.put(key, shared)

    def ranked(self, key: tuple | None, sort: str) -> Ranked | None:
        """The first results of the search `key` (see `shared_key`) in `sort`'s order."""
        return self._ranked.get((key, sort)) if key else None

    def keep_ranked(self, key: tuple, sort: str, ranked: Ranked) -> None:
        self._ranked.put((key, sort), ranked)

    def document_frequencies(
        self, conn: Connection, stats: Stats, units: list[list[list[str]]]
    ) -> dict[str, int]:
        """How many documents match each unit in each field, by (unit, field) tsquery.

        Cached per generation: they depend only on the words and the index contents,
        so a search by distance that orders its telehealth programs by score pays for
        them once per generation and word, not on every search. The ones not cached
        are counted in one pass over the documents holding any of their units.
        """
        found: dict[str, int] = {}
        missing: list[list[list[str]]] = []
        for unit in units:
            for letter in FIELD_WEIGHTS:
                tsquery = ts_query([unit], letter)
                df = self._frequencies.get((stats.generation, tsquery))
                if df is None:
                    missing.append(unit)
                    break
                found[tsquery] = df
        if not missing:
            return found
        sql = Sql()
        counted = [ts_query([unit], letter) for unit in missing for letter in FIELD_WEIGHTS]
        counts = ", ".join(
            f"count(*) FILTER (WHERE d.document @@ CAST({sql.bind(q, 'u')} AS tsquery))"
            for q in counted
        )
        anything = sql.bind(" | ".join(f"({ts_query([unit])})" for unit in missing), "u")
        row = conn.execute(
            text(f"SELECT {counts} FROM {TABLE} d WHERE d.document @@ CAST({anything} AS tsquery)"),
            sql.params,
        ).one()
        for tsquery, df in zip(counted, row, strict=True):
            found[tsquery] = int(df)
            if stats.generation is not None:
                self._frequencies.put((stats.generation, tsquery), int(df))
        return found

    def score(self, conn: Connection, sql: Sql, units: list[list[list[str]]], stats: Stats) -> str:
        """A score expression: per unit and field, the field's weight times the unit's IDF.

        The Whoosh backend's scorer in SQL: a unit found in a field adds
        weight x log(1 + N / df), df counting the documents with the unit in that
        field, so rare words and matches in the name count most and repeating a word
        counts once. (`ts_rank` would reward repetition: the tags field repeats
        condition synonyms, and could outrank a name.) N is the stats row's count,
        df comes from `document_frequencies`.
        """
        frequencies = self.document_frequencies(conn, stats, units)
        total = max(1, stats.documents)
        terms = []
        for unit in units:
            for letter, field_weight in FIELD_WEIGHTS.items():
                tsquery = ts_query([unit], letter)
                if df := frequencies[tsquery]:
                    weight = field_weight * math.log(1 + total / df)
                    terms.append(
                        f"(CASE WHEN d.document @@ CAST({sql.bind(tsquery, 'u')} AS tsquery) "
                        f"THEN CAST({sql.bind(weight, 'k')} AS double precision) ELSE 0 END)"
                    )
        return " + ".join(terms) if terms else "0.0"

    @staticmethod
    def shared_key(stats: Stats, plan: Plan, query: SearchQuery) -> tuple | None:
        """What the facets, total and telehealth programs of a search depend on.

        Not the page or the sort: they count, or (telehealth) order by their own
        rule, every match of the text, place and filters. Counting them reads every
        match (every document, without text or place), the costliest part of a
        search at 100k, so every further page or sort of a search skips it. None
        when the stats row is missing: then nothing is kept.
        """
        if stats.generation is None:
            return None
        place = query.location
        return (
            stats.generation,
            plan.text_key,
            (place.kind, place.lat, place.lng, place.state, query.radius) if place else None,
            tuple(tuple(sorted(getattr(query, name))) for name in FILTERS),
            query.max_price,
            query.accepting,
            query.checked,
            # the telehealth programs' order and the checked filter read today's cutoffs
            plan.trust,
        )
