"""The office's rules for messages: sensible defaults until the office saves its own, every
field checked before anything is stored, staff only and audited."""
from __future__ import annotations

from datetime import date, time

import pytest
from sqlmodel import select

from carespace_app.config import get_settings
from carespace_app.models import MESSAGE_CATEGORIES, AuditEvent, PracticeSettings
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.records import practice_settings as office
from tests.factories import make_practice, make_staff


@pytest.fixture
def practice(db):
    return make_practice(db)


def form(**changes) -> office.SettingsForm:
    values = dict(opens=("08:00",) * 5 + ("", ""), closes=("17:00",) * 5 + ("", ""),
                  holidays="", red_flags="chest pain\nfainting", after_hours_phone="",
                  routing={})
    values.update(changes)
    return office.SettingsForm(**values)


def test_a_practice_that_never_saved_gets_the_defaults(db):
    rules = office.current(db)
    assert rules.hours[:5] == ((time(8, 0), time(17, 0)),) * 5 and rules.hours[5:] == (None, None)
    assert rules.holidays == frozenset() and rules.routing == {}
    assert {"chest pain", "trouble breathing", "bleeding that won't stop", "confusion",
            "fainting"} <= set(rules.red_flags)
    assert rules.phone_after_hours == get_settings().office_phone


def test_staff_save_the_rules_and_they_apply(db, clock, practice):
    saturday = ("08:00",) * 5 + ("09:00", "")
    saturday_close = ("17:00",) * 4 + ("15:30", "12:00", "")
    office.save(db, practice.staff, form(
        opens=saturday, closes=saturday_close, holidays="2026-12-25\n\n 2026-12-24 \n2026-12-25",
        red_flags="Chest   PAIN\nshortness of breath\nchest pain\nCan\u2019t stay awake",
        after_hours_phone=" (479) 555-0199 ", routing={"Billing": str(practice.staff.id)}),
        clock=clock)
    db.commit()
    rules = office.current(db)
    assert rules.hours[4] == (time(8, 0), time(15, 30)) and rules.hours[5] == (time(9), time(12))
    assert rules.hours[6] is None
    assert rules.holidays == {date(2026, 12, 24), date(2026, 12, 25)}
    # Stored as compared: lower case, one space, straight apostrophes, each once.
    assert rules.red_flags == ("chest pain", "shortness of breath", "can't stay awake")
    assert rules.after_hours_phone == "(479) 555-0199"
    assert rules.routing == {"Billing": practice.staff.id}
    assert office.assignee_for(db, rules, "Billing") == practice.staff.id
    assert office.assignee_for(db, rules, "Appointment") is None
    saved = db.exec(select(AuditEvent).where(AuditEvent.action == "practice_settings.saved")).one()
    assert saved.actor_user_id == practice.staff.id


@pytest.mark.parametrize("changes,field", [
    (dict(opens=("8 o'clock",) + ("08:00",) * 4 + ("", "")), "mon_opens"),
    (dict(opens=("08:00",) * 5 + ("09:00", "")), "sat_closes"),  # a half day
    (dict(closes=("17:00", "07:00") + ("17:00",) * 3 + ("", "")), "tue_closes"),
    (dict(opens=("",) * 7, closes=("",) * 7), "mon_opens"),  # never open
    (dict(holidays="2026-12-25\nChristmas"), "holidays"),
    (dict(holidays="2026-02-30"), "holidays"),
    (dict(red_flags=""), "red_flags"),
    (dict(red_flags="chest pain\n<script>"), "red_flags"),
    (dict(red_flags="ok"), "red_flags"),  # too short to mean anything
    (dict(after_hours_phone="call Bob"), "after_hours_phone"),
    (dict(after_hours_phone="12"), "after_hours_phone"),
    (dict(routing={"Billing": "999999"}), f"route_{MESSAGE_CATEGORIES.index('Billing')}"),
])
def test_a_wrong_field_is_named_and_nothing_is_stored(db, clock, practice, changes, field):
    with pytest.raises(ValidationError) as refused:
        office.save(db, practice.staff, form(**changes), clock=clock)
    assert refused.value.field == field
    db.rollback()
    assert db.exec(select(PracticeSettings)).all() == []


def test_a_patient_cannot_change_the_rules_and_the_attempt_is_audited(db, clock, practice):
    with pytest.raises(NotAllowed):
        office.save(db, practice.alice_user, form(), clock=clock)
    with pytest.raises(NotAllowed):
        office.for_office(db, practice.carer, clock=clock)
    assert db.exec(select(PracticeSettings)).all() == []
    refused = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    assert {r.actor_user_id for r in refused} == {practice.alice_user.id, practice.carer.id}


def test_a_category_routed_to_someone_who_left_goes_to_nobody(db, clock, practice):
    leaving = make_staff(db, full_name="Lee Left")
    office.save(db, practice.staff, form(routing={"Test results": str(leaving.id)}), clock=clock)
    leaving.is_active = False
    db.add(leaving)
    db.commit()
    rules = office.current(db)
    assert rules.routing == {"Test results": leaving.id}
    assert office.assignee_for(db, rules, "Test results") is None
    # ...and the page no longer offers them.
    assert leaving.id not in {s.id for s in office.staff_choices(db, practice.staff, clock=clock)}


def test_unreadable_stored_rules_fall_back_to_the_defaults(db):
    db.add(PracticeSettings(id=office.ROW_ID, hours="{not json", holidays='["2026-13-01", 5]',
                            red_flags='"chest pain"', routing='{"Billing": "x"}'))
    db.commit()
    rules = office.current(db)
    assert rules.hours == office.DEFAULT_HOURS and rules.holidays == frozenset()
    assert rules.red_flags == office.DEFAULT_RED_FLAGS and rules.routing == {}
