"""Patient records kept by the office: validation, edits, search, audit."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, Invitation, User
from carespace_app.services import invitations, patients
from carespace_app.services.errors import NotAllowed, NotFound, ValidationError


@pytest.fixture
def nurse(db):
    user = User(email="nurse@example.com", full_name="Sam Nurse", password_hash="x", is_staff=True)
    db.add(user)
    db.commit()
    return user


def _new(db, actor, clock, **overrides):
    fields = dict(mrn="MRN-100", first_name="Maria", last_name="García",
                  date_of_birth=date(1956, 3, 14), email="Maria.Garcia@Example.com",
                  phone="(479) 555-0101")
    fields.update(overrides)
    return patients.create_patient(db, actor, clock=clock, **fields)


def _actions(db, action):
    return db.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_create_patient_normalises_and_audits(db, nurse, clock):
    patient = _new(db, nurse, clock)
    assert patient.id and patient.email == "maria.garcia@example.com"
    assert patient.last_name_key == "garcía"
    [event] = _actions(db, "patient.created")
    assert (event.actor_user_id, event.patient_id, event.actor_role) == (nurse.id, patient.id, "staff")


def test_a_name_is_one_line_whatever_the_event_carried(db, nurse, clock):
    # A forged event can carry line breaks a browser field never sends; names go into
    # email subjects and audit lines.
    patient = _new(db, nurse, clock, first_name="Eve\r\nBcc: x@evil.example", last_name="Forger\n\tX")
    assert patient.first_name == "Eve  Bcc: x@evil.example"
    assert patient.last_name == "Forger  X"


def test_only_staff_or_the_command_line_create_patients(db, clock):
    patient_user = User(email="p@example.com", full_name="P", password_hash="x")
    db.add(patient_user)
    db.commit()
    with pytest.raises(NotAllowed):
        _new(db, patient_user, clock)
    with pytest.raises(NotAllowed):  # a missing actor is not the command line by accident
        _new(db, None, clock)
    patient = _new(db, None, clock, system=True)
    [event] = _actions(db, "patient.created")
    assert event.actor_role == "system" and event.patient_id == patient.id


def test_mrn_must_be_unique_and_present(db, nurse, clock):
    _new(db, nurse, clock)
    with pytest.raises(ValidationError) as refused:
        _new(db, nurse, clock, email="other@example.com")
    assert refused.value.field == "mrn" and "Maria García" in str(refused.value)
    with pytest.raises(ValidationError) as refused:
        _new(db, nurse, clock, mrn="   ")
    assert refused.value.field == "mrn"


@pytest.mark.parametrize("field, value", [
    ("first_name", ""), ("last_name", "  "), ("email", "not-an-email"),
    ("phone", "call me"), ("phone", "12"), ("date_of_birth", "1956-03-14"),
])
def test_invalid_fields_are_named(db, nurse, clock, field, value):
    with pytest.raises(ValidationError) as refused:
        _new(db, nurse, clock, **{field: value})
    assert refused.value.field == field


def test_date_of_birth_boundaries(db, nurse, clock):
    today = date(2026, 1, 5)  # the frozen clock is 15:00 UTC, 9:00 in Chicago
    assert _new(db, nurse, clock, mrn="A", date_of_birth=today).date_of_birth == today
    assert _new(db, nurse, clock, mrn="B", date_of_birth=date(1900, 1, 1))
    with pytest.raises(ValidationError, match="future"):
        _new(db, nurse, clock, mrn="C", date_of_birth=date(2026, 1, 6))
    with pytest.raises(ValidationError, match="1900"):
        _new(db, nurse, clock, mrn="D", date_of_birth=date(1899, 12, 31))


def test_phone_is_optional(db, nurse, clock):
    assert _new(db, nurse, clock, phone="   ").phone is None
    assert _new(db, nurse, clock, mrn="X2", phone="+1 479-587-1700").phone == "+1 479-587-1700"


def test_update_patient_records_what_changed(db, nurse, clock):
    patient = _new(db, nurse, clock)
    updated = patients.update_patient(
        db, nurse, patient.id, mrn="MRN-100", first_name="Maria", last_name="Garcia-Lopez",
        date_of_birth=date(1956, 3, 14), email="maria.garcia@example.com", phone=None, clock=clock)
    assert updated.last_name_key == "garcia-lopez" and updated.phone is None
    [event] = _actions(db, "patient.updated")
    assert event.detail == "changed: last_name, phone"


def test_update_keeps_own_mrn_but_refuses_anothers(db, nurse, clock):
    first = _new(db, nurse, clock)
    _new(db, nurse, clock, mrn="MRN-200", email="b@example.com")
    with pytest.raises(ValidationError) as refused:
        patients.update_patient(db, nurse, first.id, mrn="MRN-200", first_name="Maria",
                                last_name="García", date_of_birth=date(1956, 3, 14),
                                email="maria.garcia@example.com", phone=None, clock=clock)
    assert refused.value.field == "mrn"


def test_email_change_on_file_kills_outstanding_invitations(db, nurse, clock):
    patient = _new(db, nurse, clock)
    invitations.send_patient_invitation(db, patient.id, sent_by=nurse, clock=clock)
    same = dict(mrn="MRN-100", first_name="Maria", last_name="García",
                date_of_birth=date(1956, 3, 14), phone=None, clock=clock)
    # Same address typed differently: not a change, the link stays good.
    patients.update_patient(db, nurse, patient.id, email="MARIA.GARCIA@example.com", **same)
    assert invitations.invitation_status(db, patient.id, clock=clock) == "invited"
    patients.update_patient(db, nurse, patient.id, email="maria@newmail.example", **same)
    [link] = db.exec(select(Invitation)).all()
    assert link.superseded_at == clock()
    assert invitations.invitation_status(db, patient.id, clock=clock) == "not invited"
    assert len(_actions(db, "invitation.superseded")) == 1


def test_get_patient_audits_the_read(db, nurse, clock):
    patient = _new(db, nurse, clock)
    assert patients.get_patient(db, nurse, patient.id, clock=clock).mrn == "MRN-100"
    assert [e.patient_id for e in _actions(db, "patient.viewed")] == [patient.id]
    with pytest.raises(NotFound):
        patients.get_patient(db, nurse, 424242, clock=clock)


@pytest.fixture
def roster(db, nurse, clock):
    rows = [("1001", "Maria", "García", date(1956, 3, 14), "maria@example.com"),
            ("1002", "Mario", "Garcia", date(1960, 7, 1), "mario@example.com"),
            ("1003", "Ann", "Gardner", date(1956, 3, 14), "ann@example.com"),
            ("1004", "Li", "O'Brien", date(1970, 1, 2), "li@example.com"),
            ("1005", "Ann Marie", "Smith", date(1980, 5, 6), "ams@example.com"),
            ("1006", "Zed", "Under_score", date(1981, 5, 6), "zed@example.com")]
    for mrn, first, last, born, email in rows:
        _new(db, nurse, clock, mrn=mrn, first_name=first, last_name=last, date_of_birth=born,
             email=email)


def _found(db, nurse, clock, query, **kw):
    return [p.mrn for p in patients.search_patients(db, nurse, query, clock=clock, **kw).items]


@pytest.mark.parametrize("query, expected", [
    ("gar", ["1002", "1001", "1003"]),       # last-name prefix, any case; by name
    ("GARCÍA", ["1001"]),
    ("1004", ["1004"]),                      # MRN exactly
    ("100", []),                             # ...not an MRN prefix
    ("MARIA@example.com", ["1001"]),         # email on file, normalised
    ("1956-03-14", ["1001", "1003"]),        # date of birth, ISO
    ("03/14/1956", ["1001", "1003"]),        # date of birth, as the office writes it
    ("3/14/1956", ["1001", "1003"]),
    ("Maria García", ["1001"]),              # First Last
    ("Mar Gar", ["1002", "1001"]),
    ("García, Maria", ["1001"]),             # Last, First
    ("Garcia, Mar", ["1002"]),
    ("Ann Marie Smith", ["1005"]),           # a first name with a space
    ("o'b", ["1004"]),
    ("under_", ["1006"]),                    # an underscore is a letter, not a wildcard
    ("%", []),
    ("13/45/1956", []),
])
def test_search(db, nurse, clock, roster, query, expected):
    assert _found(db, nurse, clock, query) == expected


def test_empty_search_lists_everyone_by_name_in_pages(db, nurse, clock, roster):
    first = patients.search_patients(db, nurse, "  ", limit=4, clock=clock)
    assert [p.mrn for p in first.items] == ["1002", "1001", "1003", "1004"] and first.has_more
    second = patients.search_patients(db, nurse, "", offset=4, limit=4, clock=clock)
    assert [p.mrn for p in second.items] == ["1005", "1006"] and not second.has_more


def test_search_is_staff_only_and_audited(db, nurse, clock, roster):
    _found(db, nurse, clock, "gar")
    [event] = _actions(db, "patients.searched")
    assert event.detail == "query: gar"
    with pytest.raises(NotAllowed):
        patients.search_patients(db, None, "gar", clock=clock)
