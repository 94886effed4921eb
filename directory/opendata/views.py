"""`/open-data/`: what the open data holds, and the HSDS package to download.

The zip is built from the published rows on request and kept in this process
under the search index's version: every change a visitor could see re-indexes,
so a new version means new data. An engine that cannot tell its version (None)
gets a fresh build each time. No view here reads or sets a cookie.
"""

from __future__ import annotations

import hashlib
import threading

from flask import Response, current_app, render_template, request
from sqlalchemy import func, select

from ..extensions import db
from ..models import Clinic
from ..search import get_backend
from . import bp, hsds

_LOCK = threading.Lock()  # one build at a time per process; the others wait for it


def package() -> bytes:
    """The current package's bytes, from the cache when the index has not changed."""
    version = get_backend().version()
    cache = current_app.extensions.setdefault("opendata", {})
    if version is not None and cache.get("version") == version:
        return cache["zip"]
    with _LOCK:
        if version is not None and cache.get("version") == version:
            return cache["zip"]
        data = hsds.build_package()
        if version is not None:
            cache.update(version=version, zip=data)
        return data


@bp.get("/")
def index():
    """The open data explained, for patients and developers, with the download link."""
    published = Clinic.status == "published"
    listings = db.session.scalar(select(func.count(Clinic.id)).where(published)) or 0
    demo = db.session.scalar(select(func.count(Clinic.id)).where(published, Clinic.is_demo)) or 0
    return render_template(
        "open_data.html",
        listings=listings,
        demo=demo,
        license=hsds.DATA_LICENSE,
        hsds_version=hsds.HSDS_VERSION,
        tables=hsds.TABLES,
        native=hsds.NATIVE_FIELDS,
    )


@bp.get("/hsds.zip")
def download():
    """The published listings as a zipped HSDS 3.0 data package (JSON and CSV)."""
    data = package()
    response = Response(data, mimetype="application/zip")
    response.headers["Content-Disposition"] = "attachment; filename=hsds.zip"
    response.set_etag(hashlib.sha256(data).hexdigest())
    response.cache_control.public = True
    response.cache_control.max_age = 300
    return response.make_conditional(request)
