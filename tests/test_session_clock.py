"""The idle countdown without polling: the server sends the session's deadline, only when it
moves, and still decides on its own clock (components/idle.py, SessionState.session_clock).

The browser's side (counting down, asking at the warning and the end, a sign-in elsewhere)
is tested in Chromium with a fake clock: tests/e2e/test_idle.py.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app import policy, routes
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.models import UserSession
from carespace_app.services.identity import security
from carespace_app.state.messages import MessagesState
from carespace_app.state.session import SessionState
from tests.factories import make_patient, patient_user
from tests.tabs import Browser, sign_in_token

IDLE = int(policy.IDLE_TIMEOUT.total_seconds())
WARN = int((policy.IDLE_TIMEOUT - policy.IDLE_WARNING).total_seconds())


@pytest.fixture
def rosa(db):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez", mrn="RCL-00001")
    user = patient_user(db, patient)
    db.commit()
    return user


def _age(token: str, idle: timedelta) -> None:
    with session_scope() as db:
        row = db.exec(select(UserSession).where(
            UserSession.token_hash == security.token_hash(token))).one()
        row.last_seen_at = utcnow() - idle
        db.add(row)


def _signed_in_tab(user):
    browser = Browser("home")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(routes.MESSAGES)
    return browser, tab


def test_a_page_load_sends_the_countdown_and_the_limit(rosa):
    _browser, tab = _signed_in_tab(rosa)
    sent = tab.hydrations[-1]
    state = next(v for k, v in sent.items() if k.endswith("session_state"))
    clock = next(v for k, v in state.items() if k.startswith("session_clock"))
    assert IDLE - 5 <= clock["idle"] <= IDLE
    assert clock["warn"] == WARN
    assert policy.ABSOLUTE_TIMEOUT.total_seconds() - 60 <= clock["limit"] <= \
        policy.ABSOLUTE_TIMEOUT.total_seconds()


def test_a_click_sends_the_deadline_only_when_it_moved(rosa):
    browser, tab = _signed_in_tab(rosa)
    before = dict(tab.session_state.session_clock)
    tab.root._clean()
    tab.call(MessagesState, "start_compose")  # activity written less than 30 s ago: no move
    assert "session_clock" not in tab.session_state.dirty_vars
    assert tab.session_state.session_clock == before

    _age(browser.token, timedelta(minutes=5))  # the last write was 5 minutes ago...
    tab.call(SessionState, "check_idle")  # ...as the page's countdown knows
    assert tab.session_state.session_clock["at"] <= before["at"] - 290
    tab.root._clean()
    tab.call(MessagesState, "start_compose")
    assert "session_clock" in tab.session_state.dirty_vars
    moved = tab.session_state.session_clock
    assert moved["at"] >= before["at"] - 1 and IDLE - 5 <= moved["idle"] <= IDLE


def test_asked_at_the_warning_the_server_warns_and_says_how_long_is_left(rosa):
    browser, tab = _signed_in_tab(rosa)
    _age(browser.token, timedelta(minutes=14, seconds=10))
    tab.call(SessionState, "check_idle")
    assert tab.session_state.idle_warning is True
    assert 40 <= tab.session_state.session_clock["idle"] <= 50
    # Asking is not activity: the session is as idle as before.
    with session_scope() as db:
        row = db.exec(select(UserSession).where(
            UserSession.token_hash == security.token_hash(browser.token))).one()
        assert utcnow() - row.last_seen_at >= timedelta(minutes=14)


def test_asked_after_activity_elsewhere_the_countdown_starts_again(rosa):
    browser, tab = _signed_in_tab(rosa)
    other = browser.tab()
    other.open(routes.HOME)
    _age(browser.token, timedelta(minutes=14, seconds=10))
    other.call(SessionState, "stay_signed_in")  # the person works in the other tab
    tab.call(SessionState, "check_idle")
    assert tab.session_state.idle_warning is False
    assert IDLE - 5 <= tab.session_state.session_clock["idle"] <= IDLE


def test_asked_at_the_end_the_server_ends_the_session_and_the_tab_leaves(rosa):
    browser, tab = _signed_in_tab(rosa)
    _age(browser.token, timedelta(minutes=15, seconds=3))
    tab.call(SessionState, "check_idle")
    assert tab.path == routes.SIGN_IN and tab.query.get("reason") == "idle"
    assert tab.session_state.session_clock == {}
    assert tab.session_state.signed_in is False
