"""Secure messaging, as the patient lives it: write to the office, hear back by email
(with nothing medical in it), read the answer, reply."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from carespace_app.config import get_settings

from .phone import assert_fits_phone
from .people import hydrated, make_staff, registered_patient
from .records_office import staff_reply


def messages_tab(page: Page):
    return page.get_by_role("navigation", name="Portal sections").get_by_role(
        "link", name=re.compile("^Messages"))


def test_patient_writes_office_replies_patient_reads_and_answers(server, page: Page):
    staff = make_staff(server, name="Olivia Frontdesk")
    patient = registered_patient(server, page, first="Mabel", last="Ortiz")

    messages_tab(page).click()
    expect(page.get_by_role("heading", name="Messages", exact=True)).to_be_visible()
    expect(page.get_by_text("non-urgent questions only")).to_be_visible()
    expect(page.get_by_role("link", name=get_settings().office_phone)).to_have_attribute(
        "href", f"tel:{get_settings().office_phone_tel}")
    expect(page.get_by_role("link", name="9-1-1")).to_have_attribute("href", "tel:911")
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()

    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Prescription refill")
    dialog.get_by_label("Subject").fill("Refill for ondansetron")
    dialog.get_by_label("Message").fill("I have two pills left. Could you send a refill to the Main St pharmacy?")
    # An impatient double click stores the message once.
    dialog.get_by_role("button", name="Send message").dblclick()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.get_by_role("dialog")).to_have_count(0)
    # The new conversation is open; the list is one step back.
    expect(page.get_by_role("heading", name="Refill for ondansetron")).to_be_visible()
    page.get_by_role("link", name="All messages").click()
    conversations = page.get_by_role("list", name="Your conversations").get_by_role("listitem")
    expect(conversations).to_have_count(1)
    expect(conversations.first).to_contain_text("Refill for ondansetron")
    expect(conversations.first).to_contain_text("Prescription refill")
    expect(conversations.first).not_to_contain_text("Unread")  # their own message is read

    staff_reply(server, staff, patient, "Refill for ondansetron",
                "Sent to Main St pharmacy; ready after 3 PM today.")
    mail = server.mailbox.wait_for(patient.email, "You have a new message in CareSpace")
    for secret in ("ondansetron", "pharmacy", "Prescription refill", "3 PM"):
        assert secret not in mail.body and secret.encode() not in mail.raw

    page.reload()
    expect(messages_tab(page)).to_contain_text("1")
    expect(messages_tab(page)).to_contain_text("unread")
    item = page.get_by_role("list", name="Your conversations").get_by_role("listitem").first
    expect(item).to_contain_text("Unread")

    item.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Refill for ondansetron")).to_be_visible()
    thread = page.get_by_role("list", name="Messages in this conversation").get_by_role("listitem")
    expect(thread).to_have_count(3)
    expect(thread.nth(0)).to_contain_text("You")  # oldest first: the patient's question
    expect(thread.nth(0)).to_contain_text("two pills left")
    # the practice's automatic reply (issue #15), then the office's answer
    expect(thread.nth(1)).to_contain_text("you can expect an answer by")
    expect(thread.nth(2)).to_contain_text("Olivia Frontdesk (care team)")
    expect(thread.nth(2)).to_contain_text("ready after 3 PM")
    expect(messages_tab(page)).not_to_contain_text("unread")  # opened: the badge clears

    page.get_by_label("Reply").fill("Thank you, I'll pick it up.")
    page.get_by_role("button", name="Send reply").click()
    expect(thread).to_have_count(4)
    expect(thread.nth(3)).to_contain_text("pick it up")
    expect(page.get_by_label("Reply")).to_have_value("")

    page.get_by_role("link", name="All messages").click()
    expect(page.get_by_role("list", name="Your conversations")).to_contain_text("Refill for ondansetron")

    # Home lists the newest conversations; one opens straight into it.
    page.goto("/home")
    page.get_by_role("link", name="Refill for ondansetron").click()
    expect(page.get_by_role("heading", name="Refill for ondansetron")).to_be_visible()
    expect(page.get_by_label("Reply")).to_be_visible()


def test_a_refused_send_keeps_what_was_typed(server, page: Page):
    registered_patient(server, page, first="Walt", last="Dunn")
    page.goto("/messages")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Billing")
    dialog.get_by_label("Subject").fill("   ")  # only spaces: the browser lets it through
    dialog.get_by_label("Message").fill("Why was I billed twice in March?")
    dialog.get_by_role("button", name="Send message").click()
    expect(dialog.get_by_role("alert")).to_contain_text("Enter a subject")
    expect(dialog.get_by_label("Message")).to_have_value("Why was I billed twice in March?")
    dialog.get_by_label("Subject").fill("Billed twice")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name="Billed twice")).to_be_visible()


def test_messages_on_a_phone(server, phone_page: Page):
    page = phone_page
    page.set_default_timeout(20_000)
    registered_patient(server, page, first="Ida", last="Brooks")
    page.goto("/messages")
    expect(page.get_by_role("navigation", name="Portal sections")).to_be_hidden()
    # The page's load has landed (a later re-render would close the menu under the check).
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    menu = page.get_by_role("button", name=re.compile(r"^Menu"))
    hydrated(page, menu)
    menu.click()
    expect(page.get_by_role("menuitem", name="Messages")).to_be_visible()
    page.keyboard.press("Escape")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Medical question")
    dialog.get_by_label("Subject").fill("A very long subject line about my nausea after the second infusion")
    dialog.get_by_label("Message").fill("Is it normal to feel this tired three days after?")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_role("heading", name=re.compile("nausea"))).to_be_visible()
    assert_fits_phone(page)
    page.get_by_role("link", name="All messages").click()
    expect(page.get_by_role("list", name="Your conversations")).to_contain_text("nausea")
    assert_fits_phone(page)
