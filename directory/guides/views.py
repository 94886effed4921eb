"""Guide pages (filled in by the guides work)."""

from flask import render_template

from . import bp


@bp.get("/")
def index():
    """All guides."""
    return render_template("guides/index.html")
