"""The embedded search backend: a Whoosh index in a local folder.

Whoosh answers the text part (stemmed, weighted fields, synonyms) and the
vocabulary postings; `evaluate.Evaluator` does geography, prices, facets and
ordering over a per-generation column table of the indexed rows. The table is
rebuilt only when the index changes (another process's commit included), and each
term's documents are read from Whoosh once per generation as a mask, so a search
costs a few vectorised passes over masks and a handful of geodesics.

Segments are written as separate files, not Whoosh's default compound file: a
compound segment is opened through an in-memory copy of each part (BytesIO over
the mmap), memory every worker paid (docs/performance.md, "What changed, and
why"); plain files are read from the page cache, without mmap (a file truncated
under a mapping kills the process with SIGBUS instead of raising).

Under threads: a Whoosh searcher's files are shared file objects (seek, then
read), so every read through a generation's searcher holds that generation's lock;
what is read (masks, codes, the row table) is kept per generation, so the lock is
taken only the first time a word or filter is used after an index change.

Faults: the index lives in generation folders behind a pointer (`index_folders`).
A read that fails on the current folder, once retried on whatever another process
committed meanwhile, is damage: `IndexDamaged` names the folder, searches answer
503 until a rebuild publishes a fresh folder, and every writer holds one lock so
nothing is written into a folder a rebuild is replacing.

The parts: `whoosh_index` (the schema and the writes), `whoosh_query` (a search
on one generation), `whoosh_generation` (what a process keeps of a generation, and
reading it), `whoosh_postings` (a term's documents a block at a time).
"""

from __future__ import annotations

import shutil
import threading
import time
import weakref
from collections.abc import Callable, Hashable, Iterable
from functools import partial
from pathlib import Path
from typing import TypeVar

from whoosh.index import Index
from whoosh.searching import Searcher

from . import whoosh_index, whoosh_query
from .backend import IndexDamaged, SearchBackend, SearchPage
from .documents import ClinicDocument
from .index_folders import IndexFolders
from .query import TELEHEALTH_LIMIT, SearchQuery
from .whoosh_generation import Generation, ReadFailed, outcome, row_table
from .whoosh_index import PARALLEL_REBUILD_FROM, TEXT_FIELDS, build_schema, storage

T = TypeVar("T")
WRITE_LOCK_TIMEOUT = 30.0
# A rebuild waits longer: another rebuild may hold the lock for minutes at 100k.
REBUILD_LOCK_TIMEOUT = 600.0
# Attempts to open or read the newest generation before calling the index damaged:
# another process's commit may delete the files of the generation just found.
OPEN_RETRIES = 20


class WhooshBackend(SearchBackend):
    """Search over a Whoosh index stored in `index_dir`."""

    name = "whoosh"
    parallel_rebuild_from = PARALLEL_REBUILD_FROM

    def __init__(self, index_dir: str | Path):
        self.folders = IndexFolders(Path(index_dir))
        self.schema = build_schema()
        self._lock = threading.Lock()
        self._generation: Generation | None = None
        self._opened = 0
        # The folder this process found damaged: searches answer at once until a
        # rebuild publishes another one.
        self._damaged: Path | None = None
        self._texts = whoosh_query.TextQueries(self.schema)

    @property
    def index_dir(self) -> Path:
        return self.folders.root

    # -- storage ------------------------------------------------------------------
    def _open(self, locked: bool = False) -> tuple[Path, Index]:
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
            ix, failure = outcome(storage(folder).open_index)
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
            storage(folder).create_index(self.schema)
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
            writer, failure = outcome(partial(ix.writer, compound=False))
            if writer is None:
                raise self._damage(folder, failure)
            try:
                docs = list(documents())
            except BaseException:
                writer.cancel()
                raise
            _, failure = outcome(partial(whoosh_index.replace, writer, clinic_ids, docs))
            if failure is not None:
                outcome(writer.cancel)
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

        From `parallel_rebuild_from` documents on, Whoosh's multiprocess writer
        indexes them (`whoosh_index.build`; the gain is measured in
        docs/performance.md, "What changed, and why").
        """
        with self.folders.write_lock(REBUILD_LOCK_TIMEOUT):
            if replacing is not None and self.folders.current() != replacing:
                return None
            folder = self.folders.new_folder()
            try:
                count = whoosh_index.build(
                    folder, self.schema, documents, self.parallel_rebuild_from
                )
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            self.folders.publish(folder)
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
            searcher, failure = outcome(ix.searcher)
            if searcher is None:
                if attempt == OPEN_RETRIES - 1:
                    raise self._damage(folder, failure)
                time.sleep(0.005 * (attempt + 1))
                continue
            value, failure = outcome(partial(read, searcher))
            if failure is None:
                return folder, searcher, value  # type: ignore[return-value]
            outdated = self._outdated(folder, searcher)
            outcome(searcher.close)
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
    def _current(self) -> Generation:
        """The latest generation, reopened only when some process committed a change."""
        with self._lock:
            generation = self._generation
            if generation is None or self._outdated(generation.folder, generation.searcher):
                folder, searcher, table = self._read_latest(row_table)
                self._opened += 1
                generation = Generation(
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

    def search(self, query: SearchQuery, telehealth_cards: int = TELEHEALTH_LIMIT) -> SearchPage:
        """Run the query on the current generation; when a read fails because another
        process replaced files meanwhile, run it again on the newer generation."""
        for attempt in range(OPEN_RETRIES):
            generation = self._current()
            run = partial(whoosh_query.run, generation, self._texts, query, telehealth_cards)
            page, failure = outcome(run, ReadFailed)
            if failure is None:
                return page  # type: ignore[return-value]
            if attempt == OPEN_RETRIES - 1 or not self._outdated(
                generation.folder, generation.searcher
            ):
                raise self._damage(generation.folder, failure)
        raise AssertionError("unreachable")
