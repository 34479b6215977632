"""Patient records kept by the office: validation, edits, search, audit."""
from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, Invitation, User
from carespace_app.services.onboarding import invitations
from carespace_app.services.records import patients
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
    assert (patient.first_name_key, patient.last_name_key) == ("maria", "garcia")
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
    assert _new(db, nurse, clock, mrn="X2", phone="+1 479-555-0142").phone == "+1 479-555-0142"


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
    ("gar", ["1001", "1002", "1003"]),       # last-name prefix, any case; by name
    ("GARCÍA", ["1001", "1002"]),            # accents aside: García and Garcia alike
    ("1004", ["1004"]),                      # MRN exactly
    ("100", ["1001", "1002", "1003", "1004", "1005", "1006"]),  # part of an MRN
    ("10", []),                              # ...two characters are too few for a part
    ("MARIA@example.com", ["1001"]),         # email on file, normalised
    ("1956-03-14", ["1001", "1003"]),        # date of birth, ISO
    ("03/14/1956", ["1001", "1003"]),        # date of birth, as the office writes it
    ("3/14/1956", ["1001", "1003"]),
    ("Maria García", ["1001"]),              # First Last
    ("Mar Gar", ["1001", "1002"]),
    ("García, Maria", ["1001"]),             # Last, First
    ("Garcia, Mar", ["1001", "1002"]),
    ("Ann Marie Smith", ["1005"]),           # a first name with a space
    ("o'b", ["1004"]),
    ("under_", ["1006"]),                    # an underscore is a letter, not a wildcard
    ("%", []),
    ("13/45/1956", []),
])
def test_search(db, nurse, clock, roster, query, expected):
    assert _found(db, nurse, clock, query) == expected


@pytest.fixture
def office_roster(db, nurse, clock):
    rows = [("MRN-00042", "Maria", "García", date(1956, 3, 14), "maria.garcia@example.com",
             "(479) 555-0101"),
            ("MRN-00420", "Ángel", "Núñez", date(1949, 11, 2), "angel.nunez@example.org",
             "479-555-0199"),
            ("MRN-01000", "Rose", "Whitaker", date(1952, 7, 19), "rose.w@example.net",
             "+1 (501) 555 0123"),
            ("MRN-02000", "Ann Marie", "Smith", date(1980, 5, 6), "ams@example.com", None)]
    for mrn, first, last, born, email, phone in rows:
        _new(db, nurse, clock, mrn=mrn, first_name=first, last_name=last, date_of_birth=born,
             email=email, phone=phone)


@pytest.mark.parametrize("query, expected", [
    ("maria", ["MRN-00042"]),                 # first name alone, any case
    ("ROSE", ["MRN-01000"]),
    ("ángel", ["MRN-00420"]),                 # an accented capital, typed in lower case
    ("ÁNGEL", ["MRN-00420"]),
    ("Ann Marie", ["MRN-02000"]),
    ("Maria García", ["MRN-00042"]),          # first last
    ("maria garcía", ["MRN-00042"]),
    ("ángel núñez", ["MRN-00420"]),
    ("García, Maria", ["MRN-00042"]),         # last, first
    ("garcía,maria", ["MRN-00042"]),
    ("NÚÑEZ, Ángel", ["MRN-00420"]),
    ("whitaker, ro", ["MRN-01000"]),
    ("0042", ["MRN-00042", "MRN-00420"]),     # part of an MRN
    ("mrn-00042", ["MRN-00042"]),
    ("01000", ["MRN-01000"]),
    ("MRN-01000", ["MRN-01000"]),             # the exact MRN still
    ("garcia@", ["MRN-00042"]),               # part of an email
    ("maria.g", ["MRN-00042"]),
    ("EXAMPLE.NET", ["MRN-01000"]),
    ("rose.w@example.net", ["MRN-01000"]),    # the whole address still
    ("(479) 555-0101", ["MRN-00042"]),        # a phone, however it is punctuated
    ("479.555.0101", ["MRN-00042"]),
    ("4795550101", ["MRN-00042"]),
    ("479-555-0101", ["MRN-00042"]),
    ("555 0199", ["MRN-00420"]),              # part of a phone number
    ("501-555-0123", ["MRN-01000"]),
    ("1 (501) 555-0123", ["MRN-01000"]),
    ("479555", []),                           # six digits are too few for a phone
    ("07/19/1952", ["MRN-01000"]),            # date of birth still
    ("1949-11-02", ["MRN-00420"]),
])
def test_search_finds_people_the_way_staff_say_them(db, nurse, clock, office_roster, query,
                                                    expected):
    assert _found(db, nurse, clock, query) == expected


@pytest.fixture
def accented_roster(db, nurse, clock, office_roster):
    rows = [("MRN-03000", "Inés", "Ortega", date(1971, 1, 9), "ines.o@example.com"),
            ("MRN-03001", "Luis", "Ortega", date(1970, 1, 9), "lo@example.com"),
            ("MRN-03002", "Ana Élise", "Blum", date(1966, 2, 3), "aeb@example.com")]
    for mrn, first, last, born, email in rows:
        _new(db, nurse, clock, mrn=mrn, first_name=first, last_name=last, date_of_birth=born,
             email=email, phone=None)


@pytest.mark.parametrize("query, expected", [
    ("ine", ["MRN-03000"]),                   # "Inés", typed without her accent
    ("INÉS", ["MRN-03000"]),
    ("Inès", ["MRN-03000"]),                  # another accent on the same letter still finds her
    ("ines ortega", ["MRN-03000"]),
    ("ortega, ine", ["MRN-03000"]),
    ("angel", ["MRN-00420"]),
    ("angel nunez", ["MRN-00420"]),
    ("nunez, ang", ["MRN-00420"]),
    ("Garcia", ["MRN-00042"]),
    ("ana élise", ["MRN-03002"]),             # an accented capital inside a first name
    ("ANA ELISE", ["MRN-03002"]),
])
def test_search_folds_accents_on_every_database(db, nurse, clock, accented_roster, query,
                                                expected):
    assert _found(db, nurse, clock, query) == expected


def test_renaming_a_patient_keeps_the_search_keys(db, nurse, clock):
    patient = _new(db, nurse, clock, first_name="Ines", last_name="Ortega")
    patients.update_patient(db, nurse, patient.id, mrn=patient.mrn, first_name="Éloïse",
                            last_name="Ñúñez", date_of_birth=patient.date_of_birth,
                            email=patient.email, phone=None, clock=clock)
    assert _found(db, nurse, clock, "eloise nunez") == [patient.mrn]
    assert _found(db, nurse, clock, "ine") == []


@pytest.mark.parametrize("query", ["Nobody Here", "Zed, Maria", "MRN-9", "nobody@", "(501) 555-9999"])
def test_a_search_that_finds_nothing_says_so(db, nurse, clock, office_roster, query):
    page = patients.search_patients(db, nurse, query, clock=clock)
    assert page.items == [] and not page.has_more and page.offset == 0


def test_search_refuses_characters_no_person_types(db, nurse, clock, office_roster):
    with pytest.raises(ValidationError):
        patients.search_patients(db, nurse, "maria\x00", clock=clock)


def test_part_searches_stay_paged_in_the_database(db, nurse, clock, office_roster):
    first = patients.search_patients(db, nurse, "example", limit=2, clock=clock)
    assert [p.mrn for p in first.items] == ["MRN-00042", "MRN-00420"] and first.has_more
    rest = patients.search_patients(db, nurse, "example", offset=2, limit=2, clock=clock)
    assert [p.mrn for p in rest.items] == ["MRN-02000", "MRN-01000"] and not rest.has_more


def test_empty_search_lists_everyone_by_name_in_pages(db, nurse, clock, roster):
    first = patients.search_patients(db, nurse, "  ", limit=4, clock=clock)
    assert [p.mrn for p in first.items] == ["1001", "1002", "1003", "1004"] and first.has_more
    second = patients.search_patients(db, nurse, "", offset=4, limit=4, clock=clock)
    assert [p.mrn for p in second.items] == ["1005", "1006"] and not second.has_more


def test_search_is_staff_only_and_audited(db, nurse, clock, roster):
    _found(db, nurse, clock, "gar")
    [event] = _actions(db, "patients.searched")
    assert event.detail == "query: gar"
    with pytest.raises(NotAllowed):
        patients.search_patients(db, None, "gar", clock=clock)


def test_the_migration_fills_the_name_keys_of_existing_records(tmp_path):
    """Records made before the key existed are found accents aside once migrated."""
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import create_engine, text

    from carespace_app.config import PROJECT_ROOT

    url = f"sqlite:///{tmp_path}/before.db"
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "f3a9d6b2c8e1")  # the revision before the keys
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO patients (mrn, first_name, last_name, last_name_key, date_of_birth, "
            "email, created_at, updated_at) VALUES ('M-1', 'Inés', 'Núñez', 'núñez', "
            "'1971-01-09', 'ines@example.com', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"))
    command.upgrade(config, "a8d4f2e6c9b3")
    with engine.connect() as conn:
        keys = conn.execute(text("SELECT first_name_key, last_name_key FROM patients")).one()
        staff_choice = conn.execute(text(
            "SELECT COUNT(*) FROM pragma_table_info('users') "
            "WHERE name = 'email_on_patient_message' AND dflt_value IS NOT NULL")).scalar()
    engine.dispose()
    assert tuple(keys) == ("ines", "nunez")
    assert staff_choice == 1  # every existing staff member starts with the email on
