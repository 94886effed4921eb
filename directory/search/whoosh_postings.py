"""Read a term's documents out of a Whoosh index a block at a time.

`Searcher.docs_for_query` walks a matcher one posting at a time in Python, which
the first search that uses a common word pays after every index change. Whoosh's
own format (`W3LeafMatcher`) stores postings in blocks of up to 128 document
numbers, and reading whole blocks into an array costs a small fraction of that
(figures: docs/performance.md, "What changed, and why"). This reaches
into that matcher's block-reading methods (Whoosh is pinned below 3); any other
matcher falls back to the generic walk, and a test compares both on a
multi-segment index with deletions.
"""

from __future__ import annotations

import numpy as np
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.matching.wrappers import FilterMatcher
from whoosh.searching import Searcher


def term_docnums(searcher: Searcher, fieldname: str, text: str) -> np.ndarray:
    """Document numbers (searcher-wide) whose `fieldname` holds the indexed term `text`.

    Deleted documents may be included: callers intersect with the live documents.
    """
    parts: list[np.ndarray] = []
    for sub, offset in searcher.subsearchers or [(searcher, 0)]:
        reader = sub.reader()
        if (fieldname, text) not in reader:
            continue
        matcher = reader.postings(fieldname, text)
        if isinstance(matcher, FilterMatcher):  # the segment's deletions: drop the filter
            matcher = matcher.child
            matcher.reset()
        if isinstance(matcher, W3LeafMatcher):
            while matcher.is_active():
                matcher._read_data()
                ids = np.asarray(matcher._data[0], dtype=np.int64)
                if not matcher._byteids:  # a block stores the gaps between numbers
                    ids = np.cumsum(ids)
                parts.append(ids + offset)
                matcher._next_block()
        else:
            parts.append(np.fromiter(matcher.all_ids(), dtype=np.int64) + offset)
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
