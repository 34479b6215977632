"""A first page reads the same number of rows whether the patient has 10 or 1,000
conversations or lab results: paging happens in SQL, never in Python.

Rows are counted as the ORM fetches them (a do_orm_execute hook that buffers each
result and counts it), so a query that reads everything and slices later fails here.
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, insert

from carespace_app.models import LabReport, LabResult, MessageThread
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.state.labs import PAGE_SIZE as LAB_PAGE
from carespace_app.state.messages import PAGE_SIZE as MESSAGE_PAGE
from tests.factories import make_practice

SMALL_PAGE = 5  # below 10, so both sizes fill a whole page


@pytest.fixture
def practice(db):
    return make_practice(db)


@contextmanager
def fetched_rows(db):
    counts: list[int] = []

    def count(orm_execute_state):
        frozen = orm_execute_state.invoke_statement().freeze()
        counts.append(len(frozen().all()))
        return frozen()

    event.listen(db, "do_orm_execute", count)
    try:
        yield counts
    finally:
        event.remove(db, "do_orm_execute", count)


def add_threads(db, patient, author, count, clock):
    start = clock() - timedelta(days=count)
    db.execute(insert(MessageThread), [
        dict(patient_id=patient.id, category="Other", subject=f"Thread {n}", status="new",
             created_by_user_id=author.id, created_at=start, last_message_at=start + timedelta(hours=n),
             last_patient_message_at=start + timedelta(hours=n), message_count=1)
        for n in range(count)])
    db.commit()


def add_lab_reports(db, patient, staff, count, clock):
    """``count`` reports of two results each, one a day, all of the same two tests."""
    start = clock() - timedelta(days=count + 1)
    db.execute(insert(LabReport), [
        dict(patient_id=patient.id, panel=f"Panel {n}", collected_at=start + timedelta(days=n),
             resulted_at=start + timedelta(days=n, hours=4), ordering_provider="Dr. Park",
             created_by_user_id=staff.id, created_at=start, released_at=start)
        for n in range(count)])
    db.commit()
    ids = [r.id for r in db.exec(LabReport.__table__.select()
                                 .where(LabReport.patient_id == patient.id)
                                 .order_by(LabReport.id)).all()]
    db.execute(insert(LabResult), [
        dict(report_id=report_id, patient_id=patient.id, test_name=name, value=value, unit="x",
             ref_low=1.0, ref_high=10.0, flag="normal", collected_at=start + timedelta(days=n))
        for n, report_id in enumerate(ids)
        for name, value in (("Potassium", 4.0 + n % 3), ("Sodium", 5.0))])
    db.commit()


def _first_pages(db, practice, clock, count):
    add_threads(db, practice.alice, practice.alice_user, count, clock)
    add_lab_reports(db, practice.alice, practice.staff, count, clock)
    user, patient_id = practice.alice_user, practice.alice.id
    reads = {}
    for name, call in {
        "threads": lambda: messaging.list_threads(db, user, patient_id, limit=SMALL_PAGE, clock=clock),
        "unread": lambda: messaging.unread_count(db, user, patient_id, clock=clock),
        "reports": lambda: labs.list_reports(db, user, patient_id, limit=SMALL_PAGE, clock=clock),
        "latest": lambda: labs.latest_reports(db, user, patient_id, clock=clock),
        "history": lambda: labs.test_history(db, user, patient_id, "Potassium", limit=SMALL_PAGE,
                                             clock=clock),
    }.items():
        with fetched_rows(db) as counts:
            call()
        reads[name] = counts
    return reads


def test_first_pages_read_the_same_rows_for_10_and_1000(db, clock, practice):
    few = _first_pages(db, practice, clock, 10)
    db.rollback()
    many_practice = make_practice(db)  # a second patient with a long record
    many = _first_pages(db, many_practice, clock, 1000)
    assert few == many
    # And what they are: the access lookups, then limit + 1 rows (+ their results).
    assert few["threads"][-1] == SMALL_PAGE + 1
    assert few["reports"][-2:] == [SMALL_PAGE + 1, 2 * (SMALL_PAGE + 1)]
    assert few["history"][-1] == SMALL_PAGE
    assert few["unread"][-1] == 1  # a count, not the rows


def test_the_pages_the_portal_shows_stop_at_their_size(db, clock, practice):
    add_threads(db, practice.alice, practice.alice_user, 1000, clock)
    add_lab_reports(db, practice.alice, practice.staff, 1000, clock)
    user, patient_id = practice.alice_user, practice.alice.id
    with fetched_rows(db) as counts:
        page = messaging.list_threads(db, user, patient_id, limit=MESSAGE_PAGE, clock=clock)
    assert page.has_more and counts[-1] == MESSAGE_PAGE + 1
    with fetched_rows(db) as counts:
        reports = labs.list_reports(db, user, patient_id, limit=LAB_PAGE, clock=clock)
    assert reports.has_more and counts[-2:] == [LAB_PAGE + 1, 2 * (LAB_PAGE + 1)]
    with fetched_rows(db) as counts:
        history = labs.test_history(db, user, patient_id, "Potassium", clock=clock)
    assert len(history) == 200 and counts[-1] == 200  # the chart's latest 200, not all 1,000
