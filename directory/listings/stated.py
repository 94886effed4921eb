"""What a listing states about its credentials, and the one fact search keeps of
their checks.

Kept apart from `credentials` (which writes checks and re-indexes) so the search
document can read these rules without importing the writers that import search.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..geo import US_STATES
from ..models import Clinic
from ..models.listing_fields import LICENSE_TYPES, MEDICAL_DIRECTORS


@dataclass(frozen=True)
class StatedCredential:
    """One credential as the listing states it: its kind and the value a check names."""

    kind: str
    subject: str
    label: str  # what a patient reads: "Physician (MD) licence, Arizona: 12345"


def stated_credentials(clinic: Clinic) -> list[StatedCredential]:
    """What the listing states, in the order the clinic page shows it."""
    stated: list[StatedCredential] = []
    if clinic.npi:
        stated.append(
            StatedCredential("organization_npi", clinic.npi, f"Organization NPI {clinic.npi}")
        )
    for npi in clinic.clinician_npis or []:
        stated.append(StatedCredential("clinician_npi", npi, f"Clinician NPI {npi}"))
    for code in clinic.licenses or []:
        state, kind, number = (code.split(" ", 2) + ["", ""])[:3]
        what = LICENSE_TYPES.get(kind, kind)
        where = US_STATES.get(state, state)
        stated.append(StatedCredential("license", code, f"{what} licence, {where}: {number}"))
    if clinic.spravato_rems:
        stated.append(StatedCredential("spravato_rems", "certified", "Spravato REMS certified"))
    if clinic.medical_director_name:
        specialty = MEDICAL_DIRECTORS.get(clinic.medical_director, "")
        subject = (
            f"{clinic.medical_director_name} ({specialty})"
            if specialty
            else clinic.medical_director_name
        )
        stated.append(
            StatedCredential("medical_director", subject[:200], f"Medical director: {subject}")
        )
    return stated


def checked_ordinal(clinic: Clinic) -> int:
    """What search keeps of the checks: the day number of the newest confirmed check
    of a credential the listing still states, or 0 when there is none or when any
    stated credential could not be confirmed (such a listing is never "checked")."""
    stated = {(c.kind, c.subject) for c in stated_credentials(clinic)}
    newest = 0
    for check in clinic.credential_checks:
        if (check.kind, check.subject) not in stated:
            continue
        if check.outcome == "not_confirmed":
            return 0
        newest = max(newest, check.checked_on.toordinal())
    return newest
