"""Lab reports: flags at their limits, entry rules, corrections, history and who may read them."""
from __future__ import annotations

import math
from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, LabResult, OutboxEmail
from carespace_app.services import labs
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.labs import ResultInput, compute_flag, reference_text
from tests.factories import make_practice, recorded_queries, revoke_caregiver, selects


@pytest.fixture
def practice(db):
    return make_practice(db)


def potassium(value, **kw):
    return ResultInput("Potassium", value, "mmol/L", 3.5, 5.1, **kw)


def enter(db, practice, clock, results=None, *, days_ago=1, patient=None, **changes):
    collected = clock() - timedelta(days=days_ago)
    fields = dict(panel="Basic Metabolic Panel", collected_at=collected,
                  resulted_at=collected + timedelta(hours=3), ordering_provider="Dr. Anjali Rao",
                  results=results if results is not None else [potassium(4.2)])
    fields.update(changes)
    return labs.enter_report(db, practice.staff, (patient or practice.alice).id, clock=clock, **fields)


# --- flags and ranges ------------------------------------------------------------------------


@pytest.mark.parametrize("value,flag", [
    (5.0, "normal"), (5.1, "normal"), (5.11, "high"), (3.5, "normal"), (3.49, "low"),
    (6.2, "critical high"), (7.0, "critical high"), (2.8, "critical low"), (2.81, "low"),
])
def test_flags_at_the_limits(value, flag):
    assert compute_flag(value, 3.5, 5.1, critical_low=2.8, critical_high=6.2) == flag


def test_missing_limits_are_ignored():
    assert compute_flag(500, None, None) == "normal"
    assert compute_flag(36, None, 35) == "high"
    assert compute_flag(10, 40, None) == "low"
    assert compute_flag(1000, 3.5, 5.1) == "high"  # no critical limits: never critical


def test_reference_text_reads_as_on_a_report():
    assert reference_text(3.5, 5.0) == "3.5–5.0"
    assert reference_text(None, 200) == "< 200"
    assert reference_text(40, None) == "> 40"
    assert reference_text(150, 450) == "150–450"
    assert reference_text(None, None) == ""


# --- entering reports -----------------------------------------------------------------------


def test_a_report_is_shown_with_flags_labels_and_ranges(db, clock, practice):
    report_id = enter(db, practice, clock, [
        ResultInput("WBC", 2.9, "K/uL", 4.0, 11.0),
        ResultInput("Platelets", 48, "K/uL", 150, 450, critical_low=50),
        ResultInput("Hemoglobin", 12.5, "g/dL", 12.0, 15.5),
        ResultInput("CA-125", 52, "U/mL", None, 35),
    ], panel="CBC with tumor marker")
    page = labs.list_reports(db, practice.alice_user, practice.alice.id, clock=clock)
    [report] = page.items
    assert (report.id, report.panel, report.abnormal_count) == (report_id, "CBC with tumor marker", 3)
    shown = [(r.test_name, r.flag_label, r.reference_text, r.value_text) for r in report.results]
    assert shown == [("WBC", "Low", "4–11", "2.9"), ("Platelets", "Critical low", "150–450", "48"),
                     ("Hemoglobin", "", "12.0–15.5", "12.5"), ("CA-125", "High", "< 35", "52")]
    stored = db.exec(select(LabResult)).all()
    assert {r.patient_id for r in stored} == {practice.alice.id}
    assert {r.collected_at for r in stored} == {report.collected_at}


def test_new_results_email_says_nothing_medical(db, clock, practice):
    enter(db, practice, clock, [ResultInput("CA-125", 412, "U/mL", None, 35)], panel="Tumor marker")
    emails = db.exec(select(OutboxEmail)).all()
    assert sorted(e.to_address for e in emails) == sorted([practice.alice_user.email,
                                                          practice.carer.email])
    for email in emails:
        assert email.subject == "New results are available in CareSpace"
        assert email.kind == "lab_notification"
        for secret in ("CA-125", "412", "Tumor", "high", "Dr. Anjali Rao"):
            assert secret not in email.subject + email.body_template


@pytest.mark.parametrize("field,kwargs", [
    ("results", {"results": []}),
    ("results", {"results": [ResultInput("  ", 1.0)]}),
    ("results", {"results": [ResultInput("Glucose", math.nan)]}),
    ("results", {"results": [ResultInput("Glucose", math.inf)]}),
    ("results", {"results": [ResultInput("Glucose", "ninety")]}),
    ("results", {"results": [ResultInput("Glucose", 90, "mg/dL", 99, 70)]}),
    ("panel", {"panel": ""}),
    ("ordering_provider", {"ordering_provider": " "}),
])
def test_entry_rules(db, clock, practice, field, kwargs):
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, **kwargs)
    assert refused.value.field == field
    assert db.exec(select(LabResult)).all() == []


def test_times_must_make_sense(db, clock, practice):
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, collected_at=clock() + timedelta(hours=1),
              resulted_at=clock() + timedelta(hours=2))
    assert refused.value.field == "collected_at"
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, collected_at=clock() - timedelta(hours=1),
              resulted_at=clock() - timedelta(hours=2))
    assert refused.value.field == "resulted_at"


def test_only_staff_enter_or_correct(db, clock, practice):
    report_id = enter(db, practice, clock)
    result = db.exec(select(LabResult).where(LabResult.report_id == report_id)).one()
    with pytest.raises(NotAllowed):
        labs.enter_report(db, practice.alice_user, practice.alice.id, panel="x",
                          collected_at=clock(), resulted_at=clock(), ordering_provider="me",
                          results=[potassium(4.0)], clock=clock)
    with pytest.raises(NotAllowed):
        labs.correct_result(db, practice.alice_user, result.id, value=1.0, clock=clock)
    assert db.get(LabResult, result.id).value == 4.2


def test_a_correction_keeps_the_old_value_in_the_audit_trail(db, clock, practice):
    enter(db, practice, clock, [potassium(6.3, critical_high=6.2)])
    result = db.exec(select(LabResult)).one()
    assert result.flag == "critical high"
    clock.advance(hours=1)
    labs.correct_result(db, practice.staff, result.id, value=4.3, clock=clock)
    db.refresh(result)
    assert (result.value, result.flag, result.corrected_at) == (4.3, "normal", clock())
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "lab_result.corrected")).one()
    assert event.detail == "test Potassium: 6.3 -> 4.3 mmol/L"
    assert event.patient_id == practice.alice.id
    [report] = labs.list_reports(db, practice.alice_user, practice.alice.id, clock=clock).items
    assert report.results[0].corrected and report.abnormal_count == 0


# --- reading -----------------------------------------------------------------------------------


def test_reports_newest_first_with_results_in_one_extra_query(db, clock, practice):
    for days_ago in range(12, 0, -1):
        enter(db, practice, clock, [potassium(4.0 + days_ago / 10), ResultInput("Sodium", 140)],
              days_ago=days_ago)
    with recorded_queries(db) as statements:
        page = labs.list_reports(db, practice.alice_user, practice.alice.id, limit=10, clock=clock)
    assert len(page.items) == 10 and page.has_more
    resulted = [r.resulted_at for r in page.items]
    assert resulted == sorted(resulted, reverse=True)
    assert all(len(r.results) == 2 for r in page.items)
    assert len(selects(statements, "lab_reports")) == 1
    assert len(selects(statements, "lab_results")) == 1

    latest = labs.latest_reports(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [r.id for r in latest] == [r.id for r in page.items[:3]]


def test_history_is_oldest_first_and_keeps_the_latest_values(db, clock, practice):
    for days_ago, value in ((90, 3.4), (60, 4.0), (30, 5.3), (1, 4.4)):
        enter(db, practice, clock, [potassium(value), ResultInput("Sodium", 140)], days_ago=days_ago)
    history = labs.test_history(db, practice.alice_user, practice.alice.id, "Potassium", clock=clock)
    assert [(p.value, p.flag) for p in history] == [(3.4, "low"), (4.0, "normal"), (5.3, "high"),
                                                   (4.4, "normal")]
    assert (history[0].unit, history[0].ref_low, history[0].ref_high) == ("mmol/L", 3.5, 5.1)
    last_two = labs.test_history(db, practice.alice_user, practice.alice.id, "Potassium", limit=2,
                                 clock=clock)
    assert [p.value for p in last_two] == [5.3, 4.4]
    assert labs.test_names(db, practice.alice_user, practice.alice.id, clock=clock) == [
        "Potassium", "Sodium"]
    actions = [e.action for e in db.exec(select(AuditEvent)).all()]
    assert actions.count("lab_history.viewed") == 2


def test_another_patient_cannot_read_labs(db, clock, practice):
    enter(db, practice, clock, patient=practice.bob)
    intruder = practice.alice_user
    for call in (
        lambda: labs.list_reports(db, intruder, practice.bob.id, clock=clock),
        lambda: labs.latest_reports(db, intruder, practice.bob.id, clock=clock),
        lambda: labs.test_history(db, intruder, practice.bob.id, "Potassium", clock=clock),
        lambda: labs.test_names(db, intruder, practice.bob.id, clock=clock),
    ):
        with pytest.raises(NotAllowed):
            call()
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused",
                                               AuditEvent.patient_id == practice.bob.id)).all()
    assert sum(e.repeat_count for e in refused) == 4  # counted on one row (test_audit_flood.py)


def test_caregiver_reads_labs_until_revoked_and_staff_reads_are_audited(db, clock, practice):
    enter(db, practice, clock)
    assert labs.list_reports(db, practice.carer, practice.alice.id, clock=clock).items
    labs.list_reports(db, practice.staff, practice.alice.id, clock=clock)
    roles = {(e.actor_user_id, e.actor_role) for e in db.exec(
        select(AuditEvent).where(AuditEvent.action == "labs.viewed")).all()}
    assert roles == {(practice.carer.id, "caregiver"), (practice.staff.id, "staff")}
    revoke_caregiver(db, practice.alice, practice.carer, at=clock())
    with pytest.raises(NotAllowed):
        labs.test_history(db, practice.carer, practice.alice.id, "Potassium", clock=clock)
