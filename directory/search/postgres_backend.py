"""The shared search backend: a `search_document` table in PostgreSQL with PostGIS.

One row per published clinic (made by migration 0003), written only through
`index`/`remove`/`rebuild`, which `sync` calls after the listings services commit,
so the table holds exactly what the Whoosh index would and `verify` compares the
same fingerprints. Text is a weighted `tsvector` (name A > modalities and
conditions B > description and place C) under a GIN index, with the synonym group
words of `synonyms.annotate` indexed exactly as the Whoosh backend indexes them;
places are `geography(Point,4326)` under a GiST index, so `ST_DWithin` and
`ST_Distance` measure on the WGS-84 spheroid (the geodesic the contract asks for).
Filters, facets, ordering and pagination are SQL; nothing is cached in the
process, so several app servers see every commit at once.

Every statement is built from fixed fragments; whatever the patient typed only
ever reaches PostgreSQL as a bound parameter.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from whoosh.analysis import STOP_WORDS

from .backend import Hit, SearchBackend, SearchPage
from .documents import ClinicDocument
from .evaluate import TELEHEALTH_LIMIT
from .query import FILTERS, SearchQuery
from .synonyms import annotate, expand, group_token, words

TABLE = "search_document"
# Snowball English without stop words (migration 0003); `_kept` drops Whoosh's.
TEXT_CONFIG = "directory_english"
# tsvector weight letter -> field weight: name (A) > tags (B) > body (C), as in Whoosh.
FIELD_WEIGHTS = {"a": 3.0, "b": 2.0, "c": 1.0}
METERS_PER_MILE = 1609.344
# pg_advisory_xact_lock key that orders writers of search_document ("srchdoc1").
WRITE_LOCK_KEY = int.from_bytes(b"srchdoc1", "big") & 0x7FFF_FFFF_FFFF_FFFF
BATCH = 500

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


class PostgresBackend(SearchBackend):
    """Search over the `search_document` table of the app's own PostgreSQL database."""

    name = "postgres"

    def __init__(self, engine: Callable[[], Engine]):
        # The engine is looked up per call: Flask-SQLAlchemy binds it to the app context.
        self._engine = engine

    # -- storage ------------------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction holding the index's write lock until it commits.

        A transaction-level advisory lock orders every writer of the index, across
        processes and app servers; searches take no lock and are never blocked.
        """
        with self._engine().begin() as conn:
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
            yield conn

    def _upsert(self, conn: Connection, documents: Iterable[ClinicDocument]) -> int:
        count = 0
        for batch in _batches(documents):
            conn.execute(_UPSERT, batch)
            count += len(batch)
        return count

    def index(self, documents: Iterable[ClinicDocument]) -> None:
        with self._write() as conn:
            self._upsert(conn, documents)

    def remove(self, clinic_ids: Iterable[int]) -> None:
        ids = sorted(set(clinic_ids))
        if not ids:
            return
        with self._write() as conn:
            conn.execute(
                text(f"DELETE FROM {TABLE} WHERE clinic_id = ANY(CAST(:ids AS integer[]))"),
                {"ids": ids},
            )

    def refresh(
        self, clinic_ids: set[int], load: Callable[[set[int]], list[ClinicDocument]]
    ) -> None:
        """Read the rows after taking the write lock, then write them in that transaction."""
        with self._write() as conn:
            documents = load(clinic_ids)
            gone = sorted(clinic_ids - {doc.id for doc in documents})
            if gone:
                conn.execute(
                    text(f"DELETE FROM {TABLE} WHERE clinic_id = ANY(CAST(:ids AS integer[]))"),
                    {"ids": gone},
                )
            self._upsert(conn, documents)

    def rebuild(self, documents: Iterable[ClinicDocument]) -> int:
        """Replace every row in one transaction: readers see the old index until it commits.

        DELETE rather than TRUNCATE, so searches running meanwhile are not blocked.
        """
        with self._write() as conn:
            conn.execute(text(f"DELETE FROM {TABLE}"))
            return self._upsert(conn, documents)

    def fingerprints(self) -> dict[int, str]:
        with self._engine().connect() as conn:
            rows = conn.execute(text(f"SELECT clinic_id, fingerprint FROM {TABLE}"))
            return {int(clinic_id): fingerprint for clinic_id, fingerprint in rows}

    # -- searching ------------------------------------------------------------------
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

    def _score(self, conn: Connection, sql: _Sql, units: list[list[list[str]]]) -> str:
        """A score expression: per unit and field, the field's weight times the unit's IDF.

        The Whoosh backend's scorer in SQL: a unit found in a field adds
        weight x log(1 + N / df), df counting the documents with the unit in that
        field, so rare words and matches in the name count most and repeating a word
        counts once. (`ts_rank` would reward repetition: the tags field repeats
        condition synonyms, and could outrank a name.) The document frequencies come
        from one count over the documents holding any unit (GIN index).
        """
        pairs = [
            (sql.bind(self._tsquery([unit], letter), "u"), letter)
            for unit in units
            for letter in FIELD_WEIGHTS
        ]
        counts = ", ".join(
            f"count(*) FILTER (WHERE d.document @@ CAST({param} AS tsquery))" for param, _ in pairs
        )
        anything = sql.bind(" | ".join(f"({self._tsquery([unit])})" for unit in units), "u")
        row = conn.execute(
            text(
                f"SELECT (SELECT count(*) FROM {TABLE}), {counts} FROM {TABLE} d "
                f"WHERE d.document @@ CAST({anything} AS tsquery)"
            ),
            sql.params,
        ).one()
        total, frequencies = max(1, row[0]), row[1:]
        terms = []
        for (param, letter), df in zip(pairs, frequencies, strict=True):
            if df:
                weight = FIELD_WEIGHTS[letter] * math.log(1 + total / df)
                terms.append(
                    f"(CASE WHEN d.document @@ CAST({param} AS tsquery) "
                    f"THEN CAST({sql.bind(weight, 'k')} AS double precision) ELSE 0 END)"
                )
        return " + ".join(terms) if terms else "0.0"

    def search(self, query: SearchQuery) -> SearchPage:
        # One snapshot for every statement, so a concurrent commit cannot split the answer.
        with (
            self._engine().connect().execution_options(isolation_level="REPEATABLE READ") as conn,
            conn.begin(),
        ):
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            return self._search(conn, query)

    def _search(self, conn: Connection, query: SearchQuery) -> SearchPage:
        sql = _Sql()
        text_match = "TRUE"
        units: list[list[list[str]]] = []
        if query.q:
            units = self._units(conn, query.q)
            text_match = "FALSE"
            if units:
                text_match = f"d.document @@ CAST({sql.bind(self._tsquery(units), 'q')} AS tsquery)"

        place = query.location
        near = "TRUE"
        distance = "NULL::double precision"
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
            distance = f"ST_Distance(d.geog, {point}) / {METERS_PER_MILE}"

        filters: dict[str, str] = {}
        for name in FILTERS:
            codes = getattr(query, name)
            filters[name] = (
                f"d.{name} && CAST({sql.bind(list(codes), 'f')} AS text[])" if codes else "TRUE"
            )
        of_modalities = "TRUE"
        if query.modality:
            of_modalities = f"e.key = ANY(CAST({sql.bind(list(query.modality), 'm')} AS text[]))"
        priced = "TRUE"
        max_price = "NULL"
        if query.max_price is not None:
            max_price = sql.bind(query.max_price, "x")
            priced = (
                "EXISTS (SELECT 1 FROM jsonb_each_text(d.prices) e "
                f"WHERE {of_modalities} AND e.value::integer <= {max_price})"
            )
        lowest = (
            f"(SELECT min(e.value::integer) FROM jsonb_each_text(d.prices) e WHERE {of_modalities})"
        )
        every_filter = " AND ".join(filters.values())
        matching = f"{text_match} AND {priced} AND {every_filter}"

        # Facets count, per code, the text-and-place matches that pass every *other*
        # filter; the price limit belongs to the modality filter when modalities are
        # chosen, so a modality's count uses that modality's own price.
        flags = ", ".join(f"{expr} AS f_{name}" for name, expr in filters.items())
        space = f"""
            SELECT d.modality, d.condition, d.insurer, d.payment, d.prices,
                   {priced} AS priced, {flags}
            FROM {TABLE} d WHERE {text_match} AND {near}
        """
        facet_parts = []
        for name in FILTERS:
            others = " AND ".join(f"s.f_{other}" for other in FILTERS if other != name)
            if name == "modality":
                condition = others
                if query.max_price is not None:
                    condition += f" AND (s.prices ->> code)::integer <= {max_price}"
            else:
                condition = f"{others} AND s.priced"
            facet_parts.append(
                f"SELECT '{name}' AS facet, code, count(*) FILTER (WHERE {condition}) AS n "
                f"FROM space s CROSS JOIN LATERAL unnest(s.{name}) AS code GROUP BY code"
            )
        facets_sql = f"WITH space AS MATERIALIZED ({space}) " + " UNION ALL ".join(facet_parts)
        count_sql = f"SELECT count(*) FROM {TABLE} d WHERE {matching} AND {near}"
        order = {
            "distance": "distance, d.clinic_id",
            "relevance": "score DESC, d.clinic_id",
            "price": "lowest ASC NULLS LAST, d.clinic_id",
            "recent": "d.verified_ordinal DESC, d.clinic_id",
        }[query.sort]
        limit = sql.bind(query.per_page, "l")
        offset = sql.bind((query.page - 1) * query.per_page, "o")
        state = sql.bind([place.state], "s") if place is not None and place.state else None
        with_telehealth = state is not None

        score = "0.0"
        if units and (query.sort == "relevance" or with_telehealth):
            score = self._score(conn, sql, units)
        page_score = score if query.sort == "relevance" else "NULL::double precision"
        page_sql = f"""
            SELECT d.clinic_id, {distance} AS distance, {page_score} AS score,
                   {lowest} AS lowest, count(*) OVER () AS total
            FROM {TABLE} d WHERE {matching} AND {near}
            ORDER BY {order} LIMIT {limit} OFFSET {offset}
        """
        rows = conn.execute(text(page_sql), sql.params).all()
        total = rows[0].total if rows else conn.execute(text(count_sql), sql.params).scalar()
        facets: dict[str, dict[str, int]] = {name: {} for name in FILTERS}
        for facet, code, n in conn.execute(text(facets_sql), sql.params):
            facets[facet][code] = n
        telehealth: list[Hit] = []
        if with_telehealth:
            # Programs licensed in the searched state that are not already results.
            telehealth_sql = f"""
                SELECT d.clinic_id, {score} AS score, {lowest} AS lowest
                FROM {TABLE} d
                WHERE {matching} AND d.telehealth
                  AND d.states_served @> CAST({state} AS text[])
                  AND NOT COALESCE({near}, FALSE)
                ORDER BY score DESC, lowest ASC NULLS LAST, d.clinic_id
                LIMIT {TELEHEALTH_LIMIT}
            """
            telehealth = [
                Hit(row.clinic_id, None, float(row.score) if query.q else None)
                for row in conn.execute(text(telehealth_sql), sql.params)
            ]
        hits = [
            Hit(
                row.clinic_id,
                float(row.distance) if row.distance is not None else None,
                float(row.score) if row.score is not None else None,
            )
            for row in rows
        ]
        return SearchPage(
            query=query,
            hits=hits,
            total=int(total or 0),
            telehealth=telehealth,
            facets={name: dict(sorted(counts.items())) for name, counts in facets.items()},
        )
