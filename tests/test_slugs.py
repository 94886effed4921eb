"""One slug function: what it makes is exactly what the URL converter accepts."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import NotFound

from directory.slugs import MAX_LENGTH, SLUG_PATTERN, slugify, unique_slug


@pytest.mark.parametrize(
    ("text", "slug"),
    [
        ("St. Louis", "st-louis"),
        ("Mind & Body Ketamine", "mind-and-body-ketamine"),
        ("  --Coeur d'Alene--  ", "coeur-d-alene"),
        ("!!!", ""),
    ],
)
def test_slugify(text, slug):
    assert slugify(text) == slug


def test_a_cut_slug_never_ends_in_a_hyphen():
    slug = slugify("ab " * 100, max_length=150)
    assert len(slug) <= 150 and re.fullmatch(SLUG_PATTERN, slug)


def test_unique_slug_counts_up_from_two():
    taken = {"austin-ketamine", "austin-ketamine-2"}
    assert unique_slug("austin-ketamine", taken.__contains__) == "austin-ketamine-3"
    assert unique_slug("dallas-ketamine", taken.__contains__) == "dallas-ketamine"


def test_the_converter_accepts_exactly_what_slugify_makes(demo_app):
    urls = demo_app.url_map.bind("directory.test")
    many_words = slugify("word " * 31)  # more words than the converter used to allow
    assert urls.match(f"/clinics/{many_words}")[0] == "public.clinic"
    for path in ("/clinics/" + "a" * (MAX_LENGTH + 1), "/clinics/Upper", "/clinics/a--b"):
        with pytest.raises(NotFound):
            urls.match(path)
