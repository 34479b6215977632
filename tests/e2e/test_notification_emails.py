"""The office hears that a patient wrote, by email, when they chose to: nothing medical in
the email, and its link opens the conversation once they have signed in."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import hydrated, make_staff, registered_patient, sign_in

ADMIN_HOME = r"/admin/?$"
STAFF_SUBJECT = "A patient sent a new message"
SETTING = "Email me when a patient sends a message"


def test_staff_choose_the_email_and_its_link_opens_the_conversation(server, page: Page, browser):
    quiet = make_staff(server, name="Quinn Quiet")
    told = make_staff(server, name="Nell Notified")

    # Quinn turns the email off in Settings; a patient never sees this choice.
    sign_in(page, quiet, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Settings", exact=True).click()
    choice = page.get_by_role("checkbox", name=SETTING)
    expect(choice).to_be_checked()  # on unless turned off
    hydrated(page, choice)
    choice.click()
    expect(page.get_by_text("Saved. You won't get emails about patients' messages.")).to_be_visible()
    page.reload()
    expect(page.get_by_role("checkbox", name=SETTING)).not_to_be_checked()
    page.context.clear_cookies()

    patient_context = browser.new_context(base_url=server.base_url)
    patient_page = patient_context.new_page()
    patient = registered_patient(server, patient_page, first="Wanda", last="Writes")
    patient_page.goto("/settings")
    expect(patient_page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(patient_page.get_by_role("checkbox", name=SETTING)).to_have_count(0)
    patient_page.goto("/messages")
    patient_page.get_by_role("button", name="New message").click()
    dialog = patient_page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Medical question")
    dialog.get_by_label("Subject").fill("Rash after chemo")
    dialog.get_by_label("Message").fill("A red rash on both arms since Tuesday.")
    dialog.get_by_role("button", name="Send message").click()
    expect(patient_page.get_by_text("Your message was sent.")).to_be_visible()
    patient_context.close()

    mail = server.mailbox.wait_for(told.email, STAFF_SUBJECT)
    for secret in ("Rash", "rash", "chemo", "Medical question", "Wanda", "Writes", patient.email):
        assert secret not in mail.body and secret not in mail.subject
    assert not [m for m in server.mailbox.all_to(quiet.email) if STAFF_SUBJECT in m.subject]

    # Opened signed out, the link asks Nell to sign in, then shows the conversation.
    page.goto(link_in(mail, "/admin/messages"))
    page.get_by_label("Email address").fill(told.email)
    page.get_by_label("Password").fill(told.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/messages/?\?thread=\d+"), timeout=30_000)
    expect(page.get_by_text("Rash after chemo").first).to_be_visible()
