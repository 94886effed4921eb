"""A search on one generation of the Whoosh index: the text query, its matches and
scores from the generation's cached masks, and the rest handed to `evaluate.Evaluator`.

Whoosh parses and stems the words; matching and scoring combine per-term masks
with vectorised and/or, so Whoosh's matchers and collectors, which visit every
posting in Python, are never walked (see docs/performance.md, "What changed, and
why").
"""

from __future__ import annotations

import math

import numpy as np
from whoosh.fields import Schema
from whoosh.qparser import AndGroup, MultifieldParser
from whoosh.query import And, NullQuery, Or, Query, Term

from .backend import SearchPage
from .evaluate import Evaluator, Mask
from .memo import Memo
from .query import SearchQuery
from .synonyms import expand, group_token
from .whoosh_generation import Generation
from .whoosh_index import FIELD_WEIGHTS, TEXT_FIELDS

# Wordings whose parsed query a process keeps (each a few small objects).
PARSED_CACHE = 2048


def text_parser(schema: Schema) -> MultifieldParser:
    """Whoosh's parser over the text fields: every word must match in some field."""
    return MultifieldParser(list(TEXT_FIELDS), schema, group=AndGroup)


class TextQueries:
    """The text queries of a process, parsed once per wording.

    Whoosh's parser and stemmer cost more than searching a known word (a quarter of
    a place + text search), and patients reuse a small vocabulary. A parse depends
    only on the words and the schema, never on the index contents, so it outlives
    generations; queries are only read afterwards, so threads share them.
    """

    def __init__(self, schema: Schema, size: int = PARSED_CACHE):
        self.parser = text_parser(schema)
        self._parsed = Memo(size)

    def parse(self, text: str) -> Query:
        parsed = self._parsed.get(text)
        if parsed is None:
            parsed = text_query(self.parser, text)
            self._parsed.put(text, parsed)
        return parsed


def text_query(parser: MultifieldParser, text: str) -> Query:
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
        options = [parser.parse(w) for w in words]
        options = [o for o in options if o is not NullQuery]
        if options:
            units.append(Or(options) if len(options) > 1 else options[0])
    return And(units).normalize() if units else NullQuery


def matching(generation: Generation, query: Query) -> Mask:
    """Documents matching a text query, from per-term masks cached per generation.

    Walking Whoosh's union/intersection matchers visits every posting in Python;
    patients reuse a small vocabulary, so each term's documents are read once
    per index generation and combined with vectorised and/or.
    """
    if isinstance(query, And | Or):
        parts = [matching(generation, q) for q in query.subqueries]
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


def scores(generation: Generation, query: Query, docnums: np.ndarray) -> np.ndarray:
    """Field-weighted IDF scores from the cached term masks.

    Each matching term adds its field's weight times log(1 + N / df): rare words
    and matches in the name count most. One gather per query term instead of
    BM25 through Whoosh's collector (see docs/performance.md, "What changed, and
    why"), and it ranks the short, formulaic listing texts as well.
    """
    found = np.zeros(len(docnums))
    total = max(1, generation.table.count)
    for leaf in query.leaves():
        matches = matching(generation, leaf)
        df = int(np.count_nonzero(matches))
        if not df:
            continue
        field = getattr(leaf, "fieldname", "body")
        weight = FIELD_WEIGHTS.get(field, 1.0) * math.log(1 + total / df)
        found += np.where(matches[docnums], weight, 0.0)
    return found


def run(
    generation: Generation, texts: TextQueries, query: SearchQuery, telehealth_cards: int
) -> SearchPage:
    """The query's page on this generation (raises `ReadFailed` when a read fails);
    the first `telehealth_cards` telehealth programs carry their cards."""
    text_matches = None
    scorer = None
    if query.q:
        parsed = texts.parse(query.q)
        text_matches = np.zeros(generation.table.size, dtype=bool)
        if parsed is not NullQuery:
            text_matches = matching(generation, parsed)

            def scorer(docnums: np.ndarray) -> np.ndarray:
                return scores(generation, parsed, docnums)

    def postings(name: str, code: str) -> Mask:
        key = (name, code)
        found = generation.postings.get(key)
        if found is None:
            found = generation.postings[key] = generation.mask(Term(name, code))
        return found

    return Evaluator(
        generation.table,
        postings,
        generation.field_codes,
        query,
        text_matches,
        scorer,
        card=generation.card,
        telehealth_cards=telehealth_cards,
    ).run()
