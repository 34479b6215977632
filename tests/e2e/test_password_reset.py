"""Forgot Password: a one-hour, single-use link; the reset ends every open session."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from carespace_app.policy import RESET_TTL, in_words

from .harness import link_in
from .people import next_action_signs_in_again, open_page, registered_patient, sign_in, sign_out
from .portal_people import new_page, wait_for_hydration

NEW_PASSWORD = "Orchard-Kettle-58#"


def _ask_for_link(page: Page, email: str) -> None:
    open_page(page, "/")
    page.get_by_role("link", name="Forgot Password").click()
    expect(page.get_by_role("heading", name="Forgot Password")).to_be_visible()
    wait_for_hydration(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status").filter(has_text=f"link works for {in_words(RESET_TTL)}")).to_be_visible(
        timeout=20_000)


def test_reset_by_email_signs_in_with_the_new_password_and_ends_old_sessions(server, page: Page,
                                                                              browser):
    patient = registered_patient(server, page, first="Mabel", last="Quint")
    old_tab = new_page(browser, server)
    try:
        sign_in(old_tab, patient)
        sign_out(page)

        _ask_for_link(page, patient.email)
        mail = server.mailbox.wait_for(patient.email, "Reset your CareSpace password")
        assert f"within {in_words(RESET_TTL)}" in mail.body
        link = link_in(mail, "/reset-password")

        page.goto(link)
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        expect(page.locator("li[data-met='yes']", has_text="At least 8 characters")).to_be_visible()
        page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Reset password").click()
        expect(page.get_by_text("Your password has been reset")).to_be_visible()

        patient.password = NEW_PASSWORD
        sign_in(page, patient)

        # The tab that was open before the reset is signed out on its next action.
        next_action_signs_in_again(old_tab, old_tab.get_by_role("link", name="Help").first)

        # The link worked once.
        old_tab.goto(link)
        expect(old_tab.get_by_text(re.compile("already used"))).to_be_visible()

        # Opened again where the person is signed in: nothing to call the office about.
        page.goto(link)
        expect(page.get_by_text("You're already signed in")).to_be_visible()
        page.get_by_role("link", name="Go to Home").click()
        expect(page).to_have_url(re.compile(r"/home/?$"))
    finally:
        old_tab.context.close()


def test_the_answer_is_the_same_for_an_unknown_address(server, page: Page):
    _ask_for_link(page, "no.such.person@example.com")


def test_old_password_no_longer_works_after_reset(server, page: Page):
    patient = registered_patient(server, page, first="Nils", last="Varga")
    sign_out(page)
    _ask_for_link(page, patient.email)
    link = link_in(server.mailbox.wait_for(patient.email, "Reset your CareSpace password"),
                   "/reset-password")
    page.goto(link)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Confirm new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Reset password").click()
    expect(page.get_by_text("Your password has been reset")).to_be_visible()
    page.get_by_label("Email address").fill(patient.email)
    page.get_by_label("Password").fill(patient.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match")
