"""Lab reports: flags at their limits, entry rules, corrections, history and who may read them."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.models import AuditEvent, LabReport, LabResult, OutboxEmail
from carespace_app.services.records import labs, result_release
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError
from carespace_app.services.records.labs import ResultInput, compute_flag, reference_text
from carespace_app.state.admin_labs import AdminLabsState
from carespace_app.state.labs import LabsState, chart_day, reference_band
from tests.factories import make_practice, recorded_queries, revoke_caregiver, selects
from tests.tabs import Browser, sign_in_token

ROOT = Path(__file__).resolve().parents[1]


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


def test_new_results_email_says_nothing_medical_and_links_to_the_report(db, clock, practice):
    report_id = enter(db, practice, clock, [ResultInput("CA-125", 412, "U/mL", None, 35)],
                      panel="Tumor marker")
    emails = db.exec(select(OutboxEmail)).all()
    assert sorted(e.to_address for e in emails) == sorted([practice.alice_user.email,
                                                          practice.carer.email])
    for email in emails:
        assert email.subject == "New results are available in CareSpace"
        assert email.kind == "lab_results_notification"
        assert f"/labs?report={report_id}" in email.body_template
        assert "New lab results are ready to view" in email.body_template
        for secret in ("CA-125", "412", "Tumor", "high", "Dr. Anjali Rao"):
            assert secret not in email.subject + email.body_template
    by_address = {e.to_address: e.body_template for e in emails}
    assert "your CareSpace portal" in by_address[practice.alice_user.email]
    assert "Alice Moreno's CareSpace portal" in by_address[practice.carer.email]


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
    db.commit()  # the test is the unit of work; refresh reads what it committed
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


# --- values as entered, critical limits, one report by its link, a save tapped twice --------


def test_values_keep_what_was_entered(db, clock, practice):
    enter(db, practice, clock, [ResultInput("Creatinine", " 1.0 ", "mg/dL", 0.6, 1.1),
                                ResultInput("Potassium", "+4.50", "mmol/L", 3.5, 5.1),
                                ResultInput("Sodium", 140, "mmol/L", 135, 145)])
    [report] = labs.list_reports(db, practice.alice_user, practice.alice.id, clock=clock).items
    assert [(r.value, r.value_text) for r in report.results] == [
        (1.0, "1.0"), (4.5, "4.50"), (140.0, "140")]
    [point] = labs.test_history(db, practice.alice_user, practice.alice.id, "Creatinine",
                                clock=clock)
    assert (point.value, point.value_text) == (1.0, "1.0")
    creatinine = db.exec(select(LabResult).where(LabResult.test_name == "Creatinine")).one()
    labs.correct_result(db, practice.staff, creatinine.id, value="0.90", clock=clock)
    db.commit()  # the test is the unit of work; refresh reads what it committed
    db.refresh(creatinine)
    assert (creatinine.value, creatinine.value_text) == (0.9, "0.90")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "lab_result.corrected")).one()
    assert event.detail == "test Creatinine: 1.0 -> 0.90 mg/dL"


@pytest.mark.parametrize("typed", ["", "abc", "1e3", "1,0", "1_000", "nan", "inf", "1.2.3",
                                   "- 1", "1" * 41])
def test_a_value_that_is_not_a_plain_number_is_refused(db, clock, practice, typed):
    with pytest.raises(ValidationError) as refused:
        enter(db, practice, clock, [ResultInput("Glucose", typed, "mg/dL", 70, 99)])
    assert refused.value.field == "results"
    assert "Result 1: enter the value as a number." == str(refused.value)
    assert db.exec(select(LabResult)).all() == []


def test_a_platelet_count_of_40_is_marked_critical(db, clock, practice):
    enter(db, practice, clock, [ResultInput("Platelets", "40", "K/uL", 150, 450,
                                            critical_low=50, critical_high=1000),
                                ResultInput("WBC", "12.4", "K/uL", 4.0, 11.0)])
    [report] = labs.list_reports(db, practice.alice_user, practice.alice.id, clock=clock).items
    platelets, wbc = report.results
    assert (platelets.flag_label, platelets.critical) == ("Critical low", True)
    assert (wbc.flag_label, wbc.critical) == ("High", False)
    assert (report.abnormal_count, report.critical_count) == (2, 1)
    assert labs.CRITICAL_CALL == "Critical — call the office now"


def test_one_report_opens_by_its_id_only_in_its_own_patients_portal(db, clock, practice):
    alice_report = enter(db, practice, clock, [potassium("4.0")])
    bob_report = enter(db, practice, clock, [potassium("6.0")], patient=practice.bob)
    opened = labs.open_report(db, practice.carer, practice.alice.id, alice_report, clock=clock)
    assert (opened.id, opened.results[0].value_text) == (alice_report, "4.0")
    assert result_release.report_link(alice_report) == f"/labs?report={alice_report}"
    # Bob's report id inside Alice's portal: not found, nothing of Bob's read.
    for wanted in (bob_report, 10_000, "1", True, None):
        with pytest.raises(NotFound):
            labs.open_report(db, practice.alice_user, practice.alice.id, wanted, clock=clock)
    with pytest.raises(NotAllowed):
        labs.open_report(db, practice.alice_user, practice.bob.id, bob_report, clock=clock)
    viewed = db.exec(select(AuditEvent).where(AuditEvent.action == "labs.viewed")).all()
    assert [(e.actor_user_id, e.detail) for e in viewed] == [
        (practice.carer.id, f"report {alice_report}")]


def test_a_save_repeated_with_its_key_stores_one_report_and_one_email_each(db, clock, practice):
    first = enter(db, practice, clock, [potassium("4.2")], client_key="form-1")
    again = enter(db, practice, clock, [potassium("4.2")], client_key="form-1")
    other = enter(db, practice, clock, [potassium("4.3")], client_key="form-2")
    assert first == again != other
    assert len(db.exec(select(LabReport)).all()) == 2
    assert len(db.exec(select(OutboxEmail)).all()) == 2 * 2  # Alice and her caregiver, twice
    # The same key for another patient is a stale form, not that patient's report.
    with pytest.raises(ValidationError):
        enter(db, practice, clock, [potassium("4.2")], client_key="form-1", patient=practice.bob)
    with pytest.raises(ValidationError):
        enter(db, practice, clock, client_key="x" * 65)


# --- the history chart --------------------------------------------------------------------


def _point(value, ref_low, ref_high, days_ago=0):
    return labs.HistoryPoint(collected_at=datetime(2026, 11, 1, 15) - timedelta(days=days_ago),
                             value=value, unit="U/mL", ref_low=ref_low, ref_high=ref_high,
                             flag="normal")


def test_a_band_for_below_a_limit_starts_at_zero():
    assert reference_band([_point(52, None, 35), _point(60, None, 35)]) == (True, 0.0, 35.0)
    assert reference_band([_point(-3, None, 35)]) == (True, -3.0, 35.0)
    assert reference_band([_point(52, 40, None), _point(61, 40, None)]) == (True, 40.0, 61.0)
    assert reference_band([_point(4.2, 3.5, 5.1)]) == (True, 3.5, 5.1)
    assert reference_band([_point(4.2, None, None)]) == (False, 0.0, 0.0)
    assert reference_band([]) == (False, 0.0, 0.0)


def test_the_time_axis_is_proportional_to_time():
    start = datetime(2026, 6, 1, 14, 30)
    days = [chart_day(start + timedelta(weeks=w)) for w in (0, 4, 12)]
    assert days[2] - days[1] == pytest.approx(2 * (days[1] - days[0]))
    # Read in UTC by the browser, the day is the practice's date (Chicago: 9:30 AM June 1).
    assert abs(datetime(1970, 1, 1) + timedelta(days=days[0]) - datetime(2026, 6, 1, 9, 30)) < timedelta(seconds=1)


# --- the pages, in-process ----------------------------------------------------------------


def _tab(user, path):
    browser = Browser("labs")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(path)
    return tab


def test_the_labs_page_opens_the_report_an_email_links_to(db, practice):
    older = enter(db, practice, utcnow, [potassium("4.0")], days_ago=3)
    newer = enter(db, practice, utcnow, [potassium("5.0")], days_ago=1)
    bobs = enter(db, practice, utcnow, [potassium("6.0")], patient=practice.bob)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    page = _tab(practice.alice_user, f"{routes.LABS}?report={older}").state(LabsState)
    assert ([r.id for r in page.reports], page.opened_report, page.error) == (
        [str(older)], str(older), "")
    assert page.reports[0].results[0].value == "4.0"
    page = _tab(practice.alice_user, routes.LABS).state(LabsState)
    assert ([r.id for r in page.reports], page.opened_report) == ([str(newer), str(older)], "")
    for wanted in (str(bobs), "abc", "99999"):
        page = _tab(practice.alice_user, f"{routes.LABS}?report={wanted}").state(LabsState)
        assert [r.id for r in page.reports] == [str(newer), str(older)]
        assert page.opened_report == ""
        assert page.error == ("" if wanted == "abc" else
                              "That lab report was not found. All your lab reports are listed below.")


def test_the_office_form_keeps_the_typed_value_takes_critical_limits_and_saves_once(db, practice):
    tab = _tab(practice.staff, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    form_state = tab.state(AdminLabsState)
    key = form_state.form_key
    assert key and not form_state.saving
    form = {"form_key": key, "panel": "CBC", "ordering_provider": "Dr. Rao",
            "collected_at": "2026-01-05T08:00", "resulted_at": "2026-01-05T11:00",
            "test_0": "Platelets", "value_0": "40", "unit_0": "K/uL", "low_0": "150",
            "high_0": "450", "critical_low_0": "50", "critical_high_0": "1000",
            "test_1": "Creatinine", "value_1": "1.0", "unit_1": "mg/dL", "low_1": "0.6",
            "high_1": "1.1", "test_2": "", "value_2": ""}
    tab.call(AdminLabsState, "enter_report", form=form)
    tab.call(AdminLabsState, "enter_report", form=form)  # the second tap of a double tap
    form_state = tab.state(AdminLabsState)
    assert not form_state.saving and form_state.form_key != key
    [report] = form_state.reports
    assert [(r.test, r.value, r.flag, r.critical) for r in report.results] == [
        ("Platelets", "40", "Critical low", True), ("Creatinine", "1.0", "", False)]
    assert len(db.exec(select(LabReport)).all()) == 1
    bad = {**form, "form_key": form_state.form_key, "critical_low_0": "fifty"}
    tab.call(AdminLabsState, "enter_report", form=bad)
    assert tab.state(AdminLabsState).errors["results"] == "Result 1 critical low: 'fifty' is not a number."
    assert len(db.exec(select(LabReport)).all()) == 1


# --- the migration keeps existing rows ----------------------------------------------------


def _insert(conn, table: str, **values):
    """A row with the given values; every other required column gets a plain value."""
    from datetime import date
    from sqlalchemy import Boolean, Date, DateTime, Float, Integer, MetaData, Table

    columns = Table(table, MetaData(), autoload_with=conn).columns
    for column in columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        kind = type(column.type)
        values[column.name] = (False if issubclass(kind, Boolean) else
                               datetime(2026, 1, 1) if issubclass(kind, DateTime) else
                               date(1960, 1, 1) if issubclass(kind, Date) else
                               0 if issubclass(kind, (Integer, Float)) else f"{column.name}-x")
    conn.execute(Table(table, MetaData(), autoload_with=conn).insert().values(**values))


def test_the_migration_gives_existing_values_their_text(tmp_path):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from carespace_app.db import make_engine

    url = f"sqlite:///{tmp_path}/labs.db"
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "d2a7e5c9b1f4")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            _insert(conn, "patients", id=1, user_id=None)
            _insert(conn, "lab_reports", id=1, patient_id=1, created_by_user_id=None)
            for row_id, value in ((1, 1.0), (2, 0.1), (3, 245.0), (4, 12.25)):
                _insert(conn, "lab_results", id=row_id, report_id=1, patient_id=1, value=value)
        command.upgrade(config, "e5b8c1d7a3f2")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, value, value_text FROM lab_results ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [(1, 1.0, "1"), (2, 0.1, "0.1"), (3, 245.0, "245"),
                                            (4, 12.25, "12.25")]
        command.downgrade(config, "d2a7e5c9b1f4")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM lab_results")).scalar() == 4
    finally:
        engine.dispose()
