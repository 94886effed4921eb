"""What a listing states about its credentials, and where each stands with our checks.

Every credential is shown to patients one of four ways: stated by the clinic (no
check), checked (an editor confirmed it against a public source within
CREDENTIAL_CHECK_DAYS), due (that check is older) or not confirmed (an editor
looked and could not confirm it). `record_check` is the one writer of
`CredentialCheck`: it refuses a value the listing no longer states, keeps one row
per credential and value however many editors record at once, audits before and
after, and re-indexes the listing, whose "credentials checked" filter and
tie-break read the checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import Clinic, CredentialCheck, User
from ..models.credentials import CREDENTIAL_KINDS, OUTCOMES, SOURCES
from ..search import sync
from ..search.trust import check_days
from .audit import record_event
from .errors import ModerationError
from .stated import StatedCredential, stated_credentials

Status = Literal["stated", "checked", "due", "not_confirmed"]
STATUS_LABELS: dict[Status, str] = {
    "stated": "Stated by the clinic",
    "checked": "Checked by the directory",
    "due": "Check out of date",
    "not_confirmed": "Could not be confirmed",
}
# Where an editor would look first, by kind (the form's default).
USUAL_SOURCE = {
    "organization_npi": "nppes",
    "clinician_npi": "nppes",
    "license": "state_board",
    "spravato_rems": "rems",
    "medical_director": "state_board",
}
MAX_REFERENCE = 500


@dataclass(frozen=True)
class CredentialStatus:
    """A stated credential, its latest matching check and what that check means today."""

    credential: StatedCredential
    status: Status
    check: CredentialCheck | None
    due_on: date | None  # when the check runs out (None: never checked)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def source_label(self) -> str:
        return SOURCES[self.check.source] if self.check else ""


def _today() -> date:
    return datetime.now(UTC).date()


def status_of(check: CredentialCheck | None, today: date, days: int) -> tuple[Status, date | None]:
    if check is None:
        return "stated", None
    due_on = check.checked_on + timedelta(days=days)
    if check.outcome == "not_confirmed":
        return "not_confirmed", due_on
    return ("checked" if today < due_on else "due"), due_on


def credential_statuses(clinic: Clinic, today: date | None = None) -> list[CredentialStatus]:
    """Each stated credential with its check (from `clinic.credential_checks`)."""
    today, days = today or _today(), check_days()
    checks = {(c.kind, c.subject): c for c in clinic.credential_checks}
    statuses = []
    for credential in stated_credentials(clinic):
        check = checks.get((credential.kind, credential.subject))
        status, due_on = status_of(check, today, days)
        statuses.append(CredentialStatus(credential, status, check, due_on))
    return statuses


def check_problem(
    kind: str, outcome: str, source: str, reference: str, checked_on: date | None, today: date
) -> dict[str, str]:
    """What is wrong with a check an editor is recording, by form field."""
    errors: dict[str, str] = {}
    if kind not in CREDENTIAL_KINDS:
        errors["kind"] = "Choose which credential you checked."
    if outcome not in OUTCOMES:
        errors["outcome"] = "Choose whether the source confirmed it."
    if source not in SOURCES:
        errors["source"] = "Choose where you checked."
    reference = reference.strip()
    if not reference:
        errors["reference"] = (
            "Give the source's address or reference, so others can check it again."
        )
    elif len(reference) > MAX_REFERENCE:
        errors["reference"] = f"Keep the reference under {MAX_REFERENCE} characters."
    if checked_on is None:
        errors["checked_on"] = "Enter the day you checked."
    elif checked_on > today:
        errors["checked_on"] = "The day you checked cannot be in the future."
    elif checked_on < today - timedelta(days=3650):
        errors["checked_on"] = "Enter a day within the last ten years."
    return errors


class InvalidCheck(ModerationError):
    """A check that cannot be recorded; `errors` holds a message per form field."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(errors.values()))
        self.errors = errors


def record_check(
    editor: User,
    clinic: Clinic,
    kind: str,
    subject: str,
    outcome: str,
    source: str,
    reference: str,
    checked_on: date | None,
) -> CredentialCheck:
    """Record (or renew) an editor's check of one stated credential; committed and
    re-indexed. Raises `InvalidCheck` with nothing written."""
    today = _today()
    errors = check_problem(kind, outcome, source, reference, checked_on, today)
    stated = {(c.kind, c.subject) for c in stated_credentials(clinic)}
    if not errors and (kind, subject) not in stated:
        errors["subject"] = (
            "The listing no longer states this credential (it changed since the page "
            "was opened): reload the page and check what it states now."
        )
    if errors:
        raise InvalidCheck(errors)
    assert checked_on is not None
    values = {
        "outcome": outcome,
        "source": source,
        "reference": reference.strip(),
        "checked_on": checked_on,
        "checked_by_id": editor.id,
        "recorded_at": datetime.now(UTC),
    }
    for attempt in range(2):  # a second editor's insert of the same row: update it instead
        try:
            check, before = _write(clinic, kind, subject, values)
            record_event(
                editor,
                "credential_checked",
                clinic=clinic,
                before=before,
                after=_audited(check),
                target=f"{clinic.name}: {CREDENTIAL_KINDS[kind]} {subject}",
            )
            sync.enqueue([clinic.id])
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            if attempt:
                raise
        else:
            sync.drain()
            return check
    raise AssertionError("unreachable")


def _write(
    clinic: Clinic, kind: str, subject: str, values: dict
) -> tuple[CredentialCheck, dict | None]:
    """The check row for this credential, locked and updated, or a new one (flushed)."""
    check = db.session.scalar(
        select(CredentialCheck)
        .where(
            CredentialCheck.clinic_id == clinic.id,
            CredentialCheck.kind == kind,
            CredentialCheck.subject == subject,
        )
        .with_for_update()
    )
    before = _audited(check) if check is not None else None
    if check is None:
        check = CredentialCheck(clinic_id=clinic.id, kind=kind, subject=subject)
        db.session.add(check)
    for name, value in values.items():
        setattr(check, name, value)
    db.session.flush()
    return check, before


def _audited(check: CredentialCheck) -> dict:
    return {
        "kind": check.kind,
        "subject": check.subject,
        "outcome": check.outcome,
        "source": check.source,
        "reference": check.reference,
        "checked_on": check.checked_on.isoformat(),
    }


@dataclass(frozen=True)
class DueCheck:
    """A check in the editors' queue: its listing, what it checked, when it ran out."""

    clinic: Clinic
    status: CredentialStatus


def due_checks(today: date | None = None) -> list[DueCheck]:
    """Checks of published listings' still-stated credentials that have run out,
    longest overdue first."""
    today = today or _today()
    cutoff = today - timedelta(days=check_days())
    rows = db.session.scalars(
        select(CredentialCheck)
        .join(Clinic, Clinic.id == CredentialCheck.clinic_id)
        .where(Clinic.status == "published", CredentialCheck.checked_on <= cutoff)
        .order_by(CredentialCheck.checked_on, CredentialCheck.id)
    ).all()
    due: list[DueCheck] = []
    for row in rows:
        for status in credential_statuses(row.clinic, today):
            if (
                status.check is not None
                and status.check.id == row.id
                and status.status != "checked"
            ):
                due.append(DueCheck(row.clinic, status))
    return due
