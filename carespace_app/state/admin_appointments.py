"""Admin › a patient's appointments: book, change, cancel.

The office types times on the practice's clock; they are stored as naive UTC
(timefmt.to_utc_naive), and shown back on the practice's clock.
"""
from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Optional

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.models import APPOINTMENT_CANCELLED, APPOINTMENT_TYPES
from carespace_app.services.records import appointments
from carespace_app.services.errors import ValidationError
from carespace_app.timefmt import to_local, to_utc_naive, when
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.session import form_errors

FIELDS = ("appointment_type", "provider", "location", "starts_at", "duration_minutes", "instructions")


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


def _start_from_form(form: dict) -> Optional[datetime]:
    try:
        local = datetime.fromisoformat(f"{form.get('start_date', '')}T{form.get('start_time', '')}")
    except ValueError:
        return None
    return to_utc_naive(local)


def _values(form: dict) -> dict:
    starts_at = _start_from_form(form)
    if starts_at is None:
        raise ValidationError("Enter the date and time of the appointment.", field="starts_at")
    duration = int_or_none(form.get("duration_minutes", ""))
    return dict(starts_at=starts_at, duration_minutes=duration if duration is not None else -1,
                # Present only once the office answered "Book it anyway".
                past_confirmed=form.get("confirm_past") == "yes",
                appointment_type=str(form.get("appointment_type", "")),
                provider=str(form.get("provider", "")), location=str(form.get("location", "")),
                instructions=str(form.get("instructions", "")))


def _status(a) -> str:
    if a.status == APPOINTMENT_CANCELLED:
        return "Cancelled"
    return "Past" if a.starts_at < utcnow() else "Scheduled"


@dataclasses.dataclass
class OfficeAppointmentRow:
    id: str = ""
    when: str = ""
    type: str = ""
    provider: str = ""
    location: str = ""
    instructions: str = ""
    status: str = ""
    can_change: bool = False
    duration: str = ""
    # The start on the practice's clock, as the edit form's date and time fields take it.
    date: str = ""
    time: str = ""


def _row(a) -> OfficeAppointmentRow:
    local, status = to_local(a.starts_at), _status(a)
    return OfficeAppointmentRow(
        id=str(a.id), when=when(a.starts_at), type=a.appointment_type, provider=a.provider,
        location=a.location, instructions=a.instructions, status=status,
        can_change=status == "Scheduled",
        duration=str(int((a.ends_at - a.starts_at).total_seconds() // 60)),
        date=local.strftime("%Y-%m-%d"), time=local.strftime("%H:%M"))


class AdminAppointmentsState(AdminState):
    upcoming: list[OfficeAppointmentRow] = []
    past: list[OfficeAppointmentRow] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    # The appointment the edit form shows; None while no form is open.
    editing: Optional[OfficeAppointmentRow] = None
    form_version: int = 0
    types: list[str] = list(APPOINTMENT_TYPES)
    # Which form ("new_" or "edit_") is asking "This date is in the past…"; "" for none.
    past_question: str = ""
    past_question_text: str = ""
    busy: bool = False

    def _patient_id(self) -> Optional[int]:
        return int_or_none(self._page_param("id"))

    def _read(self):
        patient_id = self._patient_id()
        if patient_id is None:
            return lambda db, v: None

        def read(db, v):
            soon = appointments.upcoming(db, v.user, patient_id, limit=50, clock=utcnow,
                                         include_cancelled=True).items
            before = appointments.past(db, v.user, patient_id, limit=20, clock=utcnow).items
            return soon, before
        return read

    def _show(self, got) -> None:
        if got.ok and got.value is not None:
            self.upcoming = [_row(a) for a in got.value[0]]
            self.past = [_row(a) for a in got.value[1]]

    async def _refresh(self) -> None:
        self._show(await self._office(self._read(), what="appointments"))

    async def load(self):
        # Part of the patient's page, whose own load (AdminPatientState) fills the header.
        got = await self._office(self._read(), what="appointments")
        if got.left:
            return
        self.errors, self.form_error, self.editing = _blank(), "", None
        self.past_question = ""
        self.busy = False
        self._show(got)

    def _show_error(self, outcome, prefix: str) -> None:
        self.errors, self.form_error = _blank(), ""
        self.past_question = prefix if outcome.field == appointments.PAST_DATE_FIELD else ""
        self.past_question_text = outcome.error if self.past_question else ""
        if not self.past_question:
            self.errors, self.form_error = form_errors(outcome, _blank())

    @rx.event
    async def create_appointment(self, form: dict):
        if self.busy:
            return
        patient_id = self._patient_id()
        self.busy = True
        yield
        made = await self._office(lambda db, v: appointments.create_appointment(
            db, v.user, patient_id, **_values(form), clock=utcnow), what="book appointment")
        self.busy = False
        if made.left:
            return
        if not made.ok:
            self._show_error(made, "new_")
            return
        self.errors, self.form_error, self.past_question = _blank(), "", ""
        self.form_version += 1
        await self._refresh()
        self._flash("success", "Appointment booked.")

    async def start_edit(self, appointment_id: str):
        got = await self._office()
        if got.left:
            return
        found = next((a for a in self.upcoming + self.past if a.id == str(appointment_id)), None)
        self.editing = dataclasses.replace(found) if found else None
        self.errors, self.form_error, self.past_question = _blank(), "", ""
        self.form_version += 1

    async def stop_edit(self):
        got = await self._office()
        if got.left:
            return
        self.editing, self.past_question = None, ""
        self.form_version += 1

    async def change_the_date(self):
        """ "Change the date": the question goes; what was typed stays in the form."""
        got = await self._office()
        if got.left:
            return
        self.past_question = ""

    @rx.event
    async def save_appointment(self, form: dict):
        if self.busy:
            return
        wanted = int_or_none(self.editing.id if self.editing else "")
        self.busy = True
        yield
        saved = await self._office(lambda db, v: appointments.update_appointment(
            db, v.user, wanted, **_values(form), clock=utcnow), what="change appointment")
        self.busy = False
        if saved.left:
            return
        if not saved.ok:
            self._show_error(saved, "edit_")
            return
        self.editing, self.errors, self.form_error, self.past_question = None, _blank(), "", ""
        self.form_version += 1
        await self._refresh()
        self._flash("success", "Appointment changed.")

    async def cancel_appointment(self, appointment_id: str):
        wanted = int_or_none(appointment_id)
        done = await self._office(lambda db, v: appointments.cancel_appointment(
            db, v.user, wanted, clock=utcnow), what="cancel appointment")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", "Appointment cancelled.")
