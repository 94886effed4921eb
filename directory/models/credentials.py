"""An editor's check of one credential a listing states, against a public source.

The credentials themselves are listing fields the clinic states (the NPIs, state
licences, REMS certification and medical director of `listing_fields`), moderated
like any other edit. A check is the editor's, kept apart: it names the credential
by its kind and the stated value (`subject`), so when the clinic changes an NPI the
old check no longer matches and the new number shows as "stated by the clinic"
until someone checks it. One row per credential and value: a re-check replaces the
row, and the audit log keeps every check ever recorded.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .accounts import User
from .clinic import Clinic, utcnow

CREDENTIAL_KINDS = {
    "organization_npi": "Organization NPI",
    "clinician_npi": "Clinician NPI",
    "license": "State licence",
    "spravato_rems": "Spravato REMS certification",
    "medical_director": "Medical director",
}
OUTCOMES = {"confirmed": "Confirmed", "not_confirmed": "Could not be confirmed"}
# Where an editor looked. What a patient reads: "checked ... against {label}".
SOURCES = {
    "nppes": "the NPPES NPI Registry",
    "state_board": "the state licensing board's lookup",
    "rems": "the Spravato REMS list of certified settings",
    "other": "another public record",
}


def _one_of(column: str, codes: dict[str, str]) -> CheckConstraint:
    return CheckConstraint(f"{column} IN ({', '.join(repr(c) for c in codes)})", name=column)


class CredentialCheck(db.Model):
    """The latest check of one stated credential of one listing."""

    __tablename__ = "credential_check"
    __table_args__ = (
        UniqueConstraint("clinic_id", "kind", "subject", name="uq_credential_check_subject"),
        _one_of("kind", CREDENTIAL_KINDS),
        _one_of("outcome", OUTCOMES),
        _one_of("source", SOURCES),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str] = mapped_column(String(200))  # the stated value it checked
    outcome: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(500))  # the source's URL or reference
    checked_on: Mapped[date] = mapped_column(Date)
    checked_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="SET NULL")
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    clinic: Mapped[Clinic] = relationship()
    checked_by: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<CredentialCheck {self.kind} {self.subject} {self.outcome} {self.checked_on}>"
