"""Flask-Admin: the clinic area and the editors' moderation tools, in one admin.

`init_admin(app)` builds a fresh `Admin` per app (a module-level one breaks a
second app in tests).
"""

from __future__ import annotations

from flask import Flask


def init_admin(app: Flask) -> None:
    """Build the admin for this app (views arrive with the moderation work)."""
