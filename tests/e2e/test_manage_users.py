"""Manage Users: the patient gives a caregiver access, and takes it back for good."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import register_from_email, registered_patient
from .portal_people import caregiver, grant_access, new_page, user_card


def test_grant_register_revoke_and_the_open_tab_loses_access(server, page: Page, browser):
    registered_patient(server, page, first="Ruth", last="Okafor")
    carer = caregiver("Dana", "Okafor")

    page.goto("/manage-users")
    expect(page.get_by_text(re.compile("full access to your portal, including all medical records "
                                       "and messages"))).to_be_visible()
    expect(page.get_by_text("No one else has access yet")).to_be_visible()
    code = grant_access(page, carer)
    expect(user_card(page, carer)).to_contain_text("Invited")
    # The code stays on the person's row while the invitation is pending.
    page.reload()
    expect(user_card(page, carer).get_by_test_id("access-code")).to_have_text(
        f"Access code to tell them: {code}")
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
        expect(user_card(page, carer).get_by_test_id("access-code")).to_have_count(0)

        user_card(page, carer).get_by_role("button", name=f"Revoke access for {carer.email}").click()
        dialog = page.get_by_role("alertdialog")
        expect(dialog).to_contain_text("permanent")
        dialog.get_by_role("button", name="Yes, revoke access").click()
        expect(user_card(page, carer)).to_contain_text("Access revoked")
        expect(user_card(page, carer).get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)

        # The caregiver's tab is still open on Ruth's portal: its next action says access
        # ended, and nothing of Ruth's portal comes back (they stay signed in, with nowhere
        # else to go but Sign out).
        carer_page.get_by_role("link", name="Help").first.click()
        ended = carer_page.get_by_role("heading", name=re.compile(r"Your access to .*'s portal has ended"))
        expect(ended).to_be_visible()
        carer_page.goto("/home")
        expect(carer_page.get_by_role("heading", name=re.compile(
            r"Your access to .*'s portal has ended|You don't have access to a patient's portal"))).to_be_visible()
        expect(carer_page.get_by_role("link", name="Sign out")).to_be_visible()
    finally:
        carer_page.context.close()


def test_send_new_link_replaces_the_old_one(server, page: Page, browser):
    registered_patient(server, page, first="Lena", last="Park")
    carer = caregiver("Min", "Park")
    grant_access(page, carer)
    first_link = link_in(server.mailbox.wait_for(carer.email, "CareSpace portal"), "/register")

    user_card(page, carer).get_by_role("button", name=f"Send new link to {carer.email}").click()
    notice = page.get_by_role("status").filter(has_text="A new link is on its way")
    expect(notice).to_contain_text(re.compile(r"with a new access code: \d{3} \d{3}\. Tell Min Park"))
    new_code = re.search(r"new access code: (\d{3} \d{3})", notice.inner_text()).group(1)
    expect(user_card(page, carer).get_by_test_id("access-code")).to_have_text(
        f"Access code to tell them: {new_code}")
    mails = server.mailbox.wait_for_count(carer.email, 2)
    assert len(mails) == 2 and all("CareSpace portal" in m.subject for m in mails)

    # Min opens the first email's link: it no longer works.
    carer_page = new_page(browser, server)
    try:
        carer_page.goto(first_link)
        expect(carer_page.get_by_text(re.compile("newer link was sent"))).to_be_visible()

        # Lena reads the new code out; the new link works with it.
        carer.access_codes["Lena Park"] = new_code
        register_from_email(server, carer_page, carer, subject="CareSpace portal")
        expect(carer_page.get_by_role("status").filter(has_text="You are viewing")).to_contain_text(
            "Lena Park")
    finally:
        carer_page.context.close()


def test_granting_access_to_yourself_is_refused_and_the_form_keeps_what_was_typed(server, page: Page):
    patient = registered_patient(server, page, first="Iris", last="Bell")
    page.goto("/manage-users")
    page.get_by_label("Name").fill("Me Again")
    page.get_by_label("Email", exact=True).fill(patient.email)
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_role("alert")).to_contain_text("your own email address")
    expect(page.get_by_label("Name")).to_have_value("Me Again")


def test_a_double_tap_on_grant_access_invites_once(server, page: Page):
    """A second tap while the first is on its way: one invitation, one code, no error."""
    registered_patient(server, page, first="Alma", last="Quist")
    carer = caregiver("Bo", "Quist")
    page.goto("/manage-users")
    page.get_by_label("Name").fill(carer.name)
    page.get_by_label("Email", exact=True).fill(carer.email)
    page.get_by_role("button", name="Grant access").dblclick()
    expect(page.get_by_role("status").filter(has_text=f"invitation to {carer.email}")).to_be_visible()
    page.wait_for_timeout(1500)  # the second tap's answer, if there were one
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.get_by_role("status").filter(has_text=f"invitation to {carer.email}")).to_be_visible()
    expect(user_card(page, carer)).to_have_count(1)
    assert len(server.mailbox.wait_for_count(carer.email, 1)) == 1
