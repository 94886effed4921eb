"""Make a site ready to serve: what `flask setup` and `make run`'s server do at start.

Each step does nothing when it is done already, so running it on every start is
safe: migrations, the vocabularies, the demo clinics in an empty database (when
DEMO_DATA is on), and a search index that is sound and matches the database.
`make run` has the server's master do it (SETUP_ON_START=1, see wsgi.py) rather
than a `flask setup` process of its own before it: the app's imports are then paid
once, a second of a restart's five.
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask
from flask_migrate import upgrade

from ..listings import demo
from ..listings.vocabulary import load_vocabularies
from ..search import get_backend, sync


def set_up(app: Flask, demo_flag: bool | None = None, say: Callable[[str], None] = print) -> None:
    """Apply migrations, load vocabularies, demo data when empty, and build the index
    (in an app context)."""
    upgrade()
    load_vocabularies()
    want_demo = app.config["DEMO_DATA"] if demo_flag is None else demo_flag
    if want_demo and demo.clinic_count() == 0:
        say(f"Loaded {demo.load_demo()} demo clinics (fictional).")
    problems = get_backend().check()
    if problems or not sync.verify().clean:
        count = sync.rebuild()
        reason = "it was damaged" if problems else "it did not match the database"
        say(f"Search index rebuilt ({reason}): {count} published clinics.")
    say("Ready.")
