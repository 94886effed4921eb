"""SQLAlchemy models, one module per area; importing this package registers them all."""

from .accounts import Ownership, ThrottleEvent, User
from .clinic import Clinic, Offering
from .credentials import CredentialCheck
from .imports import ImportJob
from .insights import ListingCount
from .invitations import ClaimInvitation
from .moderation import AuditEvent, Revision
from .search_queue import SearchQueue
from .taxonomy import (
    VOCABULARIES,
    Condition,
    Insurer,
    Modality,
    PaymentOption,
    VocabularyStamp,
)

__all__ = [
    "VOCABULARIES",
    "AuditEvent",
    "ClaimInvitation",
    "Ownership",
    "Revision",
    "SearchQueue",
    "ThrottleEvent",
    "User",
    "Clinic",
    "Condition",
    "CredentialCheck",
    "ImportJob",
    "Insurer",
    "ListingCount",
    "Modality",
    "Offering",
    "PaymentOption",
    "VocabularyStamp",
]
