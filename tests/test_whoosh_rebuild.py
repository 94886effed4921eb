"""A rebuild by several processes gives the index a rebuild by one process gives.

Large rebuilds use Whoosh's multiprocess writer (one segment per child); the
demo data is small, so the threshold is lowered here to take that path.
"""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from directory.listings.finder import parse
from directory.listings.vocabulary import vocabulary_names
from directory.search import sync
from directory.search.whoosh_backend import WhooshBackend

QUERIES = [
    {"q": "ptsd"},
    {"where": "Austin, TX", "radius": "200"},
    {"where": "Denver, CO", "q": "infusion", "modality": "iv", "max_price": "600"},
    {"where": "10001", "radius": "500", "page": "3", "sort": "price"},
    {"q": "depression", "insurer": "aetna", "sort": "recent"},
]


@pytest.fixture
def whoosh_demo_app(demo_apps):
    return demo_apps("sqlite", "whoosh")


def test_parallel_rebuild_indexes_what_a_serial_one_does(whoosh_demo_app, tmp_path):
    serial = WhooshBackend(tmp_path / "serial")
    parallel = WhooshBackend(tmp_path / "parallel")
    parallel.parallel_rebuild_from = 100
    with whoosh_demo_app.app_context():
        count = serial.rebuild(sync.published_documents())
        assert parallel.rebuild(sync.published_documents()) == count
        assert count > 100
        with parallel._open()[1].searcher() as searcher:
            assert len(searcher.subsearchers or []) >= 2, "expected one segment per child"
        assert parallel.fingerprints() == serial.fingerprints()
        vocabularies = vocabulary_names()
        for args in QUERIES:
            query = parse(MultiDict(args), vocabularies)
            one, many = serial.search(query), parallel.search(query)
            assert many.total == one.total > 0, args
            assert many.hits == one.hits, args
            assert many.telehealth == one.telehealth, args
            assert many.facets == one.facets, args
