"""VAT and registration numbers, NUTS-2 and NACE codes as the organisation profile keeps them."""

from __future__ import annotations

import pytest

from opsapp.accounts.organisations import (
    OrganisationError,
    nace_code,
    nuts2_region,
    registration_number,
)
from tests.factories import italian_vat


@pytest.mark.parametrize(("country", "typed", "kept"), [
    ("IT", "00743110157", "IT00743110157"),          # without the prefix
    ("IT", "IT 00743110157", "IT00743110157"),       # with it and a space
    ("it", "it-007.431.101-57", "IT00743110157"),    # separators and lower case
    ("AT", "U13585627", "ATU13585627"),
    ("DE", "DE 136 695 976", "DE136695976"),
    ("GR", "094259216", "EL094259216"),               # Greece is EL in VAT numbers
    ("GR", "GR094259216", "EL094259216"),
    ("FR", "FR 40 303 265 045", "FR40303265045"),
])
def test_eu_vat_numbers_are_checked_and_kept_compact_with_the_prefix(country, typed, kept):
    assert registration_number(country, typed) == kept


@pytest.mark.parametrize("n", [1, 1234, 99_999, 9_999_999])
def test_italian_numbers_with_a_known_tax_office_and_check_digit_are_valid(n):
    number = italian_vat(n)  # the 8th to 10th digits name the tax office: 001 (Torino)
    assert registration_number("IT", number) == number


def _with_check_digit(base: str) -> str:
    total = 0
    for i, ch in enumerate(base):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return f"IT{base}{(10 - total % 10) % 10}"


def test_an_italian_number_naming_no_tax_office_is_refused():
    # Right check digit, but office 150 does not exist (001-100, 120, 121, 888, 999 do).
    assert registration_number("IT", _with_check_digit("1000001001"))
    with pytest.raises(OrganisationError):
        registration_number("IT", _with_check_digit("1000001150"))


@pytest.mark.parametrize(("country", "typed", "words"), [
    ("IT", "00743110158", "check digit"),
    ("IT", "1234", "not a valid VAT number"),
    ("IT", "DE136695976", "another country (DE)"),
    ("IT", "", "Enter the VAT"),
    ("IT", "   ", "Enter the VAT"),
])
def test_wrong_eu_vat_numbers_are_refused_with_a_reason(country, typed, words):
    with pytest.raises(OrganisationError) as refused:
        registration_number(country, typed)
    assert refused.value.field == "vat_number"
    assert words in str(refused.value.message)


@pytest.mark.parametrize(("country", "typed", "kept"), [
    ("US", "12-3456789", "123456789"),
    ("CH", "CHE-123.456.789", "CHE123456789"),
    ("GB", "gb 123 4567 89", "GB123456789"),
    ("NO", "ABCD", "ABCD"),
    ("JP", "A" * 32, "A" * 32),
])
def test_registration_numbers_outside_the_eu_are_4_to_32_letters_and_digits(country, typed, kept):
    assert registration_number(country, typed) == kept


@pytest.mark.parametrize("typed", ["ABC", "A" * 33, "12#45", "<script>"])
def test_other_registration_numbers_are_refused(typed):
    with pytest.raises(OrganisationError):
        registration_number("US", typed)


@pytest.mark.parametrize(("country", "typed", "kept"), [
    ("IT", "itc1", "ITC1"), ("IT", " ITC4 ", "ITC4"), ("GR", "EL30", "EL30"), ("DE", "DE11", "DE11"),
    ("US", "", None), ("CH", "CH01", "CH01"),
])
def test_nuts2_codes(country, typed, kept):
    assert nuts2_region(country, typed) == kept


@pytest.mark.parametrize(("country", "typed"), [
    ("IT", ""),        # required in the EU
    ("IT", "ITC"),     # NUTS-1
    ("IT", "ITC11"),   # NUTS-3
    ("IT", "DE11"),    # another country's region
    ("GR", "GR30"),    # Greece is EL
])
def test_wrong_nuts2_codes_are_refused(country, typed):
    with pytest.raises(OrganisationError) as refused:
        nuts2_region(country, typed)
    assert refused.value.field == "nuts2_region"


@pytest.mark.parametrize(("typed", "kept"), [("62.01", "62.01"), ("c25.62", "C25.62"), ("62", "62"), ("", None)])
def test_nace_codes(typed, kept):
    assert nace_code(typed) == kept


@pytest.mark.parametrize("typed", ["6201", "62.012", "ZZ.1", "abc"])
def test_wrong_nace_codes_are_refused(typed):
    with pytest.raises(OrganisationError):
        nace_code(typed)
