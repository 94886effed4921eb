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
from the page cache, without mmap (a file truncated under a mapping kills the
process with SIGBUS instead of raising).

Under threads: a Whoosh searcher's files are shared file objects (seek, then
read), so every read through a generation's searcher holds that generation's lock;
what is read (masks, codes, the row table) is kept per generation, so the lock is
taken only the first time a word or filter is used after an index change.

Faults: the index lives in generation folders behind a pointer (`index_folders`).
A read that fails on the current folder, once retried on whatever another process
committed meanwhile, is damage: `IndexDamaged` names the folder, searches answer
503 until a rebuild publishes a fresh folder, and every writer holds one lock so
nothing is written into a folder a rebuild is replacing.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import TypeVar

import numpy as np
from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import Analyzer, SpaceSeparatedTokenizer, StemFilter, StopFilter
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.filedb.filestore import FileStorage
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.query import And, NullQuery, Or, Query, Term
from whoosh.searching import Searcher

from .backend import IndexDamaged, SearchBackend, SearchPage
from .documents import ClinicDocument
from .evaluate import Evaluator, Mask, Row, RowTable, mask_of
from .index_folders import IndexFolders
from .memo import Memo
from .query import FILTERS, SearchQuery
from .synonyms import annotate, expand, group_token, words
from .whoosh_postings import term_docnums

T = TypeVar("T")
# Name outweighs treatment/condition words, which outweigh the description.
FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
WRITE_LOCK_TIMEOUT = 30.0
# A rebuild waits longer: another rebuild may hold the lock for minutes at 100k.
REBUILD_LOCK_TIMEOUT = 600.0
# Attempts to open or read the newest generation before calling the index damaged:
# another process's commit may delete the files of the generation just found.
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


def _storage(folder: Path) -> FileStorage:
    return FileStorage(str(folder), supports_mmap=False)


def _row_table(searcher: Searcher) -> RowTable:
    """The column table of every live document the searcher sees."""
    reader = searcher.reader()
    rows = ((docnum, _row(stored)) for docnum, stored in reader.iter_docs())
    return RowTable.build(reader.doc_count_all(), rows)


class _ReadFailed(Exception):
    """Whoosh could not read what a search needed (the caller decides: retry or damage)."""


@dataclass
class _Generation:
    """One open searcher with the tables derived from it."""

    folder: Path
    searcher: Searcher
    table: RowTable
    serial: int  # counts the generations this process opened: never reused
    postings: dict[tuple[str, str], Mask] = field(default_factory=dict)
    # (query type, query text) -> mask of matching documents, for text query leaves
    terms: Memo = field(default_factory=lambda: Memo(TERM_CACHE_SIZE))
    codes: dict[str, list[str]] = field(default_factory=dict)
    # The searcher's files are shared file objects: one reader at a time.
    lock: threading.Lock = field(default_factory=threading.Lock)

    def mask(self, query: Query) -> Mask:
        """The live documents matching a term (read a block at a time) or a phrase."""
        with self.lock, _reading():
            if isinstance(query, Term):
                found = term_docnums(self.searcher, query.fieldname, query.text)
                return mask_of(self.table.size, found) & self.table.live
            return mask_of(self.table.size, self.searcher.docs_for_query(query))

    def field_codes(self, name: str) -> list[str]:
        """The vocabulary codes indexed in a keyword field, sorted."""
        found = self.codes.get(name)
        if found is None:
            with self.lock, _reading():
                found = sorted(self.searcher.reader().field_terms(name))
            self.codes[name] = found
        return found


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _replace(writer: writing.IndexWriter, clinic_ids: set[int], docs: list[ClinicDocument]) -> None:
    """Delete the clinics' documents, add the new ones, commit."""
    for clinic_id in clinic_ids - {doc.id for doc in docs}:
        writer.delete_by_term("cid", str(clinic_id))
    for doc in docs:
        writer.update_document(**_fields(doc))
    writer.commit()


def _attempt(
    action: Callable[[], T], catch: type[Exception] = Exception
) -> tuple[T | None, str | None]:
    """Run a read of the index: (its value, None), or (None, what went wrong, in words).

    The exception itself is dropped here, under a filter: Whoosh leaves open the file
    it failed on (a table of contents it cannot parse, say), and letting go of the
    traceback closes it, without a ResourceWarning for a leak that is Whoosh's.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return action(), None
        except catch as exc:
            failure = str(exc) if isinstance(exc, _ReadFailed) else f"{type(exc).__name__}: {exc}"
    return None, failure


@contextmanager
def _reading() -> Iterator[None]:
    """Any failure of Whoosh while reading becomes `_ReadFailed`."""
    try:
        yield
    except Exception as exc:
        raise _ReadFailed(f"{type(exc).__name__}: {exc}") from exc


class WhooshBackend(SearchBackend):
    """Search over a Whoosh index stored in `index_dir`."""

    name = "whoosh"
    parallel_rebuild_from = PARALLEL_REBUILD_FROM

    def __init__(self, index_dir: str | Path):
        self.folders = IndexFolders(Path(index_dir))
        self.schema = build_schema()
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
        self._opened = 0
        # The folder this process found damaged: searches answer at once until a
        # rebuild publishes another one.
        self._damaged: Path | None = None
        self._parser = MultifieldParser(list(TEXT_FIELDS), self.schema, group=AndGroup)

    @property
    def index_dir(self) -> Path:
        return self.folders.root

    # -- storage ------------------------------------------------------------------
    def _open(self, locked: bool = False) -> tuple[Path, whoosh_index.Index]:
        """The current folder and its index; an empty one is made on a new site
        (`locked`: the caller holds the write lock already).

        Opening reads the newest table of contents; another process's commit may
        delete it between Whoosh finding it and reading it, so a failure is retried
        a few times before the folder is called damaged.
        """
        for attempt in range(OPEN_RETRIES):
            folder = self.folders.current()
            if folder is None:
                if not self.folders.is_new():
                    raise IndexDamaged("the search index folder has no current index")
                if locked:
                    self._create_first()
                else:
                    with self.folders.write_lock(WRITE_LOCK_TIMEOUT):
                        self._create_first()
                continue
            if folder == self._damaged:
                raise IndexDamaged(f"the search index in {folder.name} is damaged", folder)
            ix, failure = _attempt(_storage(folder).open_index)
            if ix is not None:
                return folder, ix
            if self.folders.current() != folder:
                continue  # a rebuild replaced it meanwhile: open the new one
            if attempt == OPEN_RETRIES - 1:
                raise self._damage(folder, failure)
            time.sleep(0.005 * (attempt + 1))
        raise IndexDamaged("the search index kept changing while being opened")

    def _create_first(self) -> None:
        """Make the first, empty index of a new site (once: the caller holds the lock)."""
        if self.folders.current() is None and self.folders.is_new():
            folder = self.folders.new_folder()
            _storage(folder).create_index(self.schema)
            self.folders.publish(folder)

    def _write(
        self,
        wait: float | None,
        clinic_ids: set[int],
        documents: Callable[[], Iterable[ClinicDocument]],
    ) -> None:
        """Remove these clinics and add `documents()` in one commit on the current folder,
        under the index's write lock, as plain segment files (see the module docstring).

        `documents` is called once the lock is held. A failure of Whoosh's (opening
        the writer, merging segments on commit) is damage to the folder; a failure
        of `documents` (the database) is raised as it is and writes nothing.
        """
        with self.folders.write_lock(WRITE_LOCK_TIMEOUT if wait is None else wait):
            folder, ix = self._open(locked=True)
            writer, failure = _attempt(partial(ix.writer, compound=False))
            if writer is None:
                raise self._damage(folder, failure)
            try:
                docs = list(documents())
            except BaseException:
                writer.cancel()
                raise
            _, failure = _attempt(partial(_replace, writer, clinic_ids, docs))
            if failure is not None:
                _attempt(writer.cancel)
                raise self._damage(folder, failure)

    def index(self, documents: Iterable[ClinicDocument]) -> None:
        docs = list(documents)
        self._write(None, {doc.id for doc in docs}, lambda: docs)

    def remove(self, clinic_ids: Iterable[int]) -> None:
        self._write(None, set(clinic_ids), list)

    def refresh(
        self,
        clinic_ids: set[int],
        load: Callable[[set[int]], list[ClinicDocument]],
        wait: float | None = None,
    ) -> None:
        """Read and write under the lock: it orders concurrent refreshes, and readers
        see the clinics' removals and updates in one commit."""
        self._write(wait, clinic_ids, lambda: load(clinic_ids))

    def rebuild(
        self, documents: Iterable[ClinicDocument], replacing: Hashable | None = None
    ) -> int | None:
        """Write every document into a fresh folder, then make it the current one.

        Searches go on reading the old folder until the pointer moves, and a
        damaged folder is replaced without being opened. The write lock is taken
        before the first row is read, as a refresh takes it: a refresh committed
        meanwhile cannot be overwritten by rows read before it. With `replacing`
        (the folder found damaged), nothing is done once another rebuild has
        replaced it already: returns None.

        From `parallel_rebuild_from` documents on, and only from a process's main
        thread (the command line: a server's request and repair threads fork no
        children, which could inherit a lock another thread holds), Whoosh's
        multiprocess writer indexes them: this process reads the rows and builds the
        fields, `REBUILD_PROCS` children analyse and write a segment each (1.5x
        faster on two cores at 20k listings).
        """
        with self.folders.write_lock(REBUILD_LOCK_TIMEOUT):
            if replacing is not None and self.folders.current() != replacing:
                return None
            folder = self.folders.new_folder()
            try:
                count = self._build(folder, documents)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self.folders.publish(folder)
            return count

    def _build(self, folder: Path, documents: Iterable[ClinicDocument]) -> int:
        ix = _storage(folder).create_index(self.schema)
        pending = iter(documents)
        head = list(islice(pending, self.parallel_rebuild_from))
        options: dict[str, object] = {"limitmb": REBUILD_LIMIT_MB, "compound": False}
        if len(head) == self.parallel_rebuild_from and _in_main_thread():
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
        written = _storage(folder).open_index().doc_count()
        if written != count:
            raise RuntimeError(f"the rebuild indexed {written} of {count} clinics; run it again")
        return count

    def fingerprints(self) -> dict[int, str]:
        def read(searcher: Searcher) -> dict[int, str]:
            docs = searcher.reader().iter_docs()
            return {int(stored["cid"]): stored["fingerprint"] for _, stored in docs}

        _, searcher, fingerprints = self._read_latest(read)
        searcher.close()
        return fingerprints

    def check(self) -> list[str]:
        """Read every stored document and every posting of every field.

        Damage in any file of any segment (the table of contents, stored fields,
        term dictionary, postings, lengths) surfaces as an error while reading.
        """

        def read(searcher: Searcher) -> int:
            reader = searcher.reader()
            for _ in reader.iter_docs():
                pass
            for fieldname, text in reader.all_terms():
                for _ in reader.postings(fieldname, text).all_ids():
                    pass
            for name in TEXT_FIELDS:
                reader.field_length(name)
            return reader.doc_count()

        try:
            _, searcher, _ = self._read_latest(read)
        except IndexDamaged as exc:
            return [str(exc)]
        searcher.close()
        return []

    def _read_latest(self, read: Callable[[Searcher], T]) -> tuple[Path, Searcher, T]:
        """The current folder, a searcher on its newest generation, and what `read`
        reads through it.

        Whoosh opens a segment's stored fields only when first read; by then another
        process's commit may have merged that segment away and deleted its files,
        or a rebuild replaced the folder. Only an outdated searcher can meet that,
        so then the newer one is read; any other failure is damage.
        """
        for attempt in range(OPEN_RETRIES):
            folder, ix = self._open()
            # Opening reads the newest table of contents, then its segments: a commit
            # in between may have merged one away, which the next attempt does not see.
            searcher, failure = _attempt(ix.searcher)
            if searcher is None:
                if attempt == OPEN_RETRIES - 1:
                    raise self._damage(folder, failure)
                time.sleep(0.005 * (attempt + 1))
                continue
            value, failure = _attempt(partial(read, searcher))
            if failure is None:
                return folder, searcher, value  # type: ignore[return-value]
            outdated = self._outdated(folder, searcher)
            _attempt(searcher.close)
            if not outdated or attempt == OPEN_RETRIES - 1:
                raise self._damage(folder, failure)
        raise AssertionError("unreachable")

    def _outdated(self, folder: Path, searcher: Searcher) -> bool:
        """Whether a newer generation or folder exists than the one `searcher` reads."""
        if self.folders.current() != folder:
            return True
        try:
            return not searcher.up_to_date()
        except Exception:
            return False

    def _damage(self, folder: Path, failure: str | None) -> IndexDamaged:
        """Remember `folder` as damaged (searches answer at once) and describe it."""
        self._damaged = folder
        return IndexDamaged(f"the search index in {folder.name} cannot be read ({failure})", folder)

    # -- searching ------------------------------------------------------------------
    def _current(self) -> _Generation:
        """The latest generation, reopened only when some process committed a change."""
        with self._lock:
            generation = self._generation
            if generation is None or self._outdated(generation.folder, generation.searcher):
                folder, searcher, table = self._read_latest(_row_table)
                self._opened += 1
                generation = _Generation(
                    folder=folder, searcher=searcher, table=table, serial=self._opened
                )
                # Close the segment files once no search holds this generation any more
                # (a search in flight keeps its own reference while a newer one opens).
                weakref.finalize(generation, searcher.close)
                self._generation = generation
            return generation

    def warm_up(self) -> None:
        self._current()

    def version(self) -> int | None:
        """Which generation this process searches (None while the index is damaged:
        nothing is cached). Counted here rather than taken from Whoosh's generation
        number, which starts again when an index is recreated."""
        try:
            return self._current().serial
        except IndexDamaged:
            return None

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
        """Run the query on the current generation; when a read fails because another
        process replaced files meanwhile, run it again on the newer generation."""
        for attempt in range(OPEN_RETRIES):
            generation = self._current()
            page, failure = _attempt(partial(self._search, generation, query), _ReadFailed)
            if failure is None:
                return page  # type: ignore[return-value]
            if attempt == OPEN_RETRIES - 1 or not self._outdated(
                generation.folder, generation.searcher
            ):
                raise self._damage(generation.folder, failure)
        raise AssertionError("unreachable")

    def _search(self, generation: _Generation, query: SearchQuery) -> SearchPage:
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
            found = generation.postings.get(key)
            if found is None:
                found = generation.postings[key] = generation.mask(Term(name, code))
            return found

        return Evaluator(
            generation.table, postings, generation.field_codes, query, text_matches, scorer
        ).run()
