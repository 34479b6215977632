"""Unsent messages are kept for the person who typed them, in the portal they typed them in,
and offered again; a send (or a second tap of it) is stored once."""
from __future__ import annotations

import pytest
from sqlmodel import select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.models import Message, MessageDraft, MessageThread, OutboxEmail
from carespace_app import policy
from carespace_app.services.records import messaging
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.state.admin_messages import AdminMessagesState
from carespace_app.state.messages import DRAFT_CLOSED, MessagesState, REPLY_SENT
from carespace_app.state.session import SessionState
from tests.factories import grant_caregiver, make_patient, make_practice, patient_user
from tests.tabs import Browser, sign_in_token

NEW = messaging.NEW_MESSAGE


@pytest.fixture
def practice(db):
    return make_practice(db)


def thread_of(db, practice, clock, subject="Parking on Thursday"):
    return messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Appointment",
                                  subject=subject, body="Where do I park?", client_key=None,
                                  clock=clock)


def bodies(drafts):
    return [(d.thread_id, d.body) for d in drafts]


# --- the service ---------------------------------------------------------------------------


def test_a_draft_is_kept_updated_offered_and_discarded(db, clock, practice):
    alice, pid = practice.alice_user, practice.alice.id
    thread = thread_of(db, practice, clock)
    messaging.save_draft(db, alice, pid, category="Billing", subject="Bill", body="I was", clock=clock)
    messaging.save_draft(db, alice, pid, category="Billing", subject="Bill",
                         body="I was billed twice", clock=clock)
    clock.advance(minutes=1)
    messaging.save_draft(db, alice, pid, thread_id=thread, body="Also, which entrance?", clock=clock)
    drafts = messaging.drafts_for(db, alice, pid, clock=clock)
    assert bodies(drafts) == [(thread, "Also, which entrance?"), (NEW, "I was billed twice")]
    assert drafts[0].thread_subject == "Parking on Thursday"
    assert (drafts[1].category, drafts[1].subject) == ("Billing", "Bill")
    assert messaging.get_draft(db, alice, pid, NEW, clock=clock).body == "I was billed twice"

    messaging.discard_draft(db, alice, pid, NEW, clock=clock)
    assert bodies(messaging.drafts_for(db, alice, pid, clock=clock)) == [
        (thread, "Also, which entrance?")]
    # Emptied out: nothing left to keep.
    messaging.save_draft(db, alice, pid, thread_id=thread, body="   ", clock=clock)
    assert messaging.drafts_for(db, alice, pid, clock=clock) == []


def test_a_draft_expires_after_a_week(db, clock, practice):
    alice, pid = practice.alice_user, practice.alice.id
    messaging.save_draft(db, alice, pid, body="Half a thought", clock=clock)
    clock.advance(days=policy.DRAFT_DAYS, minutes=1)
    assert messaging.get_draft(db, alice, pid, NEW, clock=clock) is None
    assert messaging.drafts_for(db, alice, pid, clock=clock) == []
    assert db.exec(select(MessageDraft)).all() == []  # gone, not only hidden


def test_a_draft_is_never_shown_to_another_person_or_in_another_portal(db, clock, practice):
    alice, carer, pid = practice.alice_user, practice.carer, practice.alice.id
    # The caregiver also looks after Bob: one person, two portals.
    grant_caregiver(db, practice.bob, user=carer)
    messaging.save_draft(db, alice, pid, body="Alice's own words", clock=clock)
    messaging.save_draft(db, carer, pid, body="Carla writing for Alice", clock=clock)
    messaging.save_draft(db, carer, practice.bob.id, body="Carla writing for Bob", clock=clock)

    assert bodies(messaging.drafts_for(db, alice, pid, clock=clock)) == [(NEW, "Alice's own words")]
    assert bodies(messaging.drafts_for(db, carer, pid, clock=clock)) == [
        (NEW, "Carla writing for Alice")]
    assert bodies(messaging.drafts_for(db, carer, practice.bob.id, clock=clock)) == [
        (NEW, "Carla writing for Bob")]
    assert messaging.drafts_for(db, practice.bob_user, practice.bob.id, clock=clock) == []
    # The office, even viewing Alice's portal, keeps and sees none.
    assert messaging.drafts_for(db, practice.staff, pid, clock=clock) == []
    with pytest.raises(NotAllowed):
        messaging.save_draft(db, practice.staff, pid, body="office words", clock=clock)
    # Bob's side cannot aim at Alice's portal or her conversations.
    thread = thread_of(db, practice, clock)
    with pytest.raises(NotAllowed):
        messaging.drafts_for(db, practice.bob_user, pid, clock=clock)
    for call in (
        lambda: messaging.save_draft(db, practice.bob_user, practice.bob.id, thread_id=thread,
                                     body="x", clock=clock),
        lambda: messaging.get_draft(db, practice.bob_user, practice.bob.id, thread, clock=clock),
        lambda: messaging.discard_draft(db, practice.bob_user, practice.bob.id, thread, clock=clock),
        # Carla's Bob tab naming Alice's conversation: another portal's, refused.
        lambda: messaging.save_draft(db, carer, practice.bob.id, thread_id=thread, body="x",
                                     clock=clock),
    ):
        with pytest.raises(NotAllowed):
            call()


def test_sending_forgets_the_draft_and_a_late_save_does_not_bring_it_back(db, clock, practice):
    alice, pid = practice.alice_user, practice.alice.id
    messaging.save_draft(db, alice, pid, category="Billing", subject="Bill", body="Twice?",
                         client_key="compose-1", clock=clock)
    thread = messaging.start_thread(db, alice, pid, category="Billing", subject="Bill",
                                    body="Twice?", client_key="compose-1", clock=clock)
    assert messaging.drafts_for(db, alice, pid, clock=clock) == []
    # The pause-in-typing save that was still on its way arrives after the send.
    assert not messaging.save_draft(db, alice, pid, body="Twice?", client_key="compose-1",
                                    clock=clock)
    assert messaging.drafts_for(db, alice, pid, clock=clock) == []

    messaging.save_draft(db, alice, pid, thread_id=thread, body="Any news?", client_key="r-1",
                         clock=clock)
    messaging.reply(db, alice, thread, body="Any news?", client_key="r-1", clock=clock,
                    patient_id=pid)
    assert not messaging.save_draft(db, alice, pid, thread_id=thread, body="Any news?",
                                    client_key="r-1", clock=clock)
    assert messaging.drafts_for(db, alice, pid, clock=clock) == []


def test_text_rules_apply_loosely(db, clock, practice):
    alice, pid = practice.alice_user, practice.alice.id
    # Half-written is fine: no subject, no category, a line break in the subject so far.
    messaging.save_draft(db, alice, pid, subject="Bill\nfrom", body="", clock=clock)
    long_body = "x" * (messaging.BODY_MAX + 50)
    messaging.save_draft(db, alice, pid, body=long_body, category="Not a category", clock=clock)
    kept = messaging.get_draft(db, alice, pid, NEW, clock=clock)
    assert (len(kept.body), kept.category) == (messaging.BODY_MAX, "")
    # What no keyboard types is still refused (PostgreSQL would refuse a NUL anyway).
    with pytest.raises(ValidationError):
        messaging.save_draft(db, alice, pid, body="bad\x00byte", clock=clock)


def test_a_reply_drafted_for_a_conversation_closed_since_becomes_a_new_message(db, clock, practice):
    alice, pid = practice.alice_user, practice.alice.id
    thread = thread_of(db, practice, clock)
    messaging.save_draft(db, alice, pid, thread_id=thread, body="One more question", clock=clock)
    messaging.set_thread_status(db, practice.staff, thread, "closed", clock=clock)
    assert messaging.drafts_for(db, alice, pid, clock=clock)[0].thread_closed
    messaging.move_draft_to_new_message(db, alice, pid, thread, clock=clock)
    (moved,) = messaging.drafts_for(db, alice, pid, clock=clock)
    assert (moved.thread_id, moved.category, moved.subject, moved.body) == (
        NEW, "Appointment", "Parking on Thursday", "One more question")


# --- the page, in-process ------------------------------------------------------------------


def _signed_in(user, name="t"):
    browser = Browser(name)
    browser.token = sign_in_token(user)
    return browser


def test_after_signing_in_again_the_unsent_reply_is_offered_and_restored(db, practice):
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill", body="Twice?", client_key=None,
                                    clock=utcnow)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    browser = _signed_in(practice.alice_user)
    tab = browser.tab()
    tab.open(f"{routes.MESSAGES}?thread={thread}")
    page = tab.state(MessagesState)
    assert page.thread_id == str(thread)
    tab.call(MessagesState, "keep_reply", form={"reply": "I looked again and", "key": page.reply_key})
    # The session ends (idle, or signed out elsewhere); the person signs in again.
    tab.call(SessionState, "sign_out")
    assert browser.token is None
    browser.token = sign_in_token(practice.alice_user)
    tab.open(f"{routes.MESSAGES}?thread={thread}")
    page = tab.state(MessagesState)
    assert [d.thread for d in page.drafts] == [str(thread)]
    assert "I looked again and" in page.drafts[0].preview
    round_before = page.reply_round
    tab.call(MessagesState, "restore_draft", thread_id=str(thread))
    assert page.reply_text == "I looked again and"
    assert page.reply_round > round_before  # the reply box shows it afresh
    assert page.drafts == []

    # Her caregiver, in the same portal, is offered nothing of hers.
    carer_tab = _signed_in(practice.carer, "carer").tab()
    carer_tab.open(routes.MESSAGES)
    assert carer_tab.state(MessagesState).drafts == []
    assert "I looked again" not in carer_tab.serialised()


def test_a_second_tap_of_send_reply_is_stored_once(db, practice):
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill", body="Twice?", client_key=None,
                                    clock=utcnow)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _signed_in(practice.alice_user).tab()
    tab.open(f"{routes.MESSAGES}?thread={thread}")
    page = tab.state(MessagesState)
    form = {"reply": "Thank you!", "key": page.reply_key}
    tab.call(MessagesState, "keep_reply", form=form)
    tab.call(MessagesState, "send_reply", form=form)
    tab.call(MessagesState, "send_reply", form=dict(form))  # the second tap, queued behind
    # The pause-in-typing save still on its way: it must not bring the draft back.
    tab.call(MessagesState, "keep_reply", form=dict(form))
    replies = db.exec(select(Message).where(Message.thread_id == thread,
                                            Message.automatic.is_(False)).order_by(Message.id)).all()
    assert [m.body for m in replies] == ["Twice?", "Thank you!"]
    assert page.reply_note == REPLY_SENT and page.reply_text == ""
    assert db.exec(select(MessageDraft)).all() == []
    assert len(db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == "staff_message_notification")).all()) == 2  # the start, the reply


def test_a_second_tap_of_the_offices_send_reply_is_stored_once(db, practice):
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill", body="Twice?", client_key=None,
                                    clock=utcnow)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _signed_in(practice.staff, "office").tab()
    tab.open(f"{routes.ADMIN_MESSAGES}?thread={thread}")
    office = tab.state(AdminMessagesState)
    assert office.thread is not None and office.thread.id == str(thread)
    form = {"reply": "Yes, we fixed it.", "key": office.reply_key}
    tab.call(AdminMessagesState, "send_reply", form=form)
    tab.call(AdminMessagesState, "send_reply", form=dict(form))
    staff_replies = db.exec(select(Message).where(Message.thread_id == thread,
                                                  Message.from_staff.is_(True),
                                                  Message.automatic.is_(False))).all()
    assert len(staff_replies) == 1
    told = [e.to_address for e in db.exec(select(OutboxEmail).where(
        OutboxEmail.kind == "message_notification")).all()]
    assert sorted(told) == sorted([practice.alice_user.email, practice.carer.email])  # once each
    assert office.replying is False and office.reply_note.startswith("Reply sent")


def test_restoring_a_reply_to_a_closed_conversation_opens_a_new_message(db, practice):
    now = utcnow
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill", body="Twice?", client_key=None, clock=now)
    messaging.save_draft(db, practice.alice_user, practice.alice.id, thread_id=thread,
                         body="And in April?", clock=now)
    messaging.set_thread_status(db, practice.staff, thread, "closed", clock=now)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _signed_in(practice.alice_user).tab()
    tab.open(routes.MESSAGES)
    tab.call(MessagesState, "restore_draft", thread_id=str(thread))
    page = tab.state(MessagesState)
    assert page.compose_open
    assert (page.compose_category, page.compose_subject, page.compose_body) == (
        "Billing", "Bill", "And in April?")
    assert page.compose_error == DRAFT_CLOSED
    kept = db.exec(select(MessageDraft)).all()
    assert [(d.thread_id, d.body) for d in kept] == [(NEW, "And in April?")]


def test_another_patients_conversation_id_restores_nothing(db, practice):
    now = utcnow
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill", body="Twice?", client_key=None, clock=now)
    messaging.save_draft(db, practice.alice_user, practice.alice.id, thread_id=thread,
                         body="Alice's secret draft", clock=now)
    bob = make_patient(db, first_name="Other", last_name="Person")
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _signed_in(patient_user(db, bob), "other").tab()
    tab.open(routes.MESSAGES)
    tab.call(MessagesState, "restore_draft", thread_id=str(thread))
    tab.call(MessagesState, "discard_draft", thread_id=str(thread))
    assert "Alice's secret draft" not in tab.serialised()
    assert len(db.exec(select(MessageDraft)).all()) == 1
    assert db.exec(select(MessageThread)).one().id == thread
