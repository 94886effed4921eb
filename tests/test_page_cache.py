"""Cached search answers: served again only while the index is unchanged, never to
visitors with a cookie, never for errors, and bounded in time and bytes."""

from __future__ import annotations

import pytest
from flask import Response

from directory.extensions import db
from directory.listings import publishing
from directory.listings.demo import load_demo
from directory.models import Clinic
from directory.page_cache import PageCache, get_page_cache
from directory.search import sync

SEARCH = "/search?where=Austin%2C+TX&radius=500"
API = "/api/v1/search?where=Austin%2C+TX&radius=500"


@pytest.fixture
def small_site(search_fresh_app, demo_records):
    """A site on every (database, search backend) pair with a few hundred demo clinics."""
    with search_fresh_app.app_context():
        load_demo(demo_records[:300])
        sync.rebuild()
    return search_fresh_app


def _first_result_id(client) -> int:
    return client.get(API).get_json()["results"][0]["id"]


@pytest.mark.parametrize("url", [SEARCH, API])
def test_a_repeated_search_is_answered_from_the_cache(small_site, url):
    client = small_site.test_client()
    first = client.get(url)
    with small_site.app_context():
        cache = get_page_cache()
        hits = cache.hits
    second = client.get(url)
    assert first.status_code == second.status_code == 200
    assert second.data == first.data
    assert cache.hits == hits + 1
    # the app-wide headers are still added to a cached answer
    assert second.headers["Content-Security-Policy"] == first.headers["Content-Security-Policy"]
    assert second.headers["Content-Type"] == first.headers["Content-Type"]


def test_a_change_to_the_index_is_seen_at_once(small_site):
    client = small_site.test_client()
    first_id = _first_result_id(client)
    assert _first_result_id(client) == first_id  # now cached
    with small_site.app_context():
        clinic = db.session.get(Clinic, first_id)
        publishing.set_status(clinic, "suspended")
    assert client.get(API).get_json()["results"][0]["id"] != first_id
    with small_site.app_context():
        slug = db.session.get(Clinic, first_id).slug
    assert f"/clinics/{slug}".encode() not in client.get(SEARCH).data


def test_visitors_with_a_cookie_are_never_served_from_the_cache(small_site):
    client = small_site.test_client()
    client.get(SEARCH)
    with small_site.app_context():
        cache = get_page_cache()
        before = (cache.hits, cache.misses)
    client.set_cookie("session", "anything", domain="directory.test")
    assert client.get(SEARCH).status_code == 200
    assert (cache.hits, cache.misses) == before  # not even looked up


def test_errors_are_not_cached(small_site):
    client = small_site.test_client()
    with small_site.app_context():
        cache = get_page_cache()
        size = len(cache)
    for _ in range(2):
        assert client.get("/search?where=Nowhere%2C+ZZ").status_code == 400
        assert client.get("/api/v1/search?radius=0").status_code == 400
    assert len(cache) == size


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_entries_expire_and_the_cache_stays_within_its_bytes():
    clock = Clock()
    cache = PageCache(max_bytes=8_000, lifetime=60, clock=clock)
    cache.put("a", Response(b"x" * 900))
    assert cache.get("a").get_data() == b"x" * 900
    clock.now = 59.9
    assert cache.get("a") is not None
    clock.now = 60.0
    assert cache.get("a") is None, "expired"
    for key in range(20):
        cache.put(key, Response(b"y" * 900))
    assert len(cache) == 8, "the oldest went first"
    assert cache.get(0) is None and cache.get(19) is not None
    cache.put("huge", Response(b"z" * 1_001))  # over an eighth of the cache: not kept
    assert cache.get("huge") is None
