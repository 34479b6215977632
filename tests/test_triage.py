"""Triage-aware messaging (issue #15): the red-flag refusal and "Send anyway", the automatic
first reply and its due time, routing and assignment, and the office's queue ordered by what
is due."""
from __future__ import annotations

from datetime import datetime

import pytest
from sqlmodel import select

from carespace_app.models import (AuditEvent, Message, MessageThread, OutboxEmail, UrgentItem,
                                  URGENT_MESSAGE)
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.mail import notifications
from carespace_app.services.records import messaging, practice_settings, urgent
from carespace_app.services.records.red_flags import FEVER
from carespace_app.services.records.symptoms import call_now
from tests.factories import make_practice, make_staff

# 2026-01-05 15:00 UTC is Monday 9:00 AM in Chicago (the practice's zone in tests).
MONDAY_9AM = datetime(2026, 1, 5, 15, 0)
TUESDAY_5PM = datetime(2026, 1, 6, 23, 0)  # 5:00 PM CST, as stored (UTC)


@pytest.fixture
def practice(db):
    return make_practice(db)


def send(db, user, patient, clock, *, category="Medical question", subject="A question",
         body="Is it normal to feel tired?", anyway=False, key=None):
    return messaging.start_thread(db, user, patient.id, category=category, subject=subject,
                                  body=body, client_key=key, clock=clock, send_anyway=anyway)


def emails(db, kind=None):
    query = select(OutboxEmail)
    if kind:
        query = query.where(OutboxEmail.kind == kind)
    return db.exec(query).all()


# --- the automatic first reply ---------------------------------------------------------------


def test_a_new_conversation_gets_the_practices_automatic_reply_with_its_due_time(db, clock,
                                                                                 practice):
    assert clock() == MONDAY_9AM
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    thread = db.get(MessageThread, thread_id)
    assert thread.due_at == TUESDAY_5PM and thread.status == "new" and not thread.urgent
    view = messaging.open_thread(db, practice.carer, thread_id, clock=clock)
    first, auto = view.messages
    assert (first.body, first.automatic) == ("Is it normal to feel tired?", False)
    assert auto.automatic and auto.from_staff and auto.author_name == messaging.AUTOMATIC_AUTHOR
    assert not auto.mine
    assert "you can expect an answer by 5:00 PM on Tuesday, January 6." in auto.body
    assert "Monday to Friday, 8:00 AM to 5:00 PM" in auto.body and "9-1-1" in auto.body
    stored = db.exec(select(Message).where(Message.automatic.is_(True))).one()
    assert stored.author_user_id is None


def test_the_automatic_reply_sends_no_email_and_is_no_answer(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    # Only the office hears of the patient's message; the patient's side gets nothing.
    assert emails(db, notifications.MESSAGE_KIND) == []
    assert {e.kind for e in emails(db)} <= {notifications.STAFF_MESSAGE_KIND}
    for reader in (practice.alice_user, practice.carer):
        assert messaging.unread_count(db, reader, practice.alice.id, clock=clock) == 0
        summary = messaging.list_threads(db, reader, practice.alice.id, clock=clock).items[0]
        assert not summary.unread and not summary.last_from_staff
        assert summary.preview == "Is it normal to feel tired?"  # what the person wrote
    item = messaging.staff_queue(db, practice.staff, clock=clock).items[0]
    assert item.id == thread_id and item.unread_by_staff and item.last_replied_by is None
    assert db.get(MessageThread, thread_id).message_count == 1


def test_the_answer_is_due_until_staff_answer_and_again_when_the_patient_writes(db, clock,
                                                                                practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    clock.advance(hours=3)
    messaging.reply(db, practice.staff, thread_id, body="Yes, it is common.", client_key=None,
                    clock=clock)
    assert db.get(MessageThread, thread_id).due_at is None
    # Saturday: the patient writes again; Monday's, due Tuesday 5 PM of the next week.
    clock.now = datetime(2026, 1, 10, 16, 0)
    messaging.reply(db, practice.carer, thread_id, body="It is worse today.", client_key=None,
                    clock=clock, patient_id=practice.alice.id)
    assert db.get(MessageThread, thread_id).due_at == datetime(2026, 1, 13, 23, 0)
    # A second note before an answer does not push the promise later.
    clock.advance(days=2)
    messaging.reply(db, practice.alice_user, thread_id, body="Still tired.", client_key=None,
                    clock=clock, patient_id=practice.alice.id)
    assert db.get(MessageThread, thread_id).due_at == datetime(2026, 1, 13, 23, 0)
    messaging.set_thread_status(db, practice.staff, thread_id, "closed", clock=clock)
    assert db.get(MessageThread, thread_id).due_at is None


def test_the_due_time_follows_the_offices_own_hours_and_holidays(db, clock, practice):
    practice_settings.save(db, practice.staff, practice_settings.SettingsForm(
        opens=("08:00",) * 5 + ("", ""), closes=("17:00",) * 5 + ("", ""),
        holidays="2026-01-06", red_flags="chest pain", after_hours_phone="(479) 555-0199",
        routing={}), clock=clock)
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    assert db.get(MessageThread, thread_id).due_at == datetime(2026, 1, 7, 23, 0)  # Wednesday
    auto = messaging.open_thread(db, practice.alice_user, thread_id, clock=clock).messages[1]
    assert "by 5:00 PM on Wednesday, January 7" in auto.body
    assert "Outside office hours, call (479) 555-0199." in auto.body


# --- red flags ---------------------------------------------------------------------------


def test_a_red_flag_message_is_not_sent_until_the_patient_chooses_send_anyway(db, clock,
                                                                             practice):
    body = "Since the infusion I have chest pain and a temp of 101.2"
    with pytest.raises(messaging.RedFlagsFound) as found:
        send(db, practice.alice_user, practice.alice, clock, body=body)
    assert found.value.flags == ["chest pain", FEVER]
    assert str(found.value).endswith(call_now())
    # Nothing stored, nobody told, nothing urgent.
    for model in (MessageThread, Message, UrgentItem, OutboxEmail):
        assert db.exec(select(model)).all() == [], model.__name__

    thread_id = send(db, practice.alice_user, practice.alice, clock, body=body, anyway=True)
    thread = db.get(MessageThread, thread_id)
    assert thread.urgent and thread.due_at == TUESDAY_5PM
    (item,) = db.exec(select(UrgentItem)).all()
    assert (item.kind, item.thread_id, item.patient_id) == (URGENT_MESSAGE, thread_id,
                                                            practice.alice.id)
    (shown,) = urgent.open_items(db, practice.staff, clock=clock)
    assert shown.lines == [urgent.MESSAGE_LINE.format(flags=f"chest pain, {FEVER}")]
    assert shown.link.endswith(f"?thread={thread_id}")
    sent = db.exec(select(AuditEvent).where(AuditEvent.action == "message.sent")).one()
    assert sent.detail.endswith("urgent")


def test_only_medical_categories_are_checked(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock, category="Billing",
                     body="The chest pain clinic billed me twice")
    assert not db.get(MessageThread, thread_id).urgent
    assert db.exec(select(UrgentItem)).all() == []


def test_a_reply_from_the_patients_side_is_checked_too_and_staff_are_not(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock, category="Test results")
    with pytest.raises(messaging.RedFlagsFound):
        messaging.reply(db, practice.carer, thread_id, body="She fainted an hour ago",
                        client_key=None, clock=clock, patient_id=practice.alice.id)
    assert not db.get(MessageThread, thread_id).urgent
    assert db.exec(select(UrgentItem)).all() == []
    # Staff may write the words: "call us if you have chest pain".
    messaging.reply(db, practice.staff, thread_id, body="Call us at once if you have chest pain.",
                    client_key=None, clock=clock)
    messaging.reply(db, practice.carer, thread_id, body="She fainted an hour ago",
                    client_key=None, clock=clock, patient_id=practice.alice.id, send_anyway=True)
    thread = db.get(MessageThread, thread_id)
    assert thread.urgent and thread.due_at is not None
    assert [i.thread_id for i in db.exec(select(UrgentItem)).all()] == [thread_id]


def test_the_offices_own_red_flags_are_used(db, clock, practice):
    practice_settings.save(db, practice.staff, practice_settings.SettingsForm(
        opens=("08:00",) * 5 + ("", ""), closes=("17:00",) * 5 + ("", ""), holidays="",
        red_flags="swollen arm", after_hours_phone="", routing={}), clock=clock)
    with pytest.raises(messaging.RedFlagsFound) as found:
        send(db, practice.alice_user, practice.alice, clock, body="My arm is SWOLLEN ARM?")
    assert found.value.flags == ["swollen arm"]
    send(db, practice.alice_user, practice.alice, clock, body="Some chest pain")  # not theirs


# --- routing, assignment and the queue ---------------------------------------------------------


def test_a_new_conversation_goes_to_the_staff_member_its_category_is_routed_to(db, clock,
                                                                              practice):
    billing_clerk = make_staff(db, full_name="Bea Billing")
    practice_settings.save(db, practice.staff, practice_settings.SettingsForm(
        opens=("08:00",) * 5 + ("", ""), closes=("17:00",) * 5 + ("", ""), holidays="",
        red_flags="chest pain", after_hours_phone="", routing={"Billing": str(billing_clerk.id)}),
        clock=clock)
    bill = send(db, practice.alice_user, practice.alice, clock, category="Billing")
    other = send(db, practice.alice_user, practice.alice, clock, category="Other")
    assert db.get(MessageThread, bill).assigned_to_user_id == billing_clerk.id
    assert db.get(MessageThread, other).assigned_to_user_id is None
    mine = messaging.staff_queue(db, billing_clerk, mine=True, clock=clock)
    assert [(q.id, q.assigned_to) for q in mine.items] == [(bill, "Bea Billing")]
    assert messaging.staff_queue(db, practice.staff, mine=True, clock=clock).items == []


def test_staff_assign_a_conversation_and_it_is_audited(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    colleague = make_staff(db, full_name="Dana Nurse")
    assert messaging.assign(db, practice.staff, thread_id, colleague.id, clock=clock) == "Dana Nurse"
    assert db.get(MessageThread, thread_id).assigned_to_user_id == colleague.id
    assigned = db.exec(select(AuditEvent).where(AuditEvent.action == "thread.assigned")).one()
    assert (assigned.actor_user_id, assigned.patient_id) == (practice.staff.id, practice.alice.id)
    assert messaging.assign(db, practice.staff, thread_id, None, clock=clock) is None
    assert db.get(MessageThread, thread_id).assigned_to_user_id is None
    with pytest.raises(ValidationError) as refused:  # a patient is no assignee
        messaging.assign(db, practice.staff, thread_id, practice.bob_user.id, clock=clock)
    assert refused.value.field == "assignee"
    with pytest.raises(NotAllowed):
        messaging.assign(db, practice.alice_user, thread_id, practice.staff.id, clock=clock)


def test_the_queue_puts_urgent_first_then_what_is_due_soonest_and_marks_overdue(db, clock,
                                                                                practice):
    monday = send(db, practice.alice_user, practice.alice, clock, subject="Monday")  # Tue 5 PM
    clock.advance(hours=9)  # Monday 6 PM: after hours, due Wednesday
    evening = send(db, practice.bob_user, practice.bob, clock, subject="Evening")
    clock.advance(hours=1)
    flagged = send(db, practice.bob_user, practice.bob, clock, subject="Urgent",
                   body="chest pain", anyway=True)  # due Wednesday too, but urgent
    clock.advance(minutes=5)
    answered = send(db, practice.alice_user, practice.alice, clock, subject="Answered")
    messaging.reply(db, practice.staff, answered, body="Done.", client_key=None, clock=clock)

    order = [q.id for q in messaging.staff_queue(db, practice.staff, clock=clock).items]
    assert order == [flagged, monday, evening, answered]
    # Wednesday morning: Monday's promise (Tuesday 5 PM) has passed.
    clock.now = datetime(2026, 1, 7, 14, 0)
    rows = {q.id: q for q in messaging.staff_queue(db, practice.staff, clock=clock).items}
    assert rows[monday].overdue and not rows[evening].overdue and not rows[answered].overdue
    assert rows[flagged].urgent and rows[answered].due_at is None
    # Answered, the urgent conversation keeps its mark but no longer leads the queue.
    messaging.reply(db, practice.staff, flagged, body="Calling you now.", client_key=None,
                    clock=clock)
    order = [q.id for q in messaging.staff_queue(db, practice.staff, clock=clock).items]
    assert order == [monday, evening, flagged, answered]


def test_a_retried_send_anyway_is_stored_once_with_one_urgent_item(db, clock, practice):
    first = send(db, practice.alice_user, practice.alice, clock, body="chest pain",
                 anyway=True, key="k-1")
    again = send(db, practice.alice_user, practice.alice, clock, body="chest pain",
                 anyway=True, key="k-1")
    assert first == again
    assert len(db.exec(select(UrgentItem)).all()) == 1
    assert len(db.exec(select(Message).where(Message.automatic.is_(True))).all()) == 1


def test_the_urgent_item_is_acknowledged_once(db, clock, practice):
    send(db, practice.alice_user, practice.alice, clock, body="I fainted", anyway=True)
    (item,) = urgent.open_items(db, practice.staff, clock=clock)
    clock.advance(minutes=31)
    assert urgent.open_items(db, practice.staff, clock=clock)[0].overdue
    urgent.acknowledge(db, practice.staff, item.id, note=urgent.CALLED, clock=clock)
    assert urgent.open_items(db, practice.staff, clock=clock) == []
    with pytest.raises(ValidationError):  # a second nurse is told who did it
        urgent.acknowledge(db, practice.staff, item.id, note="again", clock=clock)
