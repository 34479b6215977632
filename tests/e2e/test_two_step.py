"""Two-step sign-in (issue #17) in Chromium against a real server and SMTP: a patient turns it
on in Settings (the key read from the page, the code computed with pyotp, as an authenticator
app would), signs in with a code, then once with a recovery code; a staff member without it,
on a server where the practice requires it, is sent to set it up and reaches the admin page."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from playwright.sync_api import Page, expect

from carespace_app import i18n
from carespace_app.clock import utcnow
from carespace_app.policy import RECOVERY_CODE_COUNT
from carespace_app.services.identity import mfa

from .harness import free_port, running_server, server_env
from .people import make_staff, open_page, registered_patient, sign_out
from .portal_people import new_page
from tests.factories import not_a_code

CODE_LABEL = i18n.fmt("en", mfa.CODE_LABEL, **mfa.DIGITS)  # "6-digit code"
ENTER_CODE = i18n.fmt("en", mfa.ENTER_CODE, **mfa.DIGITS)


def _turn_on(page: Page) -> tuple[str, list[str]]:
    """Settings › Two-step sign-in, as a person does it: (the key, the recovery codes)."""
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    key = page.get_by_test_id("two-step-key")
    expect(key).to_have_text(re.compile(r"^[A-Z2-7]{4}( [A-Z2-7]{4})+$"))
    secret = key.inner_text().replace(" ", "")
    expect(page.get_by_role("img", name="QR code for setting up two-step sign-in")).to_be_visible()
    page.get_by_label(CODE_LABEL).fill(not_a_code(secret, utcnow()))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text(mfa.WRONG_CODE)).to_be_visible()  # a wrong code keeps the screen
    page.get_by_label(CODE_LABEL).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Confirm").click()
    codes = page.get_by_role("list", name="Your recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(RECOVERY_CODE_COUNT)
    return secret, [c.strip() for c in codes.all_inner_texts()]


def _password(page: Page, person) -> None:
    open_page(page, "/")
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text(ENTER_CODE)).to_be_visible(timeout=30_000)


def test_a_patient_turns_on_two_step_sign_in_and_signs_in_with_a_code(server, phone_page: Page):
    page = phone_page
    patient = registered_patient(server, page, first="Tove", last="Lindgren")
    page.goto("/settings")
    secret, codes = _turn_on(page)
    assert all(re.fullmatch(r"[a-z2-9]{4}-[a-z2-9]{4}", c) for c in codes), codes
    page.get_by_role("button", name="I've saved these codes").click()
    expect(page.get_by_text("On since")).to_be_visible()
    expect(page.get_by_test_id("codes-left")).to_have_text(f"Recovery codes left: {RECOVERY_CODE_COUNT}")
    server.mailbox.wait_for(patient.email, "Two-step sign-in is on")

    sign_out(page)
    _password(page, patient)
    assert "/home" not in page.url  # the password alone doesn't sign in
    code_field = page.get_by_label(CODE_LABEL)
    expect(code_field).to_have_attribute("autocomplete", "one-time-code")
    expect(code_field).to_have_attribute("inputmode", "numeric")
    # The code of the next 30 seconds: set-up already used this one, and none is taken twice.
    code_field.fill(pyotp.TOTP(secret).at(time.time() + 30))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)

    # A recovery code works once, and says how many are left.
    sign_out(page)
    _password(page, patient)
    page.get_by_role("button", name="Use a recovery code instead").click()
    page.get_by_label(mfa.RECOVERY_LABEL).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(mfa.codes_left_text(RECOVERY_CODE_COUNT - 1))).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
    server.mailbox.wait_for(patient.email, "A recovery code was used")

    sign_out(page)
    _password(page, patient)
    page.get_by_role("button", name="Use a recovery code instead").click()
    page.get_by_label(mfa.RECOVERY_LABEL).fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text(mfa.WRONG_RECOVERY_CODE)).to_be_visible()
    expect(page).not_to_have_url(re.compile(r"/home/?$"))


@pytest.fixture(scope="module")
def strict_server(smtp_server, frontend_cache, tmp_path_factory):
    """A practice that requires two-step sign-in of staff (the default setting)."""
    folder = tmp_path_factory.mktemp("staff-mfa-required")
    env = server_env(port=free_port(), database_url=f"sqlite:///{folder}/carespace.db",
                     smtp_port=smtp_server.port, CARESPACE_STAFF_MFA="required")
    with running_server(env, folder, smtp_server) as running:
        yield running


def test_staff_without_two_step_sign_in_are_sent_to_set_it_up_first(strict_server, browser):
    staff = make_staff(strict_server, name="Olga Desk")
    page = new_page(browser, strict_server)
    try:
        open_page(page, "/")
        page.get_by_label("Email address").fill(staff.email)
        page.get_by_label("Password").fill(staff.password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).to_have_url(re.compile(r"/settings/?\?setup=two-step"), timeout=30_000)
        expect(page.get_by_text(mfa.STAFF_SETUP_NEEDED)).to_be_visible()
        open_page(page, "/admin/audit")  # any admin page: the same
        expect(page).to_have_url(re.compile(r"/settings/?\?setup=two-step"), timeout=30_000)
        _turn_on(page)
        page.get_by_role("button", name="I've saved these codes").click()
        expect(page).to_have_url(re.compile(r"/admin/?(\?n=\w+)?$"), timeout=30_000)
        expect(page.get_by_role("heading", name="Patients", level=1)).to_be_visible()
    finally:
        page.context.close()
