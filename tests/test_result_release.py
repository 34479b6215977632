"""When a lab report reaches the patient's side (issue #16, services/records/result_release.py).

Shown at once by default; held per category when the patient asks; held by a clinician for
a reason and a date; released once — by "Mark reviewed", "Release now", or by itself at its
date — with one "new results" email per person and one audit row, even when two workers
release at the same moment (PostgreSQL). While held, nothing of it reaches the patient's side.
"""
from __future__ import annotations

import dataclasses
import json
import threading
import time
from datetime import date, timedelta

import pytest
from sqlalchemy import text
from sqlmodel import Session, select

from carespace_app import policy, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, LabReport, LabResult, OutboxEmail, ResultHoldChoice
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError
from carespace_app.services.mail import notifications
from carespace_app.services.records import labs, record_export, result_release
from carespace_app.services.records.labs import ResultInput
from carespace_app.services.records.result_release import ClinicianHold
from carespace_app.state.admin_labs import AdminLabsState
from carespace_app.state.labs import LabsState
from carespace_app.state.settings import SettingsState
from tests.factories import make_patient, make_practice
from tests.tabs import Browser, sign_in_token

TUMOUR, PATHOLOGY, IMAGING, OTHER = "Tumour markers", "Pathology", "Imaging", "Other labs"
NEWS = "New lab results are ready to view"
REASON = result_release.CLINICIAN_HOLD_REASONS[0]  # "To discuss in person first"
# The FrozenClock starts Mon, Jan 5 2026, 15:00 UTC: 9:00 AM in the practice (Chicago).
MON_JAN_12 = "Mon, Jan 12"
THU_JAN_8 = "Thu, Jan 8"


@pytest.fixture
def practice(db):
    return make_practice(db)


def enter(db, practice, clock, *, category=OTHER, hold=None, patient=None, test="CA-125",
          value="412", panel="Tumour marker", loinc=""):
    collected = clock() - timedelta(days=1)
    return labs.enter_report(
        db, practice.staff, (patient or practice.alice).id, panel=panel, collected_at=collected,
        resulted_at=collected + timedelta(hours=3), ordering_provider="Dr. Anjali Rao",
        results=[ResultInput(test, value, "U/mL", None, 35, loinc=loinc)], clock=clock,
        category=category, hold=hold)


def result_emails(db, report_id=None) -> list[OutboxEmail]:
    rows = db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == notifications.LAB_RESULTS_KIND).order_by(OutboxEmail.id)).all()
    if report_id is None:
        return list(rows)
    return [e for e in rows if f"/labs?report={report_id}" in e.body_template]


def audit(db, action, patient_id=None) -> list[AuditEvent]:
    query = select(AuditEvent).where(AuditEvent.action == action)
    if patient_id is not None:
        query = query.where(AuditEvent.patient_id == patient_id)
    return list(db.exec(query.order_by(AuditEvent.id)).all())


def hold_for(db, practice, clock, **wanted) -> None:
    """The patient's own choice in Settings: {"Tumour markers": 7}."""
    result_release.set_choices(db, practice.alice_user, practice.alice.id,
                               {k.replace("_", " "): v for k, v in wanted.items()}, clock=clock)


def clinician_hold(clock, days=10, reason=REASON, note="Results to discuss at the visit.") -> ClinicianHold:
    today = timefmt.to_local(clock()).date()
    return ClinicianHold(reason=reason, note=note, release_on=today + timedelta(days=days))


def shown_ids(db, who, practice, clock) -> set[int]:
    return {r.id for r in labs.list_reports(db, who, practice.alice.id, clock=clock).items}


# --- immediate by default ------------------------------------------------------------------------


def test_by_default_a_report_is_shown_at_once_and_the_patient_side_is_emailed(db, clock, practice):
    report_id = enter(db, practice, clock)
    report = db.get(LabReport, report_id)
    assert report.released_at == clock() and report.hold_kind == ""
    assert shown_ids(db, practice.alice_user, practice, clock) == {report_id}
    assert shown_ids(db, practice.carer, practice, clock) == {report_id}
    assert labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock) == []
    emails = result_emails(db, report_id)
    assert sorted(e.to_address for e in emails) == sorted([practice.alice_user.email,
                                                          practice.carer.email])
    for email in emails:
        assert NEWS in email.body_template
        assert "CA-125" not in email.body_template and "412" not in email.body_template


def test_the_default_choice_is_right_away_for_every_category(db, clock, practice):
    assert result_release.choices(db, practice.alice_user, practice.alice.id, clock=clock) == {
        TUMOUR: 0, PATHOLOGY: 0, IMAGING: 0, OTHER: 0}


# --- the patient's choice, per category ----------------------------------------------------------


def test_a_patient_hold_holds_only_its_category_for_at_most_the_days_chosen(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    held_id = enter(db, practice, clock, category=TUMOUR)
    shown_id = enter(db, practice, clock, category=OTHER, test="Potassium", value="4.2")

    held = db.get(LabReport, held_id)
    assert held.released_at is None and held.hold_kind == "patient"
    assert held.release_by == clock() + timedelta(days=7)
    assert db.get(LabReport, shown_id).released_at == clock()
    # Only the report that is shown is emailed about; the held one waits for its release.
    assert result_emails(db, held_id) == []
    assert len(result_emails(db, shown_id)) == 2
    assert shown_ids(db, practice.alice_user, practice, clock) == {shown_id}
    line = f"1 result will appear after your care team reviews it, by {MON_JAN_12}."
    assert labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock) == [line]
    # The caregiver follows the patient's choice: the same line, the same list.
    assert labs.held_lines(db, practice.carer, practice.alice.id, clock=clock) == [line]
    assert shown_ids(db, practice.carer, practice, clock) == {shown_id}
    # Another patient's reports are not touched by Alice's choice.
    bobs = enter(db, practice, clock, category=TUMOUR, patient=practice.bob)
    assert db.get(LabReport, bobs).released_at == clock()


def test_held_lines_count_the_results_waiting_for_each_day(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7, Pathology=3)
    enter(db, practice, clock, category=TUMOUR)
    enter(db, practice, clock, category=TUMOUR, test="CEA", value="9")
    assert labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock) == [
        f"2 results will appear after your care team reviews them, by {MON_JAN_12}."]
    enter(db, practice, clock, category=PATHOLOGY, test="Biopsy margin", value="2")
    # The soonest first; never what the results are.
    lines = labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock)
    assert lines == [f"1 result will appear after your care team reviews it, by {THU_JAN_8}.",
                     f"2 results will appear after your care team reviews them, by {MON_JAN_12}."]
    assert not any(word in " ".join(lines) for word in ("CA-125", "CEA", "Biopsy", "Tumour"))


def test_the_held_lines_are_only_for_people_who_may_see_the_record(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    enter(db, practice, clock, category=TUMOUR)
    with pytest.raises(NotAllowed):
        labs.held_lines(db, practice.bob_user, practice.alice.id, clock=clock)


# --- setting the choice: the patient only, 0..14 days, audited ---------------------------------


@pytest.mark.parametrize("days", list(range(0, policy.RESULT_HOLD_MAX_DAYS + 1)))
def test_a_patient_may_choose_from_0_to_14_days(db, clock, practice, days):
    hold_for(db, practice, clock, Imaging=days)
    assert result_release.choices(db, practice.alice_user, practice.alice.id,
                                  clock=clock)[IMAGING] == days


@pytest.mark.parametrize("days", [policy.RESULT_HOLD_MAX_DAYS + 1, -1, "x", "", None, True, "7.5"])
def test_other_numbers_of_days_are_refused_with_the_sentence(db, clock, practice, days):
    with pytest.raises(ValidationError) as refused:
        hold_for(db, practice, clock, Tumour_markers=3, Imaging=days)
    assert str(refused.value) == f"Choose from 1 to {policy.RESULT_HOLD_MAX_DAYS} days."
    # Nothing of the form was saved, the valid category included.
    assert db.exec(select(ResultHoldChoice)).all() == []
    assert audit(db, "result_hold.changed") == []


def test_a_category_not_on_the_list_is_refused(db, clock, practice):
    with pytest.raises(ValidationError) as refused:
        result_release.set_choices(db, practice.alice_user, practice.alice.id,
                                   {"Everything": 14}, clock=clock)
    assert str(refused.value) == result_release.BAD_CATEGORY
    assert db.exec(select(ResultHoldChoice)).all() == []


@pytest.mark.parametrize("who", ["carer", "staff", "bob_user"])
def test_only_the_patient_sets_the_choice_others_are_refused_and_audited(db, clock, practice, who):
    actor = getattr(practice, who)
    with pytest.raises(NotAllowed):
        result_release.set_choices(db, actor, practice.alice.id, {TUMOUR: 14}, clock=clock)
    with pytest.raises(NotAllowed):
        result_release.choices(db, actor, practice.alice.id, clock=clock)
    db.expire_all()  # a repeated refusal is counted on its first row (trail.record_refusal)
    [refused] = audit(db, "access.refused", practice.alice.id)
    assert refused.actor_user_id == actor.id and refused.repeat_count == 2
    assert "result_hold.change" in refused.detail and "result_hold.view" in refused.detail
    assert db.exec(select(ResultHoldChoice)).all() == []
    # No practice-wide delay: a report entered now is shown at once.
    report_id = enter(db, practice, clock, category=TUMOUR)
    assert db.get(LabReport, report_id).released_at == clock()


def test_each_change_is_audited_once_and_no_change_writes_nothing(db, clock, practice):
    assert result_release.set_choices(db, practice.alice_user, practice.alice.id,
                                      {TUMOUR: 7, PATHOLOGY: "3", IMAGING: 0}, clock=clock)
    [first] = audit(db, "result_hold.changed", practice.alice.id)
    assert first.actor_user_id == practice.alice_user.id and first.actor_role == "patient"
    hold_words = "Hold them until my care team has reviewed them, at most {}"
    assert f"Tumour markers: {hold_words.format(result_release.days_words(7))}" in first.detail
    assert f"Pathology: {hold_words.format(result_release.days_words(3))}" in first.detail
    assert "Imaging" not in first.detail  # it was "right away" already
    # The same choices again (the form sends text): nothing changed, nothing written.
    assert not result_release.set_choices(db, practice.alice_user, practice.alice.id,
                                          {TUMOUR: "7", PATHOLOGY: 3, IMAGING: "0", OTHER: 0},
                                          clock=clock)
    assert len(audit(db, "result_hold.changed")) == 1
    clock.advance(days=1)
    assert result_release.set_choices(db, practice.alice_user, practice.alice.id,
                                      {TUMOUR: 0, PATHOLOGY: 3}, clock=clock)
    changes = audit(db, "result_hold.changed", practice.alice.id)
    assert len(changes) == 2
    assert changes[1].detail == "Tumour markers: Show me new results right away"
    assert result_release.choices(db, practice.alice_user, practice.alice.id, clock=clock) == {
        TUMOUR: 0, PATHOLOGY: 3, IMAGING: 0, OTHER: 0}


# --- the clinician's hold --------------------------------------------------------------------


def _range_sentence() -> str:
    return result_release.RELEASE_DATE_RANGE.format(
        most=policy.in_words(timedelta(days=policy.RESULT_HOLD_MAX_DAYS)))


@pytest.mark.parametrize("change,field,sentence", [
    (dict(reason=""), "hold_reason", result_release.REASON_NEEDED),
    (dict(reason="Because I said so"), "hold_reason", result_release.REASON_NEEDED),
    (dict(release_on=None), "hold_release_on", result_release.RELEASE_DATE_NEEDED),
    (dict(release_on="2026-01-10"), "hold_release_on", result_release.RELEASE_DATE_NEEDED),
    (dict(days=0), "hold_release_on", None),
    (dict(days=-1), "hold_release_on", None),
    (dict(days=policy.RESULT_HOLD_MAX_DAYS + 1), "hold_release_on", None),
    (dict(note="x" * (result_release.HOLD_NOTE_MAX + 1)), "hold_note",
     f"The note can be at most {result_release.HOLD_NOTE_MAX} characters."),
])
def test_a_clinician_hold_needs_a_reason_a_date_within_14_days_and_a_short_note(
        db, clock, practice, change, field, sentence):
    hold = clinician_hold(clock, days=change.pop("days", 10))
    for key, value in change.items():
        setattr(hold, key, value)
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, category=TUMOUR, hold=hold)
    assert refused.value.field == field
    assert str(refused.value) == (sentence or _range_sentence())
    assert db.exec(select(LabReport)).all() == [] and result_emails(db) == []


@pytest.mark.parametrize("days,note", [(1, ""), (policy.RESULT_HOLD_MAX_DAYS, "n" * 500)])
def test_a_clinician_hold_at_the_limits_is_taken(db, clock, practice, days, note):
    report_id = enter(db, practice, clock, hold=clinician_hold(clock, days=days, note=note))
    report = db.get(LabReport, report_id)
    assert report.released_at is None and report.hold_kind == "clinician"
    assert report.hold_note == note


def test_a_clinician_hold_wins_over_the_patients_choice_and_staff_see_why(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=3)
    hold = clinician_hold(clock, days=10)  # later than the patient's 3 days: the clinician's date
    report_id = enter(db, practice, clock, category=TUMOUR, hold=hold)
    report = db.get(LabReport, report_id)
    assert report.hold_kind == "clinician" and report.hold_reason == REASON
    assert report.hold_note == "Results to discuss at the visit."
    assert report.held_by_user_id == practice.staff.id
    # Released by itself at 8 AM in the practice on the day chosen (Thu, Jan 15).
    assert timefmt.to_local(report.release_by).replace(tzinfo=None).isoformat() == "2026-01-15T08:00:00"
    assert labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock) == [
        "1 result will appear after your care team reviews it, by Thu, Jan 15."]
    assert result_emails(db) == []
    entered = audit(db, "lab_report.entered", practice.alice.id)[-1]
    assert "held (clinician)" in entered.detail

    [staff_view] = labs.list_reports(db, practice.staff, practice.alice.id, clock=clock,
                                     office=True).items
    assert staff_view.held and not staff_view.reviewed
    assert staff_view.release_status == (
        f"Held by Nora Quinn: {REASON}. Released by itself on {timefmt.day(date(2026, 1, 15))}"
        ". Note: Results to discuss at the visit.")
    assert [r.value_text for r in staff_view.results] == ["412"]


def test_the_office_reads_each_kind_of_release(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    patient_held = enter(db, practice, clock, category=TUMOUR, panel="Markers")
    shown = enter(db, practice, clock, category=OTHER, panel="Chemistry", test="Sodium", value="140")
    views = {r.id: r for r in labs.list_reports(db, practice.staff, practice.alice.id, clock=clock,
                                                office=True).items}
    assert views[patient_held].held and views[patient_held].release_status == (
        "Held at the patient's request until reviewed, at most until "
        f"{timefmt.day(clock() + timedelta(days=7))}")
    assert not views[shown].held and views[shown].release_status == ""  # the badge says it
    result_release.mark_reviewed(db, practice.staff, shown, clock=clock)
    view = next(r for r in labs.list_reports(db, practice.staff, practice.alice.id, clock=clock,
                                             office=True).items if r.id == shown)
    assert view.reviewed
    assert view.release_status == f"Reviewed by Nora Quinn, {timefmt.when(clock())}"


def test_the_office_list_with_held_reports_is_for_staff_only(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    enter(db, practice, clock, category=TUMOUR)
    for who in (practice.alice_user, practice.carer):
        with pytest.raises(NotAllowed):
            labs.list_reports(db, who, practice.alice.id, clock=clock, office=True)
    # Staff looking at the patient's own view see what the patient sees.
    assert labs.list_reports(db, practice.staff, practice.alice.id, clock=clock).items == []


# --- held values never reach the patient's side ----------------------------------------------


def test_a_held_report_shows_nowhere_on_the_patients_side(db, clock, practice):
    earlier = enter(db, practice, clock, category=TUMOUR, value="30", panel="Earlier markers")
    clock.advance(days=2)
    hold_for(db, practice, clock, Tumour_markers=7)
    held = enter(db, practice, clock, category=TUMOUR, value="412", panel="Held markers")
    enter(db, practice, clock, category=PATHOLOGY, test="Ki-67", value="80", panel="Held biopsy",
          hold=clinician_hold(clock))

    for who in (practice.alice_user, practice.carer, practice.staff):
        page = labs.list_reports(db, who, practice.alice.id, clock=clock)
        assert [r.id for r in page.items] == [earlier]
        with pytest.raises(NotFound):
            labs.open_report(db, who, practice.alice.id, held, clock=clock)
        assert [r.id for r in labs.latest_reports(db, who, practice.alice.id, clock=clock)] == [earlier]
        history = labs.test_history(db, who, practice.alice.id, "CA-125", clock=clock)
        assert [p.value_text for p in history] == ["30"]
        assert labs.test_history(db, who, practice.alice.id, "Ki-67", clock=clock) == []
        assert labs.test_names(db, who, practice.alice.id, clock=clock) == ["CA-125"]
        export = record_export.collect(db, who, practice.alice.id, start=date(2025, 12, 1),
                                       end=date(2026, 1, 31), include_messages=False, clock=clock)
        assert [r.id for r in export.reports] == [earlier]
        pdf_text = repr(record_export.fhir_bundle(export))
        assert "412" not in pdf_text and "Ki-67" not in pdf_text

    office = {r.id: r for r in labs.list_reports(db, practice.staff, practice.alice.id,
                                                 clock=clock, office=True).items}
    assert len(office) == 3 and office[held].held and not office[earlier].held
    assert [r.value_text for r in office[held].results] == ["412"]


# --- releasing: mark reviewed, release now ---------------------------------------------------


def test_mark_reviewed_releases_once_and_emails_once(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    report_id = enter(db, practice, clock, category=TUMOUR)
    clock.advance(hours=2)
    assert result_release.mark_reviewed(db, practice.staff, report_id, clock=clock) is True
    report = db.get(LabReport, report_id)
    assert report.released_at == clock() and report.reviewed_by_user_id == practice.staff.id
    assert sorted(e.to_address for e in result_emails(db, report_id)) == sorted(
        [practice.alice_user.email, practice.carer.email])
    assert shown_ids(db, practice.alice_user, practice, clock) == {report_id}
    assert labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock) == []
    assert labs.open_report(db, practice.carer, practice.alice.id, report_id, clock=clock).id == report_id
    [released] = audit(db, "lab_report.released", practice.alice.id)
    assert released.actor_user_id == practice.staff.id
    assert released.detail == f"report {report_id}, marked reviewed"
    assert len(audit(db, "lab_report.reviewed", practice.alice.id)) == 1

    # Again, or "Release now" afterwards: nothing more is sent or recorded.
    clock.advance(minutes=5)
    assert result_release.mark_reviewed(db, practice.staff, report_id, clock=clock) is False
    with pytest.raises(ValidationError) as refused:
        result_release.release_now(db, practice.staff, report_id, clock=clock)
    assert str(refused.value) == result_release.NOT_HELD
    assert len(result_emails(db, report_id)) == 2
    assert len(audit(db, "lab_report.released")) == 1
    assert len(audit(db, "lab_report.reviewed")) == 1
    assert db.get(LabReport, report_id).released_at == clock() - timedelta(minutes=5)


def test_mark_reviewed_on_a_shown_report_records_the_review_and_sends_nothing(db, clock, practice):
    report_id = enter(db, practice, clock)
    before = len(result_emails(db))
    assert result_release.mark_reviewed(db, practice.staff, report_id, clock=clock) is False
    assert db.get(LabReport, report_id).reviewed_at == clock()
    assert len(result_emails(db)) == before
    assert audit(db, "lab_report.released") == []


def test_release_now_releases_a_clinician_hold_once(db, clock, practice):
    report_id = enter(db, practice, clock, category=TUMOUR, hold=clinician_hold(clock))
    result_release.release_now(db, practice.staff, report_id, clock=clock)
    assert db.get(LabReport, report_id).released_at == clock()
    assert len(result_emails(db, report_id)) == 2
    [released] = audit(db, "lab_report.released")
    assert released.detail == f"report {report_id}, released now"
    with pytest.raises(ValidationError):
        result_release.release_now(db, practice.staff, report_id, clock=clock)
    assert result_release.mark_reviewed(db, practice.staff, report_id, clock=clock) is False
    assert len(result_emails(db, report_id)) == 2 and len(audit(db, "lab_report.released")) == 1


def test_release_now_on_a_report_already_shown_says_so(db, clock, practice):
    report_id = enter(db, practice, clock)
    with pytest.raises(ValidationError) as refused:
        result_release.release_now(db, practice.staff, report_id, clock=clock)
    assert str(refused.value) == "That report is already shown to the patient."
    assert len(result_emails(db, report_id)) == 2


@pytest.mark.parametrize("who", ["alice_user", "carer", "bob_user"])
def test_only_staff_review_or_release(db, clock, practice, who):
    report_id = enter(db, practice, clock, category=TUMOUR, hold=clinician_hold(clock))
    actor = getattr(practice, who)
    with pytest.raises(NotAllowed):
        result_release.mark_reviewed(db, actor, report_id, clock=clock)
    with pytest.raises(NotAllowed):
        result_release.release_now(db, actor, report_id, clock=clock)
    assert db.get(LabReport, report_id).released_at is None
    assert db.get(LabReport, report_id).reviewed_at is None
    assert result_emails(db) == []
    db.expire_all()  # a repeated refusal is counted on its first row (trail.record_refusal)
    [refused] = audit(db, "admin.refused")
    assert refused.actor_user_id == actor.id and refused.repeat_count == 2
    assert "lab_report.review" in refused.detail and "lab_report.release" in refused.detail


@pytest.mark.parametrize("report_id", [987654, 0, -1, "1", True, None, 2**70])
def test_an_unknown_report_is_not_found(db, clock, practice, report_id):
    enter(db, practice, clock, hold=clinician_hold(clock))
    with pytest.raises(NotFound) as missing:
        result_release.mark_reviewed(db, practice.staff, report_id, clock=clock)
    assert str(missing.value) == result_release.REPORT_NOT_FOUND
    with pytest.raises(NotFound):
        result_release.release_now(db, practice.staff, report_id, clock=clock)
    assert result_emails(db) == []


# --- released by itself at its date ---------------------------------------------------------


def test_a_patient_hold_ends_at_its_moment_on_the_next_read(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=7)
    report_id = enter(db, practice, clock, category=TUMOUR)
    clock.advance(days=7, seconds=-1)
    assert len(labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock)) == 1
    assert result_emails(db) == []
    clock.advance(seconds=1)
    assert labs.held_lines(db, practice.carer, practice.alice.id, clock=clock) == []
    assert db.get(LabReport, report_id).released_at == clock()
    assert shown_ids(db, practice.alice_user, practice, clock) == {report_id}
    assert len(result_emails(db, report_id)) == 2
    [released] = audit(db, "lab_report.released")
    assert released.actor_user_id is None and released.actor_role == "system"
    assert released.detail == f"report {report_id}, its hold ended"
    # Read again, swept again: nothing more.
    labs.held_lines(db, practice.alice_user, practice.alice.id, clock=clock)
    assert result_release.release_due(db, clock=clock) == 0
    assert len(result_emails(db, report_id)) == 2 and len(audit(db, "lab_report.released")) == 1


def test_opening_the_emailed_link_after_the_date_releases_the_report(db, clock, practice):
    report_id = enter(db, practice, clock, category=TUMOUR, hold=clinician_hold(clock, days=3))
    with pytest.raises(NotFound):
        labs.open_report(db, practice.alice_user, practice.alice.id, report_id, clock=clock)
    clock.advance(days=3)  # Thu, Jan 8, 9 AM: past 8 AM of the release day
    view = labs.open_report(db, practice.alice_user, practice.alice.id, report_id, clock=clock)
    assert view.id == report_id and [r.value_text for r in view.results] == ["412"]
    assert len(result_emails(db, report_id)) == 2
    labs.open_report(db, practice.alice_user, practice.alice.id, report_id, clock=clock)
    assert len(result_emails(db, report_id)) == 2 and len(audit(db, "lab_report.released")) == 1


def test_a_clinician_hold_releases_at_8_am_on_its_day(db, clock, practice):
    report_id = enter(db, practice, clock, hold=clinician_hold(clock, days=2))  # Wed, Jan 7
    clock.now = timefmt.to_utc_naive(timefmt.to_local(clock()).replace(
        day=7, hour=7, minute=59, tzinfo=None))
    assert result_release.release_due(db, clock=clock) == 0
    clock.advance(minutes=1)
    assert result_release.release_due(db, clock=clock) == 1
    assert db.get(LabReport, report_id).released_at == clock()


def test_the_sweep_releases_every_patients_due_reports_and_no_others(db, clock, practice):
    hold_for(db, practice, clock, Tumour_markers=2)
    alices = enter(db, practice, clock, category=TUMOUR)
    later = enter(db, practice, clock, category=PATHOLOGY, hold=clinician_hold(clock, days=5))
    bobs = enter(db, practice, clock, patient=practice.bob, hold=clinician_hold(clock, days=1))
    assert result_release.release_due(db, clock=clock) == 0
    clock.advance(days=2)
    assert result_release.release_due(db, clock=clock) == 2
    assert db.get(LabReport, alices).released_at == clock()
    assert db.get(LabReport, bobs).released_at == clock()
    assert db.get(LabReport, later).released_at is None
    assert [e.to_address for e in result_emails(db, bobs)] == [practice.bob_user.email]
    assert len(result_emails(db, alices)) == 2 and result_emails(db, later) == []
    assert result_release.release_due(db, clock=clock) == 0
    # One patient's sweep (a read of their Labs) leaves the others for the job.
    clock.advance(days=3)
    other = enter(db, practice, clock, patient=practice.bob, hold=clinician_hold(clock, days=1))
    clock.advance(days=1)
    assert result_release.release_due(db, clock=clock, patient_id=practice.alice.id) == 1
    assert db.get(LabReport, other).released_at is None


# --- released exactly once across workers ------------------------------------------------------


def _due_reports(db, clock, practice, count=6) -> list[int]:
    """Held reports for Alice (patient and caregiver told) and Bob, all due after 1 day."""
    ids = [enter(db, practice, clock, patient=(practice.alice if n % 2 == 0 else practice.bob),
                 hold=clinician_hold(clock, days=1), test=f"Marker {n}") for n in range(count)]
    db.commit()
    clock.advance(days=1)
    return ids


def _assert_released_once(db, practice, ids) -> None:
    db.expire_all()
    for report_id in ids:
        report = db.get(LabReport, report_id)
        assert report.released_at is not None
        expected = [practice.alice_user.email, practice.carer.email] \
            if report.patient_id == practice.alice.id else [practice.bob_user.email]
        assert sorted(e.to_address for e in result_emails(db, report_id)) == sorted(expected)
        released = [e for e in audit(db, "lab_report.released")
                    if e.detail.startswith(f"report {report_id},")]
        assert len(released) == 1, released


def _in_two_workers(engine, work_a, work_b) -> list:
    """Run each in its own thread, session and connection, started together."""
    start = threading.Barrier(2, timeout=30)
    results: list = [None, None]
    errors: list = []

    def worker(n, work):
        try:
            with Session(engine, expire_on_commit=False) as session:
                start.wait()
                results[n] = work(session)
                session.commit()
        except Exception as exc:  # noqa: BLE001 — reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(0, work_a)),
               threading.Thread(target=worker, args=(1, work_b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    return results


def _sweep(clock):
    return lambda session: result_release.release_due(session, clock=clock)


def test_two_sweeps_one_after_the_other_release_each_report_once(engine, db, clock, practice):
    ids = _due_reports(db, clock, practice)
    for _ in range(2):
        with Session(engine, expire_on_commit=False) as worker:
            result_release.release_due(worker, clock=clock)
            worker.commit()
    _assert_released_once(db, practice, ids)


def test_two_workers_at_once_release_each_report_once_on_postgresql(engine, db, clock, practice):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers, so two workers cannot race there; the "
                    "sequential test above covers SQLite. Set CARESPACE_TEST_DATABASE_URL.")
    for _ in range(5):  # a few rounds: the barrier starts both at the same moment
        ids = _due_reports(db, clock, practice)
        counts = _in_two_workers(engine, _sweep(clock), _sweep(clock))
        assert sum(counts) == len(ids), counts
        _assert_released_once(db, practice, ids)


def test_mark_reviewed_and_the_sweep_at_once_release_once_on_postgresql(engine, db, clock, practice):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers, so two workers cannot race there; the "
                    "sequential test above covers SQLite. Set CARESPACE_TEST_DATABASE_URL.")
    for _ in range(5):
        ids = _due_reports(db, clock, practice, count=2)
        staff = practice.staff
        got = _in_two_workers(
            engine,
            lambda s: result_release.mark_reviewed(s, s.get(type(staff), staff.id), ids[0], clock=clock),
            _sweep(clock))
        assert int(got[0]) + got[1] == 2, got
        _assert_released_once(db, practice, ids)


def test_a_worker_waiting_on_anothers_release_sends_nothing_on_postgresql(engine, db, clock, practice):
    """The race made certain: worker A has released (not yet committed) when worker B reads
    the same reports as due and tries to release them; B waits for A's row locks, then its
    conditional UPDATE finds them released and B sends nothing."""
    if engine.dialect.name != "postgresql":
        pytest.skip("Row locks and READ COMMITTED re-checks are PostgreSQL's; SQLite "
                    "serialises writers (the sequential test covers it).")
    ids = _due_reports(db, clock, practice, count=4)
    a = Session(engine, expire_on_commit=False)
    try:
        assert result_release.release_due(a, clock=clock) == len(ids)
        got: list = []
        b = threading.Thread(target=lambda: got.append(_run_and_commit(engine, _sweep(clock))))
        b.start()
        _wait_until_a_query_waits_for_a_lock(engine)
        a.commit()
    finally:
        a.close()
    b.join(30)
    assert got == [0]
    _assert_released_once(db, practice, ids)


def _run_and_commit(engine, work):
    with Session(engine, expire_on_commit=False) as session:
        value = work(session)
        session.commit()
        return value


def _wait_until_a_query_waits_for_a_lock(engine, seconds=10.0) -> None:
    deadline = time.monotonic() + seconds
    with engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock'")).scalar()
            conn.commit()
            if waiting:
                return
            time.sleep(0.02)
    pytest.fail("the second worker never waited for the first one's row lock")


# --- LOINC codes -----------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["2857-1", "10334-1", "", "  "])
def test_a_loinc_code_with_its_check_digit_is_taken(code):
    assert labs.checked_loinc(code, 1) == code.strip()


@pytest.mark.parametrize("code", ["2857-2", "abc", "12345678-1", "2857", "-1", "2857-1x"])
def test_a_loinc_code_that_is_wrong_is_refused(code):
    with pytest.raises(ValidationError) as refused:
        labs.checked_loinc(code, 2)
    assert str(refused.value) == labs.LOINC_WRONG.format(n=2)


def test_the_loinc_code_is_stored_on_the_result(db, clock, practice):
    report_id = enter(db, practice, clock, test="PSA", value="2.1", loinc="2857-1")
    [result] = db.exec(select(LabResult).where(LabResult.report_id == report_id)).all()
    assert result.loinc == "2857-1"
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, test="PSA", value="2.1", loinc="2857-2")
    assert str(refused.value) == labs.LOINC_WRONG.format(n=1)


def test_a_patient_without_an_account_is_not_emailed_about_results(db, clock, practice):
    # New results need an account to be read: the release emails only people who can sign in.
    walk_in = make_patient(db, first_name="Wren", last_name="Okafor", with_account=False)
    report_id = enter(db, practice, clock, patient=walk_in, hold=clinician_hold(clock, days=1))
    clock.advance(days=1)
    assert result_release.release_due(db, clock=clock) == 1
    assert result_emails(db, report_id) == []
    assert db.get(LabReport, report_id).released_at == clock()


# --- the pages' handlers, in-process (tests/tabs.py) --------------------------------------------


def _tab(user, path):
    browser = Browser("release")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(path)
    return tab


def test_settings_saves_the_patients_choice_and_labs_says_a_result_is_waiting(db, practice):
    db.commit()
    tab = _tab(practice.alice_user, routes.SETTINGS)
    page = tab.state(SettingsState)
    assert page.result_mode == {TUMOUR: "now", PATHOLOGY: "now", IMAGING: "now", OTHER: "now"}
    tab.call(SettingsState, "set_result_mode", category=TUMOUR, mode="hold")
    tab.call(SettingsState, "set_result_days", category=TUMOUR, days="5")
    tab.call(SettingsState, "set_result_mode", category="Everything", mode="hold")  # ignored
    tab.call(SettingsState, "save_result_choices")
    page = tab.state(SettingsState)
    assert page.result_error == "" and not page.result_saving
    assert (page.result_mode[TUMOUR], page.result_days[TUMOUR]) == ("hold", "5")
    db.expire_all()
    assert result_release.choices(db, practice.alice_user, practice.alice.id,
                                  clock=utcnow)[TUMOUR] == 5

    report_id = enter(db, practice, utcnow, category=TUMOUR)
    db.commit()
    labs_page = _tab(practice.carer, routes.LABS).state(LabsState)
    assert labs_page.reports == []
    assert labs_page.held_notes == [
        "1 result will appear after your care team reviews it, by "
        f"{timefmt.day(db.get(LabReport, report_id).release_by)}."]
    assert "CA-125" not in json.dumps(labs_page.dict(), default=str)


def test_a_caregivers_settings_show_no_choice_and_cannot_save_one(db, practice):
    db.commit()
    tab = _tab(practice.carer, routes.SETTINGS)
    assert tab.state(SettingsState).result_mode == {}
    tab.call(SettingsState, "save_result_choices")
    db.expire_all()
    assert db.exec(select(ResultHoldChoice)).all() == []


def test_the_office_holds_a_report_from_the_form_and_releases_it(db, practice):
    db.commit()
    tab = _tab(practice.staff, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    form_state = tab.state(AdminLabsState)
    release_on = timefmt.to_local(utcnow()).date() + timedelta(days=2)
    form = {"form_key": form_state.form_key, "panel": "Biopsy", "ordering_provider": "Dr. Rao",
            "collected_at": timefmt.to_local(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
            "resulted_at": timefmt.to_local(utcnow()).strftime("%Y-%m-%dT%H:%M"),
            "category": PATHOLOGY, "test_0": "Ki-67", "value_0": "80", "unit_0": "%",
            "loinc_0": "29593-5x", "hold": "on", "hold_reason": "Other", "hold_note": "",
            "hold_release_on": release_on.isoformat()}
    tab.call(AdminLabsState, "enter_report", form=form)
    assert tab.state(AdminLabsState).errors["results"] == labs.LOINC_WRONG.format(n=1)
    tab.call(AdminLabsState, "enter_report", form={**form, "loinc_0": "",
                                                   "hold_release_on": "not a date"})
    assert tab.state(AdminLabsState).errors["hold_release_on"] == result_release.RELEASE_DATE_NEEDED
    tab.call(AdminLabsState, "enter_report", form={**form, "loinc_0": ""})
    [report] = tab.state(AdminLabsState).reports
    assert report.held and report.category == PATHOLOGY
    assert report.release_status.startswith("Held by Nora Quinn: Other. Released by itself on ")
    tab.call(AdminLabsState, "release_now", report_id=report.id)
    [report] = tab.state(AdminLabsState).reports
    assert not report.held and report.release_status == ""  # the badge says it
    db.expire_all()
    assert len(result_emails(db, int(report.id))) == 2


def test_the_clinicians_note_is_shown_to_staff_on_the_report(db, clock, practice):
    enter(db, practice, clock, hold=clinician_hold(clock, note="Dr. Rao wants the PET scan first."))
    [view] = labs.list_reports(db, practice.staff, practice.alice.id, clock=clock, office=True).items
    assert "Dr. Rao wants the PET scan first." in json.dumps(dataclasses.asdict(view), default=str)
