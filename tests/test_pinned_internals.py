"""Where the code leans on libraries' private parts, and what tells when they move.

`search/whoosh_postings.py` reads Whoosh's posting blocks through W3LeafMatcher's
private methods, and `admin/access.py` overrides Flask-Admin's private
`BaseView._run_view`. Both libraries are pinned to the exact versions this was
written against (pyproject.toml); these tests say in words what changed if a new
version is let in, and keep the generic fallback of the block reader tested.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import numpy as np
from flask_admin.base import BaseView
from whoosh import index as whoosh_index
from whoosh.codec.plaintext import PlainTextCodec
from whoosh.codec.whoosh3 import W3LeafMatcher
from whoosh.query import Term

from directory.admin.access import RoleRequired
from directory.search.whoosh_index import build_schema
from directory.search.whoosh_postings import term_docnums

BLOCK_READER = ("_read_data", "_next_block", "is_active", "reset")


def test_the_pinned_versions_are_the_installed_ones():
    assert version("whoosh-reloaded") == "2.7.5", (
        "whoosh_postings.py reads private block methods of Whoosh 2.7.5: check "
        "W3LeafMatcher before moving the pin"
    )
    assert version("Flask-Admin") == "2.2.1", (
        "admin/access.py overrides BaseView._run_view of Flask-Admin 2.2.1: check it "
        "before moving the pin"
    )


def test_whoosh_block_reader_still_has_what_it_reads(tmp_path):
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:
        for n in range(300):
            writer.add_document(cid=str(n), body="ketamine infusion")
    with ix.searcher() as searcher:
        matcher = searcher.reader().postings("body", "ketamin")
        assert isinstance(matcher, W3LeafMatcher), type(matcher)
        missing = [name for name in BLOCK_READER if not callable(getattr(matcher, name, None))]
        assert not missing, f"W3LeafMatcher lost {missing}: whoosh_postings.py needs them"
        matcher._read_data()
        assert hasattr(matcher, "_data") and hasattr(matcher, "_byteids"), (
            "W3LeafMatcher no longer keeps _data/_byteids after _read_data"
        )
        assert len(term_docnums(searcher, "body", "ketamin")) == 300


def test_postings_of_another_codec_take_the_generic_path(tmp_path):
    """A segment written by another of Whoosh's codecs (plain text) has no
    W3LeafMatcher: the generic walk reads it, beside a W3 segment in one index."""
    ix = whoosh_index.create_in(str(tmp_path), build_schema())
    with ix.writer() as writer:
        for n in range(200):
            writer.add_document(cid=str(n), body="ketamine zanzibar" if n % 3 else "ketamine")
    writer = ix.writer(codec=PlainTextCodec())
    writer.add_document(cid="plain-1", body="ketamine zanzibar")
    writer.add_document(cid="plain-2", body="ketamine")
    writer.commit(merge=False)
    with ix.searcher() as searcher:
        kinds = {
            type(sub.reader().postings("body", "zanzibar")) for sub, _ in searcher.subsearchers
        }
        assert W3LeafMatcher in kinds and len(kinds) == 2, kinds
        expected = np.array(sorted(searcher.docs_for_query(Term("body", "zanzibar"))))
        assert np.array_equal(np.sort(term_docnums(searcher, "body", "zanzibar")), expected)
        assert len(expected) == 133 + 1


def test_flask_admin_still_retries_views_with_cls():
    """The override exists because the library's `_run_view` calls a view again with
    `cls=self` after any TypeError; if it stops doing that, drop the override."""
    source = inspect.getsource(BaseView._run_view)
    assert "cls=self" in source, "Flask-Admin no longer retries with cls=self: drop the override"
    parameters = list(inspect.signature(BaseView._run_view).parameters)
    assert parameters == ["self", "fn", "args", "kwargs"], parameters
    assert RoleRequired._run_view is not BaseView._run_view
