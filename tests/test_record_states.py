"""The record pages' states never let the browser choose the patient.

Every public method of a Reflex State can be called from the browser with any
arguments, and every public var can be overwritten (``setvar``). So:

1. No event handler of these states takes a patient id (or a user id): the
   patient is always the one the tab shows, resolved on every event (viewer.patient_id).
2. No browser-visible var holds a patient or user id: ``setvar`` cannot point a
   handler at another patient. The ids a browser does send (a thread id, a test
   name) are only filters the services check against the tab's patient.
3. Driven with a signed-in patient A, the handlers given patient B's thread id or
   B's test name show a refusal or nothing — never B's data. (The services' own
   refusals — list/open/reply/unread/ics/labs for a stranger — are proved in
   tests/test_messaging.py, test_appointments.py and test_labs.py.)
"""
from __future__ import annotations

import inspect
import json
from datetime import timedelta

import pytest
import reflex as rx
from reflex_base.constants.state import FIELD_MARKER
from reflex_base.utils import format
from sqlmodel import select

from carespace_app import routes
from carespace_app.models import AuditEvent, MessageThread
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.state import portal
from carespace_app.state.appointments import AppointmentsState
from carespace_app.state.labs import LabsState
from carespace_app.state.messages import NOT_FOUND, SENT, MessagesState
from carespace_app.state.portal import HomeState, PortalState
from tests.factories import make_practice
from tests.tabs import Browser, Tab, sign_in_token

RECORD_STATES = [PortalState, HomeState, MessagesState, AppointmentsState, LabsState]
FORBIDDEN = {"patient_id", "patient", "user_id", "user", "viewer", "actor"}
# What the browser may send, and where it goes: a page number never, ids only to a service.
ALLOWED_ARGUMENTS = {"self", "form", "thread_id", "test_name", "is_open"}


def _own_handlers(state):
    """Public handlers this state defines (not ones inherited from SessionState)."""
    base = set(rx.State.event_handlers)
    for name, handler in state.event_handlers.items():
        if name not in base and name in state.__dict__:
            yield name, handler


@pytest.mark.parametrize("state", RECORD_STATES, ids=lambda s: s.__name__)
def test_no_handler_takes_a_patient_or_user_from_the_browser(state):
    for name, handler in _own_handlers(state):
        parameters = set(inspect.signature(handler.fn).parameters)
        assert not parameters & FORBIDDEN, f"{state.__name__}.{name} takes {parameters & FORBIDDEN}"
        assert parameters <= ALLOWED_ARGUMENTS, (
            f"{state.__name__}.{name} takes {parameters - ALLOWED_ARGUMENTS}: document what it "
            "is and add it to ALLOWED_ARGUMENTS only if a service checks it")


@pytest.mark.parametrize("state", RECORD_STATES, ids=lambda s: s.__name__)
def test_no_browser_settable_var_names_a_patient_or_user(state):
    for name in state.vars:
        assert "patient_id" not in name and "user_id" not in name, f"{state.__name__}.{name}"


def test_idempotency_keys_stay_on_the_server():
    # A browser that could set the key could replay someone else's send key.
    assert "_compose_key" not in MessagesState.vars
    assert "_reply_key" not in MessagesState.vars


# --- the handlers, driven with a signed-in patient A ---------------------------------


@pytest.fixture
def practice(db):
    return make_practice(db)


def _tab(user, page: str) -> Tab:
    """A tab signed in for real (a session cookie), with ``page`` opened: the viewer is who
    the session says, and the handlers must keep to the patient that tab shows."""
    browser = Browser("records")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(page)
    return tab


def test_opening_another_patients_thread_shows_a_refusal_not_the_thread(db, clock, practice):
    bobs = messaging.start_thread(db, practice.bob_user, practice.bob.id, category="Billing",
                                  subject="Bob's private bill", body="Bob's secret",
                                  client_key=None, clock=clock)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _tab(practice.alice_user, routes.MESSAGES)
    tab.call(MessagesState, "open_thread", thread_id=str(bobs))
    state = tab.state(MessagesState)
    assert state.error == portal.NO_ACCESS
    assert state.thread_id == "" and state.thread_messages == []
    assert "Bob's private bill" not in state.thread_subject


def test_a_reply_aimed_at_another_patients_thread_is_refused_and_not_stored(db, clock, practice):
    bobs = messaging.start_thread(db, practice.bob_user, practice.bob.id, category="Billing",
                                  subject="Bob's private bill", body="Bob's secret",
                                  client_key=None, clock=clock)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _tab(practice.alice_user, routes.MESSAGES)
    state = tab.state(MessagesState)
    # thread_id is a browser-visible var (setvar can change it): treated as browser input.
    state.thread_id = str(bobs)
    state._reply_key = "k-1"
    tab.call(MessagesState, "send_reply", form={"reply": "Alice writing into Bob's thread"})
    assert state.reply_error == portal.NO_ACCESS
    assert db.get(MessageThread, bobs).message_count == 1


def test_a_new_message_always_goes_to_the_tabs_patient(db, clock, practice):
    tab = _tab(practice.alice_user, routes.MESSAGES)
    tab.call(MessagesState, "start_compose")
    form = {"category": "Other", "subject": "Hello", "body": "From Alice", "patient_id": str(practice.bob.id)}
    tab.call(MessagesState, "send_message", form=form)
    assert tab.state(MessagesState).compose_error == ""
    threads = db.exec(select(MessageThread)).all()
    assert [t.patient_id for t in threads] == [practice.alice.id]
    # The second click of a double click finds the compose already sent: nothing more stored.
    tab.call(MessagesState, "send_message", form=form)
    assert len(db.exec(select(MessageThread)).all()) == 1


def test_lab_history_by_test_name_never_reaches_another_patients_values(db, clock, practice):
    collected = clock() - timedelta(days=2)
    labs.enter_report(db, practice.staff, practice.bob.id, panel="Chemistry", collected_at=collected,
                      resulted_at=collected, ordering_provider="Dr. Park",
                      results=[labs.ResultInput(test_name="Potassium", value=6.1, unit="mmol/L",
                                                ref_low=3.5, ref_high=5.0)], clock=clock)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _tab(practice.alice_user, routes.LABS)
    tab.call(LabsState, "show_history", test_name="Potassium")
    state = tab.state(LabsState)
    assert state.history_rows == [] and state.chart_data == []
    viewed = db.exec(select(AuditEvent).where(AuditEvent.action == "lab_history.viewed")).all()
    assert [e.patient_id for e in viewed] == [practice.alice.id]


def test_a_surprise_is_logged_and_shown_calmly(db, clock, practice, monkeypatch, caplog):
    def broken(*_args, **_kwargs):
        raise RuntimeError("database exploded: SELECT secret")

    tab = _tab(practice.alice_user, routes.MESSAGES)
    monkeypatch.setattr(messaging, "open_thread", broken)
    tab.call(MessagesState, "open_thread", thread_id="1")
    assert tab.state(MessagesState).error == portal.SOMETHING_WRONG
    assert "exploded" in caplog.text


def test_a_conversation_row_reaches_the_browser_as_its_fields_and_nothing_more(db, clock, practice):
    """A typed row (state/messages.py ThreadRow) is sent as the fields the page shows: no id of
    a patient or person rides along, and "unread" is a true/false the page tests as such."""
    thread = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                    subject="Bill question", body="Twice?", client_key=None,
                                    clock=clock)
    clock.advance(minutes=5)
    messaging.reply(db, practice.staff, thread, body="Fixed.", client_key=None, clock=clock)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    tab = _tab(practice.alice_user, routes.MESSAGES)
    sent = json.loads(format.json_dumps(tab.reload_snapshot()))
    [row] = next(vars_[f"threads{FIELD_MARKER}"] for name, vars_ in sent.items()
                 if name.endswith(MessagesState.get_name()))
    assert set(row) == {"id", "category", "subject", "when", "unread", "count", "preview", "href"}
    assert (row["id"], row["unread"], row["count"]) == (str(thread), True, 2)
    tab.call(MessagesState, "open_thread", thread_id=str(thread))
    assert [t.unread for t in tab.state(MessagesState).threads] == [False]


def test_a_sent_message_opens_at_its_own_address_listed_first_and_read(db, clock, practice):
    """Send stores the message and shows the list and the new conversation in one answer;
    the load of its address (the redirect) says it was sent, a reload no longer does."""
    older = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                   subject="An older question", body="Earlier", client_key=None,
                                   clock=clock)
    db.commit()
    clock.advance(minutes=5)
    tab = _tab(practice.alice_user, routes.MESSAGES)
    tab.call(MessagesState, "start_compose")
    events = tab.call(MessagesState, "send_message",
                      form={"category": "Other", "subject": "Side effects", "body": "A question"})
    state = tab.state(MessagesState)
    new = db.exec(select(MessageThread).where(MessageThread.id != older)).one()
    assert any(f"?thread={new.id}" in str(e) for e in events), events
    assert state.thread_id == str(new.id) and [m.body for m in state.thread_messages][:1] == ["A question"]
    # and the practice's automatic reply under it
    assert [m.author for m in state.thread_messages][1:] == [messaging.AUTOMATIC_AUTHOR]
    assert [t.subject for t in state.threads] == ["Side effects", "An older question"]
    tab.open(f"{routes.MESSAGES}?thread={new.id}")
    assert state.notice == SENT and state.thread_subject == "Side effects"
    assert state.compose_open is False
    tab.open(f"{routes.MESSAGES}?thread={new.id}")  # a reload: the conversation, no notice
    assert state.notice == "" and state.thread_subject == "Side effects"


def test_an_address_naming_no_conversation_or_another_patients_keeps_the_list(db, clock, practice):
    own = messaging.start_thread(db, practice.alice_user, practice.alice.id, category="Billing",
                                 subject="Alice's question", body="Mine", client_key=None,
                                 clock=clock)
    bobs = messaging.start_thread(db, practice.bob_user, practice.bob.id, category="Billing",
                                  subject="Bob's private bill", body="Bob's secret",
                                  client_key=None, clock=clock)
    db.commit()
    tab = _tab(practice.alice_user, f"{routes.MESSAGES}?thread=abc")
    state = tab.state(MessagesState)
    assert state.error == NOT_FOUND
    assert [t.id for t in state.threads] == [str(own)] and state.thread_id == ""
    tab.open(f"{routes.MESSAGES}?thread={bobs}")
    assert state.error == portal.NO_ACCESS and state.thread_id == ""
    assert [t.id for t in state.threads] == [str(own)]
    assert "Bob's secret" not in tab.serialised()
