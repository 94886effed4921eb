"""The embedded search backend: a Whoosh index in a local folder.

Whoosh answers the text part (stemmed, weighted fields, synonyms) and the
vocabulary postings; `evaluate.Evaluator` does geography, prices, facets and
ordering over a per-generation column table of the indexed rows. The table is
rebuilt only when the index changes (another process's commit included), and each
term's documents are read from Whoosh once per generation as a mask, so a search
costs a few vectorised passes over masks and a handful of geodesics.

Segments are written as separate files, not Whoosh's default compound file: a
compound segment is opened through an in-memory copy of each part (BytesIO over
the mmap), which cost a worker ~120 MB at 100k listings; plain files are read
from the page cache.
"""

from __future__ import annotations

import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

import numpy as np
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import Analyzer, SpaceSeparatedTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.query import And, NullQuery, Or, Query, Term
from whoosh.searching import Searcher
from whoosh.util.filelock import try_for

from .backend import SearchBackend, SearchPage
from .documents import ClinicDocument
from .evaluate import Evaluator, Mask, Row, RowTable, mask_of
from .memo import Memo
from .query import FILTERS, SearchQuery
from .synonyms import annotate, expand, group_token, words
from .whoosh_postings import term_docnums

T = TypeVar("T")
# Name outweighs treatment/condition words, which outweigh the description.
FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
WRITE_LOCK_TIMEOUT = 30.0
WRITE_LOCK_RETRY = 0.05  # seconds between attempts to take another process's lock
OPEN_RETRIES = 20
# Text terms whose masks a generation keeps (one byte a document each: 256 terms
# hold 25 MB at 100k listings); patients reuse a small vocabulary, so this is
# a bound on memory against arbitrary words, not a working-set limit.
TERM_CACHE_SIZE = 256
# A full rebuild sorts every posting; give it room to sort in memory (Whoosh's
# default of 128 MB spills into an external merge sort on disk at 100k listings).
REBUILD_LIMIT_MB = 512
# Processes that index a large rebuild, and the size from which it is worth them.
REBUILD_PROCS = 2
PARALLEL_REBUILD_FROM = 5_000


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

    A word counts once in a score however often it occurs (see `_scores`), so
    repeats only cost tokenising and stemming time (the tags field repeats every
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
            "lat": doc.lat,
            "lng": doc.lng,
            "kind": doc.kind,
            "served": list(doc.states_served),
            "prices": dict(doc.prices),
            "verified": doc.verified_ordinal,
        },
        "name": _distinct_words(doc.name),
        "tags": _distinct_words(doc.tags),
        "body": _distinct_words(doc.body),
        "modality": ",".join(doc.modalities),
        "condition": ",".join(doc.conditions),
        "insurer": ",".join(doc.insurers),
        "payment": ",".join(doc.payment),
    }


def _row(stored: dict) -> Row:
    data = stored["row"]
    return Row(
        clinic_id=int(stored["cid"]),
        lat=data["lat"],
        lng=data["lng"],
        in_person=data["kind"] in ("in_person", "both"),
        telehealth=data["kind"] in ("telehealth", "both"),
        states_served=frozenset(data["served"]),
        prices=data["prices"],
        verified_ordinal=data["verified"],
    )


def _row_table(searcher: Searcher) -> RowTable:
    """The column table of every live document the searcher sees."""
    reader = searcher.reader()
    rows = ((docnum, _row(stored)) for docnum, stored in reader.iter_docs())
    return RowTable.build(reader.doc_count_all(), rows)


@dataclass
class _Generation:
    """One open searcher with the tables derived from it."""

    searcher: Searcher
    table: RowTable
    serial: int  # counts the generations this process opened: never reused
    postings: dict[tuple[str, str], Mask] = field(default_factory=dict)
    # (query type, query text) -> mask of matching documents, for text query leaves
    terms: Memo = field(default_factory=lambda: Memo(TERM_CACHE_SIZE))
    codes: dict[str, list[str]] = field(default_factory=dict)

    def mask(self, query: Query) -> Mask:
        """The live documents matching a term (read a block at a time) or a phrase."""
        if isinstance(query, Term):
            found = term_docnums(self.searcher, query.fieldname, query.text)
            return mask_of(self.table.size, found) & self.table.live
        return mask_of(self.table.size, self.searcher.docs_for_query(query))


class WhooshBackend(SearchBackend):
    """Search over a Whoosh index stored in `index_dir`."""

    name = "whoosh"
    parallel_rebuild_from = PARALLEL_REBUILD_FROM

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self.schema = build_schema()
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self._opened = 0
        self._parser = MultifieldParser(list(TEXT_FIELDS), self.schema, group=AndGroup)

    # -- storage ------------------------------------------------------------------
    def _open(self) -> whoosh_index.Index:
        """The index, created on first use.

        Opening reads the newest table of contents; another process's commit may
        delete it between Whoosh finding it and reading it (FileNotFoundError), so
        opening is retried: the next attempt finds the newer one.
        """
        self.index_dir.mkdir(parents=True, exist_ok=True)
        for attempt in range(OPEN_RETRIES):
            try:
                if whoosh_index.exists_in(str(self.index_dir)):
                    return whoosh_index.open_dir(str(self.index_dir))
                return whoosh_index.create_in(str(self.index_dir), self.schema)
            except FileNotFoundError:
                if attempt == OPEN_RETRIES - 1:
                    raise
                time.sleep(0.005 * (attempt + 1))
        raise AssertionError("unreachable")

    def _writer(self, ix: whoosh_index.Index, **options: object) -> writing.IndexWriter:
        """A writer that waits for another process's writer instead of failing, and
        writes plain segment files (see the module docstring)."""
        return ix.writer(
            timeout=WRITE_LOCK_TIMEOUT, delay=WRITE_LOCK_RETRY, compound=False, **options
        )

    def index(self, documents: Iterable[ClinicDocument]) -> None:
        ix = self._open()
        with self._writer(ix) as writer:
            for doc in documents:
                writer.update_document(**_fields(doc))

    def remove(self, clinic_ids: Iterable[int]) -> None:
        ix = self._open()
        with self._writer(ix) as writer:
            for clinic_id in clinic_ids:
                writer.delete_by_term("cid", str(clinic_id))

    def refresh(
        self, clinic_ids: set[int], load: Callable[[set[int]], list[ClinicDocument]]
    ) -> None:
        """Read and write under one writer: the lock orders concurrent refreshes, and
        readers see the clinics' removals and updates in one commit."""
        ix = self._open()
        with self._writer(ix) as writer:
            documents = load(clinic_ids)
            for clinic_id in clinic_ids - {doc.id for doc in documents}:
                writer.delete_by_term("cid", str(clinic_id))
            for doc in documents:
                writer.update_document(**_fields(doc))

    def rebuild(self, documents: Iterable[ClinicDocument]) -> int:
        """Write every document into fresh segments and drop all older ones in one commit.

        From `parallel_rebuild_from` documents on, Whoosh's multiprocess writer indexes
        them: this process reads the rows and builds the fields, `REBUILD_PROCS`
        children analyse and write a segment each (1.5x faster on two cores at 20k
        listings). Below that, starting processes costs more than it saves.
        """
        ix = self._open()
        if ix.schema != self.schema:
            ix = whoosh_index.create_in(str(self.index_dir), self.schema)
        # The lock is taken before the first row is read, as a writer takes it (see
        # `refresh`): a refresh committed meanwhile must not be overwritten by rows
        # read before it. Reading the first rows tells which writer to use.
        lock = ix.lock("WRITELOCK")
        if not try_for(lock.acquire, timeout=WRITE_LOCK_TIMEOUT, delay=WRITE_LOCK_RETRY):
            raise writing.LockError("the search index is locked by another writer")
        try:
            pending = iter(documents)
            head = list(islice(pending, self.parallel_rebuild_from))
            options: dict[str, object] = {"limitmb": REBUILD_LIMIT_MB, "compound": False}
            if len(head) == self.parallel_rebuild_from:
                options = {"procs": REBUILD_PROCS, "multisegment": True, "subargs": options}
            writer = ix.writer(_lk=False, **options)
            count = 0
            try:
                for doc in chain(head, pending):
                    writer.add_document(**_fields(doc))
                    count += 1
            except BaseException:
                writer.cancel()
                raise
            writer.commit(mergetype=writing.CLEAR)
        finally:
            lock.release()
        written = self._open()
        # The multiprocess writer leaves out a child's segment it fails to collect
        # rather than failing; never report such a rebuild as done. (Checked only if
        # no other writer has committed since.)
        if written.latest_generation() == writer.generation and written.doc_count() != count:
            raise RuntimeError(
                f"the rebuild indexed {written.doc_count()} of {count} clinics; run it again"
            )
        return count

    def fingerprints(self) -> dict[int, str]:
        def read(searcher: Searcher) -> dict[int, str]:
            docs = searcher.reader().iter_docs()
            return {int(stored["cid"]): stored["fingerprint"] for _, stored in docs}

        searcher, fingerprints = self._read_latest(read)
        searcher.close()
        return fingerprints

    def _read_latest(self, read: Callable[[Searcher], T]) -> tuple[Searcher, T]:
        """A searcher on the newest generation, and what `read` reads through it.

        Whoosh opens a segment's stored fields only when first read; by then another
        process's commit may have merged that segment away and deleted its files.
        Only an outdated searcher can meet that, so then the newer one is read.
        """
        for attempt in range(OPEN_RETRIES):
            searcher = self._open().searcher()
            try:
                return searcher, read(searcher)
            except Exception:
                outdated = not searcher.up_to_date()
                searcher.close()
                if not outdated or attempt == OPEN_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    # -- searching ------------------------------------------------------------------
    def _current(self) -> _Generation:
        """The latest generation, reopened only when some process committed a change."""
        with self._lock:
            generation = self._generation
            if generation is None or not generation.searcher.up_to_date():
                searcher, table = self._read_latest(_row_table)
                self._opened += 1
                generation = _Generation(searcher=searcher, table=table, serial=self._opened)
                # Close the segment files once no search holds this generation any more
                # (a search in flight keeps its own reference while a newer one opens).
                weakref.finalize(generation, searcher.close)
                self._generation = generation
            return generation

    def version(self) -> int:
        """Which generation this process searches. Counted here rather than taken from
        Whoosh's generation number, which starts again when an index is recreated."""
        return self._current().serial

    def _text_query(self, text: str) -> Query:
        """Every unit of the query must match in some field.

        A synonym unit is its group word, which `annotate` indexed wherever any of the
        group's phrases occurs, so "post-traumatic stress" and "PTSD" find the same.
        """
        units: list[Query] = []
        for alternatives in expand(text):
            # The group word, plus single-word members so their stems still match
            # ("infused" for "infusion"); multi-word phrases only via the group word.
            words = [w for w in alternatives if " " not in w]
            if len(alternatives) > 1:
                words.insert(0, group_token(alternatives))
            options = [self._parser.parse(w) for w in words]
            options = [o for o in options if o is not NullQuery]
            if options:
                units.append(Or(options) if len(options) > 1 else options[0])
        return And(units).normalize() if units else NullQuery

    def _matching(self, generation: _Generation, query: Query) -> Mask:
        """Documents matching a text query, from per-term masks cached per generation.

        Walking Whoosh's union/intersection matchers visits every posting in Python;
        patients reuse a small vocabulary, so each term's documents are read once
        per index generation and combined with vectorised and/or.
        """
        if isinstance(query, And | Or):
            parts = [self._matching(generation, q) for q in query.subqueries]
            if not parts:
                return np.zeros(generation.table.size, dtype=bool)
            combine = np.logical_and if isinstance(query, And) else np.logical_or
            return combine.reduce(parts) if len(parts) > 1 else parts[0]
        key = (type(query).__name__, str(query))  # a term or a phrase in one field
        found = generation.terms.get(key)
        if found is None:
            found = generation.mask(query)
            generation.terms.put(key, found)
        return found

    def _scores(self, generation: _Generation, query: Query, docnums: np.ndarray) -> np.ndarray:
        """Field-weighted IDF scores from the cached term masks.

        Each matching term adds its field's weight times log(1 + N / df): rare words
        and matches in the name count most. BM25 through Whoosh's collector visited
        every posting in Python (tens of ms at 10k listings); this costs one gather
        per query term and ranks the short, formulaic listing texts as well.
        """
        scores = np.zeros(len(docnums))
        total = max(1, generation.table.count)
        for leaf in query.leaves():
            matches = self._matching(generation, leaf)
            df = int(np.count_nonzero(matches))
            if not df:
                continue
            field = getattr(leaf, "fieldname", "body")
            weight = FIELD_WEIGHTS.get(field, 1.0) * math.log(1 + total / df)
            scores += np.where(matches[docnums], weight, 0.0)
        return scores

    def search(self, query: SearchQuery) -> SearchPage:
        generation = self._current()
        searcher = generation.searcher
        text_matches = None
        scorer = None
        if query.q:
            text_query = self._text_query(query.q)
            text_matches = np.zeros(generation.table.size, dtype=bool)
            if text_query is not NullQuery:
                text_matches = self._matching(generation, text_query)

                def scorer(docnums: np.ndarray) -> np.ndarray:
                    return self._scores(generation, text_query, docnums)

        def postings(name: str, code: str) -> Mask:
            key = (name, code)
            if key not in generation.postings:
                generation.postings[key] = generation.mask(Term(name, code))
            return generation.postings[key]

        def codes(name: str) -> list[str]:
            if name not in generation.codes:
                generation.codes[name] = sorted(searcher.reader().field_terms(name))
            return generation.codes[name]

        return Evaluator(generation.table, postings, codes, query, text_matches, scorer).run()
