"""What the results and clinic pages hand to static/js/map.js.

The page carries its map in a `<script type="application/json">` block (data, not
code, so the CSP's script-src stays 'self'): the clinics shown with their
coordinates, the searched place, the tile settings and our own Leaflet files. The
map script loads Leaflet and any tile only when the patient opens the map.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from flask import current_app, url_for

from ..models import Clinic
from .template_helpers import miles


def _point(clinic: Clinic, distance_miles: float | None) -> dict[str, Any] | None:
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
    }


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
    items: Iterable[tuple[Clinic, float | None]],
    center: tuple[float, float, str] | None = None,
) -> dict[str, Any]:
    """The JSON block for one page: `items` are (clinic, distance) in the order shown.

    Clinics without coordinates (telehealth-only programs) are left out; `center` is
    the searched place (lat, lng, label), drawn as a plain dot.
    """
    points = [p for p in (_point(clinic, distance) for clinic, distance in items) if p]

    def static(path: str) -> str:
        return url_for("static", filename=f"vendor/{path}")

    return {
        "points": points,
        "center": ({"lat": center[0], "lng": center[1], "label": center[2]} if center else None),
        "tiles": tiles(),
        "assets": {
            "leaflet_js": static("leaflet/leaflet.js"),
            "leaflet_css": static("leaflet/leaflet.css"),
            "cluster_js": static("leaflet.markercluster/leaflet.markercluster.js"),
            "cluster_css": static("leaflet.markercluster/MarkerCluster.css"),
            "cluster_theme_css": static("leaflet.markercluster/MarkerCluster.Default.css"),
            "images": static("leaflet/images/"),
        },
    }
