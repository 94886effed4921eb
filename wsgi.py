"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

import gc
import os

from directory import create_app
from directory.geo import get_gazetteer

try:
    app = create_app()
except ValueError as exc:  # a setting config.py refuses (SITE_URL unset, ...): say which
    raise SystemExit(f"Not starting: {exc}") from None

# `make run` has the master make the site ready before the workers fork
# (SETUP_ON_START=1): one start-up instead of a `flask setup` process before it.
if os.environ.get("SETUP_ON_START") == "1":
    from directory.extensions import db
    from directory.ops.site_setup import set_up

    with app.app_context():
        set_up(app)
        db.session.remove()
        db.engine.dispose()  # no connection of the master's may cross the fork

# The gazetteer (42,000 ZIP codes and their places) lives as long as the process.
# Built here rather than by the first search, then moved out of the garbage
# collector's view with everything else made at start: otherwise each full
# collection re-scans these objects, a 100 ms pause every few hundred requests
# (measured at 20k listings: worst search 125 ms -> 29 ms, p99 31 -> 23 ms).
get_gazetteer()
gc.freeze()
