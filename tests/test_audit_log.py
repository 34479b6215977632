"""The audit log page's listing: staff only, filtered by patient, actor, action and day."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent
from carespace_app.services.audit import trail
from carespace_app.services.audit import office_log
from carespace_app.services.errors import NotAllowed, ValidationError

from .factories import make_practice, recorded_queries


def _events(db, p):
    # Jan 4 and Jan 5 2026, practice time (America/Chicago, UTC-6).
    for at, action, actor, patient in [
        (datetime(2026, 1, 4, 12), "patient.viewed", p.staff, p.alice),
        (datetime(2026, 1, 5, 3), "patient.viewed", p.staff, p.bob),  # Jan 4, 9 PM local
        (datetime(2026, 1, 5, 14), "thread.viewed", p.alice_user, p.alice),
        (datetime(2026, 1, 5, 15), "patient.updated", p.staff, p.alice),
    ]:
        trail.record(db, action, actor=actor, patient_id=patient.id, clock=lambda at=at: at)
    db.commit()


def test_newest_first_with_names(db, clock):
    p = make_practice(db)
    _events(db, p)
    page = office_log.list_events(db, p.staff, clock=clock)
    assert [r.action for r in page.items] == ["patient.updated", "thread.viewed",
                                              "patient.viewed", "patient.viewed"]
    assert page.items[0].mrn == p.alice.mrn and page.items[0].actor_email == p.staff.email
    # Reading the log is itself in the log.
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "audit.viewed")).one()


def test_filters(db, clock):
    p = make_practice(db)
    _events(db, p)
    by_patient = office_log.list_events(db, p.staff, mrn=p.alice.mrn, clock=clock)
    assert {r.mrn for r in by_patient.items} == {p.alice.mrn} and len(by_patient.items) == 3
    by_actor = office_log.list_events(db, p.staff, actor_email=p.alice_user.email.upper(), clock=clock)
    assert [r.action for r in by_actor.items] == ["thread.viewed"]
    by_action = office_log.list_events(db, p.staff, action="patient.viewed", clock=clock)
    assert len(by_action.items) == 2
    jan4 = office_log.list_events(db, p.staff, action="patient.viewed", from_day=date(2026, 1, 4),
                                 to_day=date(2026, 1, 4), clock=clock)
    assert len(jan4.items) == 2  # 9 PM local on Jan 4 is Jan 5 in UTC, still Jan 4 here
    jan5 = office_log.list_events(db, p.staff, from_day=date(2026, 1, 5), action="patient.viewed",
                                 clock=clock)
    assert jan5.items == []
    assert office_log.list_events(db, p.staff, mrn="NO-SUCH", clock=clock).items == []
    assert office_log.list_events(db, p.staff, actor_email="nobody@x.example", clock=clock).items == []
    with pytest.raises(ValidationError):
        office_log.list_events(db, p.staff, from_day=date(2026, 1, 6), to_day=date(2026, 1, 5),
                              clock=clock)


def test_paging_reads_limit_plus_one(db, clock):
    p = make_practice(db)
    for n in range(7):
        trail.record(db, "patient.viewed", actor=p.staff, patient_id=p.alice.id, clock=clock)
    db.commit()
    with recorded_queries(db) as statements:
        first = office_log.list_events(db, p.staff, action="patient.viewed", limit=5, clock=clock)
    assert len(first.items) == 5 and first.has_more
    assert any(5 + 1 in (params if isinstance(params, (tuple, list)) else tuple(params.values()))
               for _sql, params in statements if params)
    second = office_log.list_events(db, p.staff, action="patient.viewed", offset=5, limit=5, clock=clock)
    assert len(second.items) == 2 and not second.has_more


@pytest.mark.parametrize("who", ["alice_user", "carer"])
def test_patients_and_caregivers_are_refused(db, clock, who):
    p = make_practice(db)
    with pytest.raises(NotAllowed):
        office_log.list_events(db, getattr(p, who), clock=clock)
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).one()
