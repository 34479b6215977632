"""Admin › a patient's symptom check-ins: enrol, change, stop; the latest at a glance; the
history on request (issue #15). The patient is the page's ``?id=``, handed to services
that check the staff role and audit."""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Optional

import reflex as rx

from carespace_app import timefmt
from carespace_app.clock import utcnow
from carespace_app.services.errors import ValidationError
from carespace_app.services.records import checkin_schedule, checkins, symptoms
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.checkin import (HistoryRow, SymptomChoice, show_history, show_symptom,
                                         who_answered)
from carespace_app.state.session import form_errors

FIELDS = ("every_days", "starts_on", "ends_on", "symptoms")
STARTED = "Check-ins started. {next}"
CHANGED = "Changes saved. {next}"
STOPPED = "Check-ins stopped. What was answered stays in the history."
NEXT = "The next check-in opens {when}."
OPEN_NOW = "The first check-in is open now: the patient has been emailed."
NO_MORE = "No more check-ins are scheduled."


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


@dataclasses.dataclass
class SymptomToggle:
    key: str = ""
    name: str = ""
    on: bool = True


@dataclasses.dataclass
class GradeRow:
    name: str = ""
    answer: str = ""
    severe: bool = False  # 3 or more, or a yes to fever: shown in red with words


def _date(value, label: str, field: str, required: bool) -> Optional[date]:
    text = str(value or "").strip()
    if not text:
        if required:
            raise ValidationError(f"Enter the {label}.", field=field)
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"Enter the {label} as a date.", field=field) from None


def _plan_input(form: dict) -> dict:
    try:
        every = int(str(form.get("every_days", "")))
    except ValueError:
        every = 0
    return dict(every_days=every,
                starts_on=_date(form.get("starts_on"), "first check-in's date", "starts_on", True),
                ends_on=_date(form.get("ends_on"), "end date", "ends_on", False),
                keys=[k for k in symptoms.DEFAULT_KEYS if form.get(f"symptom_{k}") in ("on", True, "true")])


class AdminCheckinsState(AdminState):
    enrolled: bool = False
    summary: str = ""
    next_text: str = ""
    every_days: str = "7"
    starts_on: str = ""
    ends_on: str = ""
    toggles: list[SymptomToggle] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    saved_note: str = ""
    saving: bool = False
    form_version: int = 0
    # The latest answered check-in, at a glance.
    latest_when: str = ""
    latest_who: str = ""
    latest: list[GradeRow] = []
    # The history, read when asked for (the read is audited).
    history_open: bool = False
    history_empty: bool = False
    history_choices: list[SymptomChoice] = []
    history_symptom: str = ""
    history_name: str = ""
    history_rows: list[HistoryRow] = []
    chart_data: list[dict[str, str | float]] = []
    chart_ticks: list[float] = []
    _history: list[dict] = []

    def _patient_id(self) -> Optional[int]:
        return int_or_none(self._page_param("id"))

    def _read(self):
        patient_id = self._patient_id()
        if patient_id is None:
            return lambda db, v: None

        def read(db, v):
            return (checkins.plan_for(db, v.user, patient_id, clock=utcnow),
                    checkins.latest_for_staff(db, v.user, patient_id, clock=utcnow))
        return read

    def _show(self, got) -> None:
        if not got.ok or got.value is None:
            return
        plan, latest = got.value
        now = utcnow()
        self.enrolled = plan is not None
        chosen = set(plan.symptoms) if plan else set(symptoms.DEFAULT_KEYS)
        self.toggles = [SymptomToggle(key=s.key, name=s.name, on=s.key in chosen)
                        for s in symptoms.SYMPTOMS]
        if plan is not None:
            self.summary = plan.summary
            self.every_days = str(plan.every_days)
            self.starts_on = plan.starts_on.isoformat()
            self.ends_on = plan.ends_on.isoformat() if plan.ends_on else ""
            self.next_text = (NEXT.format(when=timefmt.when(plan.next_opens_at, now=now))
                              if plan.next_opens_at else NO_MORE)
        else:
            self.summary, self.next_text, self.ends_on = "", "", ""
            self.every_days = "7"
            self.starts_on = timefmt.to_local(now).date().isoformat()
        if latest is None:
            self.latest_when, self.latest_who, self.latest = "", "", []
        else:
            self.latest_when = timefmt.when(latest.submitted_at, now=now)
            self.latest_who = who_answered(latest)
            self.latest = [
                GradeRow(name=s.name, answer=s.answer(latest.grades[s.key]),
                         severe=s.severe(latest.grades[s.key]))
                for s in symptoms.SYMPTOMS if s.key in latest.grades]

    async def _refresh(self) -> None:
        self._show(await self._office(self._read(), what="check-ins"))

    async def load(self):
        # Part of the patient's page, whose own load (AdminPatientState) fills the header.
        got = await self._office(self._read(), what="check-ins")
        if got.left:
            return
        self.errors, self.form_error, self.saved_note, self.saving = _blank(), "", "", False
        self.history_open, self._history = False, []
        self._show(got)

    @rx.event
    async def save_plan(self, form: dict):
        if self.saving or not isinstance(form, dict):
            return
        patient_id = self._patient_id()
        was_enrolled = self.enrolled
        self.saving = True
        yield

        def save(db, v):
            return checkins.enrol(db, v.user, patient_id, **_plan_input(form), clock=utcnow)

        got = await self._office(save, what="save check-ins")
        self.saving = False
        if got.left:
            return
        self.errors, self.form_error = form_errors(got, _blank())
        self.saved_note = ""
        if not got.ok:
            return
        plan = got.value
        now = utcnow()
        coming = (NEXT.format(when=timefmt.when(plan.next_opens_at, now=now))
                  if plan.next_opens_at else NO_MORE)
        if not was_enrolled and plan.starts_on == timefmt.to_local(now).date():
            coming = OPEN_NOW
        self.saved_note = (CHANGED if was_enrolled else STARTED).format(next=coming)
        self.form_version += 1
        await self._refresh()

    async def stop_plan(self):
        patient_id = self._patient_id()
        got = await self._office(lambda db, v: checkins.stop(db, v.user, patient_id, clock=utcnow),
                                 what="stop check-ins")
        if got.left:
            return
        if not got.ok:
            return self._flash("error", got.error)
        self.saved_note = STOPPED
        self.form_version += 1
        await self._refresh()

    async def show_history(self):
        patient_id = self._patient_id()
        if patient_id is None:
            return
        got = await self._office(lambda db, v: checkins.history(db, v.user, patient_id,
                                                                clock=utcnow),
                                 what="check-in history")
        if got.left:
            return
        if not got.ok:
            return self._flash("error", got.error)
        show_history(self, got.value)
        self.history_open = True

    async def hide_history(self):
        if (await self._office()).left:  # an office page: staff only, like every handler
            return
        self.history_open = False

    async def show_symptom(self, key: str):
        if (await self._office()).left:
            return
        show_symptom(self, key)


INTERVAL_CHOICES = [(str(days), words) for days, words in checkin_schedule.INTERVAL_WORDS.items()]
