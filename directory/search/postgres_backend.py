"""The shared search backend: a `search_document` table in PostgreSQL with PostGIS.

One row per published clinic, written only through `index`/`remove`/`refresh`/
`rebuild`, which `sync` calls to drain the index queue, so the table holds exactly
what the Whoosh index would and `verify` compares the same fingerprints. Every
statement runs on the connection of the request's session (one connection per
request, never a second one from the pool), and writes join the caller's
transaction: `sync` deletes the queue entries it indexed and commits both at once.

The parts: `pg_index` (the table, its stats row and the writes), `pg_query` (a
search as SQL), `pg_statistics` (what a process keeps per index generation).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import replace

from sqlalchemy import text
from sqlalchemy.engine import Connection

from . import pg_index, pg_query
from .backend import SearchBackend, SearchPage
from .documents import ClinicDocument
from .pg_statistics import RANKED, RANKED_DEEPEST, Ranked, Shared, Statistics, read_stats
from .query import FILTERS, TELEHEALTH_LIMIT, SearchQuery

# Per search (SET LOCAL: for the rest of the request's transaction). JIT off: the
# planner's row estimates for ST_DWithin and unnest are far off, so it compiled short
# statements for nothing. Statements bounded by a radius run without parallel
# workers, which cost more to start than they save; a text search without a place
# reads every match, and keeps its workers (docs/performance.md, "What changed, and
# why").
_SEARCH_SETTINGS = "SET LOCAL jit = off"
_SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0"
_PARALLEL = "SET LOCAL max_parallel_workers_per_gather TO DEFAULT"


class PostgresBackend(SearchBackend):
    """Search over the `search_document` table of the app's own PostgreSQL database."""

    name = "postgres"

    def __init__(self, connection: Callable[[], Connection]):
        # Looked up per call: the request's session connection (Flask-SQLAlchemy
        # binds the session to the app context).
        self._connection = connection
        self._statistics = Statistics()

    # -- storage ------------------------------------------------------------------
    def index(self, documents: Iterable[ClinicDocument]) -> None:
        with pg_index.writing(self._connection()) as change:
            pg_index.upsert(change, documents)

    def remove(self, clinic_ids: Iterable[int]) -> None:
        ids = sorted(set(clinic_ids))
        if not ids:
            return
        with pg_index.writing(self._connection()) as change:
            pg_index.delete(change, ids)

    def refresh(
        self,
        clinic_ids: set[int],
        load: Callable[[set[int]], list[ClinicDocument]],
        wait: float | None = None,
    ) -> None:
        """Read the rows after taking the write lock, then write them in that transaction."""
        with pg_index.writing(self._connection(), wait) as change:
            documents = load(clinic_ids)
            gone = sorted(clinic_ids - {doc.id for doc in documents})
            if gone:
                pg_index.delete(change, gone)
            pg_index.upsert(change, documents)

    def rebuild(
        self, documents: Iterable[ClinicDocument], replacing: Hashable | None = None
    ) -> int | None:
        """Replace every row in the caller's transaction: readers see the old index until
        it commits.

        DELETE rather than TRUNCATE, so searches running meanwhile are not blocked.
        The document count is taken once at the end instead of batch by batch.
        """
        with pg_index.writing(self._connection()) as change:
            change.recount = True
            change.conn.execute(text(f"DELETE FROM {pg_index.TABLE}"))
            return pg_index.upsert(change, documents)

    def fingerprints(self) -> dict[int, str]:
        statement = text(f"SELECT clinic_id, fingerprint FROM {pg_index.TABLE}")
        rows = self._connection().execute(statement)
        return {int(clinic_id): fingerprint for clinic_id, fingerprint in rows}

    # -- searching ------------------------------------------------------------------
    def version(self) -> int | None:
        """The index generation every app server sees (None without the stats row), so
        pages cached by one server are never served after another server's write."""
        statement = text(f"SELECT generation FROM {pg_index.STATS}")
        return self._connection().execute(statement).scalar()

    def search(self, query: SearchQuery, telehealth_cards: int = TELEHEALTH_LIMIT) -> SearchPage:
        conn = self._connection()
        conn.exec_driver_sql(_SEARCH_SETTINGS)
        return self._search(conn, query, telehealth_cards)

    def _search(
        self, conn: Connection, query: SearchQuery, telehealth_cards: int, kept: bool = True
    ) -> SearchPage:
        statistics = self._statistics
        stats = read_stats(conn)
        plan = pg_query.plan_search(conn, query)
        place = query.location
        state = plan.sql.bind([place.state], "s") if place is not None and place.state else None
        key = statistics.shared_key(stats, plan, query)
        shared = statistics.shared(key)
        start = (query.page - 1) * query.per_page
        # Without a place, a search orders every match of its text: it keeps its first
        # results (pg_statistics.RANKED) and reads none for a page among them.
        ranking = plan.point is None and start + query.per_page <= RANKED_DEEPEST
        first = max(RANKED, start + query.per_page) if ranking else None
        ranked = statistics.ranked(key, query.sort) if kept and ranking and shared else None
        hits = ranked.page(start, query.per_page) if ranked is not None else None
        if hits is not None:
            page = self._page(conn, query, hits, shared, telehealth_cards)
            if len(page.hits) == len(hits):
                return page
            # A write committed since the stats were read removed one of them (its
            # card is gone): this generation's ranking is outdated, read afresh.
            return self._search(conn, query, telehealth_cards, kept=False)
        score = "0.0"
        if plan.units and (query.sort == "relevance" or (state is not None and shared is None)):
            score = statistics.score(conn, plan.sql, plan.units, stats)
        if plan.point:
            conn.exec_driver_sql(_SERIAL)  # after the frequencies, which read every match
        # Each statement reads its own snapshot (the session's transaction is READ
        # COMMITTED). The page and its counts come from one statement; what is kept
        # or taken from the statistics belongs to the generation read first only if
        # no write committed before the last statement, which reading it again tells.
        if shared is not None:
            if plan.point and query.sort == "distance":
                hits = pg_query.nearest_page(conn, plan, query)
            else:
                hits, _, _ = pg_query.page_and_counts(
                    conn, plan, query, score, counted=False, prefix=first
                )
            if read_stats(conn).generation != stats.generation:
                shared, key = None, None  # a write came between: count afresh
        if shared is None:
            hits, facets, total = pg_query.page_and_counts(
                conn, plan, query, score, counted=True, prefix=first
            )
            telehealth = pg_query.telehealth_hits(conn, plan, query, score, state) if state else []
            shared = Shared(facets, total, tuple(telehealth))
            if key and read_stats(conn).generation == stats.generation:
                statistics.keep(key, shared)
            else:
                key = None
        if first is not None:
            if key:  # without the cards (the page's own came with it): 200 of them are 140 kB
                kept_hits = tuple(replace(hit, card=None) for hit in hits)
                statistics.keep_ranked(key, query.sort, Ranked(kept_hits, len(hits) < first))
            hits = hits[start : start + query.per_page]
        if plan.point:
            conn.exec_driver_sql(_PARALLEL)
        return self._page(conn, query, hits, shared, telehealth_cards)

    @staticmethod
    def _page(
        conn: Connection, query: SearchQuery, hits: list, shared: Shared, telehealth_cards: int
    ) -> SearchPage:
        """The answer, with the page's cards and those of the telehealth programs shown
        (the rest are counted, not shown: their cards are not read)."""
        shown, rest = shared.telehealth[:telehealth_cards], shared.telehealth[telehealth_cards:]
        hits, telehealth = pg_query.with_cards(conn, hits, list(shown))
        telehealth += rest
        return SearchPage(
            query=query,
            hits=hits,
            total=shared.total,
            telehealth=telehealth,
            facets={name: dict(sorted(shared.facets[name].items())) for name in FILTERS},
        )
