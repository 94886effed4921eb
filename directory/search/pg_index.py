"""The PostgreSQL search index's table and how it is written.

`search_document` (migrations 0003, 0007 and 0013) holds one row per published clinic: a weighted
`tsvector` (name A > modalities and conditions B > description and place C) under
GIN, with the synonym group words of `synonyms.annotate` indexed exactly as the
Whoosh backend indexes them, and a `geography(Point,4326)` under GiST. Every write
also updates the one row of `search_stats` (migration 0004) in its transaction:
the index generation (the writing transaction's id) and the document count, which
`pg_statistics` keys what the process keeps by.

Writes run in the caller's transaction (the request's session connection) inside
a savepoint, ordered across processes and servers by an advisory lock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection
from whoosh.analysis import STOP_WORDS

from .backend import IndexBusy
from .documents import ClinicDocument
from .synonyms import annotate, words

TABLE = "search_document"
# One row: the index generation and document count (migration 0004).
STATS = "search_stats"
# Snowball English without stop words (migration 0003); `kept` drops Whoosh's.
TEXT_CONFIG = "directory_english"
# pg_advisory_xact_lock key that orders writers of search_document ("srchdoc1").
WRITE_LOCK_KEY = int.from_bytes(b"srchdoc1", "big") & 0x7FFF_FFFF_FFFF_FFFF
# How long a writer waits for another writer's lock by default, and between tries.
WRITE_LOCK_WAIT = 30.0
WRITE_LOCK_RETRY = 0.02
BATCH = 500

_UPSERT = text(
    f"""
    INSERT INTO {TABLE} (
        clinic_id, fingerprint, in_person, telehealth, states_served, geog,
        modality, condition, insurer, payment, prices, verified_ordinal, state, accepting,
        checked_ordinal, prices_ordinal, card, document
    ) VALUES (
        :clinic_id, :fingerprint, :in_person, :telehealth, CAST(:states_served AS text[]),
        CASE WHEN CAST(:lat AS double precision) IS NULL
                  OR CAST(:lng AS double precision) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(CAST(:lng AS double precision),
                                          CAST(:lat AS double precision)), 4326)::geography
        END,
        CAST(:modality AS text[]), CAST(:condition AS text[]), CAST(:insurer AS text[]),
        CAST(:payment AS text[]), CAST(:prices AS jsonb), :verified_ordinal, :state, :accepting,
        :checked_ordinal, :prices_ordinal, :card,
        setweight(to_tsvector('{TEXT_CONFIG}', :name_text), 'A')
        || setweight(to_tsvector('{TEXT_CONFIG}', :tags_text), 'B')
        || setweight(to_tsvector('{TEXT_CONFIG}', :body_text), 'C')
    )
    ON CONFLICT (clinic_id) DO UPDATE SET
        fingerprint = EXCLUDED.fingerprint, in_person = EXCLUDED.in_person,
        telehealth = EXCLUDED.telehealth, states_served = EXCLUDED.states_served,
        geog = EXCLUDED.geog, modality = EXCLUDED.modality, condition = EXCLUDED.condition,
        insurer = EXCLUDED.insurer, payment = EXCLUDED.payment, prices = EXCLUDED.prices,
        verified_ordinal = EXCLUDED.verified_ordinal, state = EXCLUDED.state,
        accepting = EXCLUDED.accepting, checked_ordinal = EXCLUDED.checked_ordinal,
        prices_ordinal = EXCLUDED.prices_ordinal, card = EXCLUDED.card,
        document = EXCLUDED.document
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


def searchable(value: str) -> str:
    """Text as plain words, synonym group words appended, Whoosh's stop words left out.

    Splitting into plain words first keeps PostgreSQL's parser from treating
    hyphenated words, e-mail addresses or decimals differently at index time than
    the patient's words are split at query time.
    """
    return " ".join(w for w in words(annotate(value)) if kept(w))


def kept(word: str) -> bool:
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
        "state": doc.state,
        "accepting": doc.accepting,
        "checked_ordinal": doc.checked_ordinal,
        "prices_ordinal": doc.prices_ordinal,
        "card": doc.card,
        "name_text": searchable(doc.name),
        "tags_text": searchable(doc.tags),
        "body_text": searchable(doc.body),
    }


def batches(documents: Iterable[ClinicDocument]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(documents)
    while batch := list(islice(iterator, BATCH)):
        yield [_params(doc) for doc in batch]


@dataclass
class Change:
    """One write transaction, and what it did to the number of documents."""

    conn: Connection
    added: int = 0
    recount: bool = False


@contextmanager
def writing(conn: Connection, wait: float | None = None) -> Iterator[Change]:
    """A savepoint in the caller's transaction, holding the index's write lock
    until that transaction ends.

    A transaction-level advisory lock orders every writer of the index, across
    processes and app servers; searches take no lock and are never blocked.
    After `wait` seconds without the lock, `IndexBusy`. Before the savepoint is
    released the stats row gets the new generation and document count, so no
    write can leave what searches cached looking current; a failed write rolls
    back to the savepoint and leaves the caller's transaction usable.
    """
    deadline = time.monotonic() + (WRITE_LOCK_WAIT if wait is None else wait)
    lock = text("SELECT pg_try_advisory_xact_lock(:key)")
    while not conn.execute(lock, {"key": WRITE_LOCK_KEY}).scalar_one():
        if time.monotonic() >= deadline:
            raise IndexBusy("another writer holds the search index")
        time.sleep(WRITE_LOCK_RETRY)
    with conn.begin_nested():
        change = Change(conn)
        yield change
        bump(change)


def bump(change: Change) -> None:
    """New generation; the count moves by what was added, or is counted afresh.

    A missing row (removed by hand) is made again from a count.
    """
    conn = change.conn
    if not change.recount and conn.execute(_BUMP, {"added": change.added}).rowcount:
        return
    if not conn.execute(_RECOUNT).rowcount:
        conn.execute(_RECREATE_STATS)


def delete(change: Change, clinic_ids: list[int]) -> None:
    deleted = change.conn.execute(
        text(f"DELETE FROM {TABLE} WHERE clinic_id = ANY(CAST(:ids AS integer[]))"),
        {"ids": clinic_ids},
    )
    change.added -= deleted.rowcount


def upsert(change: Change, documents: Iterable[ClinicDocument]) -> int:
    """Write the documents in batches, counting those that were not indexed yet
    (writers hold the lock, so nothing changes between the count and the write)."""
    count = 0
    for batch in batches(documents):
        if not change.recount:
            ids = sorted({params["clinic_id"] for params in batch})
            present = change.conn.execute(
                text(
                    f"SELECT count(*) FROM {TABLE} WHERE clinic_id = ANY(CAST(:ids AS integer[]))"
                ),
                {"ids": ids},
            ).scalar_one()
            change.added += len(ids) - present
        change.conn.execute(_UPSERT, batch)
        count += len(batch)
    return count
