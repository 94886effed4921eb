"""Open data: the published listings as an Open Referral HSDS 3.0 data package.

`hsds` builds the package, `hsds_import` loads one into an empty site, `views`
serves `/open-data/`.
"""

from flask import Blueprint

bp = Blueprint("opendata", __name__)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
