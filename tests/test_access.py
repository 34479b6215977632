"""Who may open which patient's portal: the access matrix, refusals audited."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from carespace_app.db import session_scope
from carespace_app.models import (
    AuditEvent, Message, MessageThread, OutboxEmail, Patient, PatientAccess, User,
)
from carespace_app.services.permissions import access
from carespace_app.services.records import messaging
from carespace_app.services.errors import NotAllowed

PASSWORD = "Blue-Heron-Canoe-42"


def _user(db, email, *, staff=False, admin=False, active=True) -> User:
    user = User(email=email, full_name=email.split("@")[0].title(), password_hash="x",
                is_staff=staff, is_admin=admin, is_active=active)
    db.add(user)
    db.commit()
    return user


def _patient(db, mrn, first, last, user=None) -> Patient:
    patient = Patient(mrn=mrn, first_name=first, last_name=last, last_name_key=last.casefold(),
                      date_of_birth=date(1956, 3, 14), email=f"{first.lower()}@example.com",
                      user_id=user.id if user else None)
    db.add(patient)
    db.commit()
    return patient


def _grant(db, patient, user, relation, *, revoked=False):
    row = PatientAccess(patient_id=patient.id, user_id=user.id, relation=relation)
    if revoked:
        row.revoked_at = row.granted_at
    db.add(row)
    db.commit()
    return row


@pytest.fixture
def people(db):
    ann = _user(db, "ann@example.com")
    ann_record = _patient(db, "M1", "Ann", "Zimmer", ann)
    _grant(db, ann_record, ann, "self")
    bob = _user(db, "bob@example.com")  # Ann's caregiver
    _grant(db, ann_record, bob, "caregiver")
    cy = _user(db, "cy@example.com")  # was Ann's caregiver, revoked
    _grant(db, ann_record, cy, "caregiver", revoked=True)
    staff = _user(db, "nurse@example.com", staff=True)
    admin = _user(db, "boss@example.com", staff=True, admin=True)
    stranger = _user(db, "eve@example.com")
    gone = _user(db, "gone@example.com", active=False)
    _grant(db, ann_record, gone, "caregiver")
    gone_staff = _user(db, "retired@example.com", staff=True, active=False)
    return dict(ann=ann, record=ann_record, bob=bob, cy=cy, staff=staff, admin=admin,
                stranger=stranger, gone=gone, gone_staff=gone_staff)


@pytest.mark.parametrize("who, expected", [
    ("ann", "self"), ("bob", "caregiver"), ("cy", None), ("staff", "staff"),
    ("admin", "staff"), ("stranger", None), ("gone", None), ("gone_staff", None),
])
def test_relation_matrix(db, people, who, expected):
    assert access.relation_to(db, people[who], people["record"].id) == expected


def test_no_user_or_no_patient_has_no_relation(db, people):
    assert access.relation_to(db, None, people["record"].id) is None
    assert access.relation_to(db, people["ann"], None) is None
    assert access.relation_to(db, people["ann"], 999_999) is None


def test_staff_member_who_is_a_patient_sees_own_record_as_self(db, people):
    staff = people["staff"]
    record = _patient(db, "M2", "Nora", "Staffer", staff)
    _grant(db, record, staff, "self")
    assert access.relation_to(db, staff, record.id) == "self"


def test_require_access_returns_relation(db, people, clock):
    assert access.require_access(db, people["bob"], people["record"].id,
                                 area="labs", action="labs.view", clock=clock) == "caregiver"


def test_refusal_is_audited_and_committed(engine, db, people, clock):
    record_id = people["record"].id
    with pytest.raises(NotAllowed):
        with session_scope(engine) as work:  # the unit of work keeps a refusal's writes
            access.require_access(work, people["stranger"], record_id, area="labs", action="labs.view",
                                  clock=clock, client_ip="203.0.113.9")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).one()
    assert (event.patient_id, event.detail, event.actor_user_id, event.client_ip) == (
        record_id, "labs.view", people["stranger"].id, "203.0.113.9")


def test_a_refused_action_leaves_nothing_but_its_audit_row(engine, db, people, clock):
    # The check comes before the action's writes: the refusal row is all that is committed.
    with pytest.raises(NotAllowed):
        with session_scope(engine) as work:
            messaging.start_thread(work, people["cy"], people["record"].id,
                                   category=messaging.CATEGORIES[0], subject="Hello",
                                   body="May I see this record?", client_key="k1", clock=clock)
    assert db.exec(select(MessageThread)).all() == [] and db.exec(select(Message)).all() == []
    assert db.exec(select(OutboxEmail)).all() == []
    [event] = db.exec(select(AuditEvent)).all()
    assert (event.action, event.actor_user_id) == ("access.refused", people["cy"].id)


def test_require_self_refuses_caregiver_and_staff(db, people, clock):
    record_id = people["record"].id
    assert access.require_self(db, people["ann"], record_id, action="m", clock=clock) is people["ann"]
    for who in ("bob", "staff", "stranger"):
        with pytest.raises(NotAllowed):
            access.require_self(db, people[who], record_id, action="manage_users", clock=clock)


def test_require_staff_and_admin(db, people, clock):
    assert access.require_staff(db, people["staff"], action="a", clock=clock) is people["staff"]
    assert access.require_admin(db, people["admin"], action="a", clock=clock) is people["admin"]
    for who, check in (("ann", access.require_staff), ("gone_staff", access.require_staff),
                       ("staff", access.require_admin)):
        with pytest.raises(NotAllowed):
            check(db, people[who], action="staff.list", clock=clock)
    with pytest.raises(NotAllowed):
        access.require_staff(db, None, action="staff.list", clock=clock)
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    # No account and a deactivated one are both "no account": one row counts them twice.
    assert sum(e.repeat_count for e in refused) == 4 and {e.detail for e in refused} == {"staff.list"}


def test_system_actor_only_when_asked_for(db, people, clock):
    assert access.require_staff_or_system(db, None, system=True, action="a", clock=clock) == "system"
    assert access.require_staff_or_system(db, people["admin"], system=False, action="a",
                                          clock=clock) == "admin"
    with pytest.raises(NotAllowed):
        access.require_staff_or_system(db, None, system=False, action="a", clock=clock)
    with pytest.raises(NotAllowed):  # a patient can't pass as the command line
        access.require_staff_or_system(db, people["ann"], system=True, action="a", clock=clock)


def test_portal_patients_self_first_then_by_name(db, people):
    bob = people["bob"]
    bob_record = _patient(db, "M3", "Bob", "Young", bob)
    _grant(db, bob_record, bob, "self")
    adam = _patient(db, "M4", "Al", "Adams")
    _grant(db, adam, bob, "caregiver")
    revoked = _patient(db, "M5", "Rev", "Aaron")
    _grant(db, revoked, bob, "caregiver", revoked=True)
    choices = access.portal_patients(db, bob)
    assert [(p.mrn, rel) for p, rel in choices] == [("M3", "self"), ("M4", "caregiver"),
                                                    ("M1", "caregiver")]


def test_portal_patients_empty_for_inactive_or_none(db, people):
    assert access.portal_patients(db, people["gone"]) == []
    assert access.portal_patients(db, None) == []
    assert access.portal_patients(db, people["staff"]) == []


def test_deactivation_ends_access_at_once(db, people):
    bob = people["bob"]
    bob.is_active = False
    db.commit()
    assert access.relation_to(db, bob, people["record"].id) is None
