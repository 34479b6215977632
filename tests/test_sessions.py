"""Server-side sessions: idle and absolute limits, sign-out, the one-time ticket, and the way
back to the page a signed-out tab asked for."""
from __future__ import annotations

import asyncio
import inspect
from datetime import timedelta

import pytest
import reflex as rx
from reflex_base.event.context import EventContext
from sqlalchemy import text
from sqlmodel import select
from starlette.testclient import TestClient

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.http import SIGN_IN_NONCE_COOKIE, backend_routes, security_headers
from carespace_app.models import SignInTicket, User, UserSession
from carespace_app import policy
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.state import auth, auth_forms
from carespace_app.state.auth import SignInState
from carespace_app.state.register import RegisterState
from carespace_app.state.session import SessionState


def make_user(db, email="jane@example.org", **kw) -> User:
    user = User(email=email, full_name="Jane Doe",
                password_hash=security.hash_password("Zebra-Lamp-Cactus-42"), **kw)
    db.add(user)
    db.commit()
    return user


def sign_in(db, user, clock) -> str:
    """The session token, the way the cookie route gets it."""
    token = sessions.redeem_ticket(db, sessions.start_session(db, user, clock=clock), clock=clock)
    db.commit()  # the cookie route's unit of work ends
    return token


def test_start_session_stores_only_hashes(db, clock):
    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock, client_ip="203.0.113.9", user_agent="Firefox")
    row = db.exec(select(SignInTicket)).one()
    assert row.token_hash == security.token_hash(ticket)
    assert ticket not in row.sealed_session_token
    session = db.get(UserSession, row.session_id)
    assert session.expires_at == clock() + timedelta(hours=12)
    assert session.active_patient_id is None
    assert (session.client_ip, session.user_agent) == ("203.0.113.9", "Firefox")
    token = sessions.redeem_ticket(db, ticket, clock=clock)
    assert session.token_hash == security.token_hash(token)
    dump = str(db.execute(text("SELECT * FROM user_sessions")).all())
    dump += str(db.execute(text("SELECT * FROM sign_in_tickets")).all())
    assert token not in dump and ticket not in dump


def test_ticket_is_single_use_and_cleared(db, clock):
    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock)
    token = sessions.redeem_ticket(db, ticket, clock=clock)
    assert token and sessions.resolve(db, token, clock=clock) is not None
    assert sessions.redeem_ticket(db, ticket, clock=clock) is None
    row = db.exec(select(SignInTicket)).one()
    db.refresh(row)
    assert row.sealed_session_token == "" and row.used_at == clock()


def test_ticket_lasts_60_seconds(db, clock):
    user = make_user(db)
    fresh = sessions.start_session(db, user, clock=clock)
    stale = sessions.start_session(db, user, clock=clock)
    clock.advance(seconds=59)
    assert sessions.redeem_ticket(db, fresh, clock=clock) is not None
    clock.advance(seconds=2)
    assert sessions.redeem_ticket(db, stale, clock=clock) is None


def test_unknown_or_empty_ticket(db, clock):
    assert sessions.redeem_ticket(db, "", clock=clock) is None
    assert sessions.redeem_ticket(db, "made-up", clock=clock) is None
    assert sessions.redeem_ticket(db, None, clock=clock) is None


def test_two_redemptions_one_winner(engine, db, clock):
    from sqlmodel import Session

    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock)
    db.commit()  # the sign-in's unit of work ends: the ticket is out
    with Session(engine) as other:
        first = sessions.redeem_ticket(other, ticket, clock=clock)
        other.commit()  # each redemption is its own unit of work
    results = [first, sessions.redeem_ticket(db, ticket, clock=clock)]
    assert sum(r is not None for r in results) == 1


def test_idle_at_14_59_ok_at_15_01_refused(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    clock.advance(minutes=14, seconds=59)
    assert sessions.resolve(db, token, clock=clock, touch=False) is not None
    clock.advance(seconds=2)  # 15:01 since the last activity
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "idle" and session.ended_at == clock()
    clock.advance(seconds=-120)  # once ended, it stays ended
    assert sessions.resolve(db, token, clock=clock) is None


def test_activity_keeps_the_session_alive(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    for _ in range(8):  # two hours of a click every 14 minutes
        clock.advance(minutes=14)
        assert sessions.resolve(db, token, clock=clock) is not None


def test_touch_is_written_at_most_every_30_seconds(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    start = clock()
    clock.advance(seconds=20)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.last_seen_at == start
    clock.advance(seconds=10)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.last_seen_at == clock()


def test_touch_false_does_not_extend(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    clock.advance(minutes=10)
    sessions.resolve(db, token, clock=clock, touch=False)
    clock.advance(minutes=5, seconds=1)
    assert sessions.resolve(db, token, clock=clock) is None


def test_absolute_limit_of_12_hours(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    for _ in range(71):  # active all day, a click every 10 minutes
        clock.advance(minutes=10)
        assert sessions.resolve(db, token, clock=clock) is not None
    clock.advance(minutes=9, seconds=59)  # 11:59:59
    assert sessions.resolve(db, token, clock=clock) is not None
    clock.advance(seconds=1)  # 12:00:00
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "expired"


def test_end_session_takes_effect_at_once(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    sessions.end_session(db, token, clock=clock)
    assert sessions.resolve(db, token, clock=clock) is None
    session = db.exec(select(UserSession)).one()
    db.refresh(session)
    assert session.ended_reason == "signed out"
    sessions.end_session(db, token, clock=clock)  # twice is harmless
    sessions.end_session(db, None, clock=clock)


def test_end_all_sessions_except_the_current_one(db, clock):
    user = make_user(db)
    other = make_user(db, email="sam@example.org")
    phone, laptop, tablet = (sign_in(db, user, clock) for _ in range(3))
    theirs = sign_in(db, other, clock)
    keep, _user = sessions.resolve(db, laptop, clock=clock)
    ended = sessions.end_user_sessions(db, user.id, reason="password changed", clock=clock,
                                      except_session_id=keep.id)
    assert ended == 2
    assert sessions.resolve(db, phone, clock=clock) is None
    assert sessions.resolve(db, tablet, clock=clock) is None
    assert sessions.resolve(db, laptop, clock=clock) is not None
    assert sessions.resolve(db, theirs, clock=clock) is not None
    assert sessions.end_user_sessions(db, user.id, reason="access revoked", clock=clock) == 1


def test_deactivated_user_loses_the_session(db, clock):
    user = make_user(db)
    token = sign_in(db, user, clock)
    user.is_active = False
    db.add(user)
    db.commit()
    assert sessions.resolve(db, token, clock=clock) is None


def test_unknown_tokens(db, clock):
    assert sessions.resolve(db, None, clock=clock) is None
    assert sessions.resolve(db, "", clock=clock) is None
    assert sessions.resolve(db, "nope", clock=clock) is None


def test_set_active_patient(db, clock):
    from datetime import date

    from carespace_app.models import Patient

    user = make_user(db)
    patient = Patient(mrn="M1", first_name="Ann", last_name="Lee", date_of_birth=date(1950, 1, 2),
                      email="ann@example.org")
    db.add(patient)
    db.commit()
    token = sign_in(db, user, clock)
    session, _user = sessions.resolve(db, token, clock=clock)
    sessions.set_active_patient(db, session.id, patient.id)
    session, _user = sessions.resolve(db, token, clock=clock)
    assert session.active_patient_id == patient.id


# --- back to the page asked for, after signing in (?next=) -----------------------------

NONCE = "nonce-of-this-browser"


@pytest.mark.parametrize("asked, honoured", [
    ("/messages?thread=12", "/messages?thread=12"),
    ("/labs", "/labs"),
    ("/labs/", "/labs"),
    ("/admin/patient?id=4", "/admin/patient?id=4"),
    ("/messages?thread=12&n=ab12cd", "/messages?thread=12"),  # a navigation's nonce stays behind
    ("//evil.example/home", None),
    ("///evil.example", None),
    ("https://evil.example/home", None),
    ("http:/home", None),
    ("javascript:alert(1)", None),
    ("/\\evil.example", None),
    ("\\\\evil.example", None),
    ("/auth/session?ticket=x", None),
    ("/auth/sign-out", None),
    ("/calendar/3.ics", None),
    ("/register?token=abc", None),
    ("/", None),
    ("/no-such-page", None),
    ("/home\r\nSet-Cookie: x=1", None),
    ("home", None),
    ("", None),
    (None, None),
    ("/messages?" + "x" * 600, None),
])
def test_only_our_own_pages_are_honoured_as_next(asked, honoured):
    assert routes.return_path(asked) == honoured


def test_a_patient_asking_for_an_admin_page_lands_in_their_portal():
    assert routes.after_sign_in("/admin/audit", staff=False) == routes.HOME
    assert routes.after_sign_in("/admin/audit", staff=True) == "/admin/audit"
    assert routes.after_sign_in("/labs", staff=False) == "/labs"
    assert routes.after_sign_in("//evil.example", staff=True) == routes.ADMIN
    assert routes.after_sign_in("", staff=False) == routes.HOME


@pytest.fixture
def client():
    app = security_headers(backend_routes())
    with TestClient(app, base_url="http://localhost:3000") as test_client:
        yield test_client


def _swap(client, db, user, next_page: str) -> str:
    ticket = sessions.start_session(db, user, clock=utcnow, browser_nonce=NONCE)
    db.commit()  # the sign-in's unit of work ends: the ticket is out
    client.cookies.clear()
    answer = client.get(routes.AUTH_SESSION, params={"ticket": ticket, "next": next_page},
                        cookies={SIGN_IN_NONCE_COOKIE: NONCE},
                        headers={"sec-fetch-site": "same-origin"}, follow_redirects=False)
    assert answer.status_code == 303
    return answer.headers["location"]


def test_the_ticket_route_lands_on_the_page_asked_for_and_nowhere_else(db, client):
    patient = make_user(db)
    staff = make_user(db, email="olivia@clinic.example.org", is_staff=True)
    assert _swap(client, db, patient, "/messages?thread=12") == "/messages?thread=12"
    assert _swap(client, db, patient, "/admin/outbox") == routes.HOME
    assert _swap(client, db, staff, "/admin/patient?id=3") == "/admin/patient?id=3"
    for elsewhere in ("//evil.example", "https://evil.example/", "/\\evil.example",
                      "/auth/sign-out", "/register?token=x"):
        assert _swap(client, db, patient, elsewhere) == routes.HOME
        assert _swap(client, db, staff, elsewhere) == routes.ADMIN


def test_sign_out_route_carries_the_page_to_the_sign_in_page(client):
    answer = client.get(routes.AUTH_SIGN_OUT, params={"reason": "idle", "next": "/labs?report=2"},
                        follow_redirects=False)
    assert answer.headers["location"] == "/?reason=idle&next=%2Flabs%3Freport%3D2"
    answer = client.get(routes.AUTH_SIGN_OUT, params={"reason": "idle", "next": "//evil.example"},
                        follow_redirects=False)
    assert answer.headers["location"] == "/?reason=idle"


async def _nothing(*_args, **_kwargs):
    return None


def _tab(state_class, *, path="/", query=None, cookie=f"{SIGN_IN_NONCE_COOKIE}={NONCE}"):
    query = query or {}
    as_path = path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    root = rx.State(_reflex_internal_init=True)
    headers = {"origin": "http://localhost:3000", "host": "localhost:3000", "user-agent": "pytest",
               "cookie": cookie}
    root.router_data = root._update_router_vars(
        {"token": "client-next", "sid": "sid-next", "ip": "203.0.113.8", "headers": headers,
         "pathname": path, "query": query, "asPath": as_path}, {})
    return root.get_substate(state_class.get_full_name().split(".")[1:])


def _run(result) -> list:
    """Drive a handler; the events it yielded (focus, a field's new value...)."""
    events = []

    async def run():
        async with EventContext(token="next", state_manager=None, enqueue_impl=_nothing):
            if inspect.isasyncgen(result):
                async for item in result:
                    if item is not None:
                        events.append(item)
            elif inspect.iscoroutine(result):
                item = await result
                if item is not None:
                    events.append(item)

    asyncio.run(run())
    return events


def _names(events) -> list[str]:
    return [repr(getattr(e, "handler", e)) for e in events]


def test_a_signed_out_tab_is_sent_to_sign_in_with_its_page(db):
    state = _tab(SessionState, path="/messages", query={"thread": "12"})
    state._signed_out()
    assert state.navigate_to.startswith(
        f"{routes.AUTH_SIGN_OUT}?reason=expired&next=/messages%3Fthread%3D12&n=")
    # A page that isn't one to come back to (sign-in itself) adds nothing.
    state = _tab(SessionState, path="/register", query={"token": "abc"})
    state._signed_out()
    assert "next=" not in state.navigate_to


def test_sign_in_takes_the_page_asked_for_through_the_ticket(db):
    make_user(db)
    state = _tab(SignInState, query={"reason": "expired", "next": "/messages?thread=12"})
    _run(SignInState.load.fn(state))
    _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                       "password": "Zebra-Lamp-Cactus-42"}))
    assert state.error == ""
    assert state.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")
    assert "&next=/messages%3Fthread%3D12&" in state.navigate_to


def test_sign_in_ignores_a_next_that_is_not_our_page(db):
    make_user(db)
    state = _tab(SignInState, query={"next": "//evil.example/home"})
    _run(SignInState.load.fn(state))
    _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                       "password": "Zebra-Lamp-Cactus-42"}))
    assert "next=" not in state.navigate_to and "evil" not in state.navigate_to


def test_wrong_password_is_shown_by_the_password_and_focused(db):
    make_user(db)
    state = _tab(SignInState)
    events = _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                                "password": "Wrong-Guess-11!"}))
    assert state.error_field == "password" and "don't match" in state.error
    assert not state.busy and state.pause_seconds == 0
    assert any("_set_focus" in name for name in _names(events))


def test_an_empty_email_is_shown_by_the_email(db):
    state = _tab(SignInState)
    events = _run(SignInState.submit.fn(state, {"email": "", "password": "x"}))
    assert (state.error_field, state.error) == ("email", auth.EMPTY_SIGN_IN["email"])
    assert any("_set_focus" in name for name in _names(events))


def test_the_pause_after_five_failures_counts_down_and_clears_the_password(db):
    make_user(db)
    state = _tab(SignInState)
    for _ in range(policy.ACCOUNT_BURST - 1):
        _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                           "password": "Wrong-Guess-11!"}))
        assert state.pause_seconds == 0
    events = _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                                "password": "Wrong-Guess-11!"}))
    assert 0 < state.pause_seconds <= policy.ACCOUNT_BURST_PAUSE.total_seconds()
    assert state.error == ""  # the pause box says it all
    assert any("_set_value" in name for name in _names(events))  # the refused password is cleared
    first = state.pause_id
    # Trying during the pause: refused, counted down afresh.
    _run(SignInState.submit.fn(state, {"email": "jane@example.org",
                                       "password": "Zebra-Lamp-Cactus-42"}))
    assert state.pause_seconds > 0 and state.pause_id != first
    assert state.navigate_to == ""


def test_a_used_registration_link_in_a_signed_in_tab_says_so(db):
    user = make_user(db)
    token = sign_in(db, user, utcnow)
    state = _tab(RegisterState, path="/register", query={"token": "no-such-link"},
                 cookie=f"{routes.SESSION_COOKIE}={token}")
    _run(RegisterState.load.fn(state))
    assert state.view == "signed_in"
    assert state.link_message == auth_forms.ALREADY_SIGNED_IN
    assert (state.home, state.home_label) == (routes.HOME, auth_forms.HOME_LINKS["person"])
    # Signed out, the same link still says to call the office.
    state = _tab(RegisterState, path="/register", query={"token": "no-such-link"})
    _run(RegisterState.load.fn(state))
    assert state.view == "invalid" and state.home == ""
