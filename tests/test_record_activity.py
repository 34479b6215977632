"""Who viewed my record: the patient's own trail, in plain words, newest first, paged."""
from __future__ import annotations

import pytest

from carespace_app.models import AuditEvent
from carespace_app.services.audit import trail
from carespace_app.services.audit import patient_activity
from carespace_app.services.errors import NotAllowed
from tests.factories import make_practice, recorded_queries, selects


def _event(db, clock, action, actor, patient_id, role=None):
    trail.record(db, action, actor=actor, patient_id=patient_id, role=role, clock=clock)
    db.commit()
    clock.advance(minutes=1)


def test_who_what_and_when_in_plain_words(db, clock):
    p = make_practice(db)
    _event(db, clock, "labs.viewed", p.alice_user, p.alice.id, role="patient")
    _event(db, clock, "thread.viewed", p.carer, p.alice.id, role="caregiver")
    _event(db, clock, "patient.viewed", p.staff, p.alice.id)
    _event(db, clock, "patient.created", None, p.alice.id, role="system")

    page = patient_activity.patient_trail(db, p.alice_user, p.alice.id, clock=clock)

    assert [(e.who, e.what) for e in page.items] == [
        ("The office", "Created your record"),
        ("The office (Nora Quinn)", "Viewed your record details"),
        ("Carla Moreno", "Read a conversation"),
        ("You", "Viewed lab results"),
    ]
    assert page.items[-1].when == "Mon, Jan 5, 9:00 AM"  # 15:00 UTC in Chicago
    assert page.has_more is False


def test_only_this_patients_events_and_no_internal_codes(db, clock):
    p = make_practice(db)
    _event(db, clock, "labs.viewed", p.bob_user, p.bob.id)
    _event(db, clock, "sign_in.failed", None, p.alice.id)
    _event(db, clock, "appointments.viewed", p.alice_user, p.alice.id)

    page = patient_activity.patient_trail(db, p.alice_user, p.alice.id, clock=clock)

    assert [e.what for e in page.items] == ["Viewed appointments"]


def test_paged_newest_first_reading_one_page_at_a_time(db, clock):
    p = make_practice(db)
    for _ in range(25):
        _event(db, clock, "labs.viewed", p.carer, p.alice.id, role="caregiver")

    with recorded_queries(db) as statements:
        first = patient_activity.patient_trail(db, p.alice_user, p.alice.id, offset=0, limit=10,
                                              clock=clock)
    reads = selects(statements, "audit_events")
    assert len(reads) == 1 and "LIMIT" in reads[0][0].upper()
    assert len(first.items) == 10 and first.has_more
    assert first.items[0].at > first.items[-1].at

    last = patient_activity.patient_trail(db, p.alice_user, p.alice.id, offset=20, limit=10,
                                         clock=clock)
    assert len(last.items) == 5 and not last.has_more
    assert {e.id for e in first.items}.isdisjoint({e.id for e in last.items})


@pytest.mark.parametrize("who", ["carer", "staff", "bob_user"])
def test_only_the_patient_themself_sees_it(db, clock, who):
    p = make_practice(db)
    with pytest.raises(NotAllowed):
        patient_activity.patient_trail(db, getattr(p, who), p.alice.id, clock=clock)
    refused = db.query(AuditEvent).filter(AuditEvent.action == "access.refused").all()
    assert refused, "a refused look is itself in the audit trail"


def test_browser_paging_values_are_clamped(db, clock):
    p = make_practice(db)
    page = patient_activity.patient_trail(db, p.alice_user, p.alice.id, offset=-5, limit=10_000,
                                         clock=clock)
    assert page.offset == 0 and page.limit == 100


def test_another_patients_refused_attempt_does_not_name_them(db, clock):
    # Naming Bob would tell Alice that Bob is treated here; her own caregivers stay named.
    p = make_practice(db)
    _event(db, clock, "access.refused", p.bob_user, p.alice.id)
    _event(db, clock, "access.refused", p.carer, p.alice.id)

    page = patient_activity.patient_trail(db, p.alice_user, p.alice.id, clock=clock)

    assert [(e.who, e.what) for e in page.items] == [
        ("Carla Moreno", "Tried to open your record and was refused"),
        ("Someone without access to your record", "Tried to open your record and was refused"),
    ]
    assert all("Bob" not in e.who and "Lindqvist" not in e.who for e in page.items)
