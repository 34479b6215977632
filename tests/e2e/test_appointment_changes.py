"""Appointments people can trust (issue 12): the office confirms before cancelling or
booking a date in the past; the patient sees a cancelled visit as Cancelled, a visit
next year with its year, and hears about each change by an email that says only the day."""
from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect

from carespace_app.services.records.appointments import BOOKED_SENTENCE, CHANGED_SENTENCE

from .people import make_staff, open_patient_page, registered_patient, sign_in

ADMIN_HOME = r"/admin/?$"
SECRETS = ("Infusion", "Dr. Ines Quiet", "Suite 12", "light breakfast")


def spoken(d: date) -> str:
    """How the portal says a day: the year only when it is not this year."""
    text = f"{d:%a, %b} {d.day}"
    return text if d.year == date.today().year else f"{text}, {d.year}"



def fill_visit(page: Page, day: date, *, kind: str = "Infusion", location: str = "Suite 12") -> None:
    page.get_by_label("Type", exact=True).select_option(kind)
    page.get_by_label("Provider", exact=True).fill("Dr. Ines Quiet")
    page.get_by_label("Location", exact=True).fill(location)
    page.get_by_label("Date", exact=True).fill(day.isoformat())
    page.get_by_label("Start time", exact=True).fill("10:30")
    page.get_by_label("Instructions", exact=True).fill("Eat a light breakfast.")


def assert_plain(mail, sentence: str) -> None:
    assert sentence in mail.body, mail.body
    for secret in SECRETS:
        assert secret not in mail.body and secret not in mail.subject


def test_cancel_asks_first_and_the_patient_sees_it_cancelled_and_hears_by_email(
        server, page: Page, phone_page: Page):
    staff = make_staff(server, name="Carl Canceller")
    patient = registered_patient(server, phone_page, first="Greta", last="Lindqvist")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, patient)

    soon = date.today() + timedelta(days=3)
    fill_visit(page, soon)
    page.get_by_role("button", name="Book appointment").click()
    row = page.get_by_role("row").filter(has_text="Suite 12")
    expect(row).to_contain_text("Scheduled")
    assert_plain(server.mailbox.wait_for(patient.email, "appointment"),
                 BOOKED_SENTENCE.format(day=spoken(soon)))

    # Cancel asks first; "Keep appointment" keeps it.
    row.get_by_role("button", name=re.compile("^Cancel appointment")).click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Cancel the appointment on")
    dialog.get_by_role("button", name="Keep appointment").click()
    expect(dialog).to_have_count(0)
    expect(row).to_contain_text("Scheduled")
    row.get_by_role("button", name=re.compile("^Cancel appointment")).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, cancel appointment").click()
    expect(row).to_contain_text("Cancelled")
    expect(row.get_by_role("button", name=re.compile("^Cancel appointment"))).to_have_count(0)

    mails = server.mailbox.wait_for_count(patient.email, 2)
    changed = [m for m in mails if "has changed" in m.body]
    assert len(changed) == 1
    assert_plain(changed[0], CHANGED_SENTENCE.format(day=spoken(soon)))

    # The patient, on a phone, still sees the visit in Upcoming, marked Cancelled.
    phone_page.goto("/appointments")
    upcoming = phone_page.get_by_role("list", name="Upcoming appointments").get_by_role("listitem")
    expect(upcoming).to_have_count(1)
    expect(upcoming.first).to_contain_text("Cancelled")
    expect(upcoming.first).to_contain_text(spoken(soon))
    expect(upcoming.first.get_by_role("link", name="Add to calendar")).to_have_count(0)


def test_moving_a_visit_to_next_year_shows_the_year_and_emails_the_patient(
        server, page: Page, phone_page: Page):
    staff = make_staff(server, name="Mo Mover")
    patient = registered_patient(server, phone_page, first="Ivo", last="Marsh")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, patient)

    soon = date.today() + timedelta(days=5)
    fill_visit(page, soon)
    page.get_by_role("button", name="Book appointment").click()
    row = page.get_by_role("row").filter(has_text="Suite 12")
    expect(row).to_contain_text(spoken(soon))
    server.mailbox.wait_for(patient.email, "appointment")

    next_year = date(date.today().year + 1, 1, 8)
    row.get_by_role("button", name=re.compile("^Edit appointment")).click()
    page.locator(".cs-editing").get_by_label("Date", exact=True).fill(next_year.isoformat())
    page.get_by_role("button", name="Save appointment").click()
    shown = f"{next_year:%a, %b} 8, {next_year.year}"  # e.g. "Fri, Jan 8, 2027"
    expect(page.get_by_role("row").filter(has_text="Suite 12")).to_contain_text(
        f"{shown}, 10:30 AM")

    mails = server.mailbox.wait_for_count(patient.email, 2)
    changed = [m for m in mails if "has changed" in m.body]
    assert len(changed) == 1
    assert_plain(changed[0], CHANGED_SENTENCE.format(day=spoken(soon)))

    phone_page.goto("/appointments")
    upcoming = phone_page.get_by_role("list", name="Upcoming appointments").get_by_role("listitem")
    expect(upcoming.first).to_contain_text(shown)


def test_a_date_in_the_past_is_booked_only_after_the_office_confirms_it(
        server, page: Page, phone_page: Page):
    staff = make_staff(server, name="Pat Pastdate")
    patient = registered_patient(server, phone_page, first="Lou", last="Archer")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, patient)

    last_week = date.today() - timedelta(days=7)
    fill_visit(page, last_week, kind="Office visit", location="Clinic room 7")
    page.get_by_role("button", name="Book appointment").click()
    question = page.get_by_role("alert").filter(has_text="This date is in the past")
    expect(question).to_be_visible()
    expect(page.get_by_text("No past appointments.")).to_be_visible()  # nothing booked yet

    # "Change the date" puts the form back as it was typed.
    question.get_by_role("button", name="Change the date").click()
    expect(question).to_have_count(0)
    expect(page.get_by_label("Location", exact=True)).to_have_value("Clinic room 7")
    page.get_by_role("button", name="Book appointment").click()
    page.get_by_role("button", name="Book it anyway").click()
    row = page.get_by_role("row").filter(has_text="Clinic room 7")
    expect(row).to_contain_text(spoken(last_week))
    # A visit in the past reads as past, not "scheduled".
    expect(row).to_contain_text("Past")
    expect(row).not_to_contain_text("cheduled")

    phone_page.goto("/appointments")
    past = phone_page.get_by_role("list", name="Past appointments").get_by_role("listitem")
    expect(past).to_have_count(1)
    expect(past.first).to_contain_text("Past")
    expect(past.first).to_contain_text("Clinic room 7")
