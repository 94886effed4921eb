"""What a process keeps of one generation of the Whoosh index, and how it reads it.

A generation is one open searcher with what is derived from it: the column table
of the indexed rows and, filled as searches use them, a mask per vocabulary code,
per text term and the codes of each keyword field. All of it is replaced at once
when another commit makes a newer generation current (`WhooshBackend._current`).
Every read through a generation's searcher holds the generation's lock (see
`whoosh_backend`, "Under threads").
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from whoosh.query import Query, Term
from whoosh.searching import Searcher

from .evaluate import Mask, Row, RowTable, mask_of
from .memo import Memo
from .whoosh_index import ROW_FORMAT
from .whoosh_postings import term_docnums

T = TypeVar("T")
# Text terms whose masks a generation keeps (one byte a document each: 256 terms
# hold 25 MB at 100k listings); patients reuse a small vocabulary, so this is
# a bound on memory against arbitrary words, not a working-set limit.
TERM_CACHE_SIZE = 256


def _row(stored: dict) -> Row:
    data = stored["row"]
    if data.get("format") != ROW_FORMAT:
        raise ReadFailed(
            f"clinic {stored['cid']} was indexed in an older format "
            f"({data.get('format', 1)}, now {ROW_FORMAT}): the index needs a rebuild"
        )
    return Row(
        clinic_id=int(stored["cid"]),
        lat=data["lat"],
        lng=data["lng"],
        in_person=data["kind"] in ("in_person", "both"),
        telehealth=data["kind"] in ("telehealth", "both"),
        states_served=frozenset(data["served"]),
        prices=data["prices"],
        verified_ordinal=data["verified"],
        state=data["state"],
        accepting=data["accepting"],
        checked_ordinal=data["checked"],
        prices_ordinal=data["prices_confirmed"],
    )


def row_table(searcher: Searcher) -> RowTable:
    """The column table of every live document the searcher sees."""
    reader = searcher.reader()
    rows = ((docnum, _row(stored)) for docnum, stored in reader.iter_docs())
    return RowTable.build(reader.doc_count_all(), rows)


class ReadFailed(Exception):
    """Whoosh could not read what a search needed (the caller decides: retry or damage)."""


@dataclass
class Generation:
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
        with self.lock, reading():
            if isinstance(query, Term):
                found = term_docnums(self.searcher, query.fieldname, query.text)
                return mask_of(self.table.size, found) & self.table.live
            return mask_of(self.table.size, self.searcher.docs_for_query(query))

    def card(self, docnum: int) -> str | None:
        """The document's result card (None from a row written before cards were)."""
        with self.lock, reading():
            return self.searcher.stored_fields(docnum)["row"].get("card")

    def field_codes(self, name: str) -> list[str]:
        """The vocabulary codes indexed in a keyword field, sorted."""
        found = self.codes.get(name)
        if found is None:
            with self.lock, reading():
                found = sorted(self.searcher.reader().field_terms(name))
            self.codes[name] = found
        return found


def outcome(
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
            failure = str(exc) if isinstance(exc, ReadFailed) else f"{type(exc).__name__}: {exc}"
    return None, failure


@contextmanager
def reading() -> Iterator[None]:
    """Any failure of Whoosh while reading becomes `ReadFailed`."""
    try:
        yield
    except Exception as exc:
        raise ReadFailed(f"{type(exc).__name__}: {exc}") from exc
