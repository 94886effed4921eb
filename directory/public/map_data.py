"""What the results and clinic pages hand to static/js/map.js.

The page carries its map in a `<script type="application/json">` block (data, not
code, so the CSP's script-src stays 'self'): the clinics shown with their
coordinates, the searched place, the tile settings and our own Leaflet files. The
map script loads Leaflet and any tile only when the patient opens the map.

Without tiles the map draws US state (and, zoomed in, county) outlines from our copy
of us-atlas and names towns from `places`: a bounded list of the biggest towns
around the page's clinics, from the offline gazetteer. It is in the page rather
than a separate download because it is small (a few kB), is only ever about what
this page shows, and is cached with the page.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from collections.abc import Iterable
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from flask import current_app, url_for

from ..geo import get_gazetteer
from ..listings.cards import Card
from ..models import Clinic
from .template_helpers import miles

# Town names: from each of these margins (degrees) around the clinics, the biggest
# PLACES_PER_MARGIN towns by ZIP count, so there are names to read at the zoom the map
# opens at and a few steps either side. The script shows only those that fit.
PLACE_MARGINS = (0.15, 0.75, 3.0)
PLACES_PER_MARGIN = 20
_CELL = 1.0  # degrees: the grid the towns are bucketed in
_SMALL_BOX_CELLS = 64  # a box of more cells is searched biggest town first instead


def directions(clinic: Clinic | Card) -> dict[str, str] | None:
    """Links to directions to the clinic's street address, or None without one.

    By address, not coordinates: ours are the ZIP's centre. `web` is the plain link
    (OpenStreetMap); the script offers `geo` (Android) or `apple` (Apple devices)
    instead, which open the patient's own maps app. Nothing is fetched until tapped.
    """
    if not clinic.in_person or not clinic.street or not clinic.city:
        return None
    address = f"{clinic.street}, {clinic.city}, {clinic.state} {clinic.postal_code or ''}".strip()
    return {
        "address": address,
        "web": "https://www.openstreetmap.org/directions?" + urlencode({"to": address}),
        "apple": "https://maps.apple.com/?" + urlencode({"daddr": address}),
        "geo": f"geo:{clinic.lat},{clinic.lng}?q={quote(address)}",
    }


def _point(clinic: Clinic | Card, distance_miles: float | None) -> dict[str, Any] | None:
    if clinic.lat is None or clinic.lng is None or not clinic.in_person:
        return None
    return {
        "id": clinic.id,
        "name": clinic.name,
        "url": url_for("public.clinic", slug=clinic.slug),
        "lat": clinic.lat,
        "lng": clinic.lng,
        "place": f"{clinic.city}, {clinic.state}" if clinic.city else clinic.state,
        "distance": miles(distance_miles) if distance_miles is not None else "",
        "directions": directions(clinic),
    }


Town = tuple[str, float, float, int]  # name, lat, lng, ZIP count


@cache
def _towns() -> tuple[dict[tuple[int, int], list[Town]], list[Town]]:
    """Towns by 1-degree cell, and all of them biggest first: built once from the gazetteer.

    A town is the STANDARD (street delivery) ZIPs sharing a name and state, at their
    mean: PO-box and military ZIPs neither count nor place a name on the map.
    """
    spots: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for record in get_gazetteer().zip_records():
        if record.zip_type == "STANDARD":
            spots[record.city, record.state].append((record.lat, record.lng))
    towns = [
        (
            name,
            round(sum(s[0] for s in at) / len(at), 4),
            round(sum(s[1] for s in at) / len(at), 4),
            len(at),
        )
        for (name, _state), at in spots.items()
    ]
    towns.sort(key=_biggest_first)
    grid: dict[tuple[int, int], list[Town]] = defaultdict(list)
    for town in towns:
        grid[int(town[1] // _CELL), int(town[2] // _CELL)].append(town)
    return dict(grid), towns


def _biggest_first(town: Town) -> tuple[int, str]:
    return -town[3], town[0]


def _biggest_in(south: float, north: float, west: float, east: float) -> list[Town]:
    """The PLACES_PER_MARGIN biggest towns in a box: from its grid cells when it is
    small, else the first found in the list of all towns, biggest first (a wide box
    fills up at once). Each cell's towns are biggest first already, so the cells are
    merged lazily rather than sorted: only the towns up to the last one taken are
    looked at."""
    grid, biggest_first = _towns()
    rows = range(int(south // _CELL), int(north // _CELL) + 1)
    columns = range(int(west // _CELL), int(east // _CELL) + 1)
    if len(rows) * len(columns) <= _SMALL_BOX_CELLS:
        cells = [grid[r, c] for r in rows for c in columns if (r, c) in grid]
        candidates: Iterable[Town] = heapq.merge(*cells, key=_biggest_first)
    else:
        candidates = biggest_first
    found: list[Town] = []
    for town in candidates:
        if south <= town[1] <= north and west <= town[2] <= east:
            found.append(town)
            if len(found) == PLACES_PER_MARGIN:
                break
    return found


def places(points: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """The biggest towns around `points` (lat, lng), biggest first, at most
    PLACES_PER_MARGIN for each of PLACE_MARGINS."""
    if not points:
        return []
    lats, lngs = [p[0] for p in points], [p[1] for p in points]
    chosen: dict[tuple[str, float, float], int] = {}
    for margin in PLACE_MARGINS:
        box = (min(lats) - margin, max(lats) + margin, min(lngs) - margin, max(lngs) + margin)
        for name, lat, lng, size in _biggest_in(*box):
            chosen[name, lat, lng] = size
    ranked = sorted(chosen.items(), key=lambda item: (-item[1], item[0][0]))
    return [{"name": n, "lat": lat, "lng": lng, "size": size} for (n, lat, lng), size in ranked]


def tiles() -> dict[str, str]:
    """The tile template, its attribution (plain text) and the host patients are told about."""
    url = current_app.config.get("MAP_TILE_URL", "")
    host = "" if not url or url.startswith("/") else urlsplit(url).netloc.removeprefix("{s}.")
    return {
        "url": url,
        "attribution": current_app.config.get("MAP_TILE_ATTRIBUTION", ""),
        "host": host,
    }


def map_data(
    items: Iterable[tuple[Clinic | Card, float | None]],
    center: tuple[float, float, str] | None = None,
) -> dict[str, Any]:
    """The JSON block for one page: `items` are (clinic, distance) in the order shown.

    Clinics without coordinates (telehealth-only programs) are left out; `center` is
    the searched place (lat, lng, label), drawn as a plain dot.
    """
    points = [p for p in (_point(clinic, distance) for clinic, distance in items) if p]
    map_tiles = tiles()
    located = [(p["lat"], p["lng"]) for p in points] + ([center[:2]] if center else [])

    def static(path: str) -> str:
        return url_for("static", filename=f"vendor/{path}")

    return {
        "points": points,
        "center": ({"lat": center[0], "lng": center[1], "label": center[2]} if center else None),
        "tiles": map_tiles,
        "places": [] if map_tiles["url"] or not points else places(located),
        "assets": {
            "leaflet_js": static("leaflet/leaflet.js"),
            "leaflet_css": static("leaflet/leaflet.css"),
            "cluster_js": static("leaflet.markercluster/leaflet.markercluster.js"),
            "cluster_css": static("leaflet.markercluster/MarkerCluster.css"),
            "cluster_theme_css": static("leaflet.markercluster/MarkerCluster.Default.css"),
            "images": static("leaflet/images/"),
            "outline_js": url_for("static", filename="js/map-outline.js"),
            "topojson_js": static("topojson-client/topojson-client.min.js"),
            "states": static("us-atlas/states-10m.json"),
            "counties": static("us-atlas/counties-10m.json"),
        },
    }
