"""Symptom check-ins between visits (issue #15).

The office enrols a patient (a schedule and the symptoms asked); a check-in opens on each
scheduled day (``open_due``, run by the server every policy.CHECKIN_SWEEP_EVERY and at
once when a plan starts today), with an email that names nothing medical, and one
reminder after policy.CHECKIN_REMINDER_AFTER. An unanswered one expires when the next
opens. The patient, or a caregiver for them (recorded as such), answers it; an answer
that escalates (symptoms.findings) tells them to call now and puts an urgent item on top
of the office's queue (urgent.py). Services never commit (db.session_scope).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping, Optional

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app import i18n, policy, routes, timefmt
from carespace_app.i18n import N_, OFFICE_
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import (CHECKIN_DONE, CHECKIN_EXPIRED, CHECKIN_OPEN,
                                  RELATION_CAREGIVER, RELATION_SELF, Checkin, CheckinAnswer, CheckinDraft,
                                  CheckinPlan, Patient, User)
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError
from carespace_app.services.mail import notifications
from carespace_app.services.permissions import access, scopes
from carespace_app.services.records import checkin_schedule as schedule
from carespace_app.services.records import symptoms, urgent

# The emails say only that something waits: no symptom, no grade (notifications.py).
OPEN_NEWS = N_("A symptom check-in from your care team is waiting")
REMINDER_NEWS = N_("A reminder: a symptom check-in from your care team is still waiting")

HISTORY_MAX = 104  # answered check-ins on the history page: two years of weekly ones

CLOSED = N_("This check-in has closed. Your next one opens on {day}; if something worries "
            "you now, call the office at {phone}.")
CLOSED_NO_NEXT = N_("This check-in has closed. If something worries you now, call the office at {phone}.")
CLOSED_NEWER_OPEN = N_("This check-in has closed and a new one is waiting. Reload the page to answer "
                       "the new one.")
ALREADY_ANSWERED = N_("{name} already answered this check-in on {when}.")
STAFF_CANNOT_ANSWER = N_("Only the patient or their caregiver can answer a check-in.")
ANSWER_ALL = N_("Answer every question before sending: {names}.")
YOU = N_("You")  # ALREADY_ANSWERED's {name} when it was the reader
SOMEONE = N_("Someone")  # … when the account is gone
# The office's enrolment form (staff pages stay English).
CHOOSE_INTERVAL = OFFICE_("Choose weekly or every 14 days.")
PATIENT_NOT_FOUND = OFFICE_("That patient was not found.")
START_MISSING = OFFICE_("Enter the first check-in's date.")
START_IN_PAST = OFFICE_("The first check-in can't be in the past. Choose today or a later date.")
END_MISSING = OFFICE_("Enter the last check-in's date, or choose until stopped.")
END_BEFORE_START = OFFICE_("The end date must be on or after the start date.")
CHOOSE_SYMPTOMS = OFFICE_("Choose at least one symptom to ask about.")
NOTHING_TO_STOP = OFFICE_("This patient has no check-ins to stop.")


# --- what pages show ---------------------------------------------------------------


@dataclass(frozen=True)
class PlanView:
    every_days: int
    starts_on: date
    ends_on: Optional[date]
    symptoms: tuple[str, ...]
    summary: str  # "Weekly from Tue, Dec 1, until stopped"
    next_opens_at: Optional[datetime]


@dataclass(frozen=True)
class DueCheckin:
    id: int
    opens_at: datetime
    closes_at: datetime
    symptoms: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    """What the patient sees after sending: call now, or thanks."""

    escalated: bool
    findings: list[symptoms.Finding]


@dataclass(frozen=True)
class AnsweredCheckin:
    id: int
    submitted_at: datetime
    submitted_by: str  # the person's name
    submitted_as: str  # patient | caregiver
    grades: dict[str, int]  # symptom key → grade


@dataclass(frozen=True)
class History:
    checkins: list[AnsweredCheckin]  # oldest first
    asked: tuple[str, ...]  # every symptom answered at least once, in the questions' order
    missed: int = 0  # expired unanswered


# --- the office: enrol, change, stop -------------------------------------------------


def _live_plan(db: Session, patient_id: int) -> Optional[CheckinPlan]:
    return db.exec(select(CheckinPlan).where(CheckinPlan.patient_id == patient_id,
                                             CheckinPlan.stopped_at.is_(None))
                   .order_by(CheckinPlan.id.desc())).first()


def _plan_view(plan: CheckinPlan, now: datetime) -> PlanView:
    coming = schedule.next_opening(plan.starts_on, plan.every_days, plan.ends_on, now)
    return PlanView(every_days=plan.every_days, starts_on=plan.starts_on, ends_on=plan.ends_on,
                    symptoms=symptoms.keys_from_text(plan.symptoms),
                    summary=schedule.describe(plan.every_days, plan.starts_on, plan.ends_on,
                                              now=now),
                    next_opens_at=coming.opens_at if coming else None)


def plan_for(db: Session, actor: User, patient_id: int, *, clock: Clock) -> Optional[PlanView]:
    """The patient's live plan (the office's patient page), or None; the read is audited."""
    access.require_staff(db, actor, action="checkins.plan", clock=clock)
    if not access.row_id(patient_id) or db.get(Patient, patient_id) is None:
        raise NotFound(PATIENT_NOT_FOUND)
    plan = _live_plan(db, patient_id)
    trail.record(db, "checkin_plan.viewed", actor=actor, role=trail.role_of(actor),
                 patient_id=patient_id, detail="", clock=clock)
    return _plan_view(plan, clock()) if plan else None


def enrol(db: Session, actor: User, patient_id: int, *, every_days: int, starts_on: date,
          ends_on: Optional[date], keys, clock: Clock) -> PlanView:
    """Start (or change) the patient's check-ins. A start today opens the first one now
    (after 8 AM). A change keeps what was answered and applies from the next check-in."""
    access.require_staff(db, actor, action="checkins.enrol", clock=clock)
    patient = db.get(Patient, patient_id) if access.row_id(patient_id) else None
    if patient is None:
        raise NotFound(PATIENT_NOT_FOUND)
    if isinstance(every_days, bool) or every_days not in schedule.INTERVALS:
        raise ValidationError(CHOOSE_INTERVAL, field="every_days")
    today = timefmt.to_local(clock()).date()
    plan = _live_plan(db, patient_id)
    # A datetime is a date too, but compares with neither: only plain dates are taken.
    if not isinstance(starts_on, date) or isinstance(starts_on, datetime):
        raise ValidationError(START_MISSING, field="starts_on")
    if starts_on < today and (plan is None or plan.starts_on != starts_on):
        raise ValidationError(START_IN_PAST, field="starts_on")
    if ends_on is not None and (not isinstance(ends_on, date) or isinstance(ends_on, datetime)):
        raise ValidationError(END_MISSING, field="ends_on")
    if ends_on is not None and ends_on < starts_on:
        raise ValidationError(END_BEFORE_START, field="ends_on")
    wanted = keys if isinstance(keys, (list, tuple, set, frozenset)) else ()
    chosen = symptoms.keys_from_text(",".join(k for k in wanted if isinstance(k, str)))
    if not chosen:
        raise ValidationError(CHOOSE_SYMPTOMS, field="symptoms")
    now = clock()
    if plan is None:
        plan = CheckinPlan(patient_id=patient_id, every_days=every_days, starts_on=starts_on,
                           ends_on=ends_on, symptoms=symptoms.keys_to_text(chosen),
                           created_by_user_id=actor.id, created_at=now, updated_at=now)
        action = "checkins.enrolled"
    else:
        # A new schedule: an open check-in stays open until the new schedule's next one
        # opens (the sweep expires it then).
        plan.every_days, plan.starts_on, plan.ends_on = every_days, starts_on, ends_on
        plan.symptoms = symptoms.keys_to_text(chosen)
        plan.updated_at = now
        action = "checkins.changed"
    db.add(plan)
    db.flush()
    trail.record(db, action, actor=actor, role=trail.role_of(actor), patient_id=patient_id,
                 detail=f"{schedule.describe(every_days, starts_on, ends_on, now=now)}; "
                        f"{len(chosen)} of {len(symptoms.SYMPTOMS)} symptoms", clock=clock)
    _open_for_plan(db, plan, now, clock=clock, early=True)
    return _plan_view(plan, now)


def stop(db: Session, actor: User, patient_id: int, *, clock: Clock) -> None:
    """No more check-ins; an open one closes now. What was answered stays in the history."""
    access.require_staff(db, actor, action="checkins.stop", clock=clock)
    plan = _live_plan(db, patient_id)
    if plan is None:
        raise ValidationError(NOTHING_TO_STOP)
    now = clock()
    plan.stopped_at, plan.stopped_by_user_id = now, actor.id
    db.add(plan)
    db.exec(update(Checkin).where(Checkin.plan_id == plan.id, Checkin.status == CHECKIN_OPEN)
            .values(status=CHECKIN_EXPIRED, closes_at=now))
    trail.record(db, "checkins.stopped", actor=actor, role=trail.role_of(actor),
                 patient_id=patient_id, detail="", clock=clock)


# --- the server's sweep: open, expire, remind -----------------------------------------


def _open_for_plan(db: Session, plan: CheckinPlan, now: datetime, *, clock: Clock,
                   early: bool = False) -> Optional[int]:
    """Opens the plan's current check-in if it is not open yet; returns its id when new.
    ``early``: a plan starting today opens its first one now, even before its hour (the
    office enrols the patient at the visit; they can answer on the way home)."""
    due = schedule.current(plan.starts_on, plan.every_days, plan.ends_on, now)
    if due is None and early and plan.starts_on == timefmt.to_local(now).date():
        due = schedule.occurrence(plan.starts_on, plan.every_days, 0)
    if due is None:
        return None
    exists = db.exec(select(Checkin.id).where(Checkin.plan_id == plan.id,
                                              Checkin.opens_at == due.opens_at)).first()
    if exists is not None:
        return None
    # Earlier ones of this plan, still open, have closed: this one replaces them.
    db.exec(update(Checkin).where(Checkin.plan_id == plan.id, Checkin.status == CHECKIN_OPEN)
            .values(status=CHECKIN_EXPIRED))
    checkin = Checkin(plan_id=plan.id, patient_id=plan.patient_id, opens_at=due.opens_at,
                      closes_at=due.closes_at, symptoms=plan.symptoms, status=CHECKIN_OPEN)
    if now - due.opens_at >= policy.CHECKIN_REMINDER_AFTER:
        # Opened this late (the server was down), its reminder would go out with this
        # email in the same minute: the opening email is the only one.
        checkin.reminded_at = now
    try:
        with db.begin_nested():  # another worker's sweep may open the same one
            db.add(checkin)
    except IntegrityError:
        return None
    notifications.tell_patient_side(db, plan.patient_id, news=OPEN_NEWS, path=routes.CHECKIN,
                                    kind=notifications.CHECKIN_KIND, clock=clock)
    return checkin.id


def open_due(db: Session, *, clock: Clock) -> list[int]:
    """Every live plan's check-in that is due and not open yet; expires what has closed.
    Run by the server (jobs.py); harmless to run twice or from two workers."""
    now = clock()
    db.exec(update(Checkin).where(Checkin.status == CHECKIN_OPEN, Checkin.closes_at <= now)
            .values(status=CHECKIN_EXPIRED))
    # Answers kept for check-ins that closed (expired, or stopped) go with them.
    db.exec(delete(CheckinDraft).where(CheckinDraft.checkin_id.in_(
        select(Checkin.id).where(Checkin.status != CHECKIN_OPEN))))
    live = db.exec(select(CheckinPlan).where(CheckinPlan.stopped_at.is_(None))).all()
    # Every minute, for every enrolled patient: one look at what each plan last opened,
    # so only a plan with a newer one due is looked at again (no query per plan).
    latest = dict(db.exec(select(Checkin.plan_id, func.max(Checkin.opens_at))
                          .join(CheckinPlan, CheckinPlan.id == Checkin.plan_id)
                          .where(CheckinPlan.stopped_at.is_(None))
                          .group_by(Checkin.plan_id)).all())
    opened = []
    for plan in live:
        due = schedule.current(plan.starts_on, plan.every_days, plan.ends_on, now)
        if due is None or (plan.id in latest and due.opens_at <= latest[plan.id]):
            continue
        new = _open_for_plan(db, plan, now, clock=clock)
        if new is not None:
            opened.append(new)
    return opened


def remind_due(db: Session, *, clock: Clock) -> list[int]:
    """One reminder for each check-in open for policy.CHECKIN_REMINDER_AFTER and not answered."""
    now = clock()
    waiting = db.exec(select(Checkin).where(
        Checkin.status == CHECKIN_OPEN, Checkin.reminded_at.is_(None),
        Checkin.opens_at <= now - policy.CHECKIN_REMINDER_AFTER, Checkin.closes_at > now)).all()
    reminded = []
    for checkin in waiting:
        claimed = db.exec(update(Checkin).where(Checkin.id == checkin.id,
                                                Checkin.reminded_at.is_(None))
                          .values(reminded_at=now)).rowcount
        if claimed:
            notifications.tell_patient_side(db, checkin.patient_id, news=REMINDER_NEWS,
                                            path=routes.CHECKIN, kind=notifications.CHECKIN_REMINDER_KIND, clock=clock)
            reminded.append(checkin.id)
    return reminded


def sweep(db: Session, *, clock: Clock) -> tuple[list[int], list[int]]:
    return open_due(db, clock=clock), remind_due(db, clock=clock)


# --- the patient's side -------------------------------------------------------------


def _open_checkin(db: Session, patient_id: int, now: datetime) -> Optional[Checkin]:
    # Open, and not closed yet (the first of a plan may have opened before its hour).
    return db.exec(select(Checkin).where(Checkin.patient_id == patient_id,
                                         Checkin.status == CHECKIN_OPEN, Checkin.closes_at > now)
                   .order_by(Checkin.opens_at.desc())).first()


def due_for(db: Session, actor: User, patient_id: int, *, clock: Clock) -> Optional[DueCheckin]:
    """The check-in waiting for an answer (Home's "Your check-in is due"), or None."""
    access.require_access(db, actor, patient_id, area=scopes.AREA_CHECKINS, action="checkin.due", clock=clock)
    found = _open_checkin(db, patient_id, clock())
    if found is None:
        return None
    return DueCheckin(id=found.id, opens_at=found.opens_at, closes_at=found.closes_at,
                      symptoms=symptoms.keys_from_text(found.symptoms))


def _previous_grades(db: Session, patient_id: int, checkin_id: int) -> dict[str, int]:
    """The grades of the patient's last answered check-in other than ``checkin_id``."""
    last = db.exec(select(Checkin.id).where(Checkin.patient_id == patient_id,
                                            Checkin.status == CHECKIN_DONE,
                                            Checkin.id != checkin_id)
                   .order_by(Checkin.submitted_at.desc(), Checkin.id.desc())).first()
    if last is None:
        return {}
    return {a.symptom: a.grade for a in db.exec(
        select(CheckinAnswer).where(CheckinAnswer.checkin_id == last)).all()}


def _closed(db: Session, checkin: Checkin, now: datetime) -> ValidationError:
    """Why a check-in can no longer be answered, and what comes next (said in the
    reader's language where it is shown)."""
    phone = get_settings().office_phone
    plan = db.get(CheckinPlan, checkin.plan_id)
    if plan is None or plan.stopped_at is not None:
        return ValidationError(CLOSED_NO_NEXT, params={"phone": phone})
    due = schedule.current(plan.starts_on, plan.every_days, plan.ends_on, now)
    if (_open_checkin(db, checkin.patient_id, now) is not None
            or (due is not None and due.opens_at > checkin.opens_at)):
        return ValidationError(CLOSED_NEWER_OPEN)  # (the sweep opens a due one within a minute)
    coming = schedule.next_opening(plan.starts_on, plan.every_days, plan.ends_on, now)
    if coming is None:
        return ValidationError(CLOSED_NO_NEXT, params={"phone": phone})
    opens_at = coming.opens_at
    return ValidationError(CLOSED, params={
        "day": lambda lang: timefmt.day(opens_at, now=now, lang=lang), "phone": phone})


def _word(msgid: str):
    """A catalogue word as a parameter: said in the language of the sentence around it."""
    return lambda lang: i18n.gettext(lang, msgid)


def _already_answered(db: Session, actor: User, checkin: Checkin, now: datetime) -> ValidationError:
    who = db.get(User, checkin.submitted_by_user_id) if checkin.submitted_by_user_id else None
    if who is not None and who.id == actor.id:
        name = _word(YOU)
    else:
        name = who.full_name if who else _word(SOMEONE)
    submitted_at = checkin.submitted_at
    return ValidationError(ALREADY_ANSWERED, params={
        "name": name, "when": lambda lang: timefmt.when(submitted_at, now=now, lang=lang)})


def _answerable(db: Session, actor: User, patient_id: int, checkin_id: int, *, action: str,
                clock: Clock) -> tuple[Checkin, str]:
    """The open check-in ``checkin_id`` of the patient, and the actor's relation: the patient
    or their caregiver only (the office may look, never answer), else refused and audited;
    answered, expired or closed: a sentence saying so."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_CHECKINS, action=action, clock=clock)
    if relation not in (RELATION_SELF, RELATION_CAREGIVER):
        # The office may see the form ("View as patient"), never answer for the patient.
        trail.record_refusal(db, "access.refused", actor=actor, patient_id=patient_id,
                             detail=f"{action}: the office cannot answer", clock=clock)
        raise NotAllowed(STAFF_CANNOT_ANSWER)
    checkin = db.get(Checkin, checkin_id) if access.row_id(checkin_id) else None
    if checkin is None or checkin.patient_id != patient_id:
        raise access.refuse_unknown(db, actor, action=action, what=f"check-in {checkin_id!r}",
                                    clock=clock)
    now = clock()
    if checkin.status == CHECKIN_DONE:
        raise _already_answered(db, actor, checkin, now)
    if checkin.status != CHECKIN_OPEN or checkin.closes_at <= now:
        raise _closed(db, checkin, now)
    return checkin, relation


def _grades(checkin: Checkin, answers) -> dict[str, int]:
    """The answers to this check-in's questions that are in range (others are ignored)."""
    grades: dict[str, int] = {}
    for key in symptoms.keys_from_text(checkin.symptoms):
        value = answers.get(key) if isinstance(answers, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int):
            continue
        if 0 <= value <= symptoms.BY_KEY[key].top:
            grades[key] = value
    return grades


def save_progress(db: Session, actor: User, patient_id: int, checkin_id: int,
                  answers: Mapping[str, int], *, clock: Clock) -> dict[str, int]:
    """Keep the answers chosen so far, the person's own (not audited: like a message draft,
    it is not the record yet). Returns what was kept."""
    checkin, _ = _answerable(db, actor, patient_id, checkin_id, action="checkin.save",
                             clock=clock)
    grades = _grades(checkin, answers)
    for _attempt in range(2):
        draft = db.exec(select(CheckinDraft).where(CheckinDraft.checkin_id == checkin.id,
                                                   CheckinDraft.user_id == actor.id)).first()
        if draft is None:
            draft = CheckinDraft(checkin_id=checkin.id, user_id=actor.id, patient_id=patient_id)
        draft.answers, draft.updated_at = json.dumps(grades, sort_keys=True), clock()
        try:
            with db.begin_nested():  # two tabs of one person saving at the same moment
                db.add(draft)
            return grades
        except IntegrityError:
            continue
    return grades


def progress_for(db: Session, actor: User, checkin_id: int) -> dict[str, int]:
    """The actor's own answers kept so far for this check-in ({} when none)."""
    draft = db.exec(select(CheckinDraft).where(CheckinDraft.checkin_id == checkin_id,
                                               CheckinDraft.user_id == actor.id)).first()
    if draft is None:
        return {}
    try:
        kept = json.loads(draft.answers or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in kept.items() if isinstance(k, str) and isinstance(v, int)} \
        if isinstance(kept, dict) else {}


def submit(db: Session, actor: User, patient_id: int, checkin_id: int,
           answers: Mapping[str, int], *, clock: Clock) -> Outcome:
    """The patient's (or their caregiver's) answers. Escalated answers raise an urgent item
    in the same unit of work; the answer says whether to call now."""
    checkin, relation = _answerable(db, actor, patient_id, checkin_id, action="checkin.submit",
                                    clock=clock)
    now = clock()
    asked = symptoms.keys_from_text(checkin.symptoms)
    grades = _grades(checkin, answers)
    missing = [symptoms.BY_KEY[k] for k in asked if k not in grades]
    if missing:
        raise ValidationError(ANSWER_ALL, field="answers", params={
            "names": lambda lang: ", ".join(item.name_in(lang) for item in missing)})
    previous = _previous_grades(db, patient_id, checkin.id)
    claimed = db.exec(update(Checkin).where(Checkin.id == checkin.id,
                                            Checkin.status == CHECKIN_OPEN)
                      .values(status=CHECKIN_DONE, submitted_at=now,
                              submitted_by_user_id=actor.id,
                              submitted_as=trail.role_in(actor, relation))
                      ).rowcount
    if not claimed:  # answered from another tab or by another caregiver a moment ago
        db.refresh(checkin)
        if checkin.status != CHECKIN_DONE:  # expired or stopped in between
            raise _closed(db, checkin, now)
        raise _already_answered(db, actor, checkin, now)
    for key, grade in grades.items():
        db.add(CheckinAnswer(checkin_id=checkin.id, patient_id=patient_id, symptom=key,
                             grade=grade, answered_at=now))
    # Answered: what anyone had kept of it so far goes.
    db.exec(delete(CheckinDraft).where(CheckinDraft.checkin_id == checkin.id))
    found = symptoms.findings(grades, previous)
    if found:
        urgent.raise_for_checkin(db, patient_id, checkin.id, found, clock=clock)
    role = trail.role_in(actor, relation)
    trail.record(db, "checkin.submitted", actor=actor, role=role, patient_id=patient_id,
                 detail=f"check-in {checkin.id}" + (f"; {len(found)} urgent" if found else ""),
                 clock=clock)
    return Outcome(escalated=bool(found), findings=found)


def history(db: Session, actor: User, patient_id: int, *, clock: Clock) -> History:
    """Answered check-ins, oldest first (the chart and the table), for anyone who may see
    the patient's record; the read is audited."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_CHECKINS, action="checkin.history", clock=clock)
    rows = db.exec(
        select(Checkin, User.full_name)
        .outerjoin(User, User.id == Checkin.submitted_by_user_id)
        .where(Checkin.patient_id == patient_id, Checkin.status == CHECKIN_DONE)
        .order_by(Checkin.submitted_at.desc(), Checkin.id.desc())
        .limit(HISTORY_MAX)
    ).all()
    ids = [c.id for c, _ in rows]
    grades: dict[int, dict[str, int]] = {i: {} for i in ids}
    if ids:
        for checkin_id, key, grade in db.exec(
                select(CheckinAnswer.checkin_id, CheckinAnswer.symptom, CheckinAnswer.grade)
                .where(CheckinAnswer.checkin_id.in_(ids))).all():
            grades[checkin_id][key] = grade
    answered = [AnsweredCheckin(id=c.id, submitted_at=c.submitted_at, submitted_by=name or "",
                                submitted_as=c.submitted_as, grades=grades[c.id])
                for c, name in reversed(rows)]
    seen = {k for a in answered for k in a.grades}
    missed = db.exec(select(func.count(Checkin.id)).where(
        Checkin.patient_id == patient_id, Checkin.status == CHECKIN_EXPIRED)).one()
    trail.record(db, "checkin_history.viewed", actor=actor, role=trail.role_in(actor, relation),
                 patient_id=patient_id, detail="", clock=clock)
    return History(checkins=answered, asked=tuple(k for k in symptoms.DEFAULT_KEYS if k in seen),
                   missed=int(missed))


def latest_for_staff(db: Session, actor: User, patient_id: int, *,
                     clock: Clock) -> Optional[AnsweredCheckin]:
    """The last answered check-in, at a glance on the office's patient page; audited."""
    access.require_staff(db, actor, action="checkin.latest", clock=clock)
    if not access.row_id(patient_id) or db.get(Patient, patient_id) is None:
        raise NotFound(PATIENT_NOT_FOUND)
    trail.record(db, "checkin.latest_viewed", actor=actor, role=trail.role_of(actor),
                 patient_id=patient_id, detail="", clock=clock)
    row = db.exec(
        select(Checkin, User.full_name)
        .outerjoin(User, User.id == Checkin.submitted_by_user_id)
        .where(Checkin.patient_id == patient_id, Checkin.status == CHECKIN_DONE)
        .order_by(Checkin.submitted_at.desc(), Checkin.id.desc())
    ).first()
    if row is None:
        return None
    checkin, name = row
    grades = {a.symptom: a.grade for a in db.exec(
        select(CheckinAnswer).where(CheckinAnswer.checkin_id == checkin.id)).all()}
    return AnsweredCheckin(id=checkin.id, submitted_at=checkin.submitted_at,
                           submitted_by=name or "", submitted_as=checkin.submitted_as,
                           grades=grades)
