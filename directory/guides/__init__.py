"""Guides that help a patient choose: one page per modality and condition, and paying."""

from flask import Blueprint

from .loader import guides

bp = Blueprint("guides", __name__)
# Read and check the Markdown when the app is built, so a broken guide stops the start.
bp.record_once(lambda _state: guides())

from . import views  # noqa: E402,F401  (routes register themselves on bp)
