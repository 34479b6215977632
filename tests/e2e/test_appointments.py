"""Appointments: the office books visits; the patient sees them soonest first, past ones
apart, and puts one in their own calendar."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from icalendar import Calendar
from playwright.sync_api import Page, expect

from carespace_app.clock import utcnow
from carespace_app.services.records import appointments

from .people import make_staff, registered_patient
from .records_office import _patient_id, _user, book, office


def booked_last_month(server, staff, patient) -> int:
    """A visit the office entered after the fact (it confirmed the date in the past)."""
    starts = (utcnow() - timedelta(days=20)).replace(second=0, microsecond=0)
    with office(server) as db:
        return appointments.create_appointment(
            db, _user(db, staff), _patient_id(db, patient), starts_at=starts, duration_minutes=45,
            appointment_type="Office visit", provider="Dr. Lena Park", location="Clinic room 4",
            past_confirmed=True, clock=utcnow)


def test_upcoming_soonest_first_past_apart_and_add_to_calendar(server, page: Page):
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Hal", last="Jensen")
    book(server, staff, patient, in_days=12, kind="Imaging", provider="Dr. Amir Haddad",
         location="Imaging Center, 2nd floor")
    infusion = book(server, staff, patient, in_days=3, kind="Infusion", provider="Dr. Lena Park",
                    location="Infusion Suite B", instructions="Eat a light breakfast; bring a sweater.")
    booked_last_month(server, staff, patient)

    page.goto("/appointments")
    upcoming = page.get_by_role("list", name="Upcoming appointments").get_by_role("listitem")
    expect(upcoming).to_have_count(2)
    expect(upcoming.nth(0)).to_contain_text("Infusion")
    expect(upcoming.nth(0)).to_contain_text("Dr. Lena Park")
    expect(upcoming.nth(0)).to_contain_text("Infusion Suite B")
    expect(upcoming.nth(0)).to_contain_text("bring a sweater")
    expect(upcoming.nth(1)).to_contain_text("Imaging")
    past = page.get_by_role("list", name="Past appointments").get_by_role("listitem")
    expect(past).to_have_count(1)
    expect(past.first).to_contain_text("Clinic room 4")
    expect(past.first).to_contain_text("Past")
    expect(past.first.get_by_role("link", name="Add to calendar")).to_have_count(0)

    with page.expect_download() as info:
        upcoming.nth(0).get_by_role("link", name="Add to calendar").click()
    download = info.value
    assert download.suggested_filename == f"carespace-appointment-{infusion}.ics"
    calendar = Calendar.from_ical(Path(download.path()).read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    assert str(events[0]["summary"]) == "Infusion with Dr. Lena Park"
    assert str(events[0]["location"]) == "Infusion Suite B"
    # The calendar reminds the patient the day before.
    [alarm] = events[0].walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(days=-1)

    # Home shows the next visit too, and links here.
    page.goto("/home")
    expect(page.get_by_text("Infusion with Dr. Lena Park")).to_be_visible()
    page.get_by_role("link", name="All appointments").click()
    expect(page.get_by_role("heading", name="Appointments", exact=True)).to_be_visible()

    # Switched to Spanish here, the page's labels change in the browser and the list's own
    # words (the kind of visit, the day), which the server writes, follow at once: the switch
    # loads the list again (issue #17). And back.
    upcoming = page.get_by_role("list", name="Upcoming appointments").get_by_role("listitem")
    expect(upcoming.nth(0)).to_contain_text("Infusion")
    page.get_by_test_id("language-switch").get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", name="Citas", exact=True)).to_be_visible()
    first = page.get_by_role("list", name="Citas próximas").get_by_role("listitem").nth(0)
    expect(first).to_contain_text("Tipo: Infusión")
    page.get_by_test_id("language-switch").get_by_role("button", name="English").click()
    expect(upcoming.nth(0)).to_contain_text("Type: Infusion")


def test_no_appointments_yet_says_so(server, page: Page):
    registered_patient(server, page, first="Ada", last="Kerr")
    page.goto("/appointments")
    expect(page.get_by_text("No upcoming appointments.")).to_be_visible()
    expect(page.get_by_text("No past appointments yet.")).to_be_visible()
