"""The block reader of Whoosh postings finds what Whoosh's own walk finds.

`term_docnums` reaches into Whoosh's posting blocks for speed, so it is checked
against `Searcher.docs_for_query` on an index shaped like a live one: several
segments (unmerged commits), deleted documents, terms spanning many blocks, and
terms that some segments lack.
"""

from __future__ import annotations

import random

import numpy as np
from whoosh import index as whoosh_index
from whoosh.query import Term

from directory.search.whoosh_index import build_schema
from directory.search.whoosh_postings import term_docnums

WORDS = ["ketamine", "infusion", "depression", "ptsd", "rare", "austin", "clinic"]


def _index_with_segments(tmp_path) -> whoosh_index.Index:
    rng = random.Random(4)
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    cid = 0
    for segment in range(3):
        writer = ix.writer()
        # 700 documents a segment: common words span several 128-posting blocks.
        for _ in range(700):
            cid += 1
            chosen = [w for w in WORDS if rng.random() < (0.02 if w == "rare" else 0.6)]
            writer.add_document(
                cid=str(cid),
                name=" ".join(chosen[:2]) or "clinic",
                body=" ".join(chosen),
                modality=",".join(rng.sample(["iv", "im", "spravato"], rng.randint(0, 2))),
            )
        writer.commit(merge=False)  # keep the segments apart, as between merges
        if segment < 2:
            writer = ix.writer()
            for gone in rng.sample(range(1, cid + 1), 150):
                writer.delete_by_term("cid", str(gone))
            writer.commit(merge=False)
    return ix


def test_block_reader_matches_whoosh_on_segments_with_deletions(tmp_path):
    ix = _index_with_segments(tmp_path)
    with ix.searcher() as searcher:
        assert len(searcher.subsearchers) == 3, "the index should keep three segments"
        live = set(searcher.reader().all_doc_ids())
        assert len(live) < searcher.reader().doc_count_all(), "some documents are deleted"
        terms = [("body", w) for w in WORDS] + [("name", "ketamin"), ("name", "absent")]
        terms += [("modality", c) for c in ("iv", "im", "spravato", "absent")]
        analyzed = {w: w for w in ("absent", "iv", "im", "spravato")}
        for fieldname, word in terms:
            text = analyzed.get(word) or next(searcher.schema[fieldname].process_text(word))
            expected = set(searcher.docs_for_query(Term(fieldname, text)))
            found = term_docnums(searcher, fieldname, text)
            assert len(found) == len(np.unique(found)), "no document twice"
            assert set(found.tolist()) & live == expected, (fieldname, word)


def test_block_reader_on_an_empty_index(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    with ix.searcher() as searcher:
        assert term_docnums(searcher, "body", "ketamin").tolist() == []
