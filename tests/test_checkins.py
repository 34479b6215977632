"""Symptom check-ins through the services (issue #15): the office enrols a patient, the
server's sweep opens, reminds and expires, the patient or a caregiver answers, escalated
answers reach the office's urgent queue, and staff acknowledge them.

The default clock is Mon, Jan 5, 2026, 9:00 AM in Chicago (15:00 UTC): a check-in
starting today opened at 8:00 AM (14:00 UTC).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from carespace_app import policy, routes
from carespace_app.config import get_settings
from carespace_app.models import (CHECKIN_DONE, CHECKIN_EXPIRED, CHECKIN_OPEN, AuditEvent, Checkin,
                                  CheckinAnswer, CheckinDraft, OutboxEmail, UrgentItem)
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError
from carespace_app.services.audit import patient_activity
from carespace_app.services.records import checkins, symptoms, urgent
from tests.factories import (make_patient, make_practice, make_staff, patient_user, recorded_queries,
                             revoke_caregiver, selects)

TODAY = date(2026, 1, 5)
OPENED = datetime(2026, 1, 5, 14, 0)  # 8:00 AM CST
ASKED = ["pain", "nausea", "fever"]
QUIET = {"pain": 0, "nausea": 0, "fever": 0}
PHONE = get_settings().office_phone


@pytest.fixture
def practice(db):
    return make_practice(db)


def enrol(db, practice, clock, *, patient=None, starts_on=TODAY, every_days=7, ends_on=None,
          keys=ASKED):
    return checkins.enrol(db, practice.staff, (patient or practice.alice).id, every_days=every_days,
                          starts_on=starts_on, ends_on=ends_on, keys=keys, clock=clock)


def due(db, practice, clock, *, user=None, patient=None):
    return checkins.due_for(db, user or practice.alice_user, (patient or practice.alice).id, clock=clock)


def submit(db, practice, clock, answers=None, *, user=None, checkin_id=None, patient=None):
    patient = patient or practice.alice
    if checkin_id is None:
        checkin_id = checkins.due_for(db, patient_user(db, patient), patient.id, clock=clock).id
    return checkins.submit(db, user or practice.alice_user, patient.id, checkin_id,
                           dict(QUIET if answers is None else answers), clock=clock)


def emails(db, kind=None):
    query = select(OutboxEmail).order_by(OutboxEmail.id)
    if kind:
        query = query.where(OutboxEmail.kind == kind)
    return db.exec(query).all()


def audit(db, **where):
    query = select(AuditEvent)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.exec(query.order_by(AuditEvent.id)).all()


def stored_answers(db) -> int:
    return db.exec(select(func.count(CheckinAnswer.id))).one()


def next_week(db, clock, weeks=1):
    clock.advance(days=7 * weeks)
    return checkins.sweep(db, clock=clock)


# --- enrolling ---------------------------------------------------------------------------------


def test_enrol_opens_todays_check_in_and_tells_each_person_without_medical_details(db, clock, practice):
    plan = enrol(db, practice, clock)
    assert plan.summary == "Weekly from Mon, Jan 5, until stopped"
    assert plan.symptoms == ("nausea", "pain", "fever")  # the questions' order
    assert plan.next_opens_at == OPENED + timedelta(days=7)
    waiting = due(db, practice, clock)
    assert (waiting.opens_at, waiting.closes_at) == (OPENED, OPENED + timedelta(days=7))
    assert waiting.symptoms == ("nausea", "pain", "fever")
    assert due(db, practice, clock, user=practice.carer) == waiting
    assert checkins.due_for(db, practice.bob_user, practice.bob.id, clock=clock) is None

    sent = emails(db)
    assert sorted(e.to_address for e in sent) == sorted([practice.alice_user.email, practice.carer.email])
    for email in sent:
        assert email.kind == "checkin_notification" and email.patient_id == practice.alice.id
        assert email.subject == "A check-in is waiting in CareSpace"
        assert "/checkin" in email.body_template
        text = (email.subject + email.body_template).casefold()
        for medical in [s.name.casefold() for s in symptoms.SYMPTOMS] + ["severe", "grade", "nurse"]:
            assert medical not in text
    by_address = {e.to_address: e.body_template for e in sent}
    assert "Alice Moreno's CareSpace portal" in by_address[practice.carer.email]
    assert "Alice" not in by_address[practice.alice_user.email]
    [enrolled] = audit(db, action="checkins.enrolled")
    assert (enrolled.actor_user_id, enrolled.actor_role, enrolled.patient_id) == (
        practice.staff.id, "staff", practice.alice.id)


def test_enrolling_before_8_am_opens_todays_check_in_at_once(db, clock, practice):
    clock.now = datetime(2026, 1, 5, 12, 30)  # 6:30 AM: enrolled at an early visit
    enrol(db, practice, clock)
    assert due(db, practice, clock).opens_at == OPENED
    assert len(emails(db)) == 2
    clock.now = OPENED
    assert checkins.sweep(db, clock=clock) == ([], [])  # the same one: no second email
    assert len(emails(db)) == 2


def test_a_plan_starting_later_opens_on_its_day_at_8_am(db, clock, practice):
    enrol(db, practice, clock, starts_on=date(2026, 1, 8))
    assert due(db, practice, clock) is None and emails(db) == []
    clock.now = datetime(2026, 1, 8, 13, 59)  # 7:59 AM on its day
    assert checkins.sweep(db, clock=clock) == ([], [])
    assert due(db, practice, clock) is None
    clock.now = datetime(2026, 1, 8, 14, 0)
    opened, _ = checkins.sweep(db, clock=clock)
    assert opened == [due(db, practice, clock).id]
    assert len(emails(db, "checkin_notification")) == 2


@pytest.mark.parametrize("field,changes", [
    ("every_days", {"every_days": 10}),
    ("starts_on", {"starts_on": date(2026, 1, 4)}),
    ("starts_on", {"starts_on": None}),
    ("starts_on", {"starts_on": "2026-01-05"}),
    ("ends_on", {"ends_on": date(2026, 1, 4)}),
    ("ends_on", {"ends_on": "soon"}),
    ("symptoms", {"keys": []}),
    ("symptoms", {"keys": ["bogus"]}),
    ("symptoms", {"keys": None}),
])
def test_enrol_rules(db, clock, practice, field, changes):
    with pytest.raises(ValidationError) as refused:
        enrol(db, practice, clock, **changes)
    assert refused.value.field == field
    assert db.exec(select(Checkin)).all() == [] and emails(db) == []


def test_only_staff_enrol_change_or_stop(db, clock, practice):
    for person in (practice.alice_user, practice.carer):
        with pytest.raises(NotAllowed):
            checkins.enrol(db, person, practice.alice.id, every_days=7, starts_on=TODAY,
                           ends_on=None, keys=ASKED, clock=clock)
        with pytest.raises(NotAllowed):
            checkins.stop(db, person, practice.alice.id, clock=clock)
        with pytest.raises(NotAllowed):
            checkins.plan_for(db, person, practice.alice.id, clock=clock)
    assert db.exec(select(Checkin)).all() == []
    refused = audit(db, action="admin.refused")
    assert {e.actor_user_id for e in refused} == {practice.alice_user.id, practice.carer.id}
    with pytest.raises(NotFound):
        checkins.enrol(db, practice.staff, 987_654, every_days=7, starts_on=TODAY, ends_on=None,
                       keys=ASKED, clock=clock)


def test_a_change_keeps_the_open_check_in_and_applies_from_the_next(db, clock, practice):
    enrol(db, practice, clock)
    first = due(db, practice, clock)
    clock.advance(hours=1)
    plan = enrol(db, practice, clock, keys=["pain", "mood"], ends_on=date(2026, 3, 30))
    assert plan.summary == "Weekly from Mon, Jan 5, to Mon, Mar 30"
    assert due(db, practice, clock) == first  # same one, same questions
    assert len(emails(db)) == 2
    next_week(db, clock)
    assert due(db, practice, clock).symptoms == ("pain", "mood")
    assert [e.action for e in audit(db, patient_id=practice.alice.id)
            if e.action.startswith("checkins.")] == ["checkins.enrolled", "checkins.changed"]


# --- the sweep -----------------------------------------------------------------------------------


def test_the_sweep_opens_the_next_a_week_later_and_expires_the_unanswered_one(db, clock, practice):
    enrol(db, practice, clock)
    first = due(db, practice, clock)
    clock.now = OPENED + timedelta(days=7) - timedelta(minutes=1)
    assert checkins.sweep(db, clock=clock)[0] == []
    assert due(db, practice, clock).id == first.id
    clock.now = OPENED + timedelta(days=7)
    opened, _ = checkins.sweep(db, clock=clock)
    second = due(db, practice, clock)
    assert opened == [second.id] and second.id != first.id
    assert second.opens_at == OPENED + timedelta(days=7)
    assert db.get(Checkin, first.id).status == CHECKIN_EXPIRED
    assert len(emails(db, "checkin_notification")) == 4  # two people, twice
    assert checkins.sweep(db, clock=clock)[0] == []  # run again (another worker): nothing new
    assert len(emails(db, "checkin_notification")) == 4


def test_a_missed_week_opens_the_current_one_once(db, clock, practice):
    enrol(db, practice, clock)
    first = due(db, practice, clock)
    clock.advance(days=10)  # the server did not run for 10 days
    opened, reminded = checkins.sweep(db, clock=clock)
    current = due(db, practice, clock)
    assert opened == [current.id] and current.opens_at == OPENED + timedelta(days=7)
    assert db.get(Checkin, first.id).status == CHECKIN_EXPIRED
    assert db.exec(select(func.count(Checkin.id))).one() == 2  # no row for days nobody saw
    # Open 3 days already: one email now, not the opening and a reminder together.
    assert reminded == []
    assert [e.kind for e in emails(db)] == ["checkin_notification"] * 4


def test_one_reminder_after_two_days_never_two(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    clock.now = OPENED + policy.CHECKIN_REMINDER_AFTER - timedelta(minutes=1)
    assert checkins.remind_due(db, clock=clock) == []
    clock.now = OPENED + policy.CHECKIN_REMINDER_AFTER
    assert checkins.remind_due(db, clock=clock) == [waiting.id]
    reminders = emails(db, "checkin_reminder")
    assert sorted(e.to_address for e in reminders) == sorted([practice.alice_user.email, practice.carer.email])
    for email in reminders:
        assert email.subject == "A check-in is still waiting in CareSpace"
        assert "/checkin" in email.body_template
        assert "pain" not in email.body_template.casefold()
    for _ in range(3):
        clock.advance(days=1)
        assert checkins.sweep(db, clock=clock) == ([], [])
    assert len(emails(db, "checkin_reminder")) == 2


def test_an_answered_check_in_gets_no_reminder(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock)
    clock.advance(days=3)
    assert checkins.remind_due(db, clock=clock) == []
    assert emails(db, "checkin_reminder") == []


def test_a_patient_without_an_account_gets_no_check_in_email(db, clock, practice):
    unregistered = make_patient(db, first_name="Dana", last_name="Okafor", with_account=False)
    enrol(db, practice, clock, patient=unregistered)
    assert db.exec(select(Checkin).where(Checkin.patient_id == unregistered.id)).one().status == CHECKIN_OPEN
    assert emails(db) == []


def test_a_stopped_plan_opens_nothing_and_closes_the_open_one(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    clock.advance(hours=2)
    checkins.stop(db, practice.staff, practice.alice.id, clock=clock)
    assert due(db, practice, clock) is None
    assert db.get(Checkin, waiting.id).status == CHECKIN_EXPIRED
    assert checkins.plan_for(db, practice.staff, practice.alice.id, clock=clock) is None
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=waiting.id)
    assert str(refused.value) == f"This check-in has closed. If something worries you now, call the office at {PHONE}."
    for _ in range(3):
        assert next_week(db, clock) == ([], [])
    assert due(db, practice, clock) is None
    assert len(emails(db)) == 2  # only the first opening
    [stopped] = audit(db, action="checkins.stopped")
    assert (stopped.actor_user_id, stopped.patient_id) == (practice.staff.id, practice.alice.id)
    with pytest.raises(ValidationError):
        checkins.stop(db, practice.staff, practice.alice.id, clock=clock)  # nothing left to stop


def test_a_plan_with_an_end_date_stops_by_itself(db, clock, practice):
    enrol(db, practice, clock, ends_on=date(2026, 1, 12))
    next_week(db, clock)
    last = due(db, practice, clock)
    assert last.opens_at == OPENED + timedelta(days=7)
    opened, _ = next_week(db, clock)
    assert opened == [] and due(db, practice, clock) is None
    assert db.get(Checkin, last.id).status == CHECKIN_EXPIRED
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=last.id)
    assert str(refused.value) == f"This check-in has closed. If something worries you now, call the office at {PHONE}."


# --- answering --------------------------------------------------------------------------------------


def test_the_patient_answers_recorded_as_the_patient(db, clock, practice):
    enrol(db, practice, clock)
    outcome = submit(db, practice, clock, {"pain": 1, "nausea": 0, "fever": 0})
    assert not outcome.escalated and outcome.findings == []
    stored = db.exec(select(Checkin)).one()
    assert (stored.status, stored.submitted_as, stored.submitted_by_user_id, stored.submitted_at) == (
        CHECKIN_DONE, "patient", practice.alice_user.id, clock())
    grades = {a.symptom: a.grade for a in db.exec(select(CheckinAnswer)).all()}
    assert grades == {"pain": 1, "nausea": 0, "fever": 0}
    [submitted] = audit(db, action="checkin.submitted")
    assert (submitted.actor_user_id, submitted.actor_role, submitted.patient_id) == (
        practice.alice_user.id, "patient", practice.alice.id)
    assert due(db, practice, clock) is None
    assert db.exec(select(UrgentItem)).all() == []


def test_a_caregiver_answers_for_the_patient_recorded_as_such(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, user=practice.carer)
    stored = db.exec(select(Checkin)).one()
    assert (stored.submitted_as, stored.submitted_by_user_id) == ("caregiver", practice.carer.id)
    [submitted] = audit(db, action="checkin.submitted")
    assert (submitted.actor_user_id, submitted.actor_role) == (practice.carer.id, "caregiver")
    [answered] = checkins.history(db, practice.alice_user, practice.alice.id, clock=clock).checkins
    assert (answered.submitted_by, answered.submitted_as) == ("Carla Moreno", "caregiver")
    # The patient sees it in "Who viewed my record", under the caregiver's name.
    lines = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id,
                                           clock=clock).items
    assert any(e.who.startswith("Carla Moreno") and e.what == "Answered a symptom check-in"
               for e in lines), [(e.who, e.what) for e in lines]


def test_the_office_cannot_answer_for_the_patient(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    with pytest.raises(NotAllowed) as refused:
        submit(db, practice, clock, user=practice.staff, checkin_id=waiting.id)
    assert str(refused.value) == "Only the patient or their caregiver can answer a check-in."
    [row] = audit(db, action="access.refused")
    assert (row.actor_user_id, row.patient_id) == (practice.staff.id, practice.alice.id)
    assert db.get(Checkin, waiting.id).status == CHECKIN_OPEN and stored_answers(db) == 0


def test_a_stranger_or_a_revoked_caregiver_cannot_answer(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    with pytest.raises(NotAllowed):  # Bob names Alice
        submit(db, practice, clock, user=practice.bob_user, checkin_id=waiting.id)
    with pytest.raises(NotAllowed):  # Bob names himself and Alice's check-in
        checkins.submit(db, practice.bob_user, practice.bob.id, waiting.id, QUIET, clock=clock)
    with pytest.raises(NotAllowed):
        checkins.due_for(db, practice.bob_user, practice.alice.id, clock=clock)
    revoke_caregiver(db, practice.alice, practice.carer)
    with pytest.raises(NotAllowed):
        submit(db, practice, clock, user=practice.carer, checkin_id=waiting.id)
    with pytest.raises(NotAllowed):
        checkins.history(db, practice.carer, practice.alice.id, clock=clock)
    assert db.get(Checkin, waiting.id).status == CHECKIN_OPEN and stored_answers(db) == 0
    bob_rows = audit(db, action="access.refused", actor_user_id=practice.bob_user.id)
    assert bob_rows and {r.patient_id for r in bob_rows} <= {practice.alice.id, None}
    assert any(r.patient_id == practice.alice.id for r in bob_rows)
    assert audit(db, action="access.refused", actor_user_id=practice.carer.id,
                 patient_id=practice.alice.id)


@pytest.mark.parametrize("answers,missing", [
    ({"pain": 1, "nausea": 0}, "Fever or chills"),
    ({}, "Nausea, Pain, Fever or chills"),
    ({"pain": 5, "nausea": 0, "fever": 0}, "Pain"),
    ({"pain": -1, "nausea": 0, "fever": 0}, "Pain"),
    ({"pain": 1, "nausea": 0, "fever": 2}, "Fever or chills"),
    ({"pain": True, "nausea": 0, "fever": 0}, "Pain"),
    ({"pain": "3", "nausea": 0, "fever": 0}, "Pain"),
    ({"pain": 1.0, "nausea": 0, "fever": 0}, "Pain"),
    ({"mood": 4, "nausea": 0, "fever": 0}, "Pain"),  # not asked: no stand-in for pain
])
def test_every_question_must_be_answered_in_range(db, clock, practice, answers, missing):
    enrol(db, practice, clock)
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, answers)
    assert str(refused.value) == f"Answer every question before sending: {missing}."
    assert refused.value.field == "answers"
    assert db.exec(select(Checkin)).one().status == CHECKIN_OPEN
    assert stored_answers(db) == 0 and db.exec(select(UrgentItem)).all() == []
    assert audit(db, action="checkin.submitted") == []


def test_answering_twice_is_refused_naming_who_answered(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    submit(db, practice, clock, checkin_id=waiting.id)
    clock.advance(minutes=5)
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, user=practice.carer, checkin_id=waiting.id)
    assert str(refused.value) == "Alice Moreno already answered this check-in on Mon, Jan 5, 9:00 AM."
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=waiting.id)
    assert str(refused.value) == "You already answered this check-in on Mon, Jan 5, 9:00 AM."
    assert stored_answers(db) == 3


def test_two_tabs_answering_at_once_store_one(db, clock, practice):
    enrol(db, practice, clock)
    db.commit()
    waiting = due(db, practice, clock)
    with Session(db.get_bind(), expire_on_commit=False) as other:
        assert other.get(Checkin, waiting.id).status == CHECKIN_OPEN  # the caregiver's tab read it
        submit(db, practice, clock, {"pain": 3, "nausea": 0, "fever": 0}, checkin_id=waiting.id)
        db.commit()
        with pytest.raises(ValidationError) as refused:
            checkins.submit(other, practice.carer, practice.alice.id, waiting.id,
                            {"pain": 0, "nausea": 0, "fever": 0}, clock=clock)
        other.rollback()
    assert str(refused.value) == "Alice Moreno already answered this check-in on Mon, Jan 5, 9:00 AM."
    assert {a.grade for a in db.exec(select(CheckinAnswer).where(CheckinAnswer.symptom == "pain")).all()} == {3}
    assert stored_answers(db) == 3
    assert len(db.exec(select(UrgentItem)).all()) == 1


def test_an_expired_check_in_says_a_new_one_is_waiting(db, clock, practice):
    enrol(db, practice, clock)
    old = due(db, practice, clock)
    next_week(db, clock)
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=old.id)
    assert str(refused.value) == ("This check-in has closed and a new one is waiting. "
                                  "Reload the page to answer the new one.")
    assert stored_answers(db) == 0


def test_a_closed_check_in_names_the_next_day_when_none_is_waiting(db, clock, practice):
    enrol(db, practice, clock)
    old = due(db, practice, clock)
    enrol(db, practice, clock, starts_on=date(2026, 1, 19))  # the office moves the schedule
    clock.now = OPENED + timedelta(days=7)
    checkins.sweep(db, clock=clock)
    assert db.get(Checkin, old.id).status == CHECKIN_EXPIRED and due(db, practice, clock) is None
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=old.id)
    assert str(refused.value) == ("This check-in has closed. Your next one opens on Mon, Jan 19; "
                                  f"if something worries you now, call the office at {PHONE}.")


def test_a_check_in_past_its_close_is_refused_before_the_sweep_runs(db, clock, practice):
    enrol(db, practice, clock)
    old = due(db, practice, clock)
    clock.now = OPENED + timedelta(days=7, minutes=1)  # the sweep has not run yet
    with pytest.raises(ValidationError) as refused:
        submit(db, practice, clock, checkin_id=old.id)
    assert "This check-in has closed" in str(refused.value)
    assert db.get(Checkin, old.id).status == CHECKIN_OPEN and stored_answers(db) == 0


# --- escalation and the urgent queue ----------------------------------------------------------------


def test_escalation_raises_one_urgent_item_naming_each_finding_and_the_previous_grade(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, {"pain": 1, "nausea": 0, "fever": 0})
    next_week(db, clock)
    outcome = submit(db, practice, clock, {"pain": 3, "nausea": 2, "fever": 1})
    assert outcome.escalated
    assert [f.describe() for f in outcome.findings] == [
        "Nausea: Moderate (2), last time None (0)", "Pain: Severe (3), last time Mild (1)",
        "Fever or chills: Yes"]
    [item] = db.exec(select(UrgentItem)).all()
    assert item.patient_id == practice.alice.id and item.kind == "checkin"
    assert item.checkin_id == db.exec(select(Checkin).where(Checkin.opens_at > OPENED)).one().id
    [shown] = urgent.open_items(db, practice.staff, clock=clock)
    assert (shown.patient_name, shown.mrn) == ("Alice Moreno", practice.alice.mrn)
    assert shown.lines == [f.describe() for f in outcome.findings]
    assert shown.link == f"{routes.ADMIN_PATIENT}?id={practice.alice.id}"
    assert not shown.overdue
    assert audit(db, action="checkin.submitted")[-1].detail.endswith("; 3 urgent")
    # The opening emails only: nothing about the answers goes by email.
    assert [e.kind for e in emails(db)] == ["checkin_notification"] * 4


def test_the_first_check_in_escalates_on_severe_alone(db, clock, practice):
    enrol(db, practice, clock)
    outcome = submit(db, practice, clock, {"pain": 2, "nausea": 4, "fever": 0})
    assert [f.describe() for f in outcome.findings] == ["Nausea: Very severe (4), no earlier answer"]
    assert len(db.exec(select(UrgentItem)).all()) == 1


def test_the_previous_grade_is_the_last_answered_check_in_skipping_a_missed_one(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, {"pain": 0, "nausea": 0, "fever": 0})
    next_week(db, clock)
    submit(db, practice, clock, {"pain": 1, "nausea": 0, "fever": 0})
    next_week(db, clock)  # this one is missed
    next_week(db, clock)
    outcome = submit(db, practice, clock, {"pain": 3, "nausea": 0, "fever": 0})
    assert [(f.symptom, f.grade, f.previous) for f in outcome.findings] == [("pain", 3, 1)]
    next_week(db, clock)
    # 3 → 2 is better, not a finding: compared with the last answer, not the first.
    assert not submit(db, practice, clock, {"pain": 2, "nausea": 0, "fever": 0}).escalated


def test_the_urgent_queue_is_oldest_first_and_highlights_after_30_minutes(db, clock, practice):
    enrol(db, practice, clock)
    enrol(db, practice, clock, patient=practice.bob)
    submit(db, practice, clock, {"pain": 4, "nausea": 0, "fever": 0})
    clock.advance(minutes=10)
    submit(db, practice, clock, {"pain": 0, "nausea": 0, "fever": 1}, user=practice.bob_user,
           patient=practice.bob)
    clock.advance(minutes=19, seconds=59)
    shown = urgent.open_items(db, practice.staff, clock=clock)
    assert [(v.patient_name, v.overdue) for v in shown] == [("Alice Moreno", False), ("Bob Lindqvist", False)]
    clock.advance(seconds=1)  # Alice's has waited policy.URGENT_HIGHLIGHT_AFTER
    assert policy.URGENT_HIGHLIGHT_AFTER == timedelta(minutes=30)
    shown = urgent.open_items(db, practice.staff, clock=clock)
    assert [(v.patient_name, v.overdue) for v in shown] == [("Alice Moreno", True), ("Bob Lindqvist", False)]
    assert shown[1].lines == ["Fever or chills: Yes"]
    # The page's timer asks only which items wait: no names, no symptoms, no audit row.
    rows = len(audit(db))
    assert urgent.open_ids(db, practice.staff, clock=clock) == [v.id for v in shown]
    assert len(audit(db)) == rows
    with pytest.raises(NotAllowed):
        urgent.open_items(db, practice.alice_user, clock=clock)
    with pytest.raises(NotAllowed):
        urgent.open_ids(db, practice.carer, clock=clock)
    assert audit(db, action="admin.refused", actor_user_id=practice.alice_user.id)


def test_staff_acknowledge_with_a_note_and_the_item_leaves_the_queue(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, {"pain": 4, "nausea": 0, "fever": 0})
    [item] = urgent.open_items(db, practice.staff, clock=clock)
    for blank in ("", "   ", None, 42):
        with pytest.raises(ValidationError) as refused:
            urgent.acknowledge(db, practice.staff, item.id, note=blank, clock=clock)
        assert refused.value.field == "note"
    with pytest.raises(ValidationError):
        urgent.acknowledge(db, practice.staff, item.id, note="x" * (urgent.NOTE_MAX + 1), clock=clock)
    with pytest.raises(NotAllowed):
        urgent.acknowledge(db, practice.alice_user, item.id, note=urgent.CALLED, clock=clock)
    with pytest.raises(NotFound):
        urgent.acknowledge(db, practice.staff, 987_654, note=urgent.CALLED, clock=clock)
    with pytest.raises(NotFound):
        urgent.acknowledge(db, practice.staff, 2**70, note=urgent.CALLED, clock=clock)
    assert db.get(UrgentItem, item.id).acknowledged_at is None
    clock.advance(minutes=5)
    urgent.acknowledge(db, practice.staff, item.id, note="  Called the patient; coming in at 2 PM  ",
                       clock=clock)
    stored = db.get(UrgentItem, item.id)
    assert (stored.acknowledged_by_user_id, stored.acknowledged_at, stored.note) == (
        practice.staff.id, clock(), "Called the patient; coming in at 2 PM")
    assert urgent.open_items(db, practice.staff, clock=clock) == []
    [row] = audit(db, action="urgent.acknowledged")
    assert (row.actor_user_id, row.actor_role, row.patient_id) == (practice.staff.id, "staff", practice.alice.id)
    assert "coming in" not in row.detail


def test_the_second_of_two_acknowledgements_is_told_who_did_it(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, {"pain": 4, "nausea": 0, "fever": 0})
    db.commit()
    [item] = urgent.open_items(db, practice.staff, clock=clock)
    db.commit()
    colleague = make_staff(db, full_name="Ravi Shah")
    with Session(db.get_bind(), expire_on_commit=False) as other:
        assert other.get(UrgentItem, item.id).acknowledged_at is None  # both have it on screen
        clock.advance(minutes=5)
        urgent.acknowledge(db, practice.staff, item.id, note=urgent.CALLED, clock=clock)
        db.commit()
        clock.advance(seconds=20)
        with pytest.raises(ValidationError) as refused:
            urgent.acknowledge(other, colleague, item.id, note="Called, no answer", clock=clock)
        other.rollback()
    assert str(refused.value) == "Nora Quinn acknowledged this on Mon, Jan 5, 9:05 AM."
    db.expire_all()
    stored = db.get(UrgentItem, item.id)
    assert (stored.acknowledged_by_user_id, stored.note) == (practice.staff.id, urgent.CALLED)


# --- history -------------------------------------------------------------------------------------------


def test_history_is_oldest_first_with_the_right_grades(db, clock, practice):
    enrol(db, practice, clock)
    submit(db, practice, clock, {"pain": 1, "nausea": 0, "fever": 0})
    first_at = clock()
    next_week(db, clock)
    clock.advance(hours=3)
    submit(db, practice, clock, {"pain": 2, "nausea": 1, "fever": 0}, user=practice.carer)
    next_week(db, clock)  # missed
    next_week(db, clock)
    submit(db, practice, clock, {"pain": 0, "nausea": 3, "fever": 1})
    for reader, role in ((practice.alice_user, "patient"), (practice.carer, "caregiver"),
                         (practice.staff, "staff")):
        shown = checkins.history(db, reader, practice.alice.id, clock=clock)
        assert [c.grades for c in shown.checkins] == [
            {"pain": 1, "nausea": 0, "fever": 0}, {"pain": 2, "nausea": 1, "fever": 0},
            {"pain": 0, "nausea": 3, "fever": 1}]
        assert [c.submitted_by for c in shown.checkins] == ["Alice Moreno", "Carla Moreno", "Alice Moreno"]
        assert shown.checkins[0].submitted_at == first_at
        assert shown.checkins == sorted(shown.checkins, key=lambda c: c.submitted_at)
        assert shown.asked == ("nausea", "pain", "fever") and shown.missed == 1
        assert audit(db, action="checkin_history.viewed")[-1].actor_role == role
    assert checkins.history(db, practice.bob_user, practice.bob.id, clock=clock).checkins == []
    latest = checkins.latest_for_staff(db, practice.staff, practice.alice.id, clock=clock)
    assert latest.grades == {"pain": 0, "nausea": 3, "fever": 1}
    assert checkins.latest_for_staff(db, practice.staff, practice.bob.id, clock=clock) is None
    with pytest.raises(NotAllowed):
        checkins.latest_for_staff(db, practice.alice_user, practice.alice.id, clock=clock)
    with pytest.raises(NotAllowed):
        checkins.history(db, practice.bob_user, practice.alice.id, clock=clock)


# --- the audit trail --------------------------------------------------------------------------------


def test_every_read_and_change_leaves_its_audit_row(db, clock, practice):
    """Each step below is one row on Alice's trail (the office's queue: on the office's log).
    ``due_for`` writes none: like the Messages badge it is in Home's frame and shows no
    answers."""
    def trail_after(step) -> list[tuple[str, str]]:
        before = db.exec(select(func.max(AuditEvent.id))).one() or 0
        step()
        return [(e.action, e.actor_role) for e in db.exec(
            select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)).all()]

    staff, alice = practice.staff, practice.alice
    assert trail_after(lambda: enrol(db, practice, clock)) == [("checkins.enrolled", "staff")]
    assert trail_after(lambda: checkins.plan_for(db, staff, alice.id, clock=clock)) == [
        ("checkin_plan.viewed", "staff")]
    assert trail_after(lambda: enrol(db, practice, clock, keys=ASKED + ["mood"])) == [
        ("checkins.changed", "staff")]
    assert trail_after(lambda: due(db, practice, clock)) == []
    assert trail_after(lambda: submit(db, practice, clock, {"pain": 4, "nausea": 0, "fever": 0})) == [
        ("checkin.submitted", "patient")]
    assert trail_after(lambda: checkins.history(db, practice.carer, alice.id, clock=clock)) == [
        ("checkin_history.viewed", "caregiver")]
    assert trail_after(lambda: checkins.latest_for_staff(db, staff, alice.id, clock=clock)) == [
        ("checkin.latest_viewed", "staff")]
    [item] = db.exec(select(UrgentItem)).all()
    assert trail_after(lambda: urgent.open_items(db, staff, clock=clock)) == [("urgent.queue_viewed", "staff")]
    assert trail_after(lambda: urgent.acknowledge(db, staff, item.id, note=urgent.CALLED, clock=clock)) == [
        ("urgent.acknowledged", "staff")]
    assert trail_after(lambda: checkins.stop(db, staff, alice.id, clock=clock)) == [("checkins.stopped", "staff")]
    on_alice = {e.action for e in audit(db, patient_id=alice.id)}
    assert {"checkins.enrolled", "checkin_plan.viewed", "checkins.changed", "checkin.submitted",
            "checkin_history.viewed", "checkin.latest_viewed", "urgent.acknowledged",
            "checkins.stopped"} <= on_alice


def test_the_sweep_does_not_ask_once_per_enrolled_patient(db, clock, practice):
    enrol(db, practice, clock)
    clock.advance(minutes=1)

    def checkin_reads() -> int:
        with recorded_queries(db) as statements:
            assert checkins.sweep(db, clock=clock) == ([], [])
        return len(selects(statements, "checkins"))

    few = checkin_reads()
    for n in range(4):
        enrol(db, practice, clock, patient=make_patient(db, first_name=f"P{n}", last_name="Sweep"))
    assert checkin_reads() == few


# --- answers kept before sending (a session that ends mid-way loses nothing) -------------------


def test_answers_chosen_so_far_are_kept_for_that_person_only(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    kept = checkins.save_progress(db, practice.alice_user, practice.alice.id, waiting.id,
                                  {"pain": 2, "nausea": 9, "fever": True, "mood": 1}, clock=clock)
    assert kept == {"pain": 2}  # out of range, not a grade, not asked: not kept
    assert checkins.progress_for(db, practice.alice_user, waiting.id) == {"pain": 2}
    assert checkins.progress_for(db, practice.carer, waiting.id) == {}  # the caregiver's own
    checkins.save_progress(db, practice.alice_user, practice.alice.id, waiting.id,
                           {"pain": 3, "nausea": 1}, clock=clock)
    assert checkins.progress_for(db, practice.alice_user, waiting.id) == {"pain": 3, "nausea": 1}
    assert audit(db, action="checkin.save") == []  # not the record yet, as a message draft


def test_kept_answers_go_once_the_check_in_is_answered_or_closed(db, clock, practice):
    enrol(db, practice, clock)
    first = due(db, practice, clock)
    for person in (practice.alice_user, practice.carer):
        checkins.save_progress(db, person, practice.alice.id, first.id, {"pain": 1}, clock=clock)
    submit(db, practice, clock)
    assert db.exec(select(CheckinDraft)).all() == []
    next_week(db, clock)
    second = due(db, practice, clock)
    checkins.save_progress(db, practice.carer, practice.alice.id, second.id, {"pain": 1}, clock=clock)
    next_week(db, clock)  # unanswered: it expires, and what was kept of it goes
    assert db.exec(select(CheckinDraft)).all() == []


def test_only_the_patient_or_a_caregiver_keeps_answers_and_only_of_an_open_check_in(db, clock, practice):
    enrol(db, practice, clock)
    waiting = due(db, practice, clock)
    with pytest.raises(NotAllowed):
        checkins.save_progress(db, practice.staff, practice.alice.id, waiting.id, {"pain": 1},
                               clock=clock)
    with pytest.raises(NotAllowed):  # Bob, aiming at Alice's check-in through his own portal
        checkins.save_progress(db, practice.bob_user, practice.bob.id, waiting.id, {"pain": 1},
                               clock=clock)
    submit(db, practice, clock)
    with pytest.raises(ValidationError):
        checkins.save_progress(db, practice.alice_user, practice.alice.id, waiting.id,
                               {"pain": 1}, clock=clock)
    assert db.exec(select(CheckinDraft)).all() == []
