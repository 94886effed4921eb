"""NPI validation against numbers published elsewhere and against corruptions of them.

The known-valid numbers come from outside this code: CMS's own check-digit example
(1234567893, in "Requirements for the NPI check digit") and an NPI used as a
valid example by the `provider` R package's tests (1528060837). The oracle for
generated numbers is the CMS procedure written out here by hand (double every
other digit from the right of the nine-digit base, add 24 for the 80840 prefix,
the check digit takes the sum to a multiple of ten), not python-stdnum's Luhn
that the code uses.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from directory.listings.npi import is_valid_npi, npi_problem

KNOWN_VALID = ("1234567893", "1528060837")


def cms_check_digit(base: str) -> int:
    """The CMS worksheet: from the right, double digits 1, 3, 5… of the nine-digit
    base, sum the digits of the products and the other digits, add 24."""
    total = 24
    for position, char in enumerate(reversed(base)):
        digit = int(char)
        if position % 2 == 0:
            digit *= 2
            digit = digit // 10 + digit % 10
        total += digit
    return (10 - total % 10) % 10


def test_the_cms_worksheet_reproduces_the_published_examples():
    for npi in KNOWN_VALID:
        assert cms_check_digit(npi[:9]) == int(npi[9]), npi


def test_known_valid_npis_are_accepted():
    for npi in KNOWN_VALID:
        assert is_valid_npi(npi), npi
        assert npi_problem(npi) is None, npi


def test_one_changed_digit_is_refused_everywhere():
    for npi in KNOWN_VALID:
        for position in range(1, 10):  # the first digit must stay 1 or 2 to test the check
            for digit in "0123456789":
                if digit == npi[position]:
                    continue
                corrupted = npi[:position] + digit + npi[position + 1 :]
                assert not is_valid_npi(corrupted), corrupted
                assert "mistyped or swapped" in (npi_problem(corrupted) or ""), corrupted


def test_swapped_neighbours_are_refused():
    """Luhn catches every swap of two different neighbours except 0 and 9."""
    for npi in KNOWN_VALID:
        for i in range(1, 9):
            a, b = npi[i], npi[i + 1]
            if a == b or {a, b} == {"0", "9"}:
                continue
            swapped = npi[:i] + b + a + npi[i + 2 :]
            assert not is_valid_npi(swapped), swapped


def test_shapes_that_are_not_npis():
    for value in (
        "",
        "123456789",
        "12345678931",
        "123456789O",
        "１２３４５６７８９３",
        "3234567893",
    ):
        assert not is_valid_npi(value), value
        assert npi_problem(value), value
    assert "starts with 1 or 2" in npi_problem("3234567891")


@given(base=st.text(alphabet="0123456789", min_size=8, max_size=8), first=st.sampled_from("12"))
def test_generated_numbers_agree_with_the_cms_worksheet(base, first):
    nine = first + base
    for check in range(10):
        assert is_valid_npi(nine + str(check)) == (check == cms_check_digit(nine))
