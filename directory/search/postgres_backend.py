"""The shared search backend: a `search_document` table in PostgreSQL with PostGIS.

One row per published clinic (made by migration 0003), written only through
`index`/`remove`/`refresh`/`rebuild`, which `sync` calls to drain the index queue,
so the table holds exactly what the Whoosh index would and `verify` compares the
same fingerprints. Every statement runs on the connection of the request's session
(one connection per request, never a second one from the pool), and writes join
the caller's transaction: `sync` deletes the queue entries it indexed and commits
both at once. Text is a weighted `tsvector` (name A > modalities and
conditions B > description and place C) under a GIN index, with the synonym group
words of `synonyms.annotate` indexed exactly as the Whoosh backend indexes them;
places are `geography(Point,4326)` under a GiST index, so `ST_DWithin` and
`ST_Distance` measure on the WGS-84 spheroid (the geodesic the contract asks for).
Filters, facets, ordering and pagination are SQL. Every write also updates the one
row of `search_stats` (migration 0004) in its transaction: the index generation
(the writing transaction's id) and the document count. A search reads that row
first, and what is kept in the process (the document frequencies of
query words; the facets, total and telehealth programs of a search, the same for
all its pages and sorts) is keyed by generation: several app servers still see
every commit at once, and nothing kept outlives the index contents it came from.

Every statement is built from fixed fragments; whatever the patient typed only
ever reaches PostgreSQL as a bound parameter.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from whoosh.analysis import STOP_WORDS

from .backend import Hit, IndexBusy, SearchBackend, SearchPage
from .documents import ClinicDocument
from .evaluate import TELEHEALTH_LIMIT
from .memo import Memo
from .query import FILTERS, SearchQuery
from .synonyms import annotate, expand, group_token, words

TABLE = "search_document"
# One row: the index generation and document count (migration 0004).
STATS = "search_stats"
# Snowball English without stop words (migration 0003); `_kept` drops Whoosh's.
TEXT_CONFIG = "directory_english"
# tsvector weight letter -> field weight: name (A) > tags (B) > body (C), as in Whoosh.
FIELD_WEIGHTS = {"a": 3.0, "b": 2.0, "c": 1.0}
METERS_PER_MILE = 1609.344
# The WGS-84 geodesic between two points is between 0.9944 and 1.0045 times their
# great-circle distance on PostGIS's mean-radius sphere (`<->`, ST_Distance(..., false)):
# the extremes of the ellipsoid's radii of curvature over that radius (0.9950 and
# 1.0042 measured over 100k random US pairs). With room to spare, then: a row within
# SPHERE_INSIDE x r on the sphere is within r on the spheroid (needs 1 / 1.0045), a
# row within r on the spheroid is within SPHERE_OUTSIDE x r on the sphere (needs
# 1 / 0.9944), and a row no farther on the spheroid than one D away on the sphere
# is within SPHERE_SLACK x D on the sphere (needs 1.0045 / 0.9944 = 1.0102).
SPHERE_INSIDE = 0.99
SPHERE_OUTSIDE = 1.01
SPHERE_SLACK = 1.02
# pg_advisory_xact_lock key that orders writers of search_document ("srchdoc1").
WRITE_LOCK_KEY = int.from_bytes(b"srchdoc1", "big") & 0x7FFF_FFFF_FFFF_FFFF
# How long a writer waits for another writer's lock by default, and between tries.
WRITE_LOCK_WAIT = 30.0
WRITE_LOCK_RETRY = 0.02
BATCH = 500
# Entries kept in the process, least recently used dropped first: document
# frequencies (one per query word and field) and what the pages of one search share
# (facets, total, telehealth programs; a few kB each).
FREQUENCY_CACHE = 4096
SHARED_CACHE = 512
# Per search (SET LOCAL: for the rest of the request's transaction). JIT compilation
# (the planner's row estimates for ST_DWithin and unnest are far off, so it starts
# on short statements) cost up to
# 60 ms at 100k documents and saved nothing. The statements bounded by a radius go
# without parallel workers, which cost more to start than they saved (a 3 ms scan
# took 16 ms behind a Gather); a text search without a place reads every match,
# and there two workers do take a third off.
_SEARCH_SETTINGS = "SET LOCAL jit = off"
_SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0"
_PARALLEL = "SET LOCAL max_parallel_workers_per_gather TO DEFAULT"

_UPSERT = text(
    f"""
    INSERT INTO {TABLE} (
        clinic_id, fingerprint, in_person, telehealth, states_served, geog,
        modality, condition, insurer, payment, prices, verified_ordinal, document
    ) VALUES (
        :clinic_id, :fingerprint, :in_person, :telehealth, CAST(:states_served AS text[]),
        CASE WHEN CAST(:lat AS double precision) IS NULL
                  OR CAST(:lng AS double precision) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(CAST(:lng AS double precision),
                                          CAST(:lat AS double precision)), 4326)::geography
        END,
        CAST(:modality AS text[]), CAST(:condition AS text[]), CAST(:insurer AS text[]),
        CAST(:payment AS text[]), CAST(:prices AS jsonb), :verified_ordinal,
        setweight(to_tsvector('{TEXT_CONFIG}', :name_text), 'A')
        || setweight(to_tsvector('{TEXT_CONFIG}', :tags_text), 'B')
        || setweight(to_tsvector('{TEXT_CONFIG}', :body_text), 'C')
    )
    ON CONFLICT (clinic_id) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, in_person = EXCLUDED.in_person,
        telehealth = EXCLUDED.telehealth, states_served = EXCLUDED.states_served,
        geog = EXCLUDED.geog, modality = EXCLUDED.modality, condition = EXCLUDED.condition,
        insurer = EXCLUDED.insurer, payment = EXCLUDED.payment, prices = EXCLUDED.prices,
        verified_ordinal = EXCLUDED.verified_ordinal, document = EXCLUDED.document
    """
)

# The write's transaction id becomes the generation: ids never repeat in a cluster.
_BUMP = text(f"UPDATE {STATS} SET generation = txid_current(), documents = documents + :added")
_RECOUNT = text(
    f"UPDATE {STATS} SET generation = txid_current(), documents = (SELECT count(*) FROM {TABLE})"
)
_RECREATE_STATS = text(
    f"INSERT INTO {STATS} (id, generation, documents) "
    f"SELECT TRUE, txid_current(), count(*) FROM {TABLE}"
)
_READ_STATS = text(f"SELECT generation, documents FROM {STATS}")


def _searchable(value: str) -> str:
    """Text as plain words, synonym group words appended, Whoosh's stop words left out.

    Splitting into plain words first keeps PostgreSQL's parser from treating
    hyphenated words, e-mail addresses or decimals differently at index time than
    the patient's words are split at query time.
    """
    return " ".join(w for w in words(annotate(value)) if _kept(w))


def _kept(word: str) -> bool:
    """Whoosh's analyzer drops stop words and one-letter words; so does this backend."""
    return len(word) >= 2 and word not in STOP_WORDS


def _params(doc: ClinicDocument) -> dict[str, Any]:
    return {
        "clinic_id": doc.id,
        "fingerprint": doc.fingerprint,
        "in_person": doc.kind in ("in_person", "both"),
        "telehealth": doc.kind in ("telehealth", "both"),
        "states_served": list(doc.states_served),
        "lat": doc.lat,
        "lng": doc.lng,
        "modality": list(doc.modalities),
        "condition": list(doc.conditions),
        "insurer": list(doc.insurers),
        "payment": list(doc.payment),
        "prices": json.dumps(dict(doc.prices)),
        "verified_ordinal": doc.verified_ordinal,
        "name_text": _searchable(doc.name),
        "tags_text": _searchable(doc.tags),
        "body_text": _searchable(doc.body),
    }


def _batches(documents: Iterable[ClinicDocument]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, BATCH)):
        yield [_params(doc) for doc in batch]


@dataclass
class _Sql:
    """Fragments and bound parameters of one search."""

    params: dict[str, Any] = field(default_factory=dict)

    def bind(self, value: Any, prefix: str = "p") -> str:
        name = f"{prefix}{len(self.params)}"
        self.params[name] = value
        return f":{name}"


@dataclass(frozen=True)
class _Shared:
    """What every page and sort of one search share (see `PostgresBackend._shared_key`)."""

    facets: dict[str, dict[str, int]]
    total: int
    telehealth: tuple[Hit, ...]


@dataclass(frozen=True)
class _Stats:
    """The search_stats row a search read; `generation` is None when the row is missing."""

    generation: int | None
    documents: int


@dataclass
class _Change:
    """One write transaction, and what it did to the number of documents."""

    conn: Connection
    added: int = 0
    recount: bool = False


@dataclass
class _Plan:
    """The fragments of one search. `text`, `near`, `flags` and `priced` are over the
    table (`d`); `distance(alias)` and `lowest(alias)` over the alias named. `point`
    and `radius` (metres) are bound parameters, None without a place."""

    sql: _Sql
    units: list[list[list[str]]]
    text: str
    text_key: tuple
    point: str | None
    radius: str | None
    near: str
    flags: dict[str, str]
    priced: str
    lowest: Callable[[str], str]
    max_price: str | None

    def distance(self, alias: str) -> str:
        """Miles from the place to `alias`'s point, on the spheroid (NULL without a place)."""
        if self.point is None:
            return "NULL::double precision"
        return f"ST_Distance({alias}.geog, {self.point}) / {METERS_PER_MILE}"

    @property
    def passing(self) -> str:
        """A row of `space` (`s`) that passes the price limit and every filter."""
        return " AND ".join(["s.priced", *(f"s.f_{name}" for name in self.flags)])


class PostgresBackend(SearchBackend):
    """Search over the `search_document` table of the app's own PostgreSQL database."""

    name = "postgres"

    def __init__(self, connection: Callable[[], Connection]):
        # Looked up per call: the request's session connection (Flask-SQLAlchemy
        # binds the session to the app context).
        self._connection = connection
        self._frequencies = Memo(FREQUENCY_CACHE)
        self._shared = Memo(SHARED_CACHE)

    # -- storage ------------------------------------------------------------------
    @contextmanager
    def _write(self, wait: float | None = None) -> Iterator[_Change]:
        """A savepoint in the caller's transaction, holding the index's write lock
        until that transaction ends.

        A transaction-level advisory lock orders every writer of the index, across
        processes and app servers; searches take no lock and are never blocked.
        After `wait` seconds without the lock, `IndexBusy`. Before the savepoint is
        released the stats row gets the new generation and document count, so no
        write can leave what searches cached looking current; a failed write rolls
        back to the savepoint and leaves the caller's transaction usable.
        """
        conn = self._connection()
        deadline = time.monotonic() + (WRITE_LOCK_WAIT if wait is None else wait)
        lock = text("SELECT pg_try_advisory_xact_lock(:key)")
        while not conn.execute(lock, {"key": WRITE_LOCK_KEY}).scalar_one():
            if time.monotonic() >= deadline:
                raise IndexBusy("another writer holds the search index")
            time.sleep(WRITE_LOCK_RETRY)
        with conn.begin_nested():
            change = _Change(conn)
            yield change
            self._bump(change)

    @staticmethod
    def _bump(change: _Change) -> None:
        """New generation; the count moves by what was added, or is counted afresh.

        A missing row (removed by hand) is made again from a count.
        """
        conn = change.conn
        if not change.recount and conn.execute(_BUMP, {"added": change.added}).rowcount:
            return
        if not conn.execute(_RECOUNT).rowcount:
            conn.execute(_RECREATE_STATS)

    @staticmethod
    def _delete(change: _Change, clinic_ids: list[int]) -> None:
        deleted = change.conn.execute(
            text(f"DELETE FROM {TABLE} WHERE clinic_id = ANY(CAST(:ids AS integer[]))"),
            {"ids": clinic_ids},
        )
        change.added -= deleted.rowcount

    @staticmethod
    def _upsert(change: _Change, documents: Iterable[ClinicDocument]) -> int:
        """Write the documents in batches, counting those that were not indexed yet
        (writers hold the lock, so nothing changes between the count and the write)."""
        count = 0
        for batch in _batches(documents):
            if not change.recount:
                ids = sorted({params["clinic_id"] for params in batch})
                present = change.conn.execute(
                    text(
                        f"SELECT count(*) FROM {TABLE} "
                        "WHERE clinic_id = ANY(CAST(:ids AS integer[]))"
                    ),
                    {"ids": ids},
                ).scalar_one()
                change.added += len(ids) - present
            change.conn.execute(_UPSERT, batch)
            count += len(batch)
        return count

    def index(self, documents: Iterable[ClinicDocument]) -> None:
        with self._write() as change:
            self._upsert(change, documents)

    def remove(self, clinic_ids: Iterable[int]) -> None:
        ids = sorted(set(clinic_ids))
        if not ids:
            return
        with self._write() as change:
            self._delete(change, ids)

    def refresh(
        self,
        clinic_ids: set[int],
        load: Callable[[set[int]], list[ClinicDocument]],
        wait: float | None = None,
    ) -> None:
        """Read the rows after taking the write lock, then write them in that transaction."""
        with self._write(wait) as change:
            documents = load(clinic_ids)
            gone = sorted(clinic_ids - {doc.id for doc in documents})
            if gone:
                self._delete(change, gone)
            self._upsert(change, documents)

    def rebuild(
        self, documents: Iterable[ClinicDocument], replacing: Hashable | None = None
    ) -> int | None:
        """Replace every row in the caller's transaction: readers see the old index until
        it commits.

        DELETE rather than TRUNCATE, so searches running meanwhile are not blocked.
        The document count is taken once at the end instead of batch by batch.
        """
        with self._write() as change:
            change.recount = True
            change.conn.execute(text(f"DELETE FROM {TABLE}"))
            return self._upsert(change, documents)

    def fingerprints(self) -> dict[int, str]:
        rows = self._connection().execute(text(f"SELECT clinic_id, fingerprint FROM {TABLE}"))
        return {int(clinic_id): fingerprint for clinic_id, fingerprint in rows}

    # -- searching ------------------------------------------------------------------
    @staticmethod
    def _stats(conn: Connection) -> _Stats:
        row = conn.execute(_READ_STATS).first()
        if row is None:  # removed by hand: count, and cache nothing until a write
            return _Stats(None, conn.execute(text(f"SELECT count(*) FROM {TABLE}")).scalar_one())
        return _Stats(int(row.generation), int(row.documents))

    def version(self) -> int | None:
        """The index generation every app server sees (None without the stats row), so
        pages cached by one server are never served after another server's write."""
        return self._connection().execute(text(f"SELECT generation FROM {STATS}")).scalar()

    @staticmethod
    def _units(conn: Connection, q: str) -> list[list[list[str]]]:
        """The query's units, each a list of options, each the lexemes of one word.

        The same units as the Whoosh backend: the group word (indexed wherever any of
        the group's phrases occurs) plus the single-word members. Stop words and
        one-letter words drop out, and so does a unit left without words, as in
        Whoosh; PostgreSQL stems the rest as it stemmed the documents.
        """
        units = []
        for alternatives in expand(q):
            options = [w for w in alternatives if " " not in w and _kept(w)]
            if len(alternatives) > 1:
                options.insert(0, group_token(alternatives))
            units.append(options)
        flat = [w for options in units for w in options]
        lexemes = conn.execute(
            text(
                f"SELECT tsvector_to_array(to_tsvector('{TEXT_CONFIG}', w)) "
                "FROM unnest(CAST(:words AS text[])) WITH ORDINALITY AS t(w, i) ORDER BY i"
            ),
            {"words": flat},
        ).scalars()
        stemmed = dict(zip(flat, lexemes, strict=True))
        found = [[stemmed[w] for w in options if stemmed[w]] for options in units]
        return [options for options in found if options]

    @staticmethod
    def _tsquery(units: list[list[list[str]]], weight: str = "") -> str:
        """tsquery text: every unit, any of its options, all lexemes of an option.

        With `weight` ("a", "b" or "c") the lexemes only match in that field.
        """
        suffix = f":{weight}" if weight else ""

        def lexeme(value: str) -> str:
            return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'" + suffix

        return " & ".join(
            "(" + " | ".join("(" + " & ".join(map(lexeme, o)) + ")" for o in options) + ")"
            for options in units
        )

    def _document_frequencies(
        self, conn: Connection, stats: _Stats, units: list[list[list[str]]]
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
                tsquery = self._tsquery([unit], letter)
                df = self._frequencies.get((stats.generation, tsquery))
                if df is None:
                    missing.append(unit)
                    break
                found[tsquery] = df
        if not missing:
            return found
        sql = _Sql()
        counted = [self._tsquery([unit], letter) for unit in missing for letter in FIELD_WEIGHTS]
        counts = ", ".join(
            f"count(*) FILTER (WHERE d.document @@ CAST({sql.bind(q, 'u')} AS tsquery))"
            for q in counted
        )
        anything = sql.bind(" | ".join(f"({self._tsquery([unit])})" for unit in missing), "u")
        row = conn.execute(
            text(f"SELECT {counts} FROM {TABLE} d WHERE d.document @@ CAST({anything} AS tsquery)"),
            sql.params,
        ).one()
        for tsquery, df in zip(counted, row, strict=True):
            found[tsquery] = int(df)
            if stats.generation is not None:
                self._frequencies.put((stats.generation, tsquery), int(df))
        return found

    def _score(
        self, conn: Connection, sql: _Sql, units: list[list[list[str]]], stats: _Stats
    ) -> str:
        """A score expression: per unit and field, the field's weight times the unit's IDF.

        The Whoosh backend's scorer in SQL: a unit found in a field adds
        weight x log(1 + N / df), df counting the documents with the unit in that
        field, so rare words and matches in the name count most and repeating a word
        counts once. (`ts_rank` would reward repetition: the tags field repeats
        condition synonyms, and could outrank a name.) N is the stats row's count,
        df comes from `_document_frequencies`.
        """
        frequencies = self._document_frequencies(conn, stats, units)
        total = max(1, stats.documents)
        terms = []
        for unit in units:
            for letter, field_weight in FIELD_WEIGHTS.items():
                tsquery = self._tsquery([unit], letter)
                if df := frequencies[tsquery]:
                    weight = field_weight * math.log(1 + total / df)
                    terms.append(
                        f"(CASE WHEN d.document @@ CAST({sql.bind(tsquery, 'u')} AS tsquery) "
                        f"THEN CAST({sql.bind(weight, 'k')} AS double precision) ELSE 0 END)"
                    )
        return " + ".join(terms) if terms else "0.0"

    def search(self, query: SearchQuery) -> SearchPage:
        conn = self._connection()
        conn.exec_driver_sql(_SEARCH_SETTINGS)
        return self._search(conn, query)

    def _plan(self, conn: Connection, query: SearchQuery) -> _Plan:
        """Every condition of the query as SQL, with its values bound."""
        sql = _Sql()
        units: list[list[list[str]]] = []
        text_match, text_key = "TRUE", ("all",)
        if query.q:
            units = self._units(conn, query.q)
            text_match, text_key = "FALSE", ("nothing",)
            if units:
                tsquery = self._tsquery(units)
                text_match = f"d.document @@ CAST({sql.bind(tsquery, 'q')} AS tsquery)"
                text_key = ("match", tsquery)

        place = query.location
        point, radius, near = None, None, "TRUE"
        if place is not None:
            point = (
                f"ST_SetSRID(ST_MakePoint(CAST({sql.bind(place.lng, 'lng')} AS double precision), "
                f"CAST({sql.bind(place.lat, 'lat')} AS double precision)), 4326)::geography"
            )
            radius = sql.bind(query.radius * METERS_PER_MILE, "r")
            near = (
                f"(d.in_person AND d.geog IS NOT NULL "
                f"AND ST_DWithin(d.geog, {point}, CAST({radius} AS double precision)))"
            )

        flags = {
            name: f"d.{name} && CAST({sql.bind(list(codes), 'f')} AS text[])"
            for name in FILTERS
            if (codes := getattr(query, name))
        }
        priced, lowest, max_price = self._prices(sql, query)
        return _Plan(
            sql, units, text_match, text_key, point, radius, near, flags, priced, lowest, max_price
        )

    @staticmethod
    def _prices(sql: _Sql, query: SearchQuery) -> tuple[str, Callable[[str], str], str | None]:
        """The price limit over `d`, the lowest price of a row by alias, and the bound limit.

        With modalities chosen, the lowest price is LEAST over those keys of `prices`
        (LEAST skips NULLs, as min() does), and the limit is met when it is at most
        max_price. Without, the limit is a jsonpath test and the lowest price a min()
        over every offering. Either is one expression per row instead of a subquery
        over jsonb_each_text, which cost about 1.5 us a row.
        """
        codes = [sql.bind(code, "m") for code in query.modality]

        def lowest(alias: str) -> str:
            if codes:
                keys = ", ".join(f"({alias}.prices ->> {code})::integer" for code in codes)
                return f"LEAST({keys})"
            return f"(SELECT min(e.value::integer) FROM jsonb_each_text({alias}.prices) e)"

        if query.max_price is None:
            return "TRUE", lowest, None
        max_price = sql.bind(query.max_price, "x")
        if codes:
            return f"COALESCE({lowest('d')} <= {max_price}, FALSE)", lowest, max_price
        priced = (
            "jsonb_path_exists(d.prices, '$.* ? (@ <= $max)', "
            f"jsonb_build_object('max', CAST({max_price} AS integer)))"
        )
        return priced, lowest, max_price

    def _search(self, conn: Connection, query: SearchQuery) -> SearchPage:
        stats = self._stats(conn)
        plan = self._plan(conn, query)
        place = query.location
        state = plan.sql.bind([place.state], "s") if place is not None and place.state else None
        key = self._shared_key(stats, plan, query)
        shared: _Shared | None = self._shared.get(key) if key else None
        score = "0.0"
        if plan.units and (query.sort == "relevance" or (state is not None and shared is None)):
            score = self._score(conn, plan.sql, plan.units, stats)
        if plan.point:
            conn.exec_driver_sql(_SERIAL)  # after the frequencies, which read every match
        # Each statement reads its own snapshot (the session's transaction is READ
        # COMMITTED). The page and its counts come from one statement; what is kept
        # or taken from `_shared` belongs to the generation read first only if no
        # write committed before the last statement, which reading it again tells.
        if shared is not None:
            if plan.point and query.sort == "distance":
                hits = self._nearest_page(conn, plan, query)
            else:
                hits, _, _ = self._results(conn, plan, query, score, counted=False)
            if self._stats(conn).generation != stats.generation:
                shared, key = None, None  # a write came between: count afresh
        if shared is None:
            hits, facets, total = self._results(conn, plan, query, score, counted=True)
            telehealth = self._telehealth(conn, plan, query, score, state) if state else []
            shared = _Shared(facets, total, tuple(telehealth))
            if key and self._stats(conn).generation == stats.generation:
                self._shared.put(key, shared)
        if plan.point:
            conn.exec_driver_sql(_PARALLEL)
        return SearchPage(
            query=query,
            hits=hits,
            total=shared.total,
            telehealth=list(shared.telehealth),
            facets={name: dict(sorted(shared.facets[name].items())) for name in FILTERS},
        )

    @staticmethod
    def _shared_key(stats: _Stats, plan: _Plan, query: SearchQuery) -> tuple | None:
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
            (place.lat, place.lng, place.state, query.radius) if place is not None else None,
            tuple(tuple(sorted(getattr(query, name))) for name in FILTERS),
            query.max_price,
        )

    def _results(
        self, conn: Connection, plan: _Plan, query: SearchQuery, score: str, counted: bool
    ) -> tuple[list[Hit], dict[str, dict[str, int]], int]:
        """The page, and when `counted` the facets and total, in one statement.

        `space` holds the documents matching the text and the place, each with a flag
        per filter: the page and the total take those passing every filter, and the
        facets count, per code, those passing every *other* filter (the price limit
        belongs to the modality filter when modalities are chosen, so a modality's
        count uses that modality's own price). Referenced more than once, `space` is
        computed once. Referenced once (the page alone) without a place, the planner
        folds it into the page's query and can use the filters' indexes; with a
        place it stays MATERIALIZED, so the radius (GiST) bounds the work instead of
        a filter's index intersected with it, which reads tens of thousands of
        postings at 100k documents for a common code.
        """
        parts = [self._page_part(plan, query)]
        if counted:
            parts += self._facet_parts(plan)
            parts.append(
                f"SELECT 'total', NULL, NULL, count(*), NULL, NULL, NULL "
                f"FROM space s WHERE {plan.passing}"
            )
        ctes = [
            f"space AS {'MATERIALIZED ' if plan.point else ''}"
            f"({self._space(plan, query, score, counted)})"
        ]
        if plan.point and query.sort == "distance":
            ctes.append(self._nearest(plan, query))
        statement = f"WITH {', '.join(ctes)} " + " UNION ALL ".join(parts)
        rows = []
        facets: dict[str, dict[str, int]] = {name: {} for name in FILTERS}
        total = 0
        for row in conn.execute(text(statement), plan.sql.params):
            if row.part == "page":
                rows.append(row)
            elif row.part == "facet":
                facets[row.facet][row.code] = int(row.n)
            else:
                total = int(row.n)
        hits = [
            Hit(
                row.clinic_id,
                float(row.distance) if row.distance is not None else None,
                float(row.score) if row.score is not None else None,
            )
            for row in sorted(rows, key=lambda row: row.n)
        ]
        return hits, facets, total

    @staticmethod
    def _space(plan: _Plan, query: SearchQuery, score: str, counted: bool) -> str:
        """The matches of the text and place, with what the page (and facets) read."""
        columns = ["d.clinic_id", "d.geog", "d.verified_ordinal"]
        if counted or query.sort == "price":
            columns.append("d.prices")
        if counted:
            columns += [f"d.{name}" for name in FILTERS]
        columns.append(
            f"{score if query.sort == 'relevance' else 'NULL::double precision'} AS score"
        )
        columns.append(f"{plan.priced} AS priced")
        columns += [f"{expr} AS f_{name}" for name, expr in plan.flags.items()]
        return f"SELECT {', '.join(columns)} FROM {TABLE} d WHERE {plan.text} AND {plan.near}"

    @staticmethod
    def _nearest(plan: _Plan, query: SearchQuery) -> str:
        """How far (on the sphere) the page's last row can be: a bound for the page.

        The exact (spheroid) distance costs about 1.3 us a row, and a search of 500
        miles around New York has 25k rows in its radius; `<->` (on the sphere)
        about 0.3 us. If K = offset + limit passing rows lie within D on the sphere,
        the first K by exact distance all lie within D x SPHERE_SLACK on it (see the
        constants; with a metre for rounding), and only the rows within that bound
        get their exact distance. With fewer than K passing rows the bound is the
        farthest of them, so every row stays in.
        """
        k = plan.sql.bind(query.page * query.per_page, "k")
        return (
            f"nearest AS (SELECT max(n.ds) * {SPHERE_SLACK} + 1 AS bound FROM ("
            f"SELECT s.geog <-> {plan.point} AS ds FROM space s WHERE {plan.passing} "
            f"ORDER BY ds LIMIT {k}) n)"
        )

    @staticmethod
    def _nearest_page(conn: Connection, plan: _Plan, query: SearchQuery) -> list[Hit]:
        """A page by distance without reading every row in the radius (facets known).

        First the K = offset + limit nearest passing rows on the sphere, by the GiST
        index's KNN order (it stops after K), among those surely in the radius
        (within SPHERE_INSIDE x r on the sphere: a subset of the results). If there
        are K of them, the results' first K by exact distance lie within their
        farthest x SPHERE_SLACK on the sphere, as in `_nearest`; if not, within
        SPHERE_OUTSIDE x r. Then only the rows within that bound get their exact
        distance. The plain `&&` with `_ST_Expand` (what ST_DWithin's index
        condition is made of) gives the planner a fair row estimate; ST_DWithin's
        own estimate is a few rows, for which it would read the whole radius and
        sort it. 500 miles around New York, page 8: 12 ms instead of 65.
        """
        sql = plan.sql
        k = sql.bind(query.page * query.per_page, "k")
        limit = sql.bind(query.per_page, "l")
        offset = sql.bind((query.page - 1) * query.per_page, "o")
        radius = f"CAST({plan.radius} AS double precision)"
        matching = " AND ".join([plan.text, plan.priced, *plan.flags.values()])
        statement = f"""
            WITH nearest AS (
                SELECT CASE WHEN count(*) < {k} THEN {radius} * {SPHERE_OUTSIDE}
                            ELSE max(n.ds) * {SPHERE_SLACK} END + 1 AS bound
                FROM (
                    SELECT d.geog <-> {plan.point} AS ds FROM {TABLE} d
                    WHERE d.in_person AND d.geog && _ST_Expand({plan.point}, {radius})
                      AND (d.geog <-> {plan.point}) <= {radius} * {SPHERE_INSIDE}
                      AND {matching}
                    ORDER BY d.geog <-> {plan.point} LIMIT {k}
                ) n
            )
            SELECT d.clinic_id, {plan.distance("d")} AS distance
            FROM {TABLE} d
            WHERE {plan.near} AND {matching}
              AND ST_DWithin(d.geog, {plan.point}, (SELECT bound FROM nearest), false)
            ORDER BY distance, d.clinic_id LIMIT {limit} OFFSET {offset}
        """
        return [
            Hit(row.clinic_id, float(row.distance), None)
            for row in conn.execute(text(statement), sql.params)
        ]

    @staticmethod
    def _page_part(plan: _Plan, query: SearchQuery) -> str:
        """The page's rows out of `space`, numbered in order.

        The outer row_number orders them again (at most 50): a UNION ALL promises
        no order of its own.
        """
        sql = plan.sql
        keys = {
            "distance": [("distance", ""), ("clinic_id", "")],
            "relevance": [("score", " DESC"), ("clinic_id", "")],
            "price": [("lowest", " ASC NULLS LAST"), ("clinic_id", "")],
            "recent": [("verified_ordinal", " DESC"), ("clinic_id", "")],
        }[query.sort]
        lowest = plan.lowest("s") if query.sort == "price" else "NULL::integer"
        where = plan.passing
        if plan.point and query.sort == "distance":
            where += f" AND (s.geog <-> {plan.point}) <= (SELECT bound FROM nearest)"
        limit = sql.bind(query.per_page, "l")
        offset = sql.bind((query.page - 1) * query.per_page, "o")
        return f"""
            SELECT 'page' AS part, NULL::text AS facet, NULL::text AS code,
                   row_number() OVER (ORDER BY {", ".join(f"p.{k}{o}" for k, o in keys)}) AS n,
                   p.clinic_id, p.distance, p.score
            FROM (
                SELECT s.clinic_id, {plan.distance("s")} AS distance, s.score,
                       {lowest} AS lowest, s.verified_ordinal
                FROM space s WHERE {where}
                ORDER BY {", ".join(f"{k}{o}" for k, o in keys)} LIMIT {limit} OFFSET {offset}
            ) p
            """

    @staticmethod
    def _facet_parts(plan: _Plan) -> list[str]:
        """Per filter, every code present in `space` with the count of its rows that
        pass the other filters (zero counts included, as codes present)."""
        parts = []
        for name in FILTERS:
            conditions = [f"t.f_{other}" for other in plan.flags if other != name]
            if name == "modality" and plan.max_price is not None:
                conditions.append(f"(t.prices ->> t.code)::integer <= {plan.max_price}")
            elif plan.max_price is not None:
                conditions.append("t.priced")
            condition = " AND ".join(conditions) or "TRUE"
            # unnest in the select list (ProjectSet) rather than LATERAL: no
            # function scan, with its own tuplestore, per row.
            parts.append(
                f"SELECT 'facet', '{name}', t.code, count(*) FILTER (WHERE {condition}), "
                f"NULL, NULL, NULL "
                f"FROM (SELECT unnest(s.{name}) AS code, s.* FROM space s) t GROUP BY t.code"
            )
        return parts

    @staticmethod
    def _telehealth(
        conn: Connection, plan: _Plan, query: SearchQuery, score: str, state: str
    ) -> list[Hit]:
        """Programs licensed in the searched state that are not already results.

        The OFFSET 0 subquery keeps the planner to the state's programs (a few
        thousand at most, by the states_served index) instead of intersecting them
        with the text's or a filter's index, which at 100k documents reads tens of
        thousands of postings for a common word or code.
        """
        filters = "".join(f" AND {expr}" for expr in plan.flags.values())
        statement = f"""
            SELECT d.clinic_id, {score} AS score, {plan.lowest("d")} AS lowest
            FROM (
                SELECT * FROM {TABLE} t
                WHERE t.telehealth AND t.states_served @> CAST({state} AS text[])
                OFFSET 0
            ) d
            WHERE {plan.text} AND {plan.priced}{filters}
              AND NOT COALESCE({plan.near}, FALSE)
            ORDER BY score DESC, lowest ASC NULLS LAST, d.clinic_id
            LIMIT {TELEHEALTH_LIMIT}
        """
        return [
            Hit(row.clinic_id, None, float(row.score) if query.q else None)
            for row in conn.execute(text(statement), plan.sql.params)
        ]
