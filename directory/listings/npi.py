"""National Provider Identifiers: ten digits, the last a check digit.

CMS defines the check digit as the Luhn check digit of the first nine digits
prefixed with 80840 (the NPI's issuer prefix in the ISO 7812 card numbering), so
a valid NPI is one whose "80840" + all ten digits passes the Luhn test. The Luhn
arithmetic is python-stdnum's.
"""

from __future__ import annotations

from stdnum import luhn

NPI_PREFIX = "80840"


def is_valid_npi(value: str) -> bool:
    """True for ten ASCII digits, the first 1 or 2, with a correct check digit."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()) or value[0] not in "12":
        return False
    return luhn.is_valid(NPI_PREFIX + value)


def npi_problem(value: str) -> str | None:
    """What a patient-facing form says about a wrong NPI (None: it is a valid one)."""
    if len(value) != 10 or not (value.isascii() and value.isdigit()):
        return f"An NPI is 10 digits ({value[:20]} is not)."
    if value[0] not in "12":
        return f"An NPI starts with 1 or 2 ({value} does not)."
    if not luhn.is_valid(NPI_PREFIX + value):
        return f"{value} is not a valid NPI: check for a mistyped or swapped digit."
    return None
