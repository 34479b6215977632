"""Appointments: the office books them, patients see them and add them to a calendar.

Times are stored as naive UTC; the pages show them in the practice's time zone and
the calendar file carries them in UTC, which every calendar app converts itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from icalendar import Alarm, Calendar, Event
from sqlmodel import Session, select

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import Clock
from carespace_app.i18n import N_, OFFICE_
from carespace_app.models import (
    APPOINTMENT_CANCELLED,
    APPOINTMENT_SCHEDULED,
    APPOINTMENT_TYPES,
    Appointment,
    Patient,
)
from carespace_app.services import paging
from carespace_app.services.permissions import access, scopes
from carespace_app.services.audit import trail
from carespace_app.services.mail import notifications
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.text_rules import check_text
from carespace_app.services.records.messaging import audit_role
from carespace_app.policy import REMINDER_BEFORE

MIN_DURATION = 5
MAX_DURATION = 600  # ten hours: the longest infusion day
PROVIDER_MAX = 200
LOCATION_MAX = 300
INSTRUCTIONS_MAX = 2000
PRODID = "-//CareSpace//Patient Portal//EN"
PAST_DATE_FIELD = "past_date"
PAST_DATE_QUESTION = OFFICE_("This date is in the past. Book it anyway, or change the date?")

# What the patient (and their caregivers) are told by email: only that a visit on a
# day changed, never its type, provider, place or instructions. The same words serve the
# patient and a caregiver ("… in Rosa Alvarez's CareSpace portal"), see notifications.py.
BOOKED_SENTENCE = N_("A new appointment on {day} was booked")
CHANGED_SENTENCE = N_("An appointment on {day} has changed")

# APPOINTMENT_TYPES as the patient reads them (pages and the calendar file): the stored
# value is the English word, shown through the catalogue in the person's language.
TYPE_WORDS = (N_("Office visit"), N_("Lab services"), N_("Infusion"), N_("Imaging"),
              N_("Telehealth"), N_("Other"))
# The calendar file's event, in the language of the person who downloads it.
CALENDAR_SUMMARY = N_("{type} with {provider}")


def type_in_words(appointment_type: str, lang: str) -> str:
    """An appointment's type in ``lang`` (a type the catalogue lacks reads as stored)."""
    return i18n.gettext(lang, appointment_type)


@dataclass
class AppointmentView:
    id: int
    patient_id: int
    starts_at: datetime
    ends_at: datetime
    appointment_type: str
    provider: str
    location: str
    instructions: str
    status: str


def _view(a: Appointment) -> AppointmentView:
    return AppointmentView(id=a.id, patient_id=a.patient_id, starts_at=a.starts_at,
                           ends_at=a.starts_at + timedelta(minutes=a.duration_minutes),
                           appointment_type=a.appointment_type, provider=a.provider,
                           location=a.location, instructions=a.instructions or "", status=a.status)


# --- what the patient sees -------------------------------------------------------------


def _list(db: Session, actor, patient_id: int, *, upcoming_ones: bool, offset: int, limit: int,
          clock: Clock, include_cancelled: bool = False) -> paging.Page[AppointmentView]:
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_APPOINTMENTS, action="appointments.view", clock=clock)
    offset, limit = paging.clamp(offset, limit)
    now = clock()
    query = select(Appointment).where(Appointment.patient_id == patient_id)
    if upcoming_ones:
        # The Appointments pages keep a cancelled visit in view (marked Cancelled) until
        # its day has passed, so it does not silently vanish; Home lists only real visits.
        query = query.where(Appointment.starts_at >= now)
        if not include_cancelled:
            query = query.where(Appointment.status == APPOINTMENT_SCHEDULED)
        query = query.order_by(Appointment.starts_at, Appointment.id)
    else:
        query = (query.where(Appointment.starts_at < now)
                 .order_by(Appointment.starts_at.desc(), Appointment.id.desc()))
    rows = db.exec(query.offset(offset).limit(limit + 1)).all()
    trail.record(db, "appointments.viewed", actor=actor, role=audit_role(actor, relation),
                 patient_id=patient_id, detail="upcoming" if upcoming_ones else "past", clock=clock)
    return paging.page_of([_view(a) for a in rows], offset, limit)


def upcoming(db: Session, actor, patient_id: int, *, offset: int = 0, limit: int = 20,
             clock: Clock, include_cancelled: bool = False) -> paging.Page[AppointmentView]:
    """Scheduled visits from now on, soonest first (cancelled ones too if asked)."""
    return _list(db, actor, patient_id, upcoming_ones=True, offset=offset, limit=limit, clock=clock,
                 include_cancelled=include_cancelled)


def past(db: Session, actor, patient_id: int, *, offset: int = 0, limit: int = 20,
         clock: Clock) -> paging.Page[AppointmentView]:
    """Earlier visits, latest first; cancelled ones stay listed with their status."""
    return _list(db, actor, patient_id, upcoming_ones=False, offset=offset, limit=limit, clock=clock)


# --- what the office does ----------------------------------------------------------------


def _required(value, field: str, label: str, limit: int) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValidationError(OFFICE_(f"Enter the {label}."), field=field)
    if len(text) > limit:
        raise ValidationError(OFFICE_(f"The {label} can be at most {limit} characters."), field=field)
    return text


def _validated(starts_at, duration_minutes, appointment_type, provider, location,
               instructions) -> dict:
    provider = check_text(provider, field="provider", label=OFFICE_("provider's name"), single_line=True)
    location = check_text(location, field="location", label="location", single_line=True)
    instructions = check_text(instructions, field="instructions", label="instructions",
                              single_line=False)
    if not isinstance(starts_at, datetime):
        raise ValidationError(OFFICE_("Enter the date and time of the appointment."), field="starts_at")
    if starts_at.tzinfo is not None:  # stored as naive UTC, whatever the caller passed
        starts_at = starts_at.astimezone(timezone.utc).replace(tzinfo=None)
    if not 2000 <= starts_at.year <= 2100:
        raise ValidationError(OFFICE_("Check the year of the appointment."), field="starts_at")
    if isinstance(duration_minutes, bool) or not isinstance(duration_minutes, int) \
            or not MIN_DURATION <= duration_minutes <= MAX_DURATION:
        raise ValidationError(
            OFFICE_(f"Enter a length between {MIN_DURATION} and {MAX_DURATION} minutes."),
            field="duration_minutes")
    if appointment_type not in APPOINTMENT_TYPES:
        raise ValidationError(OFFICE_("Choose the type of appointment."), field="appointment_type")
    instructions = instructions.strip() if isinstance(instructions, str) else ""
    if len(instructions) > INSTRUCTIONS_MAX:
        raise ValidationError(OFFICE_(f"Instructions can be at most {INSTRUCTIONS_MAX} characters."),
                              field="instructions")
    return dict(
        starts_at=starts_at,
        duration_minutes=duration_minutes,
        appointment_type=appointment_type,
        provider=_required(provider, "provider", OFFICE_("provider's name"), PROVIDER_MAX),
        location=_required(location, "location", "location", LOCATION_MAX),
        instructions=instructions,
    )


def _check_not_past(starts_at: datetime, past_confirmed: bool, clock: Clock) -> None:
    if starts_at < clock() and past_confirmed is not True:
        raise ValidationError(PAST_DATE_QUESTION, field=PAST_DATE_FIELD)


def _notify(db: Session, patient_id: int, sentence: str, starts_at: datetime, *,
            clock: Clock) -> None:
    """One sentence with the day only, to whoever hears about new messages."""
    now = clock()
    notifications.tell_patient_side(
        db, patient_id, news=sentence,
        news_params={"day": lambda lang: timefmt.day(starts_at, now=now, lang=lang)},
        path=routes.APPOINTMENTS, kind=notifications.APPOINTMENT_KIND, clock=clock)


def _appointment(db: Session, appointment_id: int) -> Appointment:
    found = db.get(Appointment, appointment_id) if isinstance(appointment_id, int) else None
    if found is None:
        raise NotFound(OFFICE_("That appointment was not found."))
    return found


def create_appointment(db: Session, actor, patient_id: int, *, starts_at: datetime,
                       duration_minutes: int, appointment_type: str, provider: str, location: str,
                       instructions: str = "", past_confirmed: bool = False,
                       clock: Clock) -> int:
    """A visit in the past is booked only when the office confirmed it (``past_confirmed``)."""
    access.require_staff(db, actor, action="appointment.create", clock=clock)
    if db.get(Patient, patient_id) is None:
        raise NotFound(OFFICE_("That patient was not found."))
    fields = _validated(starts_at, duration_minutes, appointment_type, provider, location,
                        instructions)
    _check_not_past(fields["starts_at"], past_confirmed, clock)
    now = clock()
    appointment = Appointment(patient_id=patient_id, status=APPOINTMENT_SCHEDULED,
                              created_by_user_id=actor.id, created_at=now, updated_at=now, **fields)
    db.add(appointment)
    db.flush()
    appointment_id = appointment.id
    trail.record(db, "appointment.created", actor=actor, patient_id=patient_id,
                 detail=f"appointment {appointment_id}", clock=clock)
    _notify(db, patient_id, BOOKED_SENTENCE, fields["starts_at"], clock=clock)
    return appointment_id


def update_appointment(db: Session, actor, appointment_id: int, *, starts_at: datetime,
                       duration_minutes: int, appointment_type: str, provider: str, location: str,
                       instructions: str = "", past_confirmed: bool = False,
                       clock: Clock) -> None:
    """Moving a visit into the past needs ``past_confirmed``, as booking one does."""
    access.require_staff(db, actor, action="appointment.update", clock=clock)
    appointment = _appointment(db, appointment_id)
    if appointment.status == APPOINTMENT_CANCELLED:
        raise ValidationError(OFFICE_("This appointment was cancelled. Create a new appointment instead."))
    fields = _validated(starts_at, duration_minutes, appointment_type, provider, location,
                        instructions)
    if fields["starts_at"] != appointment.starts_at:
        _check_not_past(fields["starts_at"], past_confirmed, clock)
    was = appointment.starts_at
    changed = sorted(name for name, value in fields.items() if getattr(appointment, name) != value)
    for name, value in fields.items():
        setattr(appointment, name, value)
    appointment.updated_at = clock()
    db.add(appointment)
    trail.record(db, "appointment.updated", actor=actor, patient_id=appointment.patient_id,
                 detail=f"appointment {appointment.id}: {', '.join(changed) or 'no change'}",
                 clock=clock)
    if changed:
        _notify(db, appointment.patient_id, CHANGED_SENTENCE, was, clock=clock)


def cancel_appointment(db: Session, actor, appointment_id: int, *, clock: Clock) -> None:
    access.require_staff(db, actor, action="appointment.cancel", clock=clock)
    appointment = _appointment(db, appointment_id)
    if appointment.status == APPOINTMENT_CANCELLED:
        return  # a second click changes nothing
    appointment.status = APPOINTMENT_CANCELLED
    appointment.updated_at = clock()
    db.add(appointment)
    trail.record(db, "appointment.cancelled", actor=actor, patient_id=appointment.patient_id,
                 detail=f"appointment {appointment.id}", clock=clock)
    _notify(db, appointment.patient_id, CHANGED_SENTENCE, appointment.starts_at, clock=clock)


# --- the calendar file -------------------------------------------------------------------


def _utc(naive_utc: datetime) -> datetime:
    return naive_utc.replace(tzinfo=timezone.utc)


def ics_for(db: Session, actor, appointment_id: int, *, clock: Clock) -> tuple[str, bytes]:
    """(filename, iCalendar bytes) for "Add to calendar"."""
    appointment = db.get(Appointment, appointment_id) if isinstance(appointment_id, int) else None
    if appointment is None:
        # The same refusal as someone else's appointment: ids cannot be probed.
        raise access.refuse_unknown(db, actor, action="appointment.calendar",
                                    what=f"appointment {appointment_id!r}", clock=clock)
    relation = access.require_access(db, actor, appointment.patient_id, area=scopes.AREA_APPOINTMENTS,
                                     action="appointment.calendar", clock=clock)
    view = _view(appointment)
    lang = i18n.normalize(getattr(actor, "language", None))
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    event = Event()
    event.add("uid", f"appointment-{view.id}@carespace")
    event.add("dtstamp", _utc(clock()))
    event.add("dtstart", _utc(view.starts_at))
    event.add("dtend", _utc(view.ends_at))
    event.add("summary", i18n.fmt(lang, CALENDAR_SUMMARY,
                                  type=type_in_words(view.appointment_type, lang),
                                  provider=view.provider))
    event.add("location", view.location)
    if view.instructions:
        event.add("description", view.instructions)
    event.add("status", "CANCELLED" if view.status == APPOINTMENT_CANCELLED else "CONFIRMED")
    if view.status != APPOINTMENT_CANCELLED:
        reminder = Alarm()
        reminder.add("action", "DISPLAY")
        reminder.add("description", event["summary"])
        reminder.add("trigger", -REMINDER_BEFORE)
        event.add_component(reminder)
    calendar.add_component(event)
    trail.record(db, "appointment.calendar_downloaded", actor=actor,
                 role=audit_role(actor, relation), patient_id=view.patient_id,
                 detail=f"appointment {view.id}", clock=clock)
    return f"carespace-appointment-{view.id}.ics", calendar.to_ical()
