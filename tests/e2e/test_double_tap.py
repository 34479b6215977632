"""A double tap is one send: the patient's "Send reply" and the office's post once and email
once; the office's Close asks first; "sent" is said next to the reply box, not in a toast
over it."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlmodel import select

from carespace_app.models import Message, MessageThread, OutboxEmail
from carespace_app.services.records import messaging
from carespace_app.clock import utcnow

from .people import make_staff, registered_patient, sign_in, unique
from .phone import assert_fits_phone
from .records_office import _patient_id, _user, office

ADMIN_HOME = r"/admin/?$"
TOASTS = "[data-sonner-toast]"


def _conversation(server, patient, subject: str, body: str) -> int:
    with office(server) as db:
        return messaging.start_thread(db, _user(db, patient), _patient_id(db, patient),
                                      category="Billing", subject=subject, body=body,
                                      client_key=None, clock=utcnow)


def _messages(server, thread_id: int, *, from_staff: bool) -> list[str]:
    with office(server) as db:
        return list(db.exec(select(Message.body).where(Message.thread_id == thread_id,
                                                       Message.from_staff.is_(from_staff),
                                                       Message.automatic.is_(False))
                            .order_by(Message.id)).all())


def _emails(server, to: str, kind: str) -> int:
    with office(server) as db:
        return len(db.exec(select(OutboxEmail).where(OutboxEmail.to_address == to,
                                                     OutboxEmail.kind == kind)).all())


def test_a_patient_double_taps_send_reply_and_it_goes_once(server, phone_page: Page):
    page = phone_page
    staff = make_staff(server, name="Olivia Frontdesk")
    patient = registered_patient(server, page, first="Hattie", last="Moss")
    thread = _conversation(server, patient, "Bill from March", "Was I billed twice?")
    assert _emails(server, staff.email, "staff_message_notification") == 1  # the office heard

    page.goto(f"/messages?thread={thread}")
    expect(page.get_by_role("heading", name="Bill from March")).to_be_visible()
    page.get_by_label("Reply").fill("I found the second charge on my card statement.")
    page.get_by_role("button", name="Send reply").dblclick()  # an impatient double tap

    said = page.get_by_role("status").filter(has_text="Your reply was sent.")
    expect(said).to_be_visible()
    expect(page.locator(TOASTS).filter(has_text="sent")).to_have_count(0)  # once, beside the box
    expect(page.get_by_label("Reply")).to_have_value("")
    assert_fits_phone(page)
    # Back to the list and in again: what the server holds, after both taps were handled.
    page.get_by_role("link", name="All messages").click()
    page.get_by_role("list", name="Your conversations").get_by_role("link").filter(
        has_text="Bill from March").click()
    thread_items = page.get_by_role("list", name="Messages in this conversation").get_by_role("listitem")
    expect(thread_items).to_have_count(3)  # with the practice's automatic reply
    assert _messages(server, thread, from_staff=False) == [
        "Was I billed twice?", "I found the second charge on my card statement."]
    server.mailbox.wait_for_count(staff.email, 2)
    assert _emails(server, staff.email, "staff_message_notification") == 2  # start + one reply
    mail = server.mailbox.all_to(staff.email)[-1]
    assert "second charge" not in mail.body and "Bill from March" not in mail.body
    assert f"/admin/messages?thread={thread}" in mail.body


def test_the_office_double_clicks_send_reply_then_closes_after_confirming(server, page: Page):
    staff = make_staff(server, name="Olivia Frontdesk")
    patient = registered_patient(server, page, first="Ines", last="Lowry")
    subject = unique("Ride to the infusion")  # the queue holds every test's conversations
    thread = _conversation(server, patient, subject, "Can someone from the office call me?")
    page.context.clear_cookies()
    sign_in(page, staff, lands_on=ADMIN_HOME)
    page.goto(f"/admin/messages?thread={thread}")
    expect(page.get_by_text("Can someone from the office call me?")).to_be_visible()
    page.get_by_label("Reply", exact=True).fill("We'll call you at 2 PM today.")
    page.get_by_role("button", name="Send reply").dblclick()

    expect(page.get_by_role("status").filter(has_text="Reply sent.")).to_be_visible()
    expect(page.locator(TOASTS).filter(has_text="sent")).to_have_count(0)
    page.get_by_role("button", name="Back to the queue").click()  # after both clicks
    page.get_by_role("button", name=f"Open conversation {subject}").click()
    expect(page.get_by_text("We'll call you at 2 PM today.")).to_have_count(1)
    assert _messages(server, thread, from_staff=True) == ["We'll call you at 2 PM today."]
    server.mailbox.wait_for(patient.email, "You have a new message in CareSpace")
    assert _emails(server, patient.email, "message_notification") == 1

    # Closing asks first; "Keep it open" changes nothing.
    page.get_by_role("button", name="Close", exact=True).click()
    question = page.get_by_role("alertdialog")
    expect(question).to_contain_text("Close this conversation?")
    expect(question).to_contain_text("can no longer reply")
    question.get_by_role("button", name="Keep it open").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.get_by_role("button", name="Reopen")).to_have_count(0)
    with office(server) as db:
        assert db.get(MessageThread, thread).status != "closed"

    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Close conversation").click()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    with office(server) as db:
        assert db.get(MessageThread, thread).status == "closed"
    assert re.search(r"/admin/messages", page.url)
