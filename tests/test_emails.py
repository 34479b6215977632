"""Email addresses: one normal form for every look-up, and what counts as an address."""
from __future__ import annotations

import pytest

from carespace_app.services.errors import ValidationError
from carespace_app.services.identity.emails import normalize_email, validate_email_address


def test_normalize_email_strips_folds_case_and_fullwidth():
    assert normalize_email("  Mike@Example.COM ") == "mike@example.com"
    assert normalize_email("ＭＩＫＥ@example.com") == "mike@example.com"


def test_dotless_i_is_not_folded_into_i():
    assert normalize_email("mıke@example.com") != normalize_email("mike@example.com")
    assert normalize_email("MIKE@example.com") == "mike@example.com"


@pytest.mark.parametrize("raw, expected", [
    ("Jane.Doe@Example.org", "jane.doe@example.org"),
    ("  ＪＡＮＥ@example.org", "jane@example.org"),
])
def test_validate_email_returns_the_normalised_address(raw, expected):
    assert validate_email_address(raw) == expected


@pytest.mark.parametrize("bad", ["", "   ", "no-at-sign", "a@b", "two@@example.com", "x" * 400 + "@example.com", None])
def test_validate_email_refuses_bad_input(bad):
    with pytest.raises(ValidationError) as caught:
        validate_email_address(bad)
    assert caught.value.field == "email"
    assert str(caught.value) == "Enter a valid email address, like name@example.com."
