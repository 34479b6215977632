"""Login CSRF: a sign-in ticket works only in the browser that signed in, and only for the
app's own navigation.

The attack: someone signs in to their own account, keeps the ticket
(``/auth/session?ticket=…``) and has a victim's browser open it (a link, a script's
navigation). Without a binding the victim is silently in the attacker's account, and what
they then write (messages, their details) is the attacker's to read.

The HTTP route is driven through Starlette's test client with the security-headers
wrapper around it, as in production; the browser story is tests/security/live/test_login_csrf.py.
"""
from __future__ import annotations

import asyncio
import inspect

import pytest
from reflex_base.event.context import EventContext
from sqlalchemy import text
from sqlmodel import select
from starlette.applications import Starlette
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from carespace_app import config, routes
from carespace_app.clock import utcnow
from carespace_app.http import (
    SIGN_IN_NONCE_COOKIE,
    TICKET_REFUSED,
    backend_routes,
    cookie_value,
    nonce_cookie_name,
    security_headers,
)
from carespace_app.models import SignInFailure, SignInTicket, User
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.state import auth, auth_forms
from carespace_app.state.auth import SignInState
from carespace_app.state.register import RegisterState
from tests.tabs import signed_out_state

PASSWORD = "Zebra-Lamp-Cactus-42"
MINE = "nonce-of-the-browser-that-signed-in"
THEIRS = "nonce-of-another-browser"
REFUSED = f"{routes.SIGN_IN}?reason={TICKET_REFUSED}"


def make_user(db, email="jane@example.org") -> User:
    user = User(email=email, full_name="Jane Doe", password_hash=security.hash_password(PASSWORD))
    db.add(user)
    db.commit()
    return user


# --- the service ----------------------------------------------------------------------


def test_a_ticket_is_swapped_only_with_the_nonce_it_was_started_with(db, clock):
    user = make_user(db)
    ticket = sessions.start_session(db, user, clock=clock, browser_nonce=MINE)
    for wrong in (THEIRS, "", None):
        with pytest.raises(sessions.TicketForAnotherBrowser):
            sessions.redeem_ticket(db, ticket, clock=clock, browser_nonce=wrong)
    # Someone else's attempts did not spend it: the right browser still signs in, once.
    token = sessions.redeem_ticket(db, ticket, clock=clock, browser_nonce=MINE)
    assert token and sessions.resolve(db, token, clock=clock) is not None
    assert sessions.redeem_ticket(db, ticket, clock=clock, browser_nonce=MINE) is None


def test_a_ticket_without_a_nonce_is_never_swapped_for_a_browser(db, clock):
    ticket = sessions.start_session(db, make_user(db), clock=clock)
    for nonce in ("", MINE):  # the HTTP route always passes the request's nonce, maybe ""
        with pytest.raises(sessions.TicketForAnotherBrowser):
            sessions.redeem_ticket(db, ticket, clock=clock, browser_nonce=nonce)


def test_a_used_or_stale_ticket_is_just_no_good(db, clock):
    user = make_user(db)
    used = sessions.start_session(db, user, clock=clock, browser_nonce=MINE)
    stale = sessions.start_session(db, user, clock=clock, browser_nonce=MINE)
    assert sessions.redeem_ticket(db, used, clock=clock, browser_nonce=MINE)
    clock.advance(seconds=61)
    for ticket in (used, stale):
        assert sessions.redeem_ticket(db, ticket, clock=clock, browser_nonce=THEIRS) is None


def test_the_nonce_is_stored_only_as_its_hash(db, clock):
    sessions.start_session(db, make_user(db), clock=clock, browser_nonce=MINE)
    row = db.exec(select(SignInTicket)).one()
    assert row.browser_nonce_hash == security.token_hash(MINE)
    assert MINE not in str(db.execute(text("SELECT * FROM sign_in_tickets")).all())


# --- the route ------------------------------------------------------------------------


@pytest.fixture
def client():
    app = security_headers(backend_routes())
    with TestClient(app, base_url="http://localhost:3000") as test_client:
        yield test_client


def _ticket(db, nonce=MINE) -> str:
    user = db.exec(select(User).where(User.email == "jane@example.org")).first() or make_user(db)
    ticket = sessions.start_session(db, user, clock=utcnow, browser_nonce=nonce)
    db.commit()  # the sign-in's unit of work ends: the ticket is out
    return ticket


def _open(client, ticket: str, nonce: str | None = MINE, **headers):
    cookies = {SIGN_IN_NONCE_COOKIE: nonce} if nonce else {}
    client.cookies.clear()
    return client.get(f"{routes.AUTH_SESSION}?ticket={ticket}", cookies=cookies, headers=headers,
                      follow_redirects=False)


def _session_cookie(response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie") if c.startswith(routes.SESSION_COOKIE + "=")]


def test_the_browser_that_signed_in_gets_its_session(db, client):
    answer = _open(client, _ticket(db), **{"sec-fetch-site": "same-origin"})
    assert answer.status_code == 303 and answer.headers["location"] == routes.HOME
    assert len(_session_cookie(answer)) == 1


@pytest.mark.parametrize("nonce", [THEIRS, None], ids=["another browser", "no nonce"])
def test_another_browser_is_sent_to_sign_in_with_no_session(db, client, nonce):
    ticket = _ticket(db)
    answer = _open(client, ticket, nonce=nonce, **{"sec-fetch-site": "none"})
    assert answer.status_code == 303 and answer.headers["location"] == REFUSED
    assert _session_cookie(answer) == []
    assert answer.headers["cache-control"] == "no-store"
    # The real browser's ticket was not spent by the other one.
    assert len(_session_cookie(_open(client, ticket, **{"sec-fetch-site": "same-origin"}))) == 1


@pytest.mark.parametrize("headers", [
    {"sec-fetch-site": "cross-site"},
    {"sec-fetch-site": "same-site"},  # a sibling subdomain is another site too
    {"origin": "https://evil.example"},
    {"origin": "null"},
    {"referer": "https://evil.example/page"},
    {"referer": "http://localhost:3000.evil.example/"},
], ids=lambda h: f"{next(iter(h))}={next(iter(h.values()))}")
def test_a_navigation_from_another_site_is_refused_even_in_the_right_browser(db, client, headers):
    ticket = _ticket(db)
    answer = _open(client, ticket, **headers)
    assert answer.status_code == 303 and answer.headers["location"] == REFUSED
    assert _session_cookie(answer) == []
    assert len(_session_cookie(_open(client, ticket, **{"sec-fetch-site": "same-origin"}))) == 1


@pytest.mark.parametrize("headers", [
    {},  # no Sec-Fetch-Site, Origin or Referer (our pages send no Referer)
    {"origin": "http://localhost:3000"},
    {"referer": "http://localhost:3000/"},
    {"sec-fetch-site": "none"},  # typed in, or a bookmark
])
def test_our_own_navigation_is_let_through(db, client, headers):
    assert len(_session_cookie(_open(client, _ticket(db), **headers))) == 1


def test_a_used_ticket_says_the_session_ended(db, client):
    ticket = _ticket(db)
    _open(client, ticket)
    answer = _open(client, ticket)
    assert answer.headers["location"] == f"{routes.SIGN_IN}?reason=expired"
    assert _session_cookie(answer) == []


def test_the_refusal_reads_calmly_on_the_sign_in_page():
    notice = auth.SIGN_IN_NOTICES[TICKET_REFUSED]
    assert "didn't sign you in" in notice and "enter your email address and password" in notice


# --- the nonce cookie: given with every page that lacks it ----------------------------


def _site():
    async def page(_request):
        return HTMLResponse("<html><body>Sign in</body></html>")

    async def data(_request):
        return JSONResponse({"ok": True})

    async def moved(_request):
        return RedirectResponse("/", status_code=307)

    return security_headers(Starlette(routes=[Route("/", page), Route("/data.json", data),
                                              Route("/moved", moved)]))


def _nonce_cookies(response) -> list[str]:
    return [c for c in response.headers.get_list("set-cookie")
            if c.split("=", 1)[0] == nonce_cookie_name()]


def test_a_page_without_a_nonce_gets_one_httponly_and_lax():
    with TestClient(_site(), base_url="http://localhost:3000") as site:
        given = _nonce_cookies(site.get("/"))
        assert len(given) == 1
        name_value, *flags = [part.strip() for part in given[0].split(";")]
        assert len(name_value.split("=", 1)[1]) >= 40  # 256 random bits
        assert {f.lower() for f in flags} == {"path=/", "httponly", "samesite=lax"}  # no Secure on http
        again = _nonce_cookies(site.get("/"))  # the client now sends it back
        assert again == []
        other = TestClient(_site(), base_url="http://localhost:3000")
        assert _nonce_cookies(other.get("/"))[0] != given[0]  # every browser its own


def test_only_pages_get_it_not_data_or_assets():
    with TestClient(_site(), base_url="http://localhost:3000") as site:
        assert _nonce_cookies(site.get("/data.json")) == []
        assert _nonce_cookies(site.get("/moved", follow_redirects=False)) == []
        # A navigation does, whatever it answers (a redirect, a page from the cache).
        navigated = site.get("/moved", headers={"sec-fetch-dest": "document"}, follow_redirects=False)
        assert len(_nonce_cookies(navigated)) == 1


def test_over_https_the_nonce_is_secure_and_host_only(monkeypatch):
    monkeypatch.setenv("CARESPACE_BASE_URL", "https://portal.example.org")
    config.get_settings.cache_clear()
    try:
        assert nonce_cookie_name() == "__Host-" + SIGN_IN_NONCE_COOKIE
        with TestClient(_site(), base_url="https://portal.example.org") as site:
            given = _nonce_cookies(site.get("/"))
        flags = {part.strip().lower() for part in given[0].split(";")[1:]}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        assert not any(f.startswith("domain") for f in flags)
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()


def test_cookie_value_reads_a_messy_header():
    header = 'theme=light; other={"json": 1}; carespace_signin=abc; x'
    assert cookie_value(header, "carespace_signin") == "abc"
    assert cookie_value("", "carespace_signin") is None
    assert cookie_value("carespace_signin=", "carespace_signin") is None


# --- the sign-in handlers bind the ticket to the socket's nonce ------------------------


async def _nothing(*_args, **_kwargs):
    return None


def _state(state_class, cookie: str):
    return signed_out_state(state_class, cookie, token="client-csrf", ip="203.0.113.5")


def _drive(result) -> None:
    async def run():
        async with EventContext(token="csrf", state_manager=None, enqueue_impl=_nothing):
            if inspect.isasyncgen(result):
                async for _ in result:
                    pass
            elif inspect.iscoroutine(result):
                await result

    asyncio.run(run())


def test_sign_in_binds_the_ticket_to_the_nonce_the_socket_arrived_with(db):
    make_user(db)
    state = _state(SignInState, cookie=f"theme=dark; {SIGN_IN_NONCE_COOKIE}={MINE}")
    _drive(SignInState.submit.fn(state, {"email": "jane@example.org", "password": PASSWORD}))
    assert state.error == ""
    assert state.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")
    row = db.exec(select(SignInTicket)).one()
    assert row.browser_nonce_hash == security.token_hash(MINE)


def test_sign_in_without_the_nonce_asks_to_reload_and_checks_nothing(db):
    make_user(db)
    state = _state(SignInState, cookie="theme=dark")
    _drive(SignInState.submit.fn(state, {"email": "jane@example.org", "password": "Wrong-Guess-11!"}))
    assert state.error == auth_forms.COOKIES_NEEDED and not state.busy
    assert state.navigate_to == ""
    assert db.exec(select(SignInTicket)).all() == []
    assert db.exec(select(SignInFailure)).all() == []  # not a failed guess either


def test_create_password_without_the_nonce_asks_to_reload(db):
    state = _state(RegisterState, cookie="")
    state._token = "whatever"
    _drive(RegisterState.submit.fn(state, {"email": "a@example.org", "password": PASSWORD,
                                           "confirm_password": PASSWORD, "terms": "on"}))
    assert state.error == auth_forms.COOKIES_NEEDED and state.navigate_to == ""
