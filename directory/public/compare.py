"""Side by side: up to four published listings, named by their slugs in the URL.

`/compare?c=slug-a&c=slug-b` (or `c=slug-a,slug-b`) is the whole comparison, so a
patient can share, bookmark or print it, and ticking cards on a results page makes
it without any script. Nothing is stored on the server and no cookie is set: the
shortlist a patient builds while browsing lives in their browser
(static/js/shortlist.js) and only ever reaches us as this GET.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from flask import render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from sqlalchemy import select

from ..extensions import db
from ..geo import Place, PlaceError, get_gazetteer, miles_between
from ..geo.gazetteer import MAX_INPUT_CHARS
from ..listings import catalog
from ..models import Clinic, Modality, Offering
from ..slugs import MAX_LENGTH, SLUG_PATTERN
from . import bp

MAX_COMPARED = 4
# Slugs read from one URL: enough to name what was left out, bounded for junk URLs.
MAX_REQUESTED = 12
# How much of something that is not a listing the page repeats back.
SHOWN_CHARS = 60
_SLUG = re.compile(SLUG_PATTERN)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@bp.record_once
def _register_limit(state: BlueprintSetupState) -> None:
    """The limit in words on every page that offers comparing (results, compare)."""
    state.app.add_template_global(MAX_COMPARED, "max_compared")


@dataclass(frozen=True)
class Compared:
    """One column: a clinic and its distance from the patient's place (None: unknown)."""

    clinic: Clinic
    distance_miles: float | None

    def offering(self, modality: Modality) -> Offering | None:
        return next((o for o in self.clinic.offerings if o.modality_id == modality.id), None)


@dataclass
class Comparison:
    """What the page shows: the columns, the treatments any of them offers, and what
    the URL asked for that is not shown (unknown, or past the first four)."""

    columns: list[Compared]
    modalities: list[Modality]
    requested: int = 0
    not_found: list[str] = field(default_factory=list)
    left_out: list[Clinic] = field(default_factory=list)
    place: Place | None = None
    place_error: PlaceError | None = None

    @property
    def slugs(self) -> list[str]:
        return [column.clinic.slug for column in self.columns]


def requested_slugs(values: Iterable[str]) -> list[str]:
    """The `c` values in the patient's order: comma-separated lists split, control
    characters, blanks and repeats dropped, at most MAX_REQUESTED (anything may be in
    a URL, and what is not a listing is named back on the page)."""
    seen: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            part = " ".join(_CONTROL.sub(" ", part).split())
            if part and part not in seen:
                seen[part] = None
            if len(seen) == MAX_REQUESTED:
                return list(seen)
    return list(seen)


def published_by_slug(slugs: list[str]) -> dict[str, Clinic]:
    """The published listings among `slugs`, with what the table shows loaded."""
    wanted = [s for s in slugs if len(s) <= MAX_LENGTH and _SLUG.fullmatch(s)]
    if not wanted:
        return {}
    ids = db.session.scalars(
        select(Clinic.id).where(Clinic.slug.in_(wanted), catalog.PUBLISHED)
    ).all()
    return {c.slug: c for c in catalog.clinics_by_ids(ids, conditions=False).values()}


def distance(place: Place | None, clinic: Clinic) -> float | None:
    """Miles from `place` to a clinic patients visit; None for a telehealth-only
    program or a listing without a location."""
    if place is None or not clinic.in_person or clinic.lat is None or clinic.lng is None:
        return None
    return miles_between(place.lat, place.lng, clinic.lat, clinic.lng)


def compare(slugs: list[str], where: str = "") -> Comparison:
    """The comparison a URL asks for: found listings in the asked order, the first
    MAX_COMPARED of them shown; `where` (a place, as the search reads it) adds distances."""
    found = published_by_slug(slugs)
    clinics = [found[s] for s in slugs if s in found]
    place, place_error = None, None
    if where.strip():
        try:
            place = get_gazetteer().resolve(where)
        except PlaceError as error:
            place_error = error
    columns = [Compared(c, distance(place, c)) for c in clinics[:MAX_COMPARED]]
    modalities = {o.modality.id: o.modality for col in columns for o in col.clinic.offerings}
    return Comparison(
        columns=columns,
        modalities=sorted(modalities.values(), key=lambda m: (m.sort_order, m.name)),
        requested=len(slugs),
        not_found=[_shown(s) for s in slugs if s not in found],
        left_out=clinics[MAX_COMPARED:],
        place=place,
        place_error=place_error,
    )


def _shown(text: str) -> str:
    """Something the URL held, short enough to repeat on the page."""
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def compare_url(slugs: list[str], where: str = "", **extra: object) -> str:
    """The comparison of `slugs` in this order (the canonical form: one `c` each)."""
    return url_for("public.compare", c=slugs or None, where=where or None, **extra)


@bp.get("/compare", endpoint="compare")
def compare_page():
    """Up to four clinics side by side: prices per treatment, insurance, payment,
    credentials, new patients, distance and when each listing was verified. With no
    clinic named, how to choose some; with none of those named found, a 404."""
    slugs = requested_slugs(request.args.getlist("c"))
    where = " ".join(_CONTROL.sub(" ", request.args.get("where", "")).split())
    comparison = compare(slugs, where)  # the gazetteer says when a place is too long
    if len(where) > MAX_INPUT_CHARS:  # not repeated in the form and links
        where = ""
    shown = comparison.slugs
    status = 404 if slugs and not comparison.columns else 200
    return (
        render_template(
            "compare.html",
            comparison=comparison,
            where=where,
            removal_urls={s: compare_url([o for o in shown if o != s], where) for s in shown},
            canonical_url=compare_url(shown, _external=True) if shown else None,
        ),
        status,
    )
