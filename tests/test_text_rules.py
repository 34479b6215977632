"""Text that no person types is refused where it would be stored, with a sentence that says
what to remove, and nothing is written.

A browser's fields never send these; a forged event can. On PostgreSQL a NUL used to end
as "Something went wrong on our side", on SQLite it was stored; a right-to-left override
in a subject reversed what the office's queue showed.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel

from carespace_app.services.identity import accounts
from carespace_app.services.permissions import caregivers
from carespace_app.services.identity import resets
from carespace_app.services.identity import signin
from carespace_app.services.records import appointments
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.records import patients
from carespace_app.services.records import resources
from carespace_app.services.onboarding import staff
from carespace_app.services.errors import ValidationError
from carespace_app.services.text_rules import (BROKEN_CHARACTER, CONTROL_CHARACTER,
                                               DIRECTION_CHARACTER, INVISIBLE_CHARACTER,
                                               LINE_BREAK, check_text)
from tests.factories import PASSWORD, make_practice, make_staff

NUL = "\x00"
LONE_SURROGATE = "\ud800"
RIGHT_TO_LEFT_OVERRIDE = "\u202e"


def _check(value: str, single_line: bool, **kw) -> str:
    return check_text(value, field="subject", label="subject", single_line=single_line, **kw)


def _refusal(value: str, single_line: bool, **kw) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        _check(value, single_line, **kw)
    assert refused.value.field == "subject"
    return refused.value


# --- the rule itself ------------------------------------------------------------------


@pytest.mark.parametrize("single_line", [True, False], ids=["one line", "several lines"])
@pytest.mark.parametrize("bad, sentence", [
    (NUL, CONTROL_CHARACTER), ("\x1b[2J", CONTROL_CHARACTER), ("\x07", CONTROL_CHARACTER),
    ("\x7f", CONTROL_CHARACTER), ("\x85", CONTROL_CHARACTER), (LONE_SURROGATE, BROKEN_CHARACTER),
    ("\udfff", BROKEN_CHARACTER),
])
def test_control_and_broken_characters_are_refused_everywhere(bad, sentence, single_line):
    refused = _refusal(f"Question {bad}about my visit", single_line)
    assert str(refused) == sentence.format(label="subject")


def test_the_sentences_say_what_to_remove_in_plain_words():
    assert str(_refusal("a" + RIGHT_TO_LEFT_OVERRIDE + "b", True)) == (
        "The subject contains an invisible character that changes the direction of text. "
        "Please remove it or retype the subject.")
    assert str(_refusal("a\x00b", False)) == (
        "The subject contains a hidden control character. Please remove it or retype the subject.")
    assert str(_refusal("a\nb", True)) == (
        "The subject must be on one line. Please remove the line break or tab.")


@pytest.mark.parametrize("bad", ["\u202a", "\u202b", "\u202c", "\u202d", RIGHT_TO_LEFT_OVERRIDE,
                                 "\u2066", "\u2067", "\u2068", "\u2069", "\u200e", "\u200f",
                                 "\u061c"])
def test_direction_characters_are_refused_in_one_line_fields(bad):
    refused = _refusal(f"Refill {bad}request", True)
    assert str(refused) == DIRECTION_CHARACTER.format(label="subject")


@pytest.mark.parametrize("bad", ["\u200b", "\u2060", "\ufeff"])
def test_zero_width_characters_are_refused_in_one_line_fields(bad):
    assert str(_refusal(f"Refill{bad}request", True)) == INVISIBLE_CHARACTER.format(label="subject")


@pytest.mark.parametrize("bad", ["\n", "\r", "\t", "\r\n", "\u2028", "\u2029"])
def test_line_breaks_and_tabs_are_refused_in_one_line_fields(bad):
    assert str(_refusal(f"Refill{bad}request", True)) == LINE_BREAK.format(label="subject")


def test_a_message_keeps_its_lines_tabs_and_a_writers_direction_marks():
    body = "Hello,\n\n\tThank you.\nשלום \u2067עברית\u2069 \u200fok"
    assert _check(body, False) == body
    # A carriage return is not a line break a browser sends (it sends \n): refused.
    assert str(_refusal("Hello\r\nthere", False)) == CONTROL_CHARACTER.format(label="subject")


@pytest.mark.parametrize("typed", [
    "Question about my visit", "Résumé — naïve café", "مرحبا بالعالم", "שאלה על התור",
    "می\u200cخواهم",  # Persian: the zero-width non-joiner is on the keyboard
    "Thanks \U0001F469\u200d\u2695\ufe0f Dr. Lee",  # an emoji joined with U+200D
    "Flag \U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F",
    "\U0001F600 \u00a0non-breaking", "A" * 5000,
])
def test_what_people_type_passes_unchanged(typed):
    assert _check(typed, True) == typed
    assert _check(typed, False) == typed


def test_names_keep_turning_line_breaks_into_spaces_but_refuse_the_rest():
    assert _check("Eve\r\nBcc: x", True, breaks_become_spaces=True) == "Eve  Bcc: x"
    assert _check("Forger\n\tX", True, breaks_become_spaces=True) == "Forger  X"
    for bad, sentence in ((NUL, CONTROL_CHARACTER), (LONE_SURROGATE, BROKEN_CHARACTER),
                          (RIGHT_TO_LEFT_OVERRIDE, DIRECTION_CHARACTER),
                          ("\u200b", INVISIBLE_CHARACTER)):
        refused = _refusal(f"Eve{bad}Forger", True, breaks_become_spaces=True)
        assert str(refused) == sentence.format(label="subject")


def test_what_is_not_text_is_left_to_the_callers_own_rules():
    assert _check(None, True) is None
    assert _check(42, False) == 42


# --- every service that stores what a person typed ---------------------------------------


def _everything(engine) -> dict[str, list]:
    """Every row of every table, as committed (read on a connection of its own)."""
    with engine.connect() as conn:
        return {table.name: sorted(map(tuple, conn.execute(sa_select(table)).all()), key=repr)
                for table in SQLModel.metadata.sorted_tables}


@pytest.fixture
def practice(db):
    return make_practice(db)


def _message(db, p, clock, subject="Refill", body="Please refill."):
    return messaging.start_thread(db, p.alice_user, p.alice.id, category="Other", subject=subject,
                                  body=body, client_key=None, clock=clock)


def _patient(db, p, clock, first="Ana", last="Silva", mrn="Z-100"):
    return patients.create_patient(db, p.staff, mrn=mrn, first_name=first, last_name=last,
                                   date_of_birth=p.alice.date_of_birth, email="ana.s@example.com",
                                   clock=clock)


def _appointment(db, p, clock, provider="Dr. Rao", location="Suite 200", instructions=""):
    return appointments.create_appointment(
        db, p.staff, p.alice.id, starts_at=clock() + timedelta(days=2), duration_minutes=30,
        appointment_type="Office visit", provider=provider, location=location,
        instructions=instructions, clock=clock)


def _report(db, p, clock, panel="CBC", provider="Dr. Rao", test_name="WBC", unit="K/uL"):
    return labs.enter_report(
        db, p.staff, p.alice.id, panel=panel, collected_at=clock() - timedelta(hours=2),
        resulted_at=clock() - timedelta(hours=1), ordering_provider=provider,
        results=[labs.ResultInput(test_name=test_name, value=5.0, unit=unit)], clock=clock)


def _resource(db, p, clock, title="Nutrition guide", description="Eating well during treatment"):
    return resources.create_resource(db, p.staff, title=title, url="https://www.cancer.gov",
                                     description=description, clock=clock)


# (what, field, label, one line?, the call with the text in that field)
SERVICES = [
    ("message subject", "subject", "subject", True,
     lambda db, p, clock, t: _message(db, p, clock, subject=f"Refill {t}request")),
    ("message body", "body", "message", False,
     lambda db, p, clock, t: _message(db, p, clock, body=f"Please {t}refill.")),
    ("reply", "body", "message", False,
     lambda db, p, clock, t: messaging.reply(db, p.staff, p.thread_id, body=f"Done {t}today",
                                             client_key=None, clock=clock)),
    ("patient MRN", "mrn", "MRN", True,
     lambda db, p, clock, t: _patient(db, p, clock, mrn=f"Z-{t}100")),
    ("patient first name", "first_name", "first name", True,
     lambda db, p, clock, t: _patient(db, p, clock, first=f"An{t}a")),
    ("patient last name", "last_name", "last name", True,
     lambda db, p, clock, t: _patient(db, p, clock, last=f"Sil{t}va")),
    ("patient update", "last_name", "last name", True,
     lambda db, p, clock, t: patients.update_patient(
         db, p.staff, p.alice.id, mrn=p.alice.mrn, first_name="Alice", last_name=f"Mor{t}eno",
         date_of_birth=p.alice.date_of_birth, email="alice.m@example.com", phone=None,
         clock=clock)),
    ("appointment provider", "provider", "provider's name", True,
     lambda db, p, clock, t: _appointment(db, p, clock, provider=f"Dr. {t}Rao")),
    ("appointment location", "location", "location", True,
     lambda db, p, clock, t: _appointment(db, p, clock, location=f"Suite {t}200")),
    ("appointment instructions", "instructions", "instructions", False,
     lambda db, p, clock, t: _appointment(db, p, clock, instructions=f"Bring {t}your list.")),
    ("lab panel", "panel", "panel name", True,
     lambda db, p, clock, t: _report(db, p, clock, panel=f"CBC {t}panel")),
    ("lab ordering provider", "ordering_provider", "ordering provider", True,
     lambda db, p, clock, t: _report(db, p, clock, provider=f"Dr. {t}Rao")),
    ("lab test name", "results", "test name of result 1", True,
     lambda db, p, clock, t: _report(db, p, clock, test_name=f"W{t}BC")),
    ("lab unit", "results", "unit of result 1", True,
     lambda db, p, clock, t: _report(db, p, clock, unit=f"K/{t}uL")),
    ("resource title", "title", "title", True,
     lambda db, p, clock, t: _resource(db, p, clock, title=f"Nutrition {t}guide")),
    ("resource description", "description", "description", True,
     lambda db, p, clock, t: _resource(db, p, clock, description=f"Eating {t}well")),
    ("resource update", "title", "title", True,
     lambda db, p, clock, t: resources.update_resource(db, p.staff, p.resource_id,
                                                       title=f"Guide {t}two",
                                                       url="https://www.cancer.gov", clock=clock)),
    ("account full name", "full_name", "full name", True,
     lambda db, p, clock, t: accounts.create_user(db, email="new.person@example.com",
                                                  full_name=f"New {t}Person", password=PASSWORD,
                                                  clock=clock)),
    ("staff member's name", "full_name", "full name", True,
     lambda db, p, clock, t: staff.create_staff_member(db, p.admin, email="nurse2@example.com",
                                                       full_name=f"Nia {t}Nurse", clock=clock)),
    ("caregiver's name", "name", "name", True,
     lambda db, p, clock, t: caregivers.grant_access(db, p.alice_user, p.alice.id,
                                                      name=f"Luis {t}Garcia",
                                                      email="luis@example.com", clock=clock)),
]
IDS = [case[0] for case in SERVICES]


def _ready(db, practice, clock):
    """The practice plus what the update cases change: a conversation, a link, an admin."""
    practice.thread_id = _message(db, practice, clock)
    practice.resource_id = _resource(db, practice, clock)
    practice.admin = make_staff(db, full_name="Ada Admin", is_admin=True)
    return practice


@pytest.mark.parametrize("what, field, label, single_line, call", SERVICES, ids=IDS)
@pytest.mark.parametrize("bad, sentence", [
    (NUL, CONTROL_CHARACTER), (LONE_SURROGATE, BROKEN_CHARACTER),
    (RIGHT_TO_LEFT_OVERRIDE, DIRECTION_CHARACTER),
], ids=["NUL", "lone surrogate", "right-to-left override"])
def test_each_service_refuses_and_stores_nothing(db, engine, clock, practice, what, field, label,
                                                 single_line, call, bad, sentence):
    p = _ready(db, practice, clock)
    before = _everything(engine)
    if bad == RIGHT_TO_LEFT_OVERRIDE and not single_line:
        call(db, p, clock, bad)  # a message may hold a writer's direction marks
        return
    with pytest.raises(ValidationError) as refused:
        call(db, p, clock, bad)
    assert (refused.value.field, str(refused.value)) == (field, sentence.format(label=label))
    db.rollback()
    assert _everything(engine) == before, f"{what}: something was stored"


@pytest.mark.parametrize("what, field, label, single_line, call", SERVICES, ids=IDS)
def test_each_service_stores_what_a_person_types(db, engine, clock, practice, what, field, label,
                                                  single_line, call):
    """The same calls with ordinary text succeed: the refusals above are the rule's."""
    p = _ready(db, practice, clock)
    before = _everything(engine)
    call(db, p, clock, "\u00e9 \u05e9 ")
    db.commit()  # the test is the unit of work
    assert _everything(engine) != before, f"{what}: nothing was stored"


# --- look-ups: what no person types never reaches the database as a query ----------------


def test_a_sign_in_with_a_nul_in_the_address_is_an_ordinary_failed_sign_in(db, clock):
    from carespace_app.services.errors import AuthenticationFailed

    with pytest.raises(AuthenticationFailed):
        signin.authenticate(db, "ro\x00sa@example.com\u202e", "Wrong-Guess-Horse-9!",
                            client_ip="198.51.100.1", clock=clock)


def test_forgot_password_with_a_nul_in_the_address_sends_nothing_and_fails_nothing(db, clock):
    from carespace_app.models import OutboxEmail

    resets.request_password_reset(db, "nobody\x00@example.com", clock=clock)
    assert db.exec(sa_select(OutboxEmail)).all() == []


def test_a_patient_search_with_a_nul_says_what_to_remove(db, clock):
    from carespace_app.services.records import patients
    from tests.factories import make_staff

    office = make_staff(db)
    with pytest.raises(ValidationError) as refused:
        patients.search_patients(db, office, "Alva\x00rez", clock=clock)
    assert "search" in str(refused.value)
