"""Triage-aware messaging, as the patient and the nurse live it (issue #15): a message that
names a red flag stops at the call-now banner; sent anyway, the practice answers at once
with when to expect a reply, and the office's queue, left open, shows it on top within a
minute until a nurse acknowledges it."""
from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlmodel import delete, select

from carespace_app import timefmt
from carespace_app.clock import utcnow
from carespace_app.models import MessageThread, PracticeSettings, UrgentItem
from carespace_app.services.records import business_hours, messaging, practice_settings, urgent
from carespace_app.services.records.symptoms import call_now, office_tel

from .axe_check import assert_accessible
from .people import hydrated, make_staff, registered_patient, sign_in, unique
from .phone import assert_fits_phone
from .records_office import _patient_id, _user, office

ADMIN_HOME = r"/admin/?$"
def _threads(server, patient) -> list[MessageThread]:
    with office(server) as db:
        return list(db.exec(select(MessageThread).where(
            MessageThread.patient_id == _patient_id(db, patient))).all())


def test_a_red_flag_message_gets_the_banner_and_reaches_the_top_of_the_queue(
        server, page: Page, phone_page: Page):
    # The nurse has the queue open before anything happens.
    nurse = make_staff(server, name="Nina Triage")
    sign_in(page, nurse, lands_on=ADMIN_HOME)
    page.goto("/admin/messages")
    expect(page.get_by_role("heading", name="Urgent", exact=True)).to_be_visible()
    urgent_items = page.get_by_role("list", name="Urgent items").get_by_role("listitem")

    # The patient, on a phone, writes about chest pain and a fever.
    patient = registered_patient(server, phone_page, first="Gwen", last="Harlow")
    phone_page.goto("/messages")
    new_message = phone_page.get_by_role("button", name="New message")
    hydrated(phone_page, new_message)
    new_message.click()
    dialog = phone_page.get_by_role("dialog")
    subject = unique("Since the infusion")
    body = "Since last night I have chest pain and a temp of 101.5"
    dialog.get_by_label("Category").select_option("Symptoms or side effects")
    dialog.get_by_label("Subject").fill(subject)
    dialog.get_by_label("Message").fill(body)
    dialog.get_by_role("button", name="Send message").click()

    banner = dialog.get_by_role("alert").filter(has_text="Please call the office now")
    expect(banner).to_contain_text(call_now())
    expect(banner).to_contain_text("chest pain")
    call = banner.get_by_role("link", name="Call the office")
    expect(call).to_have_attribute("href", office_tel())
    assert call.bounding_box()["height"] >= 44
    # Nothing was sent, and nothing typed is lost.
    expect(dialog.get_by_label("Message")).to_have_value(body)
    expect(dialog.get_by_label("Subject")).to_have_value(subject)
    assert _threads(server, patient) == []
    assert_fits_phone(phone_page)
    phone_page.emulate_media(reduced_motion="reduce")
    assert_accessible(phone_page, "the red-flag banner at 375 px")

    dialog.get_by_role("button", name="Send anyway").click()
    expect(phone_page.get_by_text("marked urgent for the care team")).to_be_visible()
    expect(phone_page.get_by_role("heading", name=subject)).to_be_visible()
    (thread,) = _threads(server, patient)
    assert thread.urgent and thread.due_at is not None
    # The practice's automatic reply, under the patient's message, says when to expect one.
    said = phone_page.get_by_role("list", name="Messages in this conversation").get_by_role(
        "listitem")
    expect(said).to_have_count(2)
    expect(said.nth(1)).to_contain_text(messaging.AUTOMATIC_AUTHOR)
    due = business_hours.due_text(thread.due_at, timefmt.practice_tz())
    expect(said.nth(1)).to_contain_text(f"you can expect an answer {due}")
    expect(said.nth(1)).to_contain_text("If this is an emergency, call 9-1-1.")
    assert_fits_phone(phone_page)

    # The nurse's page, untouched, shows it on top within a minute.
    item = urgent_items.filter(has_text="Gwen Harlow")
    expect(item).to_be_visible(timeout=60_000)
    expect(item).to_contain_text("Message mentions: chest pain")
    first_row = page.get_by_role("row").nth(1)  # under the header: the most urgent
    expect(first_row).to_contain_text(subject, timeout=10_000)
    expect(first_row).to_contain_text("Urgent")
    expect(first_row).to_contain_text("Gwen Harlow")
    page.emulate_media(reduced_motion="reduce")
    assert_accessible(page, "the office's queue with an urgent item")

    item.get_by_role("button", name=urgent.CALLED).click()
    expect(urgent_items.filter(has_text="Gwen Harlow")).to_have_count(0)
    with office(server) as db:
        (done,) = db.exec(select(UrgentItem).where(UrgentItem.thread_id == thread.id)).all()
        assert done.acknowledged_at is not None and done.note == urgent.CALLED


def test_the_office_sets_its_rules_and_a_new_conversation_follows_them(server, page: Page):
    clerk = make_staff(server, name="Bea Billing")
    patient = registered_patient(server, page, first="Hal", last="Ledger")
    page.context.clear_cookies()
    sign_in(page, clerk, lands_on=ADMIN_HOME)
    try:
        page.get_by_role("link", name="Office settings").click()
        expect(page.get_by_role("heading", name="Office settings", level=1)).to_be_visible()
        expect(page.get_by_label("Monday opens")).to_have_value("08:00")
        expect(page.get_by_label("Saturday opens")).to_have_value("")
        expect(page.get_by_label("Red-flag phrases")).to_contain_text("chest pain")
        page.emulate_media(reduced_motion="reduce")
        assert_accessible(page, "office settings")
        page.set_viewport_size({"width": 375, "height": 800})
        expect(page.get_by_label("Sunday closes")).to_be_visible()
        assert_fits_phone(page)
        assert_accessible(page, "office settings at 375 px")
        page.set_viewport_size({"width": 1280, "height": 800})

        page.get_by_label("Friday closes").fill("15:30")
        page.get_by_label("Billing").select_option(label="Bea Billing")
        page.get_by_label("After-hours phone number").fill("(501) 555-0142")
        # A half day is refused beside its field, and nothing typed is lost.
        page.get_by_label("Saturday opens").fill("09:00")
        page.get_by_role("button", name="Save office settings").click()
        expect(page.get_by_role("alert").filter(has_text="Enter both the opening and the closing"))\
            .to_be_visible()
        expect(page.get_by_label("Friday closes")).to_have_value("15:30")
        page.get_by_label("Saturday closes").fill("12:00")
        page.get_by_role("button", name="Save office settings").click()
        expect(page.get_by_text(practice_settings.SAVED)).to_be_visible()
        expect(page.get_by_label("Saturday closes")).to_have_value("12:00")

        # A patient's billing question now goes to Bea, with the new after-hours number.
        subject = unique("Billed twice")
        with office(server) as db:
            thread_id = messaging.start_thread(
                db, _user(db, patient), _patient_id(db, patient), category="Billing",
                subject=subject, body="Was I billed twice in March?", client_key=None,
                clock=utcnow)
        page.goto("/admin/messages")
        page.get_by_role("checkbox", name="Mine").click()
        page.get_by_role("button", name="Filter").click()
        row = page.get_by_role("row").filter(has_text=subject)
        expect(row).to_contain_text("Bea Billing")
        page.get_by_role("button", name=f"Open conversation {subject}").click()
        with office(server) as db:
            clerk_id = _user(db, clerk).id
            assert db.get(MessageThread, thread_id).assigned_to_user_id == clerk_id
        expect(page.get_by_role("combobox", name="Assigned to")).to_have_value(str(clerk_id))
        expect(page.get_by_text("Outside office hours, call (501) 555-0142.")).to_be_visible()
    finally:
        with office(server) as db:  # the server is shared: back to the defaults
            db.exec(delete(PracticeSettings))
