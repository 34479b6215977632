"""Triage in the pages' states, driven the way Reflex drives them (tests/tabs.py): the
patient's red-flag banner keeps the message and sends it only when asked; the office sees
the urgent item, acknowledges it, and the page's own refresh is not the staff member's
activity (idle sign-out)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app import policy, routes
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.models import MessageDraft, MessageThread, UrgentItem, UserSession
from carespace_app.services.identity import security
from carespace_app.services.records import messaging, urgent
from carespace_app.state.admin_messages import AdminMessagesState
from carespace_app.state.admin_office import AdminOfficeState
from carespace_app.state.messages import SENT_URGENT, MessagesState
from tests.factories import make_practice
from tests.tabs import Browser, sign_in_token

RED_FLAG = {"category": "Symptoms or side effects", "subject": "Since the infusion",
            "body": "I have chest pain and feel dizzy"}


@pytest.fixture
def practice(db):
    made = make_practice(db)
    db.commit()
    return made


def _tab(user, path, name="t"):
    browser = Browser(name)
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(path)
    return browser, tab


def _compose(tab, form):
    tab.call(MessagesState, "start_compose")
    page = tab.state(MessagesState)
    return {**form, "key": page.compose_key}


def test_a_red_flag_message_shows_the_banner_keeps_the_text_and_sends_only_when_asked(db,
                                                                                      practice):
    _browser, tab = _tab(practice.alice_user, routes.MESSAGES)
    form = _compose(tab, RED_FLAG)
    tab.call(MessagesState, "keep_compose", form=form)  # typed (kept as a draft)
    tab.call(MessagesState, "send_message", form=form)
    page = tab.state(MessagesState)
    assert page.compose_alert == "Your message mentions chest pain. This may need care right away."
    assert page.compose_open and page.compose_error == "" and not page.sending
    assert db.exec(select(MessageThread)).all() == []
    # What was typed is not lost: the form is as it was, and the draft is kept.
    (draft,) = db.exec(select(MessageDraft)).all()
    assert draft.body == RED_FLAG["body"]

    tab.call(MessagesState, "send_message", form=form)  # "Send anyway": the same text
    (thread,) = db.exec(select(MessageThread)).all()
    assert thread.urgent and thread.subject == RED_FLAG["subject"]
    assert [i.thread_id for i in db.exec(select(UrgentItem)).all()] == [thread.id]
    assert page.compose_alert == "" and not page.compose_open and page.thread_id == str(thread.id)
    tab.open(f"{routes.MESSAGES}?thread={thread.id}")  # the redirect to its own address
    assert page.notice == SENT_URGENT
    assert [m.author for m in page.thread_messages] == ["You", messaging.AUTOMATIC_AUTHOR]
    assert db.exec(select(MessageDraft)).all() == []


def test_a_message_changed_after_the_banner_is_checked_again(db, practice):
    _browser, tab = _tab(practice.alice_user, routes.MESSAGES)
    form = _compose(tab, RED_FLAG)
    tab.call(MessagesState, "send_message", form=form)
    changed = {**form, "body": "I have chest pain and fainted"}
    tab.call(MessagesState, "send_message", form=changed)  # not what the banner was shown for
    page = tab.state(MessagesState)
    assert page.compose_alert.startswith("Your message mentions chest pain and fainted")
    assert db.exec(select(MessageThread)).all() == []
    tab.call(MessagesState, "edit_message")  # "Edit message": back to the form
    assert page.compose_alert == "" and page.compose_open
    calm = {**form, "body": "I feel a little dizzy"}
    tab.call(MessagesState, "send_message", form=calm)
    (thread,) = db.exec(select(MessageThread)).all()
    assert not thread.urgent and db.exec(select(UrgentItem)).all() == []


def test_a_red_flag_reply_waits_for_send_anyway(db, practice):
    thread_id = messaging.start_thread(db, practice.alice_user, practice.alice.id,
                                       category="Medical question", subject="Nausea",
                                       body="Nausea since Monday", client_key=None, clock=utcnow)
    db.commit()
    _browser, tab = _tab(practice.carer, f"{routes.MESSAGES}?thread={thread_id}")
    page = tab.state(MessagesState)
    form = {"reply": "Now she has a fever of 38.6 C", "key": page.reply_key}
    tab.call(MessagesState, "send_reply", form=form)
    assert page.reply_alert.startswith("Your message mentions fever")
    assert db.get(MessageThread, thread_id).message_count == 1
    tab.call(MessagesState, "send_reply", form=form)
    db.expire_all()
    assert db.get(MessageThread, thread_id).urgent
    assert page.reply_alert == "" and page.reply_note.startswith("Your reply was sent and marked urgent")


def _last_seen(token: str):
    with session_scope() as db:
        return db.exec(select(UserSession).where(
            UserSession.token_hash == security.token_hash(token))).one().last_seen_at


def _age(token: str, idle: timedelta) -> None:
    with session_scope() as db:
        row = db.exec(select(UserSession).where(
            UserSession.token_hash == security.token_hash(token))).one()
        row.last_seen_at = utcnow() - idle
        db.add(row)


def test_the_office_sees_a_new_urgent_item_on_refresh_without_it_counting_as_activity(
        db, practice):
    browser, tab = _tab(practice.staff, routes.ADMIN_MESSAGES)
    office = tab.state(AdminMessagesState)
    assert office.urgent_items == []
    thread_id = messaging.start_thread(db, practice.bob_user, practice.bob.id,
                                       category="Medical question", subject="Help",
                                       body="I fainted twice today", client_key=None,
                                       clock=utcnow, send_anyway=True)
    db.commit()
    _age(browser.token, timedelta(minutes=10))
    before = _last_seen(browser.token)
    tab.call(AdminMessagesState, "refresh_urgent")
    assert [(u.patient, u.lines) for u in office.urgent_items] == [
        ("Bob Lindqvist", [urgent.MESSAGE_LINE.format(flags="fainted")])]
    assert office.queue[0].id == str(thread_id) and office.queue[0].urgent  # first in the queue
    assert _last_seen(browser.token) == before  # the page's timer is not the nurse
    tab.call(AdminMessagesState, "apply_filters", form={})  # a click is
    assert _last_seen(browser.token) > before


def test_the_office_acknowledges_an_urgent_item_with_called_or_a_note(db, practice):
    for body in ("I fainted", "chest pain again"):
        messaging.start_thread(db, practice.alice_user, practice.alice.id,
                               category="Medical question", subject="Help", body=body,
                               client_key=None, clock=utcnow, send_anyway=True)
    db.commit()
    _browser, tab = _tab(practice.staff, routes.ADMIN_MESSAGES)
    office = tab.state(AdminMessagesState)
    first, second = office.urgent_items
    tab.call(AdminMessagesState, "acknowledge", form={"item_id": first.id, "note": urgent.CALLED})
    assert [u.id for u in office.urgent_items] == [second.id]
    tab.call(AdminMessagesState, "acknowledge", form={"item_id": second.id, "note": "  "})
    assert office.note_error_for == second.id and office.note_error.startswith("Say what was done")
    tab.call(AdminMessagesState, "acknowledge",
             form={"item_id": second.id, "note": "Sent to the ER by ambulance"})
    assert office.urgent_items == []
    notes = {i.id: i.note for i in db.exec(select(UrgentItem)).all()}
    assert notes == {int(first.id): urgent.CALLED, int(second.id): "Sent to the ER by ambulance"}


def test_the_office_settings_page_saves_and_names_a_wrong_field(db, practice):
    _browser, tab = _tab(practice.staff, routes.ADMIN_OFFICE)
    page = tab.state(AdminOfficeState)
    assert [(d.name, d.opens, d.closes) for d in page.days][:1] == [("Monday", "08:00", "17:00")]
    assert page.days[5].opens == "" and "chest pain" in page.red_flags.split("\n")
    form = {f"{d.key}_{part}": getattr(d, part) for d in page.days for part in ("opens", "closes")}
    form.update(holidays="2026-12-25", red_flags="chest pain\nfainting",
                after_hours_phone="(479) 555-0199", route_2=str(practice.staff.id))
    tab.call(AdminOfficeState, "save", form={**form, "tue_closes": "07:00"})
    assert page.errors["tue_closes"] == "The closing time must be after the opening time."
    tab.call(AdminOfficeState, "save", form=form)
    assert page.errors["tue_closes"] == "" and page.holidays == "2026-12-25"
    assert page.routes[2].chosen == str(practice.staff.id)
    assert page.red_flags == "chest pain\nfainting"


def test_a_queue_left_open_reads_the_items_again_only_when_they_change(db, practice, monkeypatch):
    """The page's timer asks every 30 s: the office's log gets a row for reading the urgent
    items only when they changed, or when one turns 30 minutes old and is highlighted."""
    from carespace_app.models import AuditEvent
    from carespace_app.state import admin_messages

    messaging.start_thread(db, practice.bob_user, practice.bob.id, category="Medical question",
                           subject="Help", body="I fainted twice today", client_key=None,
                           clock=utcnow, send_anyway=True)
    db.commit()
    _browser, tab = _tab(practice.staff, routes.ADMIN_MESSAGES)
    office = tab.state(AdminMessagesState)
    [item] = office.urgent_items
    assert not item.overdue

    def reads() -> int:
        with session_scope() as s:
            return len(s.exec(select(AuditEvent).where(AuditEvent.action == "urgent.queue_viewed")).all())

    before = reads()
    for _ in range(3):
        tab.call(AdminMessagesState, "refresh_urgent")
    assert reads() == before and office.urgent_items == [item]
    later = utcnow() + policy.URGENT_HIGHLIGHT_AFTER + timedelta(seconds=1)
    monkeypatch.setattr(admin_messages, "utcnow", lambda: later)
    tab.call(AdminMessagesState, "refresh_urgent")
    assert reads() == before + 1
    assert [u.overdue for u in office.urgent_items] == [True]
