"""Nobody can flood another person's trail, and no id tells whether it exists.

- A refusal repeated by one person on one patient within REFUSAL_WINDOW is one audit
  row whose ``repeat_count`` counts the attempts (10 attempts took 11 of the first 20
  lines of "Who viewed my record" before).
- An id that names nothing (a patient, a conversation, an authorized user, an
  appointment) gets the same refusal, in the same words, as someone else's id, and is
  audited too (a missing patient id used to fail the audit insert on its foreign key).
- "Who viewed my record" runs the patient's own looks together, so what the office and
  caregivers did stands out.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app.models import AuditEvent, CaregiverGrant, Message, MessageThread
from carespace_app.services.permissions import access
from carespace_app.services.records import appointments
from carespace_app.services.audit import trail
from carespace_app.services.audit import office_log
from carespace_app.services.permissions import caregivers
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.audit import patient_activity
from carespace_app.services.errors import NotAllowed
from tests.factories import make_patient, make_practice

REFUSED = "Tried to open your record and was refused"
MISSING = 987_654


@pytest.fixture
def practice(db):
    return make_practice(db)


def refusals(db, **where):
    query = select(AuditEvent).where(AuditEvent.action == "access.refused")
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.exec(query.order_by(AuditEvent.id)).all()


def bobs_thread(db, practice, clock) -> int:
    return messaging.start_thread(db, practice.bob_user, practice.bob.id, category="Billing",
                                  subject="Bob's bill", body="A question", client_key=None,
                                  clock=clock)


def activity_rows(db, practice, clock, limit=20):
    page = patient_activity.patient_trail(db, practice.bob_user, practice.bob.id, limit=limit,
                                         clock=clock)
    return [(e.who, e.what) for e in page.items]


# --- one row per window, with a count -------------------------------------------------


def test_ten_attempts_on_another_patient_are_one_line_with_a_count(db, clock, practice):
    thread = bobs_thread(db, practice, clock)
    for _ in range(5):
        messaging.list_threads(db, practice.bob_user, practice.bob.id, clock=clock)  # Bob's own
    attempts = [
        lambda: messaging.open_thread(db, practice.alice_user, thread, clock=clock),
        lambda: labs.list_reports(db, practice.alice_user, practice.bob.id, clock=clock),
        lambda: access.require_access(db, practice.alice_user, practice.bob.id,
                                      area="home", action="portal.switch_patient", clock=clock),
    ]
    for n in range(10):
        clock.advance(seconds=30)
        with pytest.raises(NotAllowed):
            attempts[n % 3]()

    rows = refusals(db, patient_id=practice.bob.id)
    assert [(r.actor_user_id, r.repeat_count) for r in rows] == [(practice.alice_user.id, 10)]
    # The office still sees each different thing that was tried.
    assert rows[0].detail == "thread.view; labs.view; portal.switch_patient"
    lines = activity_rows(db, practice, clock)
    assert lines.count(("Someone without access to your record", f"{REFUSED} 10 times")) == 1
    assert len([w for _who, w in lines if w.startswith(REFUSED)]) == 1


def test_after_the_window_a_new_line_starts(db, clock, practice):
    def attempt():
        with pytest.raises(NotAllowed):
            labs.list_reports(db, practice.alice_user, practice.bob.id, clock=clock)

    attempt()
    clock.advance(minutes=14, seconds=59)
    attempt()  # still inside the 15 minutes that began with the first attempt
    clock.advance(seconds=1)
    attempt()  # 15 minutes after the first: a new row
    assert [r.repeat_count for r in refusals(db, patient_id=practice.bob.id)] == [2, 1]
    assert trail.REFUSAL_WINDOW == timedelta(minutes=15)
    assert activity_rows(db, practice, clock) == [
        ("Someone without access to your record", REFUSED),
        ("Someone without access to your record", f"{REFUSED} 2 times"),
    ]


def test_attempts_are_counted_apart_per_person_and_per_patient(db, clock, practice):
    carol = make_patient(db, first_name="Carol", last_name="Ng")
    for who, patient in ((practice.alice_user, practice.bob), (practice.carer, practice.bob),
                         (practice.alice_user, practice.bob), (practice.alice_user, carol),
                         (None, practice.bob), (None, practice.bob)):
        with pytest.raises(NotAllowed):
            access.require_access(db, who, patient.id, area="labs", action="labs.view", clock=clock)
    counted = {(r.actor_user_id, r.patient_id): r.repeat_count for r in refusals(db)}
    assert counted == {(practice.alice_user.id, practice.bob.id): 2,
                       (practice.carer.id, practice.bob.id): 1,
                       (practice.alice_user.id, carol.id): 1,
                       (None, practice.bob.id): 2}


def test_an_attempt_on_the_office_pages_is_counted_the_same_way(db, clock, practice):
    for _ in range(4):
        with pytest.raises(NotAllowed):
            access.require_staff(db, practice.alice_user, action="patients.search", clock=clock)
    rows = db.exec(select(AuditEvent).where(AuditEvent.action == "admin.refused")).all()
    assert [(r.actor_user_id, r.repeat_count) for r in rows] == [(practice.alice_user.id, 4)]


def test_what_was_tried_stays_within_the_detail_column(db, clock, practice):
    for n in range(200):
        with pytest.raises(NotAllowed):
            messaging.open_thread(db, practice.alice_user, MISSING + n, clock=clock)
    (row,) = refusals(db, actor_user_id=practice.alice_user.id)
    assert row.repeat_count == 200
    assert row.detail.startswith(f"thread.view: conversation {MISSING}, not found; ")
    assert len(row.detail) <= 1000


def test_a_refused_unit_of_work_still_leaves_nothing_behind(db, clock, practice):
    thread = bobs_thread(db, practice, clock)
    for _ in range(2):  # the second one counts up an existing row
        with pytest.raises(NotAllowed):
            messaging.reply(db, practice.alice_user, thread, body="Let me in", client_key=None,
                            clock=clock)
    assert db.get(MessageThread, thread).message_count == 1
    assert len(db.exec(select(Message).where(Message.automatic.is_(False))).all()) == 1


# --- an id that names nothing: the same answer, and audited ---------------------------------


def _someone_elses_and_missing(db, practice, clock):
    """(label, call with an id) for every place a patient's browser sends an id."""
    thread = bobs_thread(db, practice, clock)
    grant = caregivers.grant_access(db, practice.bob_user, practice.bob.id, name="Dan Friend",
                                     email="dan.friend@example.org", clock=clock).id
    visit = appointments.create_appointment(
        db, practice.staff, practice.bob.id, starts_at=clock() + timedelta(days=1),
        duration_minutes=30, appointment_type="Office visit", provider="Dr. Rao",
        location="Suite 200", clock=clock)
    alice = practice.alice_user
    return {
        "patient": (practice.bob.id, lambda i: access.require_access(
            db, alice, i, area="home", action="portal.switch_patient", clock=clock)),
        "conversation": (thread, lambda i: messaging.open_thread(db, alice, i, clock=clock)),
        "reply": (thread, lambda i: messaging.reply(db, alice, i, body="Hi", client_key=None,
                                                    clock=clock)),
        "authorized user (revoke)": (grant, lambda i: caregivers.revoke_access(
            db, alice, i, clock=clock)),
        "authorized user (new link)": (grant, lambda i: caregivers.send_caregiver_invitation(
            db, i, sent_by=alice, clock=clock)),
        "appointment": (visit, lambda i: appointments.ics_for(db, alice, i, clock=clock)),
    }


@pytest.mark.parametrize("kind", ["patient", "conversation", "reply", "authorized user (revoke)",
                                  "authorized user (new link)", "appointment"])
def test_a_missing_id_gets_the_same_answer_as_someone_elses(db, clock, practice, kind):
    bobs_id, call = _someone_elses_and_missing(db, practice, clock)[kind]
    with pytest.raises(Exception) as theirs:
        call(bobs_id)
    clock.advance(minutes=20)  # a new window: the missing id gets its own row
    with pytest.raises(Exception) as missing:
        call(MISSING)

    assert type(missing.value) is type(theirs.value) is NotAllowed
    assert str(missing.value) == str(theirs.value) == "You don't have access to that."
    theirs_row, missing_row = refusals(db, actor_user_id=practice.alice_user.id)
    assert theirs_row.patient_id == practice.bob.id
    # On no patient's trail (there is no such record), with what was asked for.
    assert missing_row.patient_id is None
    assert str(MISSING) in missing_row.detail and "no" in missing_row.detail
    assert db.get(CaregiverGrant, MISSING) is None


def test_probing_many_missing_ids_is_one_row_on_no_patients_trail(db, clock, practice):
    for n in range(50):
        with pytest.raises(NotAllowed):
            access.require_access(db, practice.alice_user, MISSING + n,
                                  area="home", action="portal.switch_patient", clock=clock)
    (row,) = refusals(db)
    assert (row.patient_id, row.repeat_count) == (None, 50)
    assert activity_rows(db, practice, clock) == []


# --- Who viewed my record: the patient's own looks run together ------------------------------


def _event(db, clock, action, actor, patient_id, role=None, minutes=1):
    trail.record(db, action, actor=actor, patient_id=patient_id, role=role, clock=clock)
    db.commit()
    clock.advance(minutes=minutes)


def test_own_views_in_a_row_are_one_line_and_others_stand_apart(db, clock, practice):
    me, bob = practice.bob_user, practice.bob.id
    for action in ("labs.viewed", "thread.viewed", "appointments.viewed"):
        _event(db, clock, action, me, bob)                     # 9:00, 9:01, 9:02
    _event(db, clock, "patient.viewed", practice.staff, bob)   # 9:03
    for _ in range(14):
        _event(db, clock, "labs.viewed", me, bob)              # 9:04 ... 9:17
    _event(db, clock, "message.sent", me, bob)                 # 9:18: a change, its own line
    _event(db, clock, "labs.viewed", me, bob)                  # 9:19: one view, said plainly

    page = patient_activity.patient_trail(db, me, bob, clock=clock)

    assert [(e.who, e.what, e.when) for e in page.items] == [
        ("You", "Viewed lab results", "Mon, Jan 5, 9:19 AM"),
        ("You", "Sent a message", "Mon, Jan 5, 9:18 AM"),
        ("You", "Viewed your record 14 times", "Mon, Jan 5, 9:04 AM – 9:17 AM"),
        ("The office (Nora Quinn)", "Viewed your record details", "Mon, Jan 5, 9:03 AM"),
        ("You", "Viewed your record 3 times", "Mon, Jan 5, 9:00 AM – 9:02 AM"),
    ]
    assert [e.count for e in page.items] == [1, 1, 14, 1, 3]


def test_caregiver_views_are_each_listed_and_split_the_patients_own(db, clock, practice):
    me, alice = practice.alice_user, practice.alice.id
    _event(db, clock, "labs.viewed", me, alice, minutes=60 * 20)  # Mon 9:00 AM
    _event(db, clock, "labs.viewed", me, alice)                  # Tue 5:00 AM
    _event(db, clock, "labs.viewed", practice.carer, alice, role="caregiver")
    _event(db, clock, "labs.viewed", practice.carer, alice, role="caregiver")
    _event(db, clock, "labs.viewed", me, alice)

    page = patient_activity.patient_trail(db, me, alice, clock=clock)

    assert [(e.who, e.what, e.when) for e in page.items] == [
        ("You", "Viewed lab results", "Tue, Jan 6, 5:03 AM"),
        ("Carla Moreno", "Viewed lab results", "Tue, Jan 6, 5:02 AM"),
        ("Carla Moreno", "Viewed lab results", "Tue, Jan 6, 5:01 AM"),
        ("You", "Viewed your record 2 times", "Mon, Jan 5, 9:00 AM – Tue, Jan 6, 5:00 AM"),
    ]


def test_pages_are_counted_in_lines_and_never_split_a_run(db, clock, practice):
    me, alice = practice.alice_user, practice.alice.id
    for _ in range(30):  # 30 runs of 3 own views, each ended by a caregiver's look
        for _ in range(3):
            _event(db, clock, "labs.viewed", me, alice)
        _event(db, clock, "labs.viewed", practice.carer, alice, role="caregiver")

    first = patient_activity.patient_trail(db, me, alice, offset=0, limit=20, clock=clock)
    rest = patient_activity.patient_trail(db, me, alice, offset=20, limit=20, clock=clock)
    last = patient_activity.patient_trail(db, me, alice, offset=40, limit=20, clock=clock)

    assert first.has_more and rest.has_more and not last.has_more
    lines = first.items + rest.items + last.items
    assert len(lines) == 60 and len({e.id for e in lines}) == 60
    assert [e.count for e in lines if e.who == "You"] == [3] * 30
    assert all(a.at > b.at for a, b in zip(lines, lines[1:]))


def test_a_flood_of_refusals_leaves_the_first_page_to_real_events(db, clock, practice):
    # The attack from the issue: 10 calls used to fill 11 of the first 20 lines.
    me, bob = practice.bob_user, practice.bob.id
    _event(db, clock, "patient.viewed", practice.staff, bob)
    for _ in range(12):
        _event(db, clock, "labs.viewed", me, bob)
    for _ in range(10):
        with pytest.raises(NotAllowed):
            labs.list_reports(db, practice.alice_user, bob, clock=clock)
        clock.advance(seconds=5)

    lines = activity_rows(db, practice, clock)

    assert lines == [
        ("Someone without access to your record", f"{REFUSED} 10 times"),
        ("You", "Viewed your record 12 times"),
        ("The office (Nora Quinn)", "Viewed your record details"),
    ]


def test_the_office_log_says_how_often_a_refusal_was_repeated(db, clock, practice):
    for _ in range(10):
        with pytest.raises(NotAllowed):
            labs.list_reports(db, practice.alice_user, practice.bob.id, clock=clock)
    (row,) = office_log.list_events(db, practice.staff, action="access.refused", clock=clock).items
    assert (row.repeat_count, row.detail) == (10, "labs.view (10 times)")
    assert row.actor_email == practice.alice_user.email and row.mrn == practice.bob.mrn
