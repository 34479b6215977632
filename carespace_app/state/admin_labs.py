"""Admin › a patient's lab reports: enter a report with its results, correct a value.

The flag (high, low, critical) is computed by the service from the reference
range; the page shows it after saving, never asks the office to type it.
"""
from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.services.records import labs, result_release
from carespace_app.services.errors import ValidationError
from carespace_app.timefmt import to_utc_naive, when
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.session import form_errors

FIRST_ROWS = 3
MAX_ROWS = 40
FIELDS = ("panel", "collected_at", "resulted_at", "ordering_provider", "results", "category",
          "hold_reason", "hold_note", "hold_release_on")
SAVED = "Lab report saved. The flags below were worked out from the reference ranges."
SAVED_HELD = ("Lab report saved and held: the patient sees only that a result is waiting, "
              "until it is reviewed or released.")
REVIEWED = "Marked reviewed. The patient can see it now and is told by email."
REVIEWED_ALREADY_SHOWN = "Marked reviewed."
RELEASED = "Released. The patient can see it now and is told by email."


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


def _number(text, label: str, required: bool = False) -> Optional[float]:
    text = str(text or "").strip()
    if not text:
        if required:
            raise ValidationError(f"{label}: enter the value as a number.", field="results")
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValidationError(f"{label}: {text!r} is not a number.", field="results") from None
    if not math.isfinite(value):
        raise ValidationError(f"{label}: {text!r} is not a number.", field="results")
    return value


def _when(form: dict, name: str, label: str) -> datetime:
    try:
        return to_utc_naive(datetime.fromisoformat(str(form.get(name, ""))))
    except ValueError:
        raise ValidationError(f"Enter the {label} date and time.", field=name) from None


def _results(form: dict, rows: list[int]) -> list[labs.ResultInput]:
    found = []
    for n, row in enumerate(rows, start=1):
        name = str(form.get(f"test_{row}", "")).strip()
        value = str(form.get(f"value_{row}", "")).strip()
        if not name and not value:
            continue  # a spare empty row is not an error
        label = f"Result {n}"
        # The value goes as typed: the service keeps its text ("1.0") next to the number.
        found.append(labs.ResultInput(
            test_name=name, value=value,
            unit=str(form.get(f"unit_{row}", "")),
            ref_low=_number(form.get(f"low_{row}"), f"{label} reference low"),
            ref_high=_number(form.get(f"high_{row}"), f"{label} reference high"),
            critical_low=_number(form.get(f"critical_low_{row}"), f"{label} critical low"),
            critical_high=_number(form.get(f"critical_high_{row}"), f"{label} critical high"),
            loinc=str(form.get(f"loinc_{row}", ""))))
    return found


def _hold(form: dict) -> Optional[result_release.ClinicianHold]:
    """The clinician's hold, when "Hold this report" is ticked."""
    if str(form.get("hold", "")).lower() not in ("on", "true", "1"):
        return None
    try:
        release_on = date.fromisoformat(str(form.get("hold_release_on", "")))
    except ValueError:
        release_on = None
    return result_release.ClinicianHold(reason=str(form.get("hold_reason", "")),
                                        note=str(form.get("hold_note", "")),
                                        release_on=release_on)


@dataclass
class ResultRow:
    id: str = ""
    test: str = ""
    value: str = ""
    unit: str = ""
    # The reference range in words ("3.5 – 5.0").
    reference: str = ""
    flag: str = ""
    abnormal: bool = False
    critical: bool = False
    corrected: bool = False


@dataclass
class ReportRow:
    id: str
    panel: str
    collected: str
    resulted: str
    provider: str
    results: list[ResultRow]
    category: str = ""
    held: bool = False
    reviewed: bool = False
    release_status: str = ""


def _report(r) -> ReportRow:
    return ReportRow(
        id=str(r.id), panel=r.panel, collected=when(r.collected_at), resulted=when(r.resulted_at),
        provider=r.ordering_provider, category=r.category, held=r.held, reviewed=r.reviewed,
        release_status=r.release_status,
        results=[ResultRow(id=str(x.id), test=x.test_name, value=x.value_text, unit=x.unit,
                           reference=x.reference_text, flag=x.flag_label,
                           abnormal=x.flag != "normal", critical=x.critical,
                           corrected=x.corrected) for x in r.results])


class AdminLabsState(AdminState):
    reports: list[ReportRow] = []
    rows: list[int] = list(range(FIRST_ROWS))
    errors: dict[str, str] = _blank()
    form_error: str = ""
    form_version: int = 0
    # The form's idempotency key (a hidden field): a double tap or a retry of one filled-in
    # form sends the same key, and the service stores that report once.
    form_key: str = ""
    saving: bool = False
    hold_open: bool = False  # "Hold this report" ticked: its reason, note and date show
    _last_saved: int = 0

    def _patient_id(self) -> Optional[int]:
        return int_or_none(self._page_param("id"))

    def _read(self):
        patient_id = self._patient_id()
        if patient_id is None:
            return lambda db, v: None
        return lambda db, v: labs.list_reports(db, v.user, patient_id, limit=20, clock=utcnow,
                                               office=True).items

    def _show(self, got) -> None:
        if got.ok and got.value is not None:
            self.reports = [_report(r) for r in got.value]

    async def _refresh(self) -> None:
        self._show(await self._office(self._read(), what="lab reports"))

    async def load(self):
        # Part of the patient's page, whose own load (AdminPatientState) fills the header.
        got = await self._office(self._read(), what="lab reports")
        if got.left:
            return
        self.rows, self.errors, self.form_error = list(range(FIRST_ROWS)), _blank(), ""
        self.form_key, self.saving, self.hold_open = uuid.uuid4().hex, False, False
        self._show(got)

    async def add_result_row(self):
        got = await self._office()
        if got.left:
            return
        if len(self.rows) < MAX_ROWS:
            self.rows = self.rows + [max(self.rows, default=-1) + 1]

    @rx.event
    async def enter_report(self, form: dict):
        patient_id, rows = self._patient_id(), list(self.rows)
        key = str(form.get("form_key", ""))[:labs.CLIENT_KEY_MAX]

        def enter(db, v):
            return labs.enter_report(
                db, v.user, patient_id, panel=str(form.get("panel", "")),
                collected_at=_when(form, "collected_at", "collection"),
                resulted_at=_when(form, "resulted_at", "result"),
                ordering_provider=str(form.get("ordering_provider", "")),
                results=_results(form, rows), clock=utcnow, client_key=key or None,
                category=str(form.get("category") or result_release.DEFAULT_CATEGORY),
                hold=_hold(form))

        self.saving = True
        yield
        made = await self._office(enter, what="enter lab report")
        self.saving = False
        if made.left:
            return
        self.errors, self.form_error = form_errors(made, _blank())
        if not made.ok:
            return
        if made.value == self._last_saved:
            return  # the second tap of a double tap: that report was saved and said so
        self._last_saved = made.value
        self.rows = list(range(FIRST_ROWS))
        self.form_version += 1
        self.form_key = uuid.uuid4().hex
        held = self.hold_open
        self.hold_open = False
        await self._refresh()
        saved = next((r for r in self.reports if r.id == str(made.value)), None)
        yield self._flash("success", SAVED_HELD if (saved.held if saved else held) else SAVED)

    async def choose_hold(self, value: bool):
        if (await self._office()).left:
            return
        self.hold_open = value is True

    async def mark_reviewed(self, report_id: str):
        wanted = int_or_none(report_id)
        done = await self._office(lambda db, v: result_release.mark_reviewed(
            db, v.user, wanted, clock=utcnow), what="mark lab report reviewed")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", REVIEWED if done.value else REVIEWED_ALREADY_SHOWN)

    async def release_now(self, report_id: str):
        wanted = int_or_none(report_id)
        done = await self._office(lambda db, v: result_release.release_now(
            db, v.user, wanted, clock=utcnow), what="release lab report")
        if done.left:
            return
        if not done.ok:
            await self._refresh()
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", RELEASED)

    async def correct_result(self, form: dict):
        wanted = int_or_none(form.get("result_id", ""))

        def correct(db, v):
            labs.correct_result(db, v.user, wanted, value=str(form.get("value", "")),
                                clock=utcnow)

        done = await self._office(correct, what="correct lab value")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", "Value corrected. The earlier value is kept in the audit log.")
