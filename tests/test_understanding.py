"""Forgiving search: misspelled words corrected against the listings' own words, and
insurer, treatment and condition names typed as words read as their filters.

The results are compared with the brute force over the rows for the filter the
words name; the API reports what was changed in `query.understood`.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from directory.extensions import db
from directory.search.spelling import Speller
from directory.search.text_filters import Entry, PhraseTable

from .brute_force import expected_results, load_listings
from .test_search_contract import all_pages


@pytest.fixture(scope="module")
def listings(search_app):
    with search_app.app_context():
        return load_listings()


# -- the speller and the phrase table on their own --------------------------------


def test_speller_corrects_to_the_nearest_known_word_and_prefers_the_commoner():
    speller = Speller({"depression": 40, "expression": 2, "anxiety": 9, "infusion": 30})
    assert speller.correct("depresion") == "depression"
    assert speller.correct("anxeity") == "anxiety"  # two letters swapped: one edit
    assert speller.correct("Infusoin") == "infusion"
    tied = Speller({"calmer": 1, "palmer": 5})
    assert tied.correct("galmer") == "palmer"


@pytest.mark.parametrize(
    "word",
    ["depression", "infusions", "ptsd", "tms", "zzzzzzzzzz", "depr3ssion", "xqwvbnm"],
)
def test_speller_leaves_known_short_odd_and_faraway_words_alone(word):
    speller = Speller({"depression": 40, "infusion": 30, "ptsd": 5})
    assert speller.correct(word) is None


def test_phrase_table_reads_the_longest_phrase_and_keeps_the_other_words():
    table = PhraseTable(
        {
            "condition": [
                Entry("depression", ("Depression",)),
                Entry("treatment-resistant-depression", ("Treatment-resistant depression",)),
            ],
            "modality": [Entry("spravato", ("Spravato (esketamine nasal spray)", "Spravato"))],
            "insurer": [Entry("aetna", ("Aetna",))],
        }
    )
    rest, derived, offered = table.read("Calm treatment resistant depression nasal spray Aetna")
    # The insurer becomes the filter; treatments and conditions stay words, offered.
    assert rest == "Calm treatment resistant depression nasal spray"
    assert [(d.filter, d.code, d.typed) for d in derived] == [("insurer", "aetna", "Aetna")]
    assert [(d.filter, d.code) for d in offered] == [
        ("condition", "treatment-resistant-depression"),
        ("modality", "spravato"),
    ]
    # Only filler words left: nothing to search for but the filter.
    rest, derived, _ = table.read("ketamine clinic that takes aetna near me")
    assert rest == "" and [d.code for d in derived] == ["aetna"]
    assert table.read("calm waters") == ("calm waters", [], [])


def test_a_phrase_naming_two_entries_stays_a_word():
    table = PhraseTable({"insurer": [Entry("a", ("Blue Plan",)), Entry("b", ("Blue Plan",))]})
    assert table.read("blue plan") == ("blue plan", [], [])


# -- through the API, on every database and engine --------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [("aetna", "aetna"), ("Medicare", "medicare"), ("BCBS", "bcbs"), ("atena", "aetna")],
)
def test_an_insurer_typed_as_words_is_the_insurer_filter(search_client, listings, typed, code):
    results, first = all_pages(search_client, {"q": typed})
    query = first["query"]
    assert query["q"] == "" and query["insurer"] == [code]
    understood = query["understood"]
    assert understood["typed"] == typed
    assert [(d["filter"], d["code"]) for d in understood["filters_from_text"]] == [
        ("insurer", code)
    ]
    expected = expected_results(listings, filters={"insurer": [code]})
    assert expected.ids and [r["id"] for r in results] == expected.ids


@pytest.mark.parametrize(
    ("typed", "searched", "name", "code"),
    [
        ("depresion", "depression", "condition", "depression"),
        ("spravado", "spravato", "modality", "spravato"),
        ("anxeity", "anxiety", "condition", "anxiety"),
    ],
)
def test_a_misspelled_treatment_or_condition_is_corrected_and_finds_its_clinics(
    search_client, listings, typed, searched, name, code
):
    """The corrected word is searched: every clinic listing it is found (as for the
    word spelled right), and the filter is offered."""
    results, first = all_pages(search_client, {"q": typed})
    understood = first["query"]["understood"]
    assert first["query"]["q"] == searched
    assert understood["corrections"] == [{"typed": typed, "searched": searched}]
    assert [(d["filter"], d["code"]) for d in understood["filters_offered"]] == [(name, code)]
    expected = set(expected_results(listings, filters={name: [code]}).ids)
    assert expected and expected <= {r["id"] for r in results}
    right, _ = all_pages(search_client, {"q": searched})
    assert [r["id"] for r in results] == [r["id"] for r in right]


def test_an_offered_filter_link_searches_that_filter(search_client, listings):
    page = search_client.get("/search", query_string={"q": "ptsd"}).get_data(as_text=True)
    match = re.search(r'href="([^"]+)">Only clinics that list PTSD as a condition<', page)
    assert match, "the condition filter is offered"
    url = match.group(1).replace("&amp;", "&")
    assert "condition=ptsd" in url and "q=" not in url


def test_filters_read_from_words_join_the_ticked_ones(search_client, listings):
    results, first = all_pages(search_client, {"q": "aetna", "modality": "iv"})
    assert first["query"]["insurer"] == ["aetna"] and first["query"]["modality"] == ["iv"]
    expected = expected_results(listings, filters={"insurer": ["aetna"], "modality": ["iv"]})
    assert [r["id"] for r in results] == expected.ids


@pytest.mark.parametrize(
    ("where", "sort"), [("", "recent"), ("Texas", "recent"), ("Austin, TX", "distance")]
)
def test_words_that_all_become_filters_take_the_order_of_a_search_without_words(
    search_client, where, sort
):
    """No words left: not "best match" but the order of a search without words (a
    whole state has no distances, so not nearest first)."""
    response = search_client.get("/api/v1/search", query_string={"q": "aetna", "where": where})
    assert response.status_code == 200, response.get_json()
    query = response.get_json()["query"]
    assert query["q"] == "" and query["insurer"] == ["aetna"] and query["sort"] == sort


def test_exact_searches_the_words_as_typed(search_client):
    response = search_client.get("/api/v1/search", query_string={"q": "depresion", "exact": 1})
    data = response.get_json()
    assert data["query"]["q"] == "depresion"
    assert data["query"]["understood"] is None and data["query"]["exact"] is True


def test_words_the_listings_use_are_never_corrected(search_client, search_app):
    """Every word of twenty clinics' names and descriptions, read with plain SQL, is
    searched as typed."""
    with search_app.app_context():
        rows = db.session.execute(
            text(
                "SELECT name, description FROM clinic WHERE status = 'published' "
                "ORDER BY id LIMIT 20"
            )
        ).all()
    own = {w for row in rows for w in re.findall(r"[a-z]+", " ".join(row).lower()) if len(w) > 3}
    assert len(own) > 50
    for word in sorted(own):
        data = search_client.get("/api/v1/search", query_string={"q": word}).get_json()
        understood = data["query"]["understood"]
        assert understood is None or not understood["corrections"], word


def test_the_page_says_what_was_searched_and_offers_the_words_as_typed(search_client):
    page = search_client.get("/search", query_string={"q": "depresion"}).get_data(as_text=True)
    assert "Showing results for" in page and "depression" in page
    assert "Search instead for" in page
    assert "exact=1" in page
    plain = search_client.get("/search", query_string={"q": "depresion", "exact": 1})
    assert "Showing results for" not in plain.get_data(as_text=True)


def test_threads_reading_the_words_for_the_first_time_agree(search_fresh_app, demo_records):
    """Eight threads ask at once on an app that has not read its words yet: one builds
    the speller, every answer is the same correction."""
    from directory.listings.demo import load_demo
    from directory.search import sync

    app = search_fresh_app
    with app.app_context():
        load_demo(demo_records[:40])
        sync.rebuild()

    def ask(_: int) -> tuple[int, object]:
        with app.test_client() as client:
            response = client.get("/api/v1/search", query_string={"q": "anxeity"})
            return response.status_code, response.get_json()["query"]["understood"]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(16)))
    assert {status for status, _ in answers} == {200}
    assert len({repr(u) for _, u in answers}) == 1
    assert answers[0][1]["corrections"] == [{"typed": "anxeity", "searched": "anxiety"}]
