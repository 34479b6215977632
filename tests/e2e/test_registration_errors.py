"""Creating a password on a phone: each error beside its field with the focus on it (never
a box scrolled out of view at the top), the tries left before the link locks, and a used
link opened while signed in says so instead of "call the office"."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import PASSWORD, make_patient, register_from_email
from .phone import assert_fits_phone
from .portal_people import wait_for_hydration


def _fill(page: Page, email: str, *, dob: str, confirm: str = PASSWORD) -> None:
    wait_for_hydration(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(confirm)
    page.get_by_label("Date of birth").fill(dob)


def test_each_error_shows_beside_its_field_and_the_tries_left(server, phone_page: Page):
    page = phone_page
    patient = make_patient(server, first="Opal", last="Fenn", dob="1950-05-06")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    page.goto(link)

    # The terms left unticked: the sentence is by the checkbox, which has the focus.
    _fill(page, patient.email, dob=patient.dob)
    page.get_by_role("button", name="Create Password").click()
    terms = page.get_by_role("checkbox", name="I agree to the terms of service")
    expect(terms).to_be_focused()
    expect(page.get_by_role("alert").filter(has_text="Please agree to the terms of service.")
           ).to_be_in_viewport()
    expect(terms).to_have_attribute("aria-invalid", "true")
    assert_fits_phone(page)

    # Passwords that differ: said by the confirmation.
    terms.check()
    page.get_by_label("Confirm password").fill(PASSWORD + "x")
    page.get_by_role("button", name="Create Password").click()
    confirm = page.get_by_label("Confirm password")
    expect(confirm).to_be_focused()
    expect(confirm).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("alert").filter(has_text="The two passwords don't match.")
           ).to_be_in_viewport()

    # A wrong date of birth: counted, and the form says how many tries are left.
    confirm.fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1950-06-05")
    page.get_by_role("button", name="Create Password").click()
    email = page.get_by_label("Email address")
    wrong = page.get_by_role("alert").filter(has_text="don't match our invitation")
    expect(wrong).to_contain_text("4 tries left before this link locks.")
    expect(wrong).to_be_in_viewport()
    expect(email).to_be_focused()
    expect(email).to_have_value(patient.email)  # nothing typed is lost
    expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)

    # Coming back to the link later, the form still says so.
    page.goto(link)
    expect(page.get_by_text("4 tries left before this link locks.")).to_be_visible()
    _fill(page, patient.email, dob=patient.dob)
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    page.get_by_role("button", name="Create Password").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)


def test_a_used_link_opened_while_signed_in_says_so_with_the_way_home(server, phone_page: Page):
    page = phone_page
    patient = make_patient(server, first="Ruth", last="Calloway")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    register_from_email(server, page, patient)

    page.goto(link)  # the invitation email, opened again once registered
    expect(page.get_by_text("You're already signed in")).to_be_visible()
    expect(page.get_by_text(re.compile("we'll send you a new link"))).to_have_count(0)
    page.get_by_role("link", name="Go to Home").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Ruth"))).to_be_visible()
