"""Secure messaging as the patient, their caregiver, the office and an intruder see it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, Message, MessageThread, OutboxEmail
from carespace_app.services.records import messaging
from carespace_app.services.mail import notifications
from carespace_app.services.errors import NotAllowed, ValidationError
from tests.factories import (
    grant_caregiver,
    make_patient,
    make_practice,
    patient_user,
    recorded_queries,
    revoke_caregiver,
    selects,
)


@pytest.fixture
def practice(db):
    return make_practice(db)


def send(db, user, patient, clock, *, subject="Question about my next visit",
         body="Can I eat before my appointment?", category="Appointment", key=None):
    return messaging.start_thread(db, user, patient.id, category=category, subject=subject,
                                  body=body, client_key=key, clock=clock)


def written(db, *where):
    """The messages people wrote (not the practice's automatic first replies)."""
    return db.exec(select(Message).where(Message.automatic.is_(False), *where)).all()


def audits(db, action, **where):
    query = select(AuditEvent).where(AuditEvent.action == action)
    for name, value in where.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return db.exec(query).all()


# --- sending ---------------------------------------------------------------------------


def test_patient_starts_a_conversation_and_sees_it_listed(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    page = messaging.list_threads(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [t.id for t in page.items] == [thread_id]
    summary = page.items[0]
    assert (summary.status, summary.message_count, summary.unread, summary.last_from_staff) == \
        ("new", 1, False, False)
    assert audits(db, "message.sent", patient_id=practice.alice.id, actor_role="patient")
    assert audits(db, "messages.listed", patient_id=practice.alice.id)


def test_the_same_send_retried_is_stored_once(db, clock, practice):
    first = send(db, practice.alice_user, practice.alice, clock, key="k-123")
    again = send(db, practice.alice_user, practice.alice, clock, key="k-123")
    assert first == again
    assert len(db.exec(select(MessageThread)).all()) == 1
    reply_one = messaging.reply(db, practice.alice_user, first, body="Also: parking?",
                                client_key="k-456", clock=clock)
    reply_two = messaging.reply(db, practice.alice_user, first, body="Also: parking?",
                                client_key="k-456", clock=clock)
    assert reply_one == reply_two
    assert len(written(db)) == 2
    assert db.get(MessageThread, first).message_count == 2


def test_a_staff_reply_retried_after_a_lost_answer_tells_the_patient_once(db, clock, practice):
    # The server died after the commit, before the browser heard back: the retry carries
    # the same key, so neither the reply nor its notification email is doubled.
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    first = messaging.reply(db, practice.staff, thread_id, body="Yes, a light breakfast.",
                            client_key="staff-k1", clock=clock)
    clock.advance(seconds=30)
    again = messaging.reply(db, practice.staff, thread_id, body="Yes, a light breakfast.",
                            client_key="staff-k1", clock=clock)
    assert first == again
    assert len(written(db, Message.from_staff.is_(True))) == 1
    notes = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "message_notification")).all()
    assert len(notes) == len(notifications.notification_addresses(db, practice.alice.id)) >= 1
    assert len(audits(db, "message.sent", actor_role="staff")) == 1


def test_one_key_is_one_send_per_author_not_across_authors(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock, key="same-key")
    messaging.reply(db, practice.staff, thread_id, body="Noted.", client_key="same-key", clock=clock)
    stored = written(db, Message.thread_id == thread_id)
    assert sorted(m.body for m in stored) == ["Can I eat before my appointment?", "Noted."]
    assert db.get(MessageThread, thread_id).message_count == 2


def test_a_send_racing_past_the_check_is_still_stored_once(db, clock, practice, monkeypatch):
    first = send(db, practice.alice_user, practice.alice, clock, key="race-key")
    db.commit()  # the other tab's send, committed
    real = messaging._sent_before
    calls = []

    def misses_once(*args):
        # The other tab's insert lands between our check and our insert.
        calls.append(args)
        return None if len(calls) == 1 else real(*args)

    monkeypatch.setattr(messaging, "_sent_before", misses_once)
    assert send(db, practice.alice_user, practice.alice, clock, key="race-key") == first
    assert len(calls) == 2
    assert len(db.exec(select(MessageThread)).all()) == 1
    assert len(written(db)) == 1


@pytest.mark.parametrize("field,kwargs", [
    ("category", {"category": "Gossip"}),
    ("subject", {"subject": "   "}),
    ("subject", {"subject": "x" * 201}),
    ("body", {"body": ""}),
    ("body", {"body": "x" * 5001}),
])
def test_a_message_that_breaks_a_rule_is_refused_with_the_field(db, clock, practice, field, kwargs):
    with pytest.raises(ValidationError) as refused:
        send(db, practice.alice_user, practice.alice, clock, **kwargs)
    assert refused.value.field == field
    assert db.exec(select(MessageThread)).all() == []


def test_limits_are_inclusive(db, clock, practice):
    assert send(db, practice.alice_user, practice.alice, clock, subject="s" * 200, body="b" * 5000)


def test_staff_answer_in_the_queue_rather_than_start_conversations(db, clock, practice):
    with pytest.raises(NotAllowed):
        send(db, practice.staff, practice.alice, clock)


# --- who may see what ------------------------------------------------------------------


def test_a_patient_cannot_reach_another_patients_messages(db, clock, practice):
    bobs = send(db, practice.bob_user, practice.bob, clock, subject="Private matter")
    intruder = practice.alice_user
    with pytest.raises(NotAllowed):
        messaging.list_threads(db, intruder, practice.bob.id, clock=clock)
    with pytest.raises(NotAllowed):
        messaging.open_thread(db, intruder, bobs, clock=clock)
    with pytest.raises(NotAllowed):
        messaging.reply(db, intruder, bobs, body="hello", client_key=None, clock=clock)
    with pytest.raises(NotAllowed):
        send(db, intruder, practice.bob, clock)
    with pytest.raises(NotAllowed):
        messaging.unread_count(db, intruder, practice.bob.id, clock=clock)
    refusals = audits(db, "access.refused", actor_user_id=intruder.id, patient_id=practice.bob.id)
    assert sum(e.repeat_count for e in refusals) == 5  # counted on one row (test_audit_flood.py)
    assert db.get(MessageThread, bobs).message_count == 1
    assert not audits(db, "thread.viewed")


def test_a_caregiver_reads_and_replies_until_revoked(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    view = messaging.open_thread(db, practice.carer, thread_id, clock=clock)
    assert view.patient_name == "Alice Moreno"
    messaging.reply(db, practice.carer, thread_id, body="She also asks about parking.",
                    client_key=None, clock=clock)
    assert audits(db, "thread.viewed", actor_user_id=practice.carer.id, actor_role="caregiver")

    revoke_caregiver(db, practice.alice, practice.carer, at=clock())
    with pytest.raises(NotAllowed):
        messaging.list_threads(db, practice.carer, practice.alice.id, clock=clock)
    with pytest.raises(NotAllowed):
        messaging.open_thread(db, practice.carer, thread_id, clock=clock)


def test_staff_reading_a_conversation_is_audited_and_marks_it_read(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    assert messaging.staff_queue(db, practice.staff, clock=clock).items[0].unread_by_staff
    clock.advance(minutes=5)
    messaging.open_thread(db, practice.staff, thread_id, clock=clock)
    assert audits(db, "thread.viewed", actor_user_id=practice.staff.id, actor_role="staff",
                  patient_id=practice.alice.id)
    assert db.get(MessageThread, thread_id).staff_read_at == clock()
    assert not messaging.staff_queue(db, practice.staff, clock=clock).items[0].unread_by_staff


def test_only_staff_see_the_queue_or_close_conversations(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    with pytest.raises(NotAllowed):
        messaging.staff_queue(db, practice.alice_user, clock=clock)
    with pytest.raises(NotAllowed):
        messaging.set_thread_status(db, practice.alice_user, thread_id, "closed", clock=clock)
    assert db.get(MessageThread, thread_id).status == "new"


# --- replies, unread and notifications --------------------------------------------------


def test_unread_is_kept_per_reader(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    clock.advance(hours=2)
    messaging.reply(db, practice.staff, thread_id, body="Yes, a light breakfast is fine.",
                    client_key=None, clock=clock)
    for reader in (practice.alice_user, practice.carer):
        assert messaging.unread_count(db, reader, practice.alice.id, clock=clock) == 1
        assert messaging.list_threads(db, reader, practice.alice.id, clock=clock).items[0].unread

    clock.advance(minutes=10)
    view = messaging.open_thread(db, practice.alice_user, thread_id, clock=clock)
    # The patient's message, the practice's automatic reply, the nurse's answer.
    assert [(m.from_staff, m.automatic) for m in view.messages] == [(False, False), (True, True),
                                                                    (True, False)]
    assert messaging.unread_count(db, practice.alice_user, practice.alice.id, clock=clock) == 0
    summary = messaging.list_threads(db, practice.alice_user, practice.alice.id, clock=clock).items[0]
    assert not summary.unread and summary.last_from_staff
    # The patient reading it does not clear it for their daughter.
    assert messaging.unread_count(db, practice.carer, practice.alice.id, clock=clock) == 1


def test_the_badge_counts_a_new_reply_in_an_old_conversation(db, clock, practice, monkeypatch):
    """The badge reads only the latest UNREAD_WINDOW conversations (constant work per page);
    a reply brings its conversation into that window, however old it is."""
    monkeypatch.setattr(messaging, "UNREAD_WINDOW", 3)
    oldest = send(db, practice.alice_user, practice.alice, clock, subject="The first one")
    for n in range(5):
        clock.advance(hours=1)
        send(db, practice.alice_user, practice.alice, clock, subject=f"Later question {n}")
    assert messaging.unread_count(db, practice.alice_user, practice.alice.id, clock=clock) == 0
    clock.advance(hours=1)
    messaging.reply(db, practice.staff, oldest, body="Answering your first question.",
                    client_key=None, clock=clock)
    assert messaging.unread_count(db, practice.alice_user, practice.alice.id, clock=clock) == 1
    messaging.open_thread(db, practice.alice_user, oldest, clock=clock)
    assert messaging.unread_count(db, practice.alice_user, practice.alice.id, clock=clock) == 0


def test_a_conversation_shows_who_wrote_each_message_oldest_first(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock, body="first")
    clock.advance(minutes=1)
    messaging.reply(db, practice.staff, thread_id, body="second", client_key=None, clock=clock)
    clock.advance(minutes=1)
    messaging.reply(db, practice.carer, thread_id, body="third", client_key=None, clock=clock)
    view = messaging.open_thread(db, practice.carer, thread_id, clock=clock)
    assert [(m.body, m.author_name, m.from_staff, m.mine) for m in view.messages] == [
        ("first", "Alice Moreno", False, False),
        (view.messages[1].body, messaging.AUTOMATIC_AUTHOR, True, False),
        ("second", "Nora Quinn", True, False),
        ("third", "Carla Moreno", False, True),
    ]


def test_staff_reply_tells_the_patient_and_caregivers_without_medical_details(db, clock, practice):
    subject, body = "Swelling in my left ankle", "It started after the new tablets."
    reply_text = "Please stop the tablets and call Dr. Rao today."
    other_carer = make_patient(db, first_name="Revoked", last_name="Person")
    revoked = grant_caregiver(db, practice.alice, user=patient_user(db, other_carer))
    revoke_caregiver(db, practice.alice, revoked, at=clock())

    thread_id = send(db, practice.alice_user, practice.alice, clock, subject=subject, body=body,
                     category="Medical question")
    clock.advance(hours=1)
    messaging.reply(db, practice.staff, thread_id, body=reply_text, client_key=None, clock=clock)

    emails = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "message_notification")
                     .order_by(OutboxEmail.id)).all()
    assert sorted(e.to_address for e in emails) == sorted(
        [practice.alice_user.email, practice.carer.email])
    for email in emails:
        assert email.subject == "You have a new message in CareSpace"
        text = email.subject + email.body_template
        for secret in (subject, body, reply_text, "Medical question", "ankle", "Dr. Rao"):
            assert secret not in text
        assert get_settings().office_phone in email.body_template
        assert "sign in" in email.body_template.lower()
        # The link opens the conversation itself (sign-in first when signed out).
        assert f"/messages?thread={thread_id}" in email.body_template
    # The patient's side writing again tells the office, not the patient's side.
    messaging.reply(db, practice.alice_user, thread_id, body="Thanks", client_key=None, clock=clock)
    assert len(db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == "message_notification")).all()) == 2


def test_the_office_hears_that_a_patient_wrote_without_what(db, clock, practice):
    subject, body = "Swelling in my left ankle", "It started after the new tablets."
    thread_id = send(db, practice.alice_user, practice.alice, clock, subject=subject, body=body,
                     category="Medical question")
    messaging.reply(db, practice.carer, thread_id, body="Her ankle is worse today.",
                    client_key=None, clock=clock)
    told = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "staff_message_notification")
                   .order_by(OutboxEmail.id)).all()
    assert [e.to_address for e in told] == [practice.staff.email, practice.staff.email]
    for email in told:
        text = email.subject + email.body_template
        for secret in (subject, body, "ankle", "Medical question", practice.alice.last_name):
            assert secret not in text
        assert f"/admin/messages?thread={thread_id}" in email.body_template
    # A retried send (same key) tells the office once.
    messaging.reply(db, practice.alice_user, thread_id, body="Once", client_key="k-once", clock=clock)
    messaging.reply(db, practice.alice_user, thread_id, body="Once", client_key="k-once", clock=clock)
    assert len(db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == "staff_message_notification")).all()) == 3
    # Staff answering tell no staff.
    messaging.reply(db, practice.staff, thread_id, body="Please call us.", client_key=None,
                    clock=clock)
    assert len(db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == "staff_message_notification")).all()) == 3


def test_status_follows_the_conversation(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    messaging.reply(db, practice.carer, thread_id, body="more", client_key=None, clock=clock)
    assert db.get(MessageThread, thread_id).status == "new"  # still waiting for the office
    messaging.reply(db, practice.staff, thread_id, body="answer", client_key=None, clock=clock)
    assert db.get(MessageThread, thread_id).status == "open"
    messaging.set_thread_status(db, practice.staff, thread_id, "closed", clock=clock)
    thread = db.get(MessageThread, thread_id)
    assert (thread.status, thread.closed_by_user_id) == ("closed", practice.staff.id)
    assert audits(db, "thread.closed", patient_id=practice.alice.id)
    messaging.set_thread_status(db, practice.staff, thread_id, "open", clock=clock)
    messaging.reply(db, practice.alice_user, thread_id, body="one more thing", client_key=None,
                    clock=clock)
    thread = db.get(MessageThread, thread_id)
    assert (thread.status, thread.closed_at, thread.message_count) == ("open", None, 4)
    with pytest.raises(ValidationError):
        messaging.set_thread_status(db, practice.staff, thread_id, "deleted", clock=clock)


def test_a_closed_conversation_takes_no_reply_from_the_patients_side(db, clock, practice):
    thread_id = send(db, practice.alice_user, practice.alice, clock)
    clock.advance(hours=1)
    messaging.set_thread_status(db, practice.staff, thread_id, "closed", clock=clock)
    closed_at = clock()
    clock.advance(days=2)
    for writer in (practice.alice_user, practice.carer):
        with pytest.raises(ValidationError) as refused:
            messaging.reply(db, writer, thread_id, body="one more thing", client_key=None,
                            clock=clock, patient_id=practice.alice.id)
        assert str(refused.value) == messaging.REPLY_TO_CLOSED
    thread = db.get(MessageThread, thread_id)
    assert (thread.status, thread.message_count) == ("closed", 1)
    assert len(written(db, Message.thread_id == thread_id)) == 1
    # The patient's view says when the office closed it; an open one carries no date.
    view = messaging.open_thread(db, practice.alice_user, thread_id, clock=clock,
                                 patient_id=practice.alice.id)
    assert (view.status, view.closed_at) == ("closed", closed_at)
    other = send(db, practice.alice_user, practice.alice, clock, subject="Something new")
    assert messaging.open_thread(db, practice.alice_user, other, clock=clock).closed_at is None
    # The office can still write in it (a last word), and it stays closed.
    messaging.reply(db, practice.staff, thread_id, body="Call us if it returns.", client_key=None,
                    clock=clock)
    assert db.get(MessageThread, thread_id).status == "closed"


def test_the_list_previews_each_conversations_newest_message(db, clock, practice):
    short = send(db, practice.alice_user, practice.alice, clock, subject="Short",
                 body="Can I eat\n\n  before my   appointment?")
    send(db, practice.alice_user, practice.alice, clock, subject="Long",
         body="Nausea. " + "word " * 200)
    clock.advance(hours=1)
    messaging.reply(db, practice.staff, short, body="Yes, a light breakfast is fine.",
                    client_key=None, clock=clock)
    send(db, practice.alice_user, practice.alice, clock, subject="Blank lines",
         body="\n" * 390 + "start" + " tail" * 40)
    previews = {t.subject: t.preview
                for t in messaging.list_threads(db, practice.alice_user, practice.alice.id,
                                                clock=clock).items}
    assert previews["Short"] == "Yes, a light breakfast is fine."  # the newest, not the first
    assert "\n" not in previews["Long"] and len(previews["Long"]) == messaging.PREVIEW_MAX
    assert previews["Long"].startswith("Nausea. word word") and previews["Long"].endswith("\u2026")
    assert previews["Blank lines"].startswith("start tail") and previews["Blank lines"].endswith("\u2026")
    assert len(previews["Blank lines"]) <= messaging.PREVIEW_MAX


# --- the office's queue ------------------------------------------------------------------


def test_queue_filters_and_names_the_last_staff_replier(db, clock, practice):
    billing = send(db, practice.alice_user, practice.alice, clock, category="Billing")
    clock.advance(minutes=1)
    refill = send(db, practice.bob_user, practice.bob, clock, category="Prescription refill")
    clock.advance(minutes=1)
    messaging.reply(db, practice.staff, billing, body="Looking into it.", client_key=None, clock=clock)

    queue = messaging.staff_queue(db, practice.staff, clock=clock)
    # The refill still waits for an answer (it is due); the answered billing question after.
    assert [q.id for q in queue.items] == [refill, billing]
    answered = queue.items[1]
    assert (answered.patient_name, answered.mrn, answered.last_replied_by, answered.status) == (
        "Alice Moreno", practice.alice.mrn, "Nora Quinn", "open")
    assert queue.items[0].last_replied_by is None  # the automatic reply is nobody's

    assert [q.id for q in messaging.staff_queue(db, practice.staff, category="Billing",
                                                clock=clock).items] == [billing]
    assert [q.id for q in messaging.staff_queue(db, practice.staff, status="new",
                                                clock=clock).items] == [refill]
    assert [q.id for q in messaging.staff_queue(db, practice.staff, unread_only=True,
                                                clock=clock).items] == [refill]
    assert audits(db, "messages.queue_viewed", actor_user_id=practice.staff.id)


# --- paging --------------------------------------------------------------------------------


def _many_threads(db, patient, author, count, clock):
    start = clock() - timedelta(days=count)
    db.add_all(MessageThread(patient_id=patient.id, category="Other", subject=f"Thread {n}",
                             created_by_user_id=author.id, created_at=start,
                             last_message_at=start + timedelta(hours=n),
                             last_patient_message_at=start + timedelta(hours=n), message_count=1)
               for n in range(count))
    db.commit()


@pytest.mark.parametrize("count", [10, 300])
def test_the_list_reads_one_page_in_one_query(db, clock, practice, count):
    _many_threads(db, practice.alice, practice.alice_user, count, clock)
    with recorded_queries(db) as statements:
        page = messaging.list_threads(db, practice.alice_user, practice.alice.id, clock=clock)
    assert len(page.items) == min(count, 20)
    assert page.has_more == (count > 20)
    subjects = [t.subject for t in page.items]
    assert subjects[0] == f"Thread {count - 1}"  # newest first
    assert subjects == sorted(subjects, key=lambda s: -int(s.split()[1]))
    reads = selects(statements, "message_threads")
    assert len(reads) == 1  # unread and the preview come from the same query (no N+1)
    assert selects(statements, "messages") == reads
    assert 21 in (list(reads[0][1].values()) if isinstance(reads[0][1], dict) else list(reads[0][1]))

    if count > 20:
        second = messaging.list_threads(db, practice.alice_user, practice.alice.id, offset=20,
                                        clock=clock)
        assert second.items[0].subject == f"Thread {count - 21}"


def test_staff_queue_is_one_query_whatever_its_length(db, clock, practice):
    _many_threads(db, practice.alice, practice.alice_user, 60, clock)
    with recorded_queries(db) as statements:
        page = messaging.staff_queue(db, practice.staff, limit=25, clock=clock)
    assert len(page.items) == 25 and page.has_more
    assert len(selects(statements, "message_threads")) == 1
