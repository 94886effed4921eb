"""SQLAlchemy models, one module per area; importing this package registers them all."""

from .clinic import Clinic, Offering
from .taxonomy import VOCABULARIES, Condition, Insurer, Modality, PaymentOption

__all__ = [
    "VOCABULARIES",
    "Clinic",
    "Condition",
    "Insurer",
    "Modality",
    "Offering",
    "PaymentOption",
]
