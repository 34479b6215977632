"""Messages that behave like messages: a conversation has its own address (Back returns to
the list, a reload keeps it open), a new message opens its conversation, a closed one says
so, and the list shows how each conversation ends."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from carespace_app.clock import utcnow
from carespace_app.models import MessageThread
from carespace_app.services.records import messaging

from .people import make_staff, registered_patient, sign_out
from .phone import assert_fits_phone
from .records_office import _user, office, staff_reply


def write(page: Page, category: str, subject: str, body: str) -> None:
    page.get_by_role("button", name="New message").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option(category)
    dialog.get_by_label("Subject").fill(subject)
    dialog.get_by_label("Message").fill(body)
    dialog.get_by_role("button", name="Send message").click()


def conversations(page: Page):
    return page.get_by_role("list", name="Your conversations").get_by_role("listitem")


def thread_id(server, subject: str) -> int:
    with office(server) as db:
        return db.exec(select(MessageThread.id).where(MessageThread.subject == subject)).one()


def test_a_new_message_opens_its_conversation_and_back_returns_to_the_list(server, phone_page: Page):
    page = phone_page
    page.set_default_timeout(20_000)
    registered_patient(server, page, first="Nora", last="Fields")
    page.goto("/messages")
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    write(page, "Appointment", "Parking on Thursday", "Where do I park for the infusion?")
    write_done = page.get_by_role("heading", name="Parking on Thursday")
    expect(write_done).to_be_visible()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    expect(page.get_by_role("list", name="Messages in this conversation")).to_contain_text(
        "Where do I park for the infusion?")
    expect(page).to_have_url(re.compile(rf"/messages\?thread={thread_id(server, 'Parking on Thursday')}$"))
    assert_fits_phone(page)

    # A second one, then the older one opened from the list.
    page.get_by_role("link", name="All messages").click()
    expect(page).to_have_url(re.compile(r"/messages/?$"))
    write(page, "Billing", "Bill from March", "Was I billed twice?")
    expect(page.get_by_role("heading", name="Bill from March")).to_be_visible()
    page.go_back()  # the list it was written from
    expect(conversations(page)).to_have_count(2)
    conversations(page).filter(has_text="Parking on Thursday").get_by_role("link").click()
    expect(page.get_by_role("heading", name="Parking on Thursday")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/messages\?thread=\d+$"))

    # A reload keeps it open; Back returns to the list, Forward to the conversation.
    page.reload()
    expect(page.get_by_role("heading", name="Parking on Thursday")).to_be_visible()
    expect(page.get_by_label("Reply")).to_be_visible()
    page.go_back()
    expect(conversations(page)).to_have_count(2)
    expect(page.get_by_role("heading", name="Parking on Thursday")).to_have_count(0)
    page.go_forward()
    expect(page.get_by_role("heading", name="Parking on Thursday")).to_be_visible()


def test_another_patients_conversation_in_the_address_is_refused(server, page: Page):
    registered_patient(server, page, first="Otto", last="Lind")
    page.goto("/messages")
    write(page, "Medical question", "Otto's private question", "About my scan results.")
    expect(page.get_by_role("heading", name="Otto's private question")).to_be_visible()
    ottos = thread_id(server, "Otto's private question")
    sign_out(page)

    registered_patient(server, page, first="Vera", last="Holm")
    page.goto(f"/messages?thread={ottos}")
    expect(page.get_by_role("alert")).to_contain_text("You don't have access to that.")
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    for secret in ("Otto's private question", "scan results"):
        expect(page.get_by_text(secret)).to_have_count(0)


def test_the_list_shows_how_each_conversation_ends(server, page: Page):
    staff = make_staff(server, name="Olivia Frontdesk")
    patient = registered_patient(server, page, first="Lena", last="Marsh")
    page.goto("/messages")
    write(page, "Prescription refill", "Refill please", "I am almost out of ondansetron.")
    expect(page.get_by_role("heading", name="Refill please")).to_be_visible()
    long_answer = ("Your refill was sent to the Main St pharmacy this morning and should be ready "
                   "after 3 PM; bring your card. SECRET-TAIL-SHOULD-NOT-SHOW")
    staff_reply(server, staff, patient, "Refill please", long_answer)

    page.goto("/messages")
    item = conversations(page).filter(has_text="Refill please")
    expect(item).to_contain_text("Your refill was sent to the Main St pharmacy")  # the newest
    expect(item).not_to_contain_text("almost out of")
    expect(item).not_to_contain_text("SECRET-TAIL")
    expect(item).to_contain_text("\u2026")


def test_a_closed_conversation_says_so_and_offers_a_new_message(server, page: Page):
    staff = make_staff(server, name="Olivia Frontdesk")
    registered_patient(server, page, first="Hal", last="Greer")
    page.goto("/messages")
    write(page, "Other", "Thank you note", "Thanks for the care last week.")
    expect(page.get_by_role("heading", name="Thank you note")).to_be_visible()
    expect(page.get_by_label("Reply")).to_be_visible()
    with office(server) as db:
        messaging.set_thread_status(db, _user(db, staff), thread_id(server, "Thank you note"),
                                    "closed", clock=utcnow)

    page.reload()
    expect(page.get_by_role("heading", name="Thank you note")).to_be_visible()
    note = page.get_by_role("status").filter(has_text="The office closed this conversation on")
    expect(note).to_contain_text(re.compile(r"on \w{3}, \w{3} \d+(, \d{4})?\. To ask something new, "
                                            r"start a new message\."))
    expect(page.get_by_label("Reply")).to_have_count(0)
    expect(page.get_by_role("button", name="Send reply")).to_have_count(0)
    note.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Subject")).to_be_visible()
