"""The office's stories on the admin page, in Chromium against the real server and SMTP."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from carespace_app.clock import utcnow
from carespace_app.db import make_engine, session_scope
from carespace_app.models import Patient, User
from carespace_app.services.records import messaging

from .people import PASSWORD, Person, make_patient, make_staff, next_action_signs_in_again, register_from_email, \
    open_patient_page, sign_in, unique

ADMIN_HOME = r"/admin/?$"


def _new_context_page(browser: Browser, server) -> Page:
    page = browser.new_context(base_url=server.base_url, locale="en-US",
                               timezone_id="America/Chicago").new_page()
    page.set_default_timeout(20_000)
    return page


def _start_thread_as_patient(server, person: Person, subject: str, body: str) -> None:
    # The portal's Messages page is built on another branch: the patient's side starts
    # the conversation through the same service the page will call.
    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        with session_scope(engine) as db:
            patient = db.exec(select(Patient).where(Patient.mrn == person.mrn)).one()
            user = db.exec(select(User).where(User.email == person.email)).one()
            messaging.start_thread(db, user, patient.id, category="Medical question",
                                   subject=subject, body=body, client_key=None, clock=utcnow)
    finally:
        engine.dispose()


def test_staff_invites_patient_who_writes_and_gets_a_reply(server, page: Page, browser: Browser):
    staff = make_staff(server, name="Olivia Frontdesk")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="Staff")).to_have_count(0)  # not an admin

    person = Person(email=f"{unique('june')}@example.com", password=PASSWORD, first="June",
                    last="Okafor", mrn=unique("MRN"), dob="1961-04-02")
    page.get_by_label("MRN", exact=True).fill(person.mrn)
    page.get_by_label("First name", exact=True).fill(person.first)
    page.get_by_label("Last name", exact=True).fill(person.last)
    page.get_by_label("Date of birth", exact=True).fill("2090-04-02")
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_role("button", name="Create patient record").click()
    expect(page.get_by_role("alert").filter(has_text="can't be in the future")).to_be_visible()
    expect(page.get_by_label("MRN", exact=True)).to_have_value(person.mrn)  # nothing typed is lost
    page.get_by_label("Date of birth", exact=True).fill(person.dob)
    page.get_by_role("button", name="Create patient record").click()
    expect(page).to_have_url(re.compile(r"/admin/patient\?id=\d+"))
    expect(page.get_by_role("heading", name="June Okafor")).to_be_visible()
    expect(page.get_by_text("Not invited")).to_be_visible()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[data-invitation-status='invited']")).to_be_visible()
    expect(page.get_by_role("button", name="Send new link")).to_be_visible()

    patient_page = _new_context_page(browser, server)
    register_from_email(server, patient_page, person)
    patient_page.context.close()

    subject, body = f"Swelling after infusion {unique('s')}", "My left ankle has been swollen since Tuesday."
    _start_thread_as_patient(server, person, subject, body)

    page.get_by_role("link", name="Messages").click()
    expect(page).to_have_url(re.compile(r"/admin/messages"))
    page.get_by_role("button", name=f"Open conversation {subject}").click()
    expect(page.get_by_text(body)).to_be_visible()
    page.get_by_label("Reply", exact=True).fill("Please keep it raised; we'll call you this afternoon.")
    page.get_by_role("button", name="Send reply").click()
    expect(page.get_by_text("Please keep it raised; we'll call you this afternoon.")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=subject)
    expect(row).to_contain_text("Olivia Frontdesk")
    page.get_by_role("button", name="Close", exact=True).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Close conversation").click()
    expect(page.get_by_role("button", name="Reopen")).to_be_visible()

    mail = server.mailbox.wait_for(person.email, "You have a new message in CareSpace")
    for secret in (subject, body, "keep it raised", "ankle"):
        assert secret not in mail.subject and secret not in mail.body


def test_staff_enters_a_lab_report_and_sees_the_flag(server, page: Page):
    staff = make_staff(server, name="Lena Labdesk")
    person = make_patient(server, first="Walter", last="Briggs")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, person)

    page.get_by_label("Panel", exact=True).fill("Basic metabolic panel")
    page.get_by_label("Ordering provider", exact=True).fill("Dr. Anita Rao")
    page.get_by_label("Collected", exact=True).fill("2026-11-20T08:30")
    page.get_by_label("Resulted", exact=True).fill("2026-11-20T14:00")
    page.get_by_label("Test (result 1)").fill("Potassium")
    page.get_by_label("Value (result 1)").fill("6.1")
    page.get_by_label("Unit (result 1)").fill("mmol/L")
    page.get_by_label("Reference low (result 1)").fill("3.5")
    page.get_by_label("Reference high (result 1)").fill("5.1")
    page.get_by_label("Test (result 2)").fill("Sodium")
    page.get_by_label("Value (result 2)").fill("140")
    page.get_by_label("Reference low (result 2)").fill("135")
    page.get_by_label("Reference high (result 2)").fill("145")
    page.get_by_role("button", name="Add another result").click()
    expect(page.get_by_label("Test (result 4)")).to_be_visible()
    page.get_by_role("button", name="Save lab report").click()

    report = page.locator(".cs-report").filter(has_text="Basic metabolic panel")
    potassium = report.get_by_role("row").filter(has_text="Potassium")
    expect(potassium).to_contain_text("High")
    expect(report.get_by_role("row").filter(has_text="Sodium")).not_to_contain_text("High")

    # A mistyped value is corrected; the flag follows, the earlier value stays in the audit log.
    potassium.get_by_role("button", name="Correct value of Potassium").click()
    page.get_by_label("Corrected value for Potassium").fill("4.2")
    page.get_by_role("button", name="Save correction").click()
    expect(potassium).to_contain_text("Corrected")
    expect(potassium).not_to_contain_text("High")
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Patient MRN").fill(person.mrn)
    page.get_by_label("Action", exact=True).fill("lab_result.corrected")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("row").filter(has_text="lab_result.corrected")).to_contain_text("6.1 -> 4.2")

    # At a tablet's width nothing scrolls sideways but the tables, inside their own box.
    page.set_viewport_size({"width": 768, "height": 1024})
    page.go_back()
    expect(report).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_deactivated_staff_loses_their_open_tab(server, page: Page, browser: Browser):
    admin = make_staff(server, admin=True, name="Ada Administrator")
    nurse = make_staff(server, name="Nell Nurse")
    nurse_page = _new_context_page(browser, server)
    sign_in(nurse_page, nurse, lands_on=ADMIN_HOME)
    expect(nurse_page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()

    sign_in(page, admin, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Staff").click()
    page.get_by_role("button", name=f"Deactivate {nurse.email}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, deactivate").click()
    expect(page.get_by_role("row").filter(has_text=nurse.email)).to_contain_text("Deactivated")

    # The nurse's tab is still open; its next action finds the session gone.
    next_action_signs_in_again(nurse_page, nurse_page.get_by_role("button", name="Search"))
    nurse_page.get_by_label("Email address").fill(nurse.email)
    nurse_page.get_by_label("Password").fill(nurse.password)
    nurse_page.get_by_role("button", name="Sign in").click()
    expect(nurse_page.get_by_role("alert")).to_be_visible()
    expect(nurse_page).not_to_have_url(re.compile(r"/admin"))
    nurse_page.context.close()


def test_patient_at_admin_is_told_it_is_for_the_office_and_it_is_audited(server, page: Page,
                                                                          browser: Browser):
    person = make_patient(server, first="Ida", last="Marsh")
    register_from_email(server, page, person)
    page.goto("/admin")
    expect(page.get_by_role("heading", name="This page is for the office staff")).to_be_visible()
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_have_count(0)
    # Still signed in: the way back leads to their own portal.
    page.get_by_role("link", name="Go to your portal").click()
    expect(page.get_by_text("Ida Marsh").first).to_be_visible()

    staff = make_staff(server, name="Otto Office")
    office = _new_context_page(browser, server)
    sign_in(office, staff, lands_on=ADMIN_HOME)
    office.get_by_role("link", name="Audit log").click()
    office.get_by_label("Actor email", exact=True).fill(person.email)
    office.get_by_label("Action", exact=True).fill("admin.refused")
    office.get_by_role("button", name="Filter").click()
    expect(office.locator("[data-action='admin.refused']").first).to_be_visible()
    office.context.close()
