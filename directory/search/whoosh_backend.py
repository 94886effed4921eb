"""The embedded search backend: a Whoosh index in a local folder.

Whoosh answers the text part (stemmed, weighted fields, synonyms) and the
vocabulary postings; `evaluate.Evaluator` does geography, prices, facets and
ordering over a per-generation table of the indexed rows. The table is rebuilt
only when the index changes (another process's commit included), so a search
costs a text query, a few set intersections and a handful of geodesics.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import writing
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import ID, KEYWORD, STORED, TEXT, Schema
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.query import And, NullQuery, Or, Query, Term
from whoosh.searching import Searcher

from .backend import SearchBackend, SearchPage
from .documents import ClinicDocument
from .evaluate import Evaluator, Row
from .query import FILTERS, SearchQuery
from .synonyms import annotate, expand, group_token

# Name outweighs treatment/condition words, which outweigh the description.
FIELD_WEIGHTS = {"name": 3.0, "tags": 2.0, "body": 1.0}
TEXT_FIELDS = tuple(FIELD_WEIGHTS)
WRITE_LOCK_TIMEOUT = 30.0
OPEN_RETRIES = 20


def build_schema() -> Schema:
    """Stemmed text fields for matching; keyword fields for the vocabulary filters."""
    analyzer = StemmingAnalyzer()
    vocabulary = {name: KEYWORD(commas=True, lowercase=True) for name in FILTERS}
    return Schema(
        cid=ID(stored=True, unique=True),
        fingerprint=STORED,
        row=STORED,
        name=TEXT(analyzer=analyzer, field_boost=FIELD_WEIGHTS["name"]),
        tags=TEXT(analyzer=analyzer, field_boost=FIELD_WEIGHTS["tags"]),
        body=TEXT(analyzer=analyzer, field_boost=FIELD_WEIGHTS["body"]),
        **vocabulary,
    )


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
        "name": annotate(doc.name),
        "tags": annotate(doc.tags),
        "body": annotate(doc.body),
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


@dataclass
class _Generation:
    """One open searcher with the tables derived from it."""

    searcher: Searcher
    rows: dict[int, Row]
    postings: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)
    # (query type, query text) -> matching documents, for the leaves of text queries
    terms: dict[tuple[str, str], frozenset[int]] = field(default_factory=dict)
    codes: dict[str, list[str]] = field(default_factory=dict)


class WhooshBackend(SearchBackend):
    """Search over a Whoosh index stored in `index_dir`."""

    name = "whoosh"

    def __init__(self, index_dir: str | Path):
        self.index_dir = Path(index_dir)
        self.schema = build_schema()
        self._lock = threading.Lock()
        self._generation: _Generation | None = None
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

    def _writer(self, ix: whoosh_index.Index) -> writing.IndexWriter:
        """A writer that waits for another process's writer instead of failing."""
        return ix.writer(timeout=WRITE_LOCK_TIMEOUT, delay=0.05)

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
        """Write every document into a fresh segment and drop all older ones in one commit."""
        ix = self._open()
        if ix.schema != self.schema:
            ix = whoosh_index.create_in(str(self.index_dir), self.schema)
        count = 0
        writer = self._writer(ix)
        try:
            for doc in documents:
                writer.add_document(**_fields(doc))
                count += 1
        except BaseException:
            writer.cancel()
            raise
        writer.commit(mergetype=writing.CLEAR)
        return count

    def fingerprints(self) -> dict[int, str]:
        with self._open().searcher() as searcher:
            return {
                int(stored["cid"]): stored["fingerprint"]
                for _, stored in searcher.reader().iter_docs()
            }

    # -- searching ------------------------------------------------------------------
    def _current(self) -> _Generation:
        """The latest generation, reopened only when some process committed a change."""
        with self._lock:
            generation = self._generation
            if generation is None or not generation.searcher.up_to_date():
                searcher = self._open().searcher()
                rows = {docnum: _row(stored) for docnum, stored in searcher.reader().iter_docs()}
                generation = _Generation(searcher=searcher, rows=rows)
                self._generation = generation
            return generation

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

    def _matching(self, generation: _Generation, query: Query) -> frozenset[int]:
        """Documents matching a text query, from per-term sets cached per generation.

        Walking Whoosh's union/intersection matchers visits every posting in Python;
        patients reuse a small vocabulary, so each term's documents are read once
        per index generation and combined with set operations.
        """
        if isinstance(query, And):
            parts = [self._matching(generation, q) for q in query.subqueries]
            return frozenset.intersection(*parts) if parts else frozenset()
        if isinstance(query, Or):
            parts = [self._matching(generation, q) for q in query.subqueries]
            return frozenset().union(*parts)
        key = (type(query).__name__, str(query))  # a term or a phrase in one field
        if key not in generation.terms:
            generation.terms[key] = frozenset(generation.searcher.docs_for_query(query))
        return generation.terms[key]

    def _scores(self, generation: _Generation, query: Query, docnums: set[int]) -> dict[int, float]:
        """Field-weighted IDF scores from the cached term sets.

        Each matching term adds its field's weight times log(1 + N / df): rare words
        and matches in the name count most. BM25 through Whoosh's collector visited
        every posting in Python (tens of ms at 10k listings); this costs a few set
        lookups per result and ranks the short, formulaic listing texts as well.
        """
        scores = dict.fromkeys(docnums, 0.0)
        total = max(1, len(generation.rows))
        for leaf in query.leaves():
            matches = self._matching(generation, leaf)
            if not matches:
                continue
            field = getattr(leaf, "fieldname", "body")
            weight = FIELD_WEIGHTS.get(field, 1.0) * math.log(1 + total / len(matches))
            for docnum in matches & scores.keys():
                scores[docnum] += weight
        return scores

    def search(self, query: SearchQuery) -> SearchPage:
        generation = self._current()
        searcher = generation.searcher
        text_matches = None
        scorer = None
        if query.q:
            text_query = self._text_query(query.q)
            text_matches = frozenset()
            if text_query is not NullQuery:
                text_matches = self._matching(generation, text_query)

                def scorer(docnums: set[int]) -> dict[int, float]:
                    return self._scores(generation, text_query, docnums)

        def postings(name: str, code: str) -> frozenset[int]:
            key = (name, code)
            if key not in generation.postings:
                generation.postings[key] = frozenset(searcher.docs_for_query(Term(name, code)))
            return generation.postings[key]

        def codes(name: str) -> list[str]:
            if name not in generation.codes:
                generation.codes[name] = sorted(searcher.reader().field_terms(name))
            return generation.codes[name]

        return Evaluator(generation.rows, postings, codes, query, text_matches, scorer).run()
