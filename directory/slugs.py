"""Slugs: the one way names and cities are spelled in URLs.

A listing's slug is made once, when the clinic is first submitted, and stored;
the city part of browse URLs is made on every request and looked up by making it
again, so both sides must agree. The demo generator, the moderation service, the
public pages and the URL converter all use this module for that reason.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# What `slugify` returns; the URL converter accepts nothing else.
SLUG_PATTERN = r"[a-z0-9]+(?:-[a-z0-9]+)*"
# Clinic.slug's column length: no longer slug can name anything.
MAX_LENGTH = 160

_SEPARATORS = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_length: int | None = None) -> str:
    """ "St. Louis" -> "st-louis"; "Mind & Body" -> "mind-and-body".

    Cut to `max_length` without leaving a trailing hyphen, which the URL converter
    would refuse. May be empty (text without a letter or digit).
    """
    slug = _SEPARATORS.sub("-", text.lower().replace("&", " and ")).strip("-")
    if max_length is not None:
        slug = slug[:max_length].rstrip("-")
    return slug


def unique_slug(base: str, taken: Callable[[str], bool]) -> str:
    """`base`, or `base-2`, `base-3`, … : the first that `taken` says is free."""
    slug, n = base, 2
    while taken(slug):
        slug, n = f"{base}-{n}", n + 1
    return slug
