"""Symptom check-ins end to end (issue #15): the office enrols a patient; the patient, on a
phone, answers one question per screen, reports severe pain and is told to call now with a
number to tap; the office sees the urgent item on top of its queue and acknowledges it; the
history shows the answer as a point and a row; the office's patient page shows it at a glance."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carespace_app.config import get_settings
from carespace_app.services.records import symptoms

from .axe_check import assert_accessible
from .harness import link_in
from .people import desk_page, make_staff, open_patient_page, registered_patient, sign_in
from .phone import assert_fits_phone

ADMIN_HOME = r"/admin/?$"
ASKED = len(symptoms.SYMPTOMS) - 1  # the office switches Low mood off


def test_a_severe_answer_reaches_the_office_and_the_patient_is_told_to_call(
        server, phone_page: Page, browser: Browser):
    patient = registered_patient(server, phone_page, first="Rosa", last="Checkwell")
    staff = make_staff(server, name="Nina Triage")
    office = desk_page(browser, server)
    sign_in(office, staff, lands_on=ADMIN_HOME)
    open_patient_page(office, patient)

    # Enrol: weekly from today, every symptom but mood.
    checkins = office.get_by_role("heading", name="Symptom check-ins").locator("xpath=../..")
    expect(checkins.get_by_text("Not enrolled.")).to_be_visible()
    office.get_by_label("Schedule").select_option(label="Weekly")
    office.get_by_role("checkbox", name="Low mood").uncheck()
    office.get_by_role("button", name="Start check-ins").click()
    expect(office.get_by_text("Check-ins started. The first check-in is open now")).to_be_visible()
    expect(checkins.get_by_text(re.compile(r"^Weekly from .*, until stopped$"))).to_be_visible()

    # The email says only that a check-in waits, and links to it.
    mail = server.mailbox.wait_for(patient.email, "A check-in is waiting in CareSpace")
    said = re.sub(r"https?://\S+", "", mail.subject + " " + mail.body)
    for secret in ("Pain", "pain", "Nausea", "fever", "Severe", "chemotherapy"):
        assert secret not in said
    link = link_in(mail, "/checkin")

    # The office leaves its message queue open while the patient answers.
    patient_page_url = office.url
    office.goto("/admin/messages")
    expect(office.get_by_role("heading", name="Urgent", exact=True)).to_be_visible()
    urgent_items = office.get_by_role("list", name="Urgent items").get_by_role("listitem")
    expect(urgent_items.filter(has_text=patient.last)).to_have_count(0)

    # On the phone: Home says it is due; one question per screen.
    phone_page.goto("/home")
    expect(phone_page.get_by_role("heading", name="Your check-in is due")).to_be_visible()
    phone_page.goto(link)
    expect(phone_page.get_by_role("heading", name="Symptom check-in")).to_be_visible()
    for n in range(1, ASKED + 1):
        expect(phone_page.get_by_text(f"Question {n} of {ASKED}")).to_be_visible()
        question = phone_page.locator("#checkin-question").inner_text()
        if n == 1:
            assert_fits_phone(phone_page)
            assert_accessible(phone_page, "a check-in question at 375 px")
            # Next before choosing says what to do, and stays.
            phone_page.get_by_role("button", name="Next").click()
            expect(phone_page.get_by_text("Choose an answer to go on.")).to_be_visible()
        if "pain" in question:
            answer = "Severe"
        elif "fever" in question:
            answer = "No"
        else:
            answer = "None"
        option = phone_page.get_by_role("radio", name=answer, exact=True)
        option.click()
        expect(option).to_be_checked()
        phone_page.get_by_role("button", name="Review" if n == ASKED else "Next").click()

    expect(phone_page.get_by_role("heading", name="Check your answers")).to_be_visible()
    assert_accessible(phone_page, "the review screen at 375 px")
    expect(phone_page.get_by_role("listitem").filter(has_text="Pain")).to_contain_text("Severe")
    assert_fits_phone(phone_page)
    phone_page.get_by_role("button", name="Send my answers").click()

    # Told to call now, with the number to tap.
    phone = get_settings().office_phone
    expect(phone_page.get_by_role("heading", name="Please call the office now")).to_be_visible()
    expect(phone_page.get_by_text(symptoms.call_now())).to_be_visible()
    call = phone_page.get_by_role("link", name=f"Call {phone}")
    expect(call).to_have_attribute("href", symptoms.office_tel())
    assert call.bounding_box()["height"] >= 44
    expect(phone_page.get_by_text("Pain: Severe (3), no earlier answer")).to_be_visible()
    assert_fits_phone(phone_page)
    assert_accessible(phone_page, "the call-now screen at 375 px")

    # Within a minute, without a reload, the urgent item is on top of the office's queue,
    # naming the symptom and its grade; acknowledged with a note, it leaves.
    item = urgent_items.filter(has_text=patient.last)
    expect(item).to_be_visible(timeout=60_000)
    expect(item).to_contain_text("Pain: Severe (3), no earlier answer")
    item.get_by_label("Or say what was done").fill("Called Rosa: seen today at 2 PM.")
    item.get_by_role("button", name="Acknowledge").click()
    expect(urgent_items.filter(has_text=patient.last)).to_have_count(0)

    # The history: the answer as a row (and a point on the chart).
    phone_page.goto("/checkin?view=history")
    expect(phone_page.get_by_role("heading", name="Your check-ins")).to_be_visible()
    phone_page.get_by_label("Symptom").select_option(label="Pain")
    expect(phone_page.get_by_role("img", name="Chart of Pain over time")).to_be_visible()
    expect(phone_page.get_by_role("row").filter(has_text="Severe (3)")).to_have_count(1)
    expect(phone_page.locator(".recharts-line-dot, .recharts-dot")).to_have_count(1)
    assert_fits_phone(phone_page)

    # The office: the latest check-in at a glance on the patient's page.
    office.goto(patient_page_url)
    expect(office.get_by_text("Latest check-in:")).to_be_visible()
    expect(office.locator(".cs-grades")).to_contain_text("Severe (3)")
    office.context.close()
