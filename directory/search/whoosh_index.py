"""The Whoosh index's schema and how it is written.

Stemmed text fields without positions (name > tags > body, weighted), keyword
fields for the vocabulary filters, and per clinic the stored row the evaluator
reads (`whoosh_generation`). Segments are written as plain files, never Whoosh's
compound file, and read without mmap (see `whoosh_backend`).

Each stored row carries `ROW_FORMAT`. An index written before the row changed shape
holds rows of an older format, which reading refuses as damage: the repair rebuilds
it from the database instead of a search misreading it (and migration 0007 queues
every clinic, as does 0008, so a deploy rewrites the rows before its first search).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from itertools import chain, islice
from pathlib import Path

from whoosh import writing
from whoosh.analysis import Analyzer, SpaceSeparatedTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage

from .documents import ClinicDocument
from .query import FILTERS
from .synonyms import annotate, words

# Name outweighs treatment/condition words, which outweigh the description.
FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
# A full rebuild sorts every posting; give it room to sort in memory (Whoosh's
# default of 128 MB spills into an external merge sort on disk at 100k listings).
REBUILD_LIMIT_MB = 512
# Processes that index a large rebuild, and the size from which it is worth them.
REBUILD_PROCS = 2
PARALLEL_REBUILD_FROM = 5_000
# The stored row's shape; raise it whenever `_fields` writes the row differently
# (2: the clinic's state and whether it accepts new patients; 3: the day numbers
# of its newest credential check and oldest price confirmation). The result card
# (`card`) is read only for hits, with `get`: a row written before cards were has
# none, and its hit is shown from the database until the index queue re-indexes it.
ROW_FORMAT = 3


def _text_field(analyzer: Analyzer, weight: float) -> TEXT:
    """A stemmed text field without word positions: queries are single words
    (synonym phrases are indexed as one group word), and positions were most of the
    postings' size, of a rebuild's sorting and of reading a common word's postings."""
    return TEXT(analyzer=analyzer, field_boost=weight, phrase=False)


def build_schema() -> Schema:
    """Stemmed text fields for matching; keyword fields for the vocabulary filters."""
    # Text reaches Whoosh already split into lower-case words (`_distinct_words`, and
    # `synonyms.expand` for queries), so splitting on spaces is all the tokenising
    # left; stop words, one-letter words and stemming as in Whoosh's StemmingAnalyzer.
    analyzer = SpaceSeparatedTokenizer() | StopFilter() | StemFilter()
    vocabulary = {name: KEYWORD(commas=True, lowercase=True) for name in FILTERS}
    return Schema(
        cid=ID(stored=True, unique=True),
        fingerprint=STORED,
        row=STORED,
        **{name: _text_field(analyzer, weight) for name, weight in FIELD_WEIGHTS.items()},
        **vocabulary,
    )


def _distinct_words(value: str) -> str:
    """A text field as its distinct words, synonym group words appended.

    A word counts once in a score however often it occurs (see `whoosh_query.scores`),
    so repeats only cost tokenising and stemming time (the tags field repeats every
    condition's synonyms). Splitting with `words`, as queries are split, also keeps
    "post-traumatic" or "3.5" from being tokenised one way when indexed and another
    when searched (the PostgreSQL backend does the same).
    """
    return " ".join(dict.fromkeys(words(annotate(value))))


def _fields(doc: ClinicDocument) -> dict[str, object]:
    return {
        "cid": str(doc.id),
        "fingerprint": doc.fingerprint,
        "row": {
            "format": ROW_FORMAT,
            "lat": doc.lat,
            "lng": doc.lng,
            "kind": doc.kind,
            "served": list(doc.states_served),
            "prices": dict(doc.prices),
            "verified": doc.verified_ordinal,
            "state": doc.state,
            "accepting": doc.accepting,
            "checked": doc.checked_ordinal,
            "prices_confirmed": doc.prices_ordinal,
            "card": doc.card,
        },
        "name": _distinct_words(doc.name),
        "tags": _distinct_words(doc.tags),
        "body": _distinct_words(doc.body),
        "modality": ",".join(doc.modalities),
        "condition": ",".join(doc.conditions),
        "insurer": ",".join(doc.insurers),
        "payment": ",".join(doc.payment),
    }


def storage(folder: Path) -> FileStorage:
    return FileStorage(str(folder), supports_mmap=False)


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def replace(writer: writing.IndexWriter, clinic_ids: set[int], docs: list[ClinicDocument]) -> None:
    """Delete the clinics' documents, add the new ones, commit."""
    for clinic_id in clinic_ids - {doc.id for doc in docs}:
        writer.delete_by_term("cid", str(clinic_id))
    for doc in docs:
        writer.update_document(**_fields(doc))
    writer.commit()


def build(
    folder: Path, schema: Schema, documents: Iterable[ClinicDocument], parallel_from: int
) -> int:
    """Write every document into a new index in `folder`; return how many.

    From `parallel_from` documents on, and only from a process's main thread (the
    command line: a server's request and repair threads fork no children, which
    could inherit a lock another thread holds), Whoosh's multiprocess writer
    indexes them: this process reads the rows and builds the fields,
    `REBUILD_PROCS` children analyse and write a segment each.
    """
    ix = storage(folder).create_index(schema)
    pending = iter(documents)
    head = list(islice(pending, parallel_from))
    options: dict[str, object] = {"limitmb": REBUILD_LIMIT_MB, "compound": False}
    if len(head) == parallel_from and _in_main_thread():
        options = {"procs": REBUILD_PROCS, "multisegment": True, "subargs": options}
    writer = ix.writer(**options)
    count = 0
    try:
        for doc in chain(head, pending):
            writer.add_document(**_fields(doc))
            count += 1
    except BaseException:
        writer.cancel()
        raise
    writer.commit(mergetype=writing.CLEAR)
    # The multiprocess writer leaves out a child's segment it fails to collect
    # rather than failing; never publish such a rebuild.
    written = storage(folder).open_index().doc_count()
    if written != count:
        raise RuntimeError(f"the rebuild indexed {written} of {count} clinics; run it again")
    return count
