"""Guides that help a patient choose: one page per modality and condition, and paying."""

from flask import Blueprint

bp = Blueprint("guides", __name__)

from . import views  # noqa: E402,F401  (routes register themselves on bp)
