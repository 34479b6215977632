"""When a lab report reaches the patient's side (issue #16), following the Cures Act.

- **Immediate by default.** A report is shown when the office enters it, with the
  PHI-free "new results" email.
- **The patient may choose to wait**, per category (``RESULT_CATEGORIES``): held until
  the care team has reviewed it, at most the number of days they chose
  (1..policy.RESULT_HOLD_MAX_DAYS). Only the patient sets it, for their own record: this
  is the individual-request path of the information-blocking rule. There is no
  practice-wide delay, and nothing here takes one: staff and caregivers are refused.
- **A clinician hold** on one report: a reason from ``CLINICIAN_HOLD_REASONS``, free text,
  and a release date at most policy.RESULT_HOLD_MAX_DAYS away.
- **Release** happens once: "Mark reviewed", "Release now", or by itself at its date
  (on the next read of the patient's labs, or by the sweep in jobs.py). The release is a
  conditional UPDATE (``released_at IS NULL``): of two workers releasing the same report,
  one changes the row and sends the email; the other changes nothing and sends nothing.

While held, the patient's side sees only that a result exists and by when it will appear
(``held_lines``); the lab list, a report's page, the history, the chart and the record
download read released reports only.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Optional

from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app import i18n, policy, routes, timefmt
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import (
    HOLD_CLINICIAN,
    HOLD_PATIENT,
    RESULT_CATEGORIES,
    LabReport,
    ResultHoldChoice,
)
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.mail import notifications
from carespace_app.services.permissions import access

DEFAULT_CATEGORY = RESULT_CATEGORIES[-1]  # "Other labs"
CLINICIAN_HOLD_REASONS = (
    N_("To discuss in person first"),
    N_("Waiting for related results"),
    N_("Needs a clinician's review"),
    N_("Other"),
)
HOLD_NOTE_MAX = 500
SUGGESTED_DAYS = 7  # what the "at most" list shows first when a patient chooses to wait
# The notification says only that results are in (no test, no value): notifications.py
# adds whose portal it is and the link to the report.
RESULTS_NEWS = N_("New lab results are ready to view")


def report_link(report_id: int) -> str:
    """The portal path that opens one report (emails link to it; reload keeps it)."""
    return f"{routes.LABS}?report={report_id}"


# --- what people read -----------------------------------------------------------------

CHOICE_NOW = N_("Show me new results right away")
CHOICE_HOLD = N_("Hold them until my care team has reviewed them, at most {days}")
CHOICE_HOLD_SHORT = N_("Hold them until my care team has reviewed them")
CHOICE_DAYS_LABEL = N_("At most")
CHOICES_EXPLAINED = N_(
    "New results appear in CareSpace as soon as the office enters them, and you get an email. "
    "Some people prefer to hear difficult news from their care team first: for each kind of "
    "result you can choose to wait until your care team has reviewed it. You will still see "
    "that a result is waiting, and it appears by itself after the days you choose.")
CHOICES_SAVED = N_("Your choices for new results are saved.")
BAD_DAYS = N_("Choose from 1 to {most} days.")
BAD_CATEGORY = N_("Choose a kind of result from the list.")
NOT_YOURS = N_("Only the patient can choose this, from their own account.")
REASON_NEEDED = N_("Choose a reason for the hold.")
RELEASE_DATE_NEEDED = N_("Choose the date the result is released by itself.")
RELEASE_DATE_RANGE = N_("The release date must be after today and at most {most} from now.")
NOT_HELD = N_("That report is already shown to the patient.")
REPORT_NOT_FOUND = N_("That lab report was not found.")
# What staff see on a report (admin patient page).
STATUS_SHOWN = N_("Shown to the patient")  # the report's badge
STATUS_HELD = N_("Held")
STATUS_HELD_PATIENT = N_("Held at the patient's request until reviewed, at most until {day}")
STATUS_HELD_CLINICIAN = N_("Held by {who}: {reason}. Released by itself on {day}")
STATUS_REVIEWED = N_("Reviewed by {who}, {when}")
STATUS_NOTE = N_(". Note: {note}")  # after a hold's words; alone once it is shown
NOTE_TOO_LONG = N_("The note can be at most {n} characters.")


def days_words(days: int, lang: str = "en") -> str:
    return i18n.ngettext(lang, "{days} day", "{days} days", days).format(days=days)


def choice_words(days: int, lang: str = "en") -> str:
    if not days:
        return i18n.gettext(lang, CHOICE_NOW)
    return i18n.fmt(lang, CHOICE_HOLD, days=days_words(days, lang))


# --- the patient's choices ------------------------------------------------------------------


def choices(db: Session, actor, patient_id: int, *, clock: Clock) -> dict[str, int]:
    """Days each category is held (0: shown at once), for the patient's own Settings."""
    access.require_self(db, actor, patient_id, action="result_hold.view", clock=clock)
    return _choices(db, patient_id)


def _choices(db: Session, patient_id: int) -> dict[str, int]:
    found = {c: 0 for c in RESULT_CATEGORIES}
    for category, days in db.exec(select(ResultHoldChoice.category, ResultHoldChoice.hold_days)
                                  .where(ResultHoldChoice.patient_id == patient_id)).all():
        if category in found:
            found[category] = days
    return found


def checked_days(value) -> int:
    """0 (right away) or 1..RESULT_HOLD_MAX_DAYS, from a form's text or a number."""
    most = policy.RESULT_HOLD_MAX_DAYS
    try:
        days = int(value) if not isinstance(value, bool) else -1
    except (TypeError, ValueError):
        days = -1
    if not 0 <= days <= most:
        raise ValidationError(BAD_DAYS, params={"most": most}, field="days")
    return days


def set_choices(db: Session, actor, patient_id: int, wanted: dict, *, clock: Clock) -> bool:
    """The patient's own choices; each change is audited. True when anything changed.

    Only the patient, for their own record: a caregiver follows the patient's choice and
    the office cannot set a delay for anyone (require_self refuses and audits both)."""
    access.require_self(db, actor, patient_id, action="result_hold.change", clock=clock)
    if not isinstance(wanted, dict) or not set(wanted) <= set(RESULT_CATEGORIES):
        raise ValidationError(BAD_CATEGORY, field="category")
    checked = {category: checked_days(days) for category, days in wanted.items()}
    rows = {row.category: row for row in db.exec(
        select(ResultHoldChoice).where(ResultHoldChoice.patient_id == patient_id)).all()}
    now, changed = clock(), []
    for category, days in checked.items():
        row = rows.get(category)
        if (row.hold_days if row else 0) == days:
            continue
        if row is None:
            row = ResultHoldChoice(patient_id=patient_id, category=category)
        row.hold_days, row.updated_at = days, now
        db.add(row)
        changed.append(f"{category}: {choice_words(days)}")
    if changed:
        trail.record(db, "result_hold.changed", actor=actor, patient_id=patient_id,
                     detail="; ".join(changed), clock=clock)
    return bool(changed)


# --- entering a report: shown at once, or held ---------------------------------------------


@dataclass
class ClinicianHold:
    reason: str
    note: str
    release_on: Optional[date]  # the practice's calendar day it releases by itself


def checked_hold(hold: ClinicianHold, *, clock: Clock) -> ClinicianHold:
    if hold.reason not in CLINICIAN_HOLD_REASONS:
        raise ValidationError(REASON_NEEDED, field="hold_reason")
    note = hold.note.strip() if isinstance(hold.note, str) else ""
    if len(note) > HOLD_NOTE_MAX:
        raise ValidationError(NOTE_TOO_LONG, params={"n": HOLD_NOTE_MAX}, field="hold_note")
    if not isinstance(hold.release_on, date):
        raise ValidationError(RELEASE_DATE_NEEDED, field="hold_release_on")
    today = timefmt.to_local(clock()).date()
    most = policy.RESULT_HOLD_MAX_DAYS
    if not today < hold.release_on <= today + timedelta(days=most):
        raise ValidationError(RELEASE_DATE_RANGE, params={"most": i18n.duration(timedelta(days=most))},
                              field="hold_release_on")
    return ClinicianHold(reason=hold.reason, note=note, release_on=hold.release_on)


def _release_moment(day: date) -> datetime:
    """A clinician hold's date: released when the office opens that morning (stored UTC)."""
    return timefmt.to_utc_naive(datetime.combine(day, time(hour=policy.HOLD_RELEASE_HOUR)))


def apply_to_new_report(db: Session, report: LabReport, actor, *,
                        hold: Optional[ClinicianHold], clock: Clock) -> bool:
    """Set a new report's release before it is stored. True when it is shown at once.

    A clinician hold wins; else the patient's choice for the category; else shown now."""
    now = clock()
    if report.category not in RESULT_CATEGORIES:
        raise ValidationError(BAD_CATEGORY, field="category")
    if hold is not None:
        hold = checked_hold(hold, clock=clock)
        report.released_at, report.release_by = None, _release_moment(hold.release_on)
        report.hold_kind, report.hold_reason, report.hold_note = HOLD_CLINICIAN, hold.reason, hold.note
        report.held_by_user_id = actor.id
        return False
    days = _choices(db, report.patient_id).get(report.category, 0)
    if days:
        report.released_at, report.release_by = None, now + timedelta(days=days)
        report.hold_kind = HOLD_PATIENT
        return False
    report.released_at = now
    return True


# --- releasing -------------------------------------------------------------------------------


def tell_results_ready(db: Session, patient_id: int, report_id: int, *, clock: Clock) -> None:
    """The PHI-free email to the patient's side that a report can be read."""
    notifications.tell_patient_side(db, patient_id, news=RESULTS_NEWS, path=report_link(report_id),
                                    kind=notifications.LAB_RESULTS_KIND, clock=clock)


def _release(db: Session, report_id: int, patient_id: int, *, how: str, actor,
             clock: Clock) -> bool:
    """Shown from now, exactly once: the UPDATE changes the row only while it is held."""
    now = clock()
    changed = db.execute(update(LabReport).where(LabReport.id == report_id,
                                                 LabReport.released_at.is_(None))
                         .values(released_at=now)).rowcount
    if changed != 1:
        return False
    tell_results_ready(db, patient_id, report_id, clock=clock)
    # Released by itself: on the office's behalf (no person did it).
    trail.record(db, "lab_report.released", actor=actor, patient_id=patient_id,
                 role=None if actor is not None else access.ROLE_SYSTEM,
                 # The audit's words for how (the office's log, in English).
                 detail=f"report {report_id}, " + {"reviewed": "marked reviewed", "now": "released now",
                                                   "due": "its hold ended"}[how], clock=clock)
    return True


def _staff_report(db: Session, actor, report_id, *, action: str, clock: Clock) -> LabReport:
    access.require_staff(db, actor, action=action, clock=clock)
    report = db.get(LabReport, report_id) if access.row_id(report_id) else None
    if report is None:
        raise NotFound(REPORT_NOT_FOUND)
    return report


def mark_reviewed(db: Session, actor, report_id: int, *, clock: Clock) -> bool:
    """Staff reviewed the report: recorded, and a held report is shown now. True when
    this released it."""
    report = _staff_report(db, actor, report_id, action="lab_report.review", clock=clock)
    if report.reviewed_at is None:
        report.reviewed_at, report.reviewed_by_user_id = clock(), actor.id
        db.add(report)
        trail.record(db, "lab_report.reviewed", actor=actor, patient_id=report.patient_id,
                     detail=f"report {report.id}", clock=clock)
        db.flush()
    return _release(db, report.id, report.patient_id, how="reviewed", actor=actor, clock=clock)


def release_now(db: Session, actor, report_id: int, *, clock: Clock) -> None:
    report = _staff_report(db, actor, report_id, action="lab_report.release", clock=clock)
    if not _release(db, report.id, report.patient_id, how="now", actor=actor, clock=clock):
        raise ValidationError(NOT_HELD)


def release_due(db: Session, *, clock: Clock, patient_id: Optional[int] = None,
                limit: int = 200) -> int:
    """Release every held report whose date has come (one patient's, or everyone's for
    the sweep). Safe to run in every worker at once: each report is released once."""
    now = clock()
    query = select(LabReport.id, LabReport.patient_id).where(LabReport.released_at.is_(None),
                                       LabReport.release_by <= now)
    if patient_id is not None:
        query = query.where(LabReport.patient_id == patient_id)
    due = db.exec(query.order_by(LabReport.release_by, LabReport.id).limit(limit)).all()
    return sum(_release(db, report_id, owner, how="due", actor=None, clock=clock)
               for report_id, owner in due)


# --- what the patient's side is told while a result is held -----------------------------------


def held_lines(db: Session, patient_id: int, *, clock: Clock, lang: str = "en") -> list[str]:
    """"1 result will appear after your care team reviews it, by Fri, Dec 12." — one line
    per day a held report will appear at the latest; never what the report is. A report
    whose date has come is released here (the read does not wait for the sweep)."""
    now = clock()
    held = db.exec(select(LabReport.id, LabReport.release_by).where(
        LabReport.patient_id == patient_id, LabReport.released_at.is_(None))).all()
    days: Counter = Counter()
    for report_id, release_by in held:
        if release_by is not None and release_by <= now:
            _release(db, report_id, patient_id, how="due", actor=None, clock=clock)
        else:
            days[timefmt.to_local(release_by).date() if release_by else None] += 1
    days.pop(None, None)  # (a held report always has its date; none would never be shown)
    return [i18n.ngettext(lang, "1 result will appear after your care team reviews it, by {day}.",
                          "{count} results will appear after your care team reviews them, by {day}.",
                          count).format(
                count=count, day=timefmt.day(d, now=now, lang=lang))
            for d, count in sorted(days.items())]


def status_words(report: LabReport, *, held_by: str = "") -> str:
    """The report's hold as the office reads it beside the report's badge ("Held" or "Shown
    to the patient"), with the clinician's note (kept in view after the release: it says
    why the report waited). "" for a report that was never held."""
    note = STATUS_NOTE.format(note=report.hold_note) if report.hold_note else ""
    if report.released_at is None:
        day = timefmt.day(report.release_by) if report.release_by else ""
        if report.hold_kind == HOLD_CLINICIAN:
            return STATUS_HELD_CLINICIAN.format(who=held_by or "the office",
                                                reason=report.hold_reason, day=day) + note
        return STATUS_HELD_PATIENT.format(day=day)
    return note
