"""Transactions at the boundary: an action, its emails and its audit rows commit together.

Services never commit; ``db.session_scope`` (the State call path, http.py, cli.py,
jobs.py) is the unit of work. The failures here are real ones: a SQLAlchemy event
listener, attached for the test, makes the database refuse a row.
"""
from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlmodel import Session, select

from carespace_app.db import session_scope
from carespace_app.models import (
    Appointment, AuditEvent, Message, MessageDraft, MessageThread, OutboxEmail, Resource,
)
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.mail import outbox
from carespace_app.services.records import appointments, labs, messaging, resources

from .factories import make_practice


@pytest.fixture
def practice(db):
    return make_practice(db)


class MailServerOnFire(Exception):
    pass


@contextmanager
def refusing(model, when: str):
    """The database refuses every ``when`` ("before_insert", "before_delete") of ``model``."""
    def refuse(*_args):
        raise MailServerOnFire(f"{model.__name__} refused")

    event.listen(model, when, refuse)
    try:
        yield
    finally:
        event.remove(model, when, refuse)


def rows(engine, model) -> list:
    with Session(engine) as fresh:
        return list(fresh.exec(select(model)).all())


def start_thread(work, practice, clock, key="k-1"):
    return messaging.start_thread(work, practice.alice_user, practice.alice.id,
                                  category="Appointment", subject="Parking on Thursday",
                                  body="Where do I park?", client_key=key, clock=clock)


# --- an action and its email ----------------------------------------------------------------


def test_a_message_whose_notification_cannot_be_queued_leaves_no_message(engine, db, practice,
                                                                          clock):
    with pytest.raises(MailServerOnFire):
        with refusing(OutboxEmail, "before_insert"), session_scope(engine) as work:
            start_thread(work, practice, clock)
    for model in (MessageThread, Message, OutboxEmail, AuditEvent):
        assert rows(engine, model) == [], model.__name__
    # The same message, with the email allowed: stored, with its email and its audit row.
    with session_scope(engine) as work:
        start_thread(work, practice, clock)
    # The patient's message and the practice's automatic reply (which sends no email).
    assert [m.automatic for m in rows(engine, Message)] == [False, True]
    assert rows(engine, OutboxEmail)
    assert [e.action for e in rows(engine, AuditEvent)] == ["message.sent"]


def test_an_appointment_whose_email_cannot_be_queued_is_not_booked(engine, db, practice, clock):
    def book(work):
        return appointments.create_appointment(
            work, practice.staff, practice.alice.id, starts_at=clock() + timedelta(days=2),
            duration_minutes=30, appointment_type="Office visit", provider="Dr. Rao",
            location="Suite 4", clock=clock)

    with pytest.raises(MailServerOnFire):
        with refusing(OutboxEmail, "before_insert"), session_scope(engine) as work:
            book(work)
    assert rows(engine, Appointment) == [] and rows(engine, AuditEvent) == []
    with session_scope(engine) as work:
        book(work)
    assert len(rows(engine, Appointment)) == 1 and rows(engine, OutboxEmail)


def test_a_composed_action_keeps_all_of_it_or_none(engine, db, practice, clock):
    # Restoring a reply drafted for a conversation closed since: the draft becomes a new
    # message's (saved), and the reply's draft goes (deleted). If the second step fails,
    # the first must not stand: one draft, as before, not two.
    thread = start_thread(db, practice, clock)
    messaging.save_draft(db, practice.alice_user, practice.alice.id, thread_id=thread,
                         body="And in April?", clock=clock)
    messaging.set_thread_status(db, practice.staff, thread, "closed", clock=clock)
    db.commit()  # the set-up's unit of work
    with pytest.raises(MailServerOnFire):
        with refusing(MessageDraft, "before_delete"), session_scope(engine) as work:
            messaging.move_draft_to_new_message(work, practice.alice_user, practice.alice.id,
                                                thread, clock=clock)
    assert [(d.thread_id, d.body) for d in rows(engine, MessageDraft)] == [(thread, "And in April?")]
    with session_scope(engine) as work:
        messaging.move_draft_to_new_message(work, practice.alice_user, practice.alice.id, thread,
                                            clock=clock)
    assert [(d.thread_id, d.body) for d in rows(engine, MessageDraft)] == [
        (messaging.NEW_MESSAGE, "And in April?")]


# --- what session_scope keeps ---------------------------------------------------------------


def test_a_validation_error_rolls_the_whole_unit_of_work_back(engine, db, practice, clock):
    with pytest.raises(ValidationError):
        with session_scope(engine) as work:
            resources.create_resource(work, practice.staff, title="Support group",
                                      url="https://example.org/support", clock=clock)
            resources.create_resource(work, practice.staff, title="Bad link",
                                      url="javascript:alert(1)", clock=clock)
    assert rows(engine, Resource) == [] and rows(engine, AuditEvent) == []


def test_a_refusal_keeps_its_audit_row_and_nothing_else(engine, db, practice, clock):
    thread = start_thread(db, practice, clock)
    db.commit()
    before = {m.__name__: len(rows(engine, m)) for m in (Message, OutboxEmail, MessageDraft)}
    for attempt in (
        lambda work: labs.list_reports(work, practice.bob_user, practice.alice.id, clock=clock),
        lambda work: messaging.reply(work, practice.bob_user, thread, body="Let me in",
                                     client_key=None, clock=clock),
        lambda work: messaging.save_draft(work, practice.bob_user, practice.alice.id,
                                          thread_id=thread, body="Mine now", clock=clock),
    ):
        with pytest.raises(NotAllowed):
            with session_scope(engine) as work:
                attempt(work)
    refused = [e for e in rows(engine, AuditEvent) if e.action == "access.refused"]
    assert [(e.actor_user_id, e.patient_id, e.repeat_count) for e in refused] == [
        (practice.bob_user.id, practice.alice.id, 3)]
    assert {m.__name__: len(rows(engine, m)) for m in (Message, OutboxEmail, MessageDraft)} == before


# --- the outbox tells whoever listens, and knows no sender -------------------------------------


def test_the_outbox_tells_its_listeners_after_a_commit_never_after_a_rollback(engine, db, clock):
    heard = []

    def listener():
        heard.append(len(rows(engine, OutboxEmail)))

    outbox.on_queued(listener)
    outbox.on_queued(listener)  # once is enough
    try:
        with pytest.raises(ValidationError):
            with session_scope(engine) as work:
                outbox.enqueue(work, to="a@example.org", subject="Hi", body="Hello.",
                               kind="test", clock=clock)
                raise ValidationError("the action failed after queuing its email")
        assert heard == []
        with session_scope(engine) as work:
            outbox.enqueue(work, to="a@example.org", subject="Hi", body="Hello.", kind="test",
                           clock=clock)
            assert heard == []  # not before the commit: the row would not be there yet
        assert heard == [1]  # once per commit, and the row is there to be sent
    finally:
        outbox._listeners.remove(listener)


def test_the_outbox_does_not_import_the_sender():
    tree = ast.parse(inspect.getsource(outbox))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    assert not any(name.endswith("sender") for name in imported), imported
    # Nor through anything it imports.
    code = ("import sys, carespace_app.services.mail.outbox; "
            "sys.exit('carespace_app.services.mail.sender' in sys.modules)")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           cwd=Path(__file__).resolve().parents[1])
    assert found.returncode == 0, found.stderr
