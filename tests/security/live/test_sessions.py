"""Attacks on sessions, against the running server: the cookie as the browser receives it,
the one-time sign-in ticket, the 12-hour limit of a session in use, and a sign-out link
on another site.

Covered elsewhere, not repeated here: the idle limit (tests/e2e/test_idle.py), a copied
cookie after sign-out and a foreign-Origin event socket
(tests/security/live/test_transport.py), a password change ending the other devices'
sessions (tests/e2e/test_settings.py), a reset ending every session
(tests/e2e/test_password_reset.py), a revoked caregiver's open tab
(tests/e2e/test_manage_users.py) and a deactivated staff member's
(tests/e2e/test_admin_stories.py).
"""
from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import text

from carespace_app import routes
from tests.e2e.harness import free_port
from tests.e2e.people import make_staff, next_action_signs_in_again, sign_in
from tests.e2e.portal_people import wait_for_hydration

from .attack import as_datetime, scalar, server_db, utcnow

COOKIE = "carespace_session"
NONCE = "carespace_signin"  # http.py: which browser a sign-in ticket belongs to
PLANTED = "planted-by-an-attacker"
ADMIN_HOME = r"/admin/?$"


def _cookie_attributes(header: str) -> dict[str, str]:
    _name_value, *attributes = [part.strip() for part in header.split(";")]
    return {k.strip().lower(): v.strip() for k, _, v in (a.partition("=") for a in attributes)}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, cookie: str = ""):
    """(status, headers) of a GET, redirects not followed."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.build_opener(_NoRedirect()).open(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as answer:
        return answer.code, answer.headers


@pytest.fixture(scope="module")
def signed_in(server, browser):
    """A staff member signs in in a browser where an attacker planted a cookie first. The
    sign-in ticket's URL is caught on its way to the server and sent on, with the browser's
    cookies (its sign-in nonce: the ticket works only there), with a request to be
    redirected to another site; the answer's raw headers are kept."""
    staff = make_staff(server, name="Tess Ticket")
    context = browser.new_context(base_url=server.base_url)
    context.add_cookies([{"name": COOKIE, "value": PLANTED, "url": server.base_url}])
    page = context.new_page()
    page.set_default_timeout(20_000)
    caught: list[str] = []

    def catch(route):
        caught.append(route.request.url)
        route.abort()

    page.route(re.compile(r"/auth/session\?"), catch)
    page.goto("/")
    wait_for_hydration(page)
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Sign in").click()
    deadline = time.time() + 30
    while not caught and time.time() < deadline:
        page.wait_for_timeout(100)
    assert caught, "the sign-in never went to /auth/session"
    nonce = next(c["value"] for c in context.cookies() if c["name"] == NONCE)
    status, headers = _get(caught[0] + "&next=%2F%2Fevil.example%2Fsteal",
                           cookie=f"{COOKIE}={PLANTED}; {NONCE}={nonce}")
    page.unroute(re.compile(r"/auth/session\?"))
    yield {"ticket_url": caught[0], "status": status, "headers": headers, "page": page,
           "context": context, "server": server}
    context.close()


def test_the_cookie_is_httponly_samesite_lax_host_only_and_replaces_a_planted_one(signed_in):
    every = signed_in["headers"].get_all("Set-Cookie") or []
    cookies = [c for c in every if c.startswith(COOKIE + "=")]
    assert len(cookies) == 1
    # Beside it, only the page-readable sign-in tag (components/idle.py): random, short,
    # nothing that opens a session; it never carries the session token.
    tags = [c for c in every if not c.startswith(COOKIE + "=")]
    assert [t.split("=", 1)[0] for t in tags] == [routes.SIGNED_IN_COOKIE]
    tag = tags[0].split(";", 1)[0].split("=", 1)[1]
    assert len(tag) == 16 and tag not in cookies[0]
    value = cookies[0].split(";", 1)[0].split("=", 1)[1]
    assert value and value != PLANTED and len(value) >= 40  # a fresh 256-bit token, not the planted one
    flags = _cookie_attributes(cookies[0])
    assert "httponly" in flags
    assert flags.get("samesite", "").lower() == "lax"
    assert flags.get("path") == "/"
    assert "domain" not in flags  # host-only: no sibling subdomain receives it
    assert int(flags.get("max-age", "0")) == 12 * 3600  # never outlives the session's 12 hours
    assert signed_in["headers"]["Cache-Control"] == "no-store"

    # The browser, given that cookie, is signed in; signing out clears the cookie on the
    # same path (not only the session on the server).
    page: Page = signed_in["page"]
    server = signed_in["server"]
    signed_in["context"].add_cookies([{"name": COOKIE, "value": value, "url": server.base_url,
                                       "httpOnly": True, "sameSite": "Lax"}])
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    with page.expect_response(re.compile(r"/auth/sign-out")) as signing_out:
        page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
    cleared = [v for k, v in signing_out.value.headers_array() if k.lower() == "set-cookie"]
    if cleared:  # (Chromium may keep it from the page; the cookie jar below is what counts)
        flags = _cookie_attributes(cleared[0])
        assert flags.get("max-age") == "0" and flags.get("path") == "/"
    assert [c for c in page.context.cookies() if c["name"] == COOKIE] == []
    assert [c for c in page.context.cookies() if c["name"] == routes.SIGNED_IN_COOKIE] == []


def test_the_ticket_route_never_redirects_to_another_site(signed_in):
    assert signed_in["status"] == 303
    assert signed_in["headers"]["Location"] == "/admin"


def test_a_sign_in_ticket_seen_in_a_url_cannot_be_used_again(signed_in):
    """The ticket passes through the address bar (history, a proxy's log): replayed, even
    seconds later, it opens nothing."""
    status, headers = _get(signed_in["ticket_url"])
    assert status == 303
    assert headers["Location"] == "/?reason=expired"
    assert not headers.get_all("Set-Cookie")


def test_a_session_in_use_ends_at_12_hours(server, page: Page):
    """As if the staff member had signed in 12 hours minus 6 seconds ago and been busy
    ever since (the row's created_at and expires_at are aged, last_seen_at is now)."""
    staff = make_staff(server, name="Lorna Longday")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with server_db(server) as engine:
        now = utcnow()
        with engine.begin() as conn:
            changed = conn.execute(text(
                "UPDATE user_sessions SET created_at = :created, expires_at = :expires, "
                "last_seen_at = :now WHERE ended_at IS NULL AND user_id = "
                "(SELECT id FROM users WHERE email = :email)"),
                {"created": now - timedelta(hours=12) + timedelta(seconds=6),
                 "expires": now + timedelta(seconds=6), "now": now, "email": staff.email})
            assert changed.rowcount == 1
        page.get_by_role("link", name="Resources").click()
        expect(page.get_by_role("heading", name="Resources", level=1)).to_be_visible()

        time.sleep(max(0.0, (now + timedelta(seconds=7) - utcnow()).total_seconds()))
        last_seen = as_datetime(scalar(engine, "SELECT max(last_seen_at) FROM user_sessions WHERE user_id = "
                                               "(SELECT id FROM users WHERE email = :e)", e=staff.email))
        assert utcnow() - last_seen < timedelta(minutes=1)  # busy, not idle
        next_action_signs_in_again(page, page.get_by_role("link", name="Messages"))
        expect(page.get_by_text("Your session has ended. Please sign in again.")).to_be_visible()
        assert scalar(engine, "SELECT ended_reason FROM user_sessions WHERE user_id = "
                              "(SELECT id FROM users WHERE email = :e)", e=staff.email) == "expired"
    page.goto("/admin")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()


def test_a_link_on_another_site_cannot_sign_you_out(server, page: Page):
    """SameSite=Lax sends the cookie with a top-level GET from any site, so a link (or a
    script's navigation) elsewhere could end a session at /auth/sign-out. The route ends
    one only for the app's own pages or an address typed in (Sec-Fetch-Site)."""
    staff = make_staff(server)
    sign_in(page, staff, lands_on=ADMIN_HOME)

    target = f"{server.base_url}/auth/sign-out"

    class Elsewhere(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = f'<html><body><a href="{target}">Win a prize</a></body></html>'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    # Another site: 127.0.0.1 is not the server's "localhost".
    elsewhere = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Elsewhere)
    threading.Thread(target=elsewhere.serve_forever, daemon=True).start()
    try:
        page.goto(f"http://127.0.0.1:{elsewhere.server_address[1]}/")
        page.get_by_role("link", name="Win a prize").click()
        expect(page).to_have_url(re.compile(ADMIN_HOME))  # still signed in: sent back in
        with server_db(server) as engine:
            assert scalar(engine, "SELECT count(*) FROM user_sessions WHERE ended_at IS NULL AND "
                                  "user_id = (SELECT id FROM users WHERE email = :e)", e=staff.email) == 1
    finally:
        elsewhere.shutdown()

    # The app's own Sign out still ends it.
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()
