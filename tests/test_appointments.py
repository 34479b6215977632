"""Appointments: the office books them; the patient's side lists them and downloads a calendar file."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from icalendar import Calendar
from sqlmodel import select

from carespace_app import routes
from carespace_app.models import Appointment, AuditEvent, OutboxEmail
from carespace_app.services.records import appointments
from carespace_app.services.errors import NotAllowed, ValidationError
from tests.factories import make_practice, revoke_caregiver


@pytest.fixture
def practice(db):
    return make_practice(db)


def book(db, practice, clock, *, patient=None, days=1, hours=0, **changes):
    fields = dict(starts_at=clock() + timedelta(days=days, hours=hours), duration_minutes=30,
                  appointment_type="Office visit", provider="Dr. Anjali Rao",
                  location="Fayetteville Cancer Center, Suite 200",
                  instructions="Bring your medication list.")
    fields.update(changes)
    fields.setdefault("past_confirmed", days < 0)  # the office confirmed a visit in the past
    return appointments.create_appointment(db, practice.staff, (patient or practice.alice).id,
                                           clock=clock, **fields)


def audit_actions(db, **where):
    query = select(AuditEvent)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return [e.action for e in db.exec(query.order_by(AuditEvent.id)).all()]


def test_upcoming_soonest_first_and_past_on_their_own_list(db, clock, practice):
    later = book(db, practice, clock, days=10, appointment_type="Infusion", duration_minutes=240)
    sooner = book(db, practice, clock, days=2)
    cancelled = book(db, practice, clock, days=5)
    appointments.cancel_appointment(db, practice.staff, cancelled, clock=clock)
    long_ago = book(db, practice, clock, days=-30)
    last_week = book(db, practice, clock, days=-7)
    called_off = book(db, practice, clock, days=-3)
    appointments.cancel_appointment(db, practice.staff, called_off, clock=clock)

    upcoming = appointments.upcoming(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [a.id for a in upcoming.items] == [sooner, later]
    infusion = upcoming.items[1]
    assert infusion.ends_at - infusion.starts_at == timedelta(hours=4)
    assert infusion.appointment_type == "Infusion"

    past = appointments.past(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [(a.id, a.status) for a in past.items] == [
        (called_off, "cancelled"), (last_week, "scheduled"), (long_ago, "scheduled")]
    assert audit_actions(db, actor_user_id=practice.alice_user.id) == ["appointments.viewed"] * 2


def test_the_list_pages(db, clock, practice):
    for day in range(1, 26):
        book(db, practice, clock, days=day)
    page = appointments.upcoming(db, practice.alice_user, practice.alice.id, limit=20, clock=clock)
    assert len(page.items) == 20 and page.has_more
    rest = appointments.upcoming(db, practice.alice_user, practice.alice.id, offset=20, clock=clock)
    assert len(rest.items) == 5 and not rest.has_more
    assert rest.items[0].starts_at > page.items[-1].starts_at


def test_another_patient_cannot_see_appointments_or_calendar_files(db, clock, practice):
    bobs = book(db, practice, clock, patient=practice.bob)
    with pytest.raises(NotAllowed):
        appointments.upcoming(db, practice.alice_user, practice.bob.id, clock=clock)
    with pytest.raises(NotAllowed):
        appointments.past(db, practice.alice_user, practice.bob.id, clock=clock)
    with pytest.raises(NotAllowed):
        appointments.ics_for(db, practice.alice_user, bobs, clock=clock)
    # Three refusals in a row: one row that counts them (tests/test_audit_flood.py).
    refused = db.exec(select(AuditEvent).where(AuditEvent.actor_user_id == practice.alice_user.id)).all()
    assert [(e.action, e.repeat_count) for e in refused] == [("access.refused", 3)]
    # An appointment that does not exist: the same refusal, so ids cannot be probed.
    with pytest.raises(NotAllowed) as caught:
        appointments.ics_for(db, practice.alice_user, 999_999, clock=clock)
    assert str(caught.value) == "You don't have access to that."


def test_caregiver_sees_appointments_until_revoked(db, clock, practice):
    visit = book(db, practice, clock)
    assert appointments.upcoming(db, practice.carer, practice.alice.id, clock=clock).items
    appointments.ics_for(db, practice.carer, visit, clock=clock)
    assert "caregiver" in [e.actor_role for e in db.exec(select(AuditEvent)).all()]
    revoke_caregiver(db, practice.alice, practice.carer, at=clock())
    with pytest.raises(NotAllowed):
        appointments.upcoming(db, practice.carer, practice.alice.id, clock=clock)
    with pytest.raises(NotAllowed):
        appointments.ics_for(db, practice.carer, visit, clock=clock)


def test_staff_reads_are_audited_as_staff(db, clock, practice):
    book(db, practice, clock)
    appointments.upcoming(db, practice.staff, practice.alice.id, clock=clock)
    roles = [(e.action, e.actor_role) for e in db.exec(
        select(AuditEvent).where(AuditEvent.actor_user_id == practice.staff.id)).all()]
    assert ("appointments.viewed", "staff") in roles


def test_calendar_file_is_real_icalendar_in_utc(db, clock, practice):
    starts = datetime(2026, 2, 3, 15, 30)  # 9:30 AM in Fayetteville, as stored (UTC)
    visit = book(db, practice, clock, starts_at=starts, duration_minutes=45,
                 appointment_type="Lab services", instructions="No fasting needed.")
    filename, body = appointments.ics_for(db, practice.alice_user, visit, clock=clock)
    assert filename == f"carespace-appointment-{visit}.ics"
    calendar = Calendar.from_ical(body)
    assert str(calendar["PRODID"]) == "-//CareSpace//Patient Portal//EN"
    assert str(calendar["VERSION"]) == "2.0"
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"appointment-{visit}@carespace"
    assert event.decoded("DTSTART") == datetime(2026, 2, 3, 15, 30, tzinfo=timezone.utc)
    assert event.decoded("DTEND") == datetime(2026, 2, 3, 16, 15, tzinfo=timezone.utc)
    assert event.decoded("DTSTAMP") == clock().replace(tzinfo=timezone.utc)
    assert str(event["SUMMARY"]) == "Lab services with Dr. Anjali Rao"
    assert str(event["LOCATION"]) == "Fayetteville Cancer Center, Suite 200"
    assert str(event["DESCRIPTION"]) == "No fasting needed."
    assert b"DTSTART:20260203T153000Z" in body
    assert "appointment.calendar_downloaded" in audit_actions(db, patient_id=practice.alice.id)


def test_only_staff_book_change_or_cancel(db, clock, practice):
    visit = book(db, practice, clock)
    kwargs = dict(starts_at=clock(), duration_minutes=30, appointment_type="Office visit",
                  provider="Dr. Who", location="Anywhere", clock=clock)
    with pytest.raises(NotAllowed):
        appointments.create_appointment(db, practice.alice_user, practice.alice.id, **kwargs)
    with pytest.raises(NotAllowed):
        appointments.update_appointment(db, practice.alice_user, visit, **kwargs)
    with pytest.raises(NotAllowed):
        appointments.cancel_appointment(db, practice.alice_user, visit, clock=clock)
    assert db.get(Appointment, visit).status == "scheduled"


def test_staff_change_and_cancel_are_audited(db, clock, practice):
    visit = book(db, practice, clock)
    new_start = clock() + timedelta(days=3)
    appointments.update_appointment(db, practice.staff, visit, starts_at=new_start,
                                    duration_minutes=60, appointment_type="Imaging",
                                    provider="Dr. Michael Brennan", location="Imaging Center",
                                    clock=clock)
    row = db.get(Appointment, visit)
    assert (row.starts_at, row.duration_minutes, row.appointment_type, row.instructions) == (
        new_start, 60, "Imaging", "")
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)  # a double click
    assert audit_actions(db, patient_id=practice.alice.id) == [
        "appointment.created", "appointment.updated", "appointment.cancelled"]
    with pytest.raises(ValidationError):
        appointments.update_appointment(db, practice.staff, visit, starts_at=new_start,
                                        duration_minutes=60, appointment_type="Imaging",
                                        provider="Dr. Brennan", location="Imaging", clock=clock)


@pytest.mark.parametrize("field,changes", [
    ("appointment_type", {"appointment_type": "Spa day"}),
    ("duration_minutes", {"duration_minutes": 4}),
    ("duration_minutes", {"duration_minutes": 601}),
    ("provider", {"provider": "  "}),
    ("location", {"location": ""}),
    ("location", {"location": "x" * 301}),
    ("starts_at", {"starts_at": "tomorrow"}),
])
def test_booking_rules(db, clock, practice, field, changes):
    with pytest.raises(ValidationError) as refused:
        book(db, practice, clock, **changes)
    assert refused.value.field == field


def test_an_aware_start_time_is_stored_as_utc(db, clock, practice):
    from zoneinfo import ZoneInfo

    local = datetime(2026, 3, 2, 9, 30, tzinfo=ZoneInfo("America/Chicago"))
    visit = book(db, practice, clock, starts_at=local)
    assert db.get(Appointment, visit).starts_at == datetime(2026, 3, 2, 15, 30)


# --- issue 12: appointments people can trust -----------------------------------------


def emails(db):
    return db.exec(select(OutboxEmail).where(OutboxEmail.kind == "appointment_notification")
                   .order_by(OutboxEmail.id)).all()


def test_a_cancelled_visit_stays_in_upcoming_marked_until_its_day_passes(db, clock, practice):
    visit = book(db, practice, clock, days=2)
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)
    shown = appointments.upcoming(db, practice.alice_user, practice.alice.id, clock=clock,
                                  include_cancelled=True)
    assert [(a.id, a.status) for a in shown.items] == [(visit, "cancelled")]
    # Home's "next visits" lists only visits that will happen.
    assert appointments.upcoming(db, practice.alice_user, practice.alice.id, clock=clock).items == []
    clock.advance(days=3)
    assert appointments.upcoming(db, practice.alice_user, practice.alice.id, clock=clock,
                                 include_cancelled=True).items == []
    assert [a.id for a in appointments.past(db, practice.alice_user, practice.alice.id,
                                            clock=clock).items] == [visit]


def test_booking_moving_and_cancelling_email_the_patient_and_caregiver_without_details(
        db, clock, practice):
    starts = datetime(2026, 1, 13, 15, 30)  # Tue, Jan 13 in Chicago; the clock is Jan 5, 2026
    visit = book(db, practice, clock, starts_at=starts, appointment_type="Infusion",
                 provider="Dr. Secretive", location="Oncology Suite 9",
                 instructions="Stop taking warfarin.")
    appointments.update_appointment(db, practice.staff, visit, starts_at=starts + timedelta(days=1),
                                    duration_minutes=30, appointment_type="Infusion",
                                    provider="Dr. Secretive", location="Oncology Suite 9",
                                    instructions="Stop taking warfarin.", clock=clock)
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)
    sent = emails(db)
    recipients = {practice.alice_user.email, practice.carer.email}
    assert [e.to_address for e in sent[:2]] and {e.to_address for e in sent} == recipients
    assert len(sent) == 6  # three changes, two people each
    texts = [e.body_template for e in sent]
    assert "A new appointment on Tue, Jan 13 was booked in your CareSpace portal." in texts[0]
    assert ("A new appointment on Tue, Jan 13 was booked in Alice Moreno's CareSpace portal."
            in texts[1])
    assert "An appointment on Tue, Jan 13 has changed in your CareSpace portal." in texts[2]
    assert "An appointment on Wed, Jan 14 has changed in your CareSpace portal." in texts[4]
    assert all(routes.item_link(routes.APPOINTMENTS) in text for text in texts)
    for email in sent:
        assert email.patient_id == practice.alice.id
        for secret in ("Infusion", "Secretive", "Suite 9", "warfarin"):
            assert secret not in email.body_template and secret not in email.subject
    # A second click on Cancel changes nothing and emails nobody again.
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)
    assert len(emails(db)) == 6


def test_saving_without_a_change_emails_nobody(db, clock, practice):
    starts = clock() + timedelta(days=2)
    visit = book(db, practice, clock, starts_at=starts)
    before = len(emails(db))
    appointments.update_appointment(db, practice.staff, visit, starts_at=starts, duration_minutes=30,
                                    appointment_type="Office visit", provider="Dr. Anjali Rao",
                                    location="Fayetteville Cancer Center, Suite 200",
                                    instructions="Bring your medication list.", clock=clock)
    assert len(emails(db)) == before


def test_a_date_in_the_past_needs_the_office_to_confirm_it(db, clock, practice):
    with pytest.raises(ValidationError) as asked:
        book(db, practice, clock, days=-1, past_confirmed=False)
    assert asked.value.field == appointments.PAST_DATE_FIELD
    assert str(asked.value) == appointments.PAST_DATE_QUESTION
    assert db.exec(select(Appointment)).all() == []
    assert emails(db) == []
    confirmed = book(db, practice, clock, days=-1, past_confirmed=True)
    assert db.get(Appointment, confirmed).starts_at < clock()

    visit = book(db, practice, clock, days=2)
    moved = dict(starts_at=clock() - timedelta(hours=2), duration_minutes=30,
                 appointment_type="Office visit", provider="Dr. Rao", location="Suite 200",
                 clock=clock)
    with pytest.raises(ValidationError) as asked:
        appointments.update_appointment(db, practice.staff, visit, **moved)
    assert asked.value.field == appointments.PAST_DATE_FIELD
    assert db.get(Appointment, visit).starts_at > clock()
    appointments.update_appointment(db, practice.staff, visit, past_confirmed=True, **moved)
    assert db.get(Appointment, visit).starts_at < clock()


def test_calendar_file_reminds_a_day_before(db, clock, practice):
    visit = book(db, practice, clock, days=4)
    _, body = appointments.ics_for(db, practice.alice_user, visit, clock=clock)
    [event] = Calendar.from_ical(body).walk("VEVENT")
    [alarm] = event.walk("VALARM")
    assert str(alarm["ACTION"]) == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(days=-1)
    assert b"TRIGGER:-P1D" in body
    appointments.cancel_appointment(db, practice.staff, visit, clock=clock)
    _, body = appointments.ics_for(db, practice.alice_user, visit, clock=clock)
    assert b"VALARM" not in body  # no reminder for a visit that will not happen
