"""Settings: change the password (other devices are signed out) and the email address
(confirmed from the new inbox; the old one is told)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import next_action_signs_in_again, registered_patient, sign_in, sign_out, unique
from .portal_people import new_page, open_menu_item

NEW_PASSWORD = "Lantern-Meadow-77?"


def _open_change_dialog(page: Page, tab: str):
    open_menu_item(page, "Settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    page.get_by_role("button", name="Change email address or password").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name=tab).click()
    return dialog


def test_change_password_keeps_this_tab_and_signs_out_the_other_devices(server, page: Page, browser):
    patient = registered_patient(server, page, first="Edith", last="Moss")
    phone = new_page(browser, server)
    try:
        sign_in(phone, patient)

        dialog = _open_change_dialog(page, "Password")
        dialog.get_by_label("Current password").fill("Wrong-Password-1!")
        dialog.get_by_label("New password", exact=True).fill("short")
        expect(dialog.locator("li[data-met='no']", has_text="At least 8 characters")).to_be_visible()
        dialog.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        expect(dialog.locator("li[data-met='yes']", has_text="At least 8 characters")).to_be_visible()
        dialog.get_by_label("Confirm new password").fill(NEW_PASSWORD)
        dialog.get_by_role("button", name="Change password").click()
        expect(dialog.get_by_role("alert")).to_contain_text("current password is not correct")
        expect(dialog.get_by_label("New password", exact=True)).to_have_value(NEW_PASSWORD)  # nothing lost

        dialog.get_by_label("Current password").fill(patient.password)
        dialog.get_by_role("button", name="Change password").click()
        expect(page.get_by_role("status").filter(has_text="Your password was changed")).to_be_visible()
        expect(page.get_by_role("dialog")).to_have_count(0)
        server.mailbox.wait_for(patient.email, "password was changed")

        # This tab carries on; the phone's open tab is signed out on its next action.
        page.get_by_role("link", name="Help").first.click()
        expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
        next_action_signs_in_again(phone, phone.get_by_role("link", name="Help").first)

        sign_out(page)
        patient.password = NEW_PASSWORD
        sign_in(page, patient)
    finally:
        phone.context.close()


def test_change_email_is_confirmed_from_the_new_inbox_and_the_old_one_is_told(server, page: Page):
    patient = registered_patient(server, page, first="Frank", last="Ocampo")
    new_email = f"{unique('frank.new')}@example.org"

    dialog = _open_change_dialog(page, "Email")
    dialog.get_by_label("New email address").fill(new_email)
    dialog.get_by_label("Current password").fill(patient.password)
    dialog.get_by_role("button", name="Send confirmation link").click()
    expect(page.get_by_role("status").filter(has_text=f"confirmation link to {new_email}")).to_be_visible()

    link = link_in(server.mailbox.wait_for(new_email, "Confirm your new CareSpace email"), "/confirm-email")
    page.goto(link)
    expect(page.get_by_text(f"Your email address is now {new_email}")).to_be_visible()
    notice = server.mailbox.wait_for(patient.email, "email address was changed")
    assert new_email in notice.body

    page.goto("/settings")
    expect(page.get_by_text(new_email)).to_be_visible()
    sign_out(page)
    patient.email = new_email
    sign_in(page, patient)

    # The link again, signed in: nothing to call the office about.
    page.goto(link)
    expect(page.get_by_text("You're already signed in")).to_be_visible()
    expect(page.get_by_text("we'll send you a new link", exact=False)).to_have_count(0)
    page.get_by_role("link", name="Go to Home").click()
    expect(page).to_have_url(re.compile(r"/home/?$"))


def test_settings_links_to_who_viewed_my_record(server, page: Page):
    registered_patient(server, page, first="Gwen", last="Hale")
    page.goto("/settings")
    page.get_by_role("link", name="Who viewed my record").click()
    expect(page.get_by_role("heading", name="Who viewed my record", level=1)).to_be_visible()
    expect(page.get_by_role("cell", name="You").first).to_be_visible()
    open_menu_item(page, "Who viewed my record")
    expect(page).to_have_url(re.compile(r"/record-activity/?$"))
