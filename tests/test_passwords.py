"""The practice's password rules (email addresses: tests/test_emails.py)."""
from __future__ import annotations

import time

import pytest

from carespace_app.i18n import fmt
from carespace_app.services.identity import passwords
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity.passwords import rule_status, validate_password

GOOD = "Zebra-Lamp-Cactus-42"
PASSPHRASE = "Correct horse battery 7!"


def refusal(password, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_password(password, **kw)
    return caught.value


# --- each rule, pass and fail ---------------------------------------------------------


@pytest.mark.parametrize("password, code", [
    ("Zb-9q!x", "min_length"),            # 7 characters
    ("zebra-lamp-cactus-42", "uppercase"),
    ("ZEBRA-LAMP-CACTUS-42", "lowercase"),
    ("Zebra-Lamp-Cactus-XY", "number"),
    ("ZebraLampCactus42", "special"),
    ("Zebra Lamp Cactus 42", "special"),  # a space is not a special character
])
def test_each_composition_rule_refuses_with_its_reason(password, code):
    rule = next(r for r in passwords.RULES if r.code == code)
    assert not rule.is_met(password)
    error = refusal(password)
    assert error.field == "password"
    assert str(error) == rule.message.format(**rule.params)


def test_exactly_eight_characters_is_long_enough():
    rule = passwords.MinimumLengthValidator()
    assert rule.is_met("Zb-9q!xK")
    assert not rule.is_met("Zb-9q!x")


def test_good_passwords_pass_every_rule():
    validate_password(GOOD)
    validate_password(PASSPHRASE)
    validate_password(GOOD, email="jane@example.org", confirm=GOOD)


def test_common_password_is_refused_as_common():
    error = refusal("Password1!")
    assert str(error).startswith("This is a very common password")
    assert error.field == "password"


def test_easy_password_without_a_common_warning_is_refused_as_too_easy():
    error = refusal("Abcdefg1!")
    assert "too easy to guess" in str(error)


def test_four_word_passphrase_is_accepted():
    assert passwords.NotCommonValidator().is_met(PASSPHRASE)


def test_password_equal_to_email_is_refused():
    email = "Jane.Doe-77@Example.org"
    error = refusal("jane.doe-77@example.ORG", email=email)
    assert "email" in str(error)


def test_password_containing_email_local_part_is_refused_casefolded():
    assert not passwords.NotEmailValidator().is_met("Xq!MIKE9-tree", "mike@example.com")
    assert "email" in str(refusal("Xq!MIKE9-tree-Lamp", email="mike@example.com"))


def test_short_local_part_is_not_held_against_the_password():
    # "jo" could appear in any password by chance.
    assert passwords.NotEmailValidator().is_met("Jolly-Lamp-Cactus-42", "jo@example.com")
    validate_password("Jolly-Lamp-Cactus-42", email="jo@example.com")


def test_72_bytes_accepted_73_refused():
    base = "Zebra-Lamp-Cactus-42-"
    at_72 = base + "q" * (72 - len(base))
    at_73 = at_72 + "q"
    assert len(at_72.encode()) == 72
    validate_password(at_72)
    error = refusal(at_73)
    assert str(error).startswith("Your password is too long: at most 72 bytes")


def test_multibyte_characters_count_as_bytes():
    # 24 "é" are 48 bytes; with 25 more ASCII the password is 73 bytes but 49 characters.
    password = "Zebra-Lamp-42-" + "é" * 24 + "q" * 11
    assert len(password) < 72 and len(password.encode()) == 73
    assert "too long" in str(refusal(password))


def test_rules_apply_to_the_nfkc_form():
    fullwidth = "Ｚｅｂｒａ－Ｌａｍｐ－Ｃａｃｔｕｓ－４２"
    validate_password(fullwidth)  # same as the ASCII GOOD password
    assert passwords.NumberValidator().is_met("Ｚｅｂｒａ４")


def test_confirmation_must_match():
    error = refusal(GOOD, confirm=GOOD + "x")
    assert str(error) == "The two passwords don't match."
    assert error.field == "confirm_password"


def test_first_failing_rule_is_the_one_reported():
    # Fails length, upper, number and special: the first in display order wins.
    assert str(refusal("abc")) == fmt("en", passwords.MinimumLengthValidator.message,
                                         **passwords.MinimumLengthValidator.params)


def test_none_password_is_refused_not_crashed():
    assert str(refusal(None)) == fmt("en", passwords.MinimumLengthValidator.message,
                                        **passwords.MinimumLengthValidator.params)


# --- the ticking checklist ------------------------------------------------------------


def test_rule_status_help_texts_in_display_order():
    status = rule_status("a")
    texts = [text for _code, text, _met in status]
    assert texts[:5] == [
        "At least 8 characters",
        "One uppercase letter",
        "One lowercase letter",
        "One number",
        "One special character (like ! or #)",
    ]
    assert dict((c, m) for c, _t, m in status)["lowercase"] is True
    assert dict((c, m) for c, _t, m in status)["uppercase"] is False


def test_rule_status_empty_ticks_nothing_and_leaves_not_common_to_submit():
    status = rule_status("")
    assert all(met is False for code, _t, met in status if code != "not_common")
    assert dict((c, m) for c, _t, m in status)["not_common"] is None  # judged at submit


def test_rule_status_all_met_for_a_good_password():
    status = rule_status(GOOD, "jane@example.org")
    assert all(met for code, _t, met in status if code != "not_common"), status
    assert dict((c, m) for c, _t, m in status)["not_common"] is None
    validate_password(GOOD, email="jane@example.org")  # and submit agrees


def test_rule_status_flags_the_email():
    status = dict((c, m) for c, _t, m in rule_status("Mike-Lamp-42!", "mike@example.com"))
    assert status["not_email"] is False


def test_rule_status_is_fast_enough_for_every_keystroke():
    start = time.perf_counter()
    for n in range(1, 41):
        rule_status(GOOD[: n % len(GOOD) + 1] + "x" * (n // 2), "jane@example.org")
    assert (time.perf_counter() - start) / 40 < 0.05


def test_rule_status_of_an_overlong_password_does_not_crash():
    status = dict((c, m) for c, _t, m in rule_status("Aa1!" * 40))
    assert status["max_bytes"] is False
