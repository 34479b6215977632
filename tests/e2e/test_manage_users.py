"""Manage Users: the patient gives a caregiver access, and takes it back for good."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import register_from_email, registered_patient
from .portal_people import caregiver, grant_access, new_page, user_card


def test_grant_register_revoke_and_the_open_tab_loses_access(server, page: Page, browser):
    patient = registered_patient(server, page, first="Ruth", last="Okafor")
    carer = caregiver("Dana", "Okafor")

    page.goto("/manage-users")
    expect(page.get_by_text(re.compile("full access to your portal, including all medical records "
                                       "and messages"))).to_be_visible()
    expect(page.get_by_text("No one else has access yet")).to_be_visible()
    grant_access(page, carer)
    expect(user_card(page, carer)).to_contain_text("Invited")
    expect(page.get_by_label("Name")).to_have_value("")  # ready for the next person

    carer_page = new_page(browser, server)
    try:
        register_from_email(server, carer_page, carer, subject="CareSpace portal")
        expect(carer_page.get_by_role("status").filter(has_text="You are viewing")).to_contain_text(
            "Ruth Okafor")
        # A caregiver never manages the patient's users.
        expect(carer_page.get_by_role("link", name="Manage Users")).to_have_count(0)

        page.reload()
        expect(user_card(page, carer)).to_contain_text("Has access")

        user_card(page, carer).get_by_role("button", name=f"Revoke access for {carer.email}").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("permanent")
        dialog.get_by_role("button", name="Yes, revoke access").click()
        expect(user_card(page, carer)).to_contain_text("Access revoked")
        expect(user_card(page, carer).get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)

        # The caregiver's tab is still open on Ruth's portal: its next action is refused.
        carer_page.get_by_role("link", name="Help").first.click()
        expect(carer_page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
        expect(carer_page.get_by_text("Your access has ended")).to_be_visible()
        carer_page.goto("/home")
        expect(carer_page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    finally:
        carer_page.context.close()


def test_send_new_link_replaces_the_old_one(server, page: Page):
    registered_patient(server, page, first="Lena", last="Park")
    carer = caregiver("Min", "Park")
    grant_access(page, carer)
    first_link = link_in(server.mailbox.wait_for(carer.email, "CareSpace portal"), "/register")

    user_card(page, carer).get_by_role("button", name=f"Send new link to {carer.email}").click()
    expect(page.get_by_text("A new link is on its way").first).to_be_visible()
    mails = server.mailbox.wait_for_count(carer.email, 2)
    assert len(mails) == 2 and all("CareSpace portal" in m.subject for m in mails)

    page.goto(first_link)
    expect(page.get_by_text(re.compile("newer link was sent"))).to_be_visible()


def test_granting_access_to_yourself_is_refused_and_the_form_keeps_what_was_typed(server, page: Page):
    patient = registered_patient(server, page, first="Iris", last="Bell")
    page.goto("/manage-users")
    page.get_by_label("Name").fill("Me Again")
    page.get_by_label("Email", exact=True).fill(patient.email)
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_role("alert")).to_contain_text("your own email address")
    expect(page.get_by_label("Name")).to_have_value("Me Again")
