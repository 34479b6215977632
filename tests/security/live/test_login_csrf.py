"""Login CSRF, against the running server: a sign-in ticket works only in the browser that
signed in, and only when that browser goes there by itself.

The attack: someone signs in to their own account and keeps the ticket the sign-in hands
the browser (``/auth/session?ticket=…``, good for a minute, once). A page they control
sends a victim's browser there. Before, the victim was then in the attacker's account:
whatever they wrote there (a message to the office, their details) was the attacker's.

The unit tests (tests/test_login_csrf.py) cover each header and cookie case; these are
the browsers' own behaviour: their cookies, and the Sec-Fetch-Site they send.
"""
from __future__ import annotations

import http.server
import re
import threading
import time
import urllib.error
import urllib.request

from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.e2e.harness import free_port
from tests.e2e.people import Person, make_staff, sign_in
from tests.e2e.portal_people import new_page, wait_for_hydration

from .attack import scalar, server_db

COOKIE = "carespace_session"
NONCE = "carespace_signin"
ADMIN_HOME = r"/admin/?$"
REFUSED_NOTICE = "For your safety, we didn't sign you in from that link."


def _ticket_of(page: Page, person: Person) -> str:
    """Sign in on ``page`` and keep the ticket instead of using it (as an attacker would)."""
    caught: list[str] = []

    def keep(route):
        caught.append(route.request.url)
        route.abort()

    page.route(re.compile(r"/auth/session\?"), keep)
    page.goto("/")
    wait_for_hydration(page)
    page.get_by_label("Email address").fill(person.email)
    page.get_by_label("Password").fill(person.password)
    page.get_by_role("button", name="Sign in").click()
    deadline = time.time() + 30
    while not caught and time.time() < deadline:
        page.wait_for_timeout(100)
    page.unroute(re.compile(r"/auth/session\?"))
    assert caught, "the sign-in never went to /auth/session"
    return caught[0]


def _session_cookies(context: BrowserContext) -> list[dict]:
    return [c for c in context.cookies() if c["name"] == COOKIE]


def _signed_in_sessions(server, person: Person) -> int:
    with server_db(server) as engine:
        return scalar(engine, "SELECT count(*) FROM user_sessions s JOIN sign_in_tickets t ON "
                              "t.session_id = s.id WHERE t.used_at IS NOT NULL AND s.user_id = "
                              "(SELECT id FROM users WHERE email = :e)", e=person.email)


class _Elsewhere:
    """Another site (127.0.0.1 is not the server's "localhost"): a page with one link."""

    def __init__(self, href: str, text: str):
        body = f'<html><body><a href="{href}">{text}</a></body></html>'.encode()

        class Page(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Page)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()


def test_a_ticket_from_one_browser_does_not_sign_in_another(server, browser: Browser):
    attacker = make_staff(server, name="Mallory Minted")
    attackers_tab = new_page(browser, server)
    victims_tab = new_page(browser, server)
    try:
        ticket_url = _ticket_of(attackers_tab, attacker)

        # The victim has used the portal before (a nonce cookie of their own) and is sent
        # to the attacker's ticket.
        victims_tab.goto("/")
        expect(victims_tab.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
        victims_tab.goto(ticket_url)
        expect(victims_tab.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
        expect(victims_tab.get_by_text(REFUSED_NOTICE)).to_be_visible()
        assert _session_cookies(victims_tab.context) == []
        victims_tab.goto("/admin")
        expect(victims_tab.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
        assert _signed_in_sessions(server, attacker) == 0

        # A browser that never opened the portal (no nonce at all) fares no better.
        fresh_tab = new_page(browser, server)
        try:
            fresh_tab.goto(ticket_url)
            expect(fresh_tab.get_by_text(REFUSED_NOTICE)).to_be_visible()
            assert _session_cookies(fresh_tab.context) == []
        finally:
            fresh_tab.context.close()

        # The browser that signed in still can: the others' attempts did not spend its ticket.
        attackers_tab.goto(ticket_url)
        expect(attackers_tab).to_have_url(re.compile(ADMIN_HOME))
        expect(attackers_tab.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
        assert len(_session_cookies(attackers_tab.context)) == 1
    finally:
        attackers_tab.context.close()
        victims_tab.context.close()


def test_a_link_on_another_site_cannot_use_even_the_right_browsers_ticket(server, browser: Browser):
    """The browser's own ticket, followed from another site's link (Chromium says
    Sec-Fetch-Site: cross-site, and SameSite=Lax still sends the nonce): refused."""
    staff = make_staff(server, name="Cass Crossite")
    tab = new_page(browser, server)
    try:
        ticket_url = _ticket_of(tab, staff)
        with _Elsewhere(ticket_url, "Continue to your portal") as elsewhere:
            tab.goto(elsewhere.url)
            with tab.expect_request(re.compile(r"/auth/session\?")) as followed:
                tab.get_by_role("link", name="Continue to your portal").click()
            assert followed.value.all_headers().get("sec-fetch-site") == "cross-site"
            expect(tab.get_by_text(REFUSED_NOTICE)).to_be_visible()
            assert _session_cookies(tab.context) == []

        # The same request by hand, with the browser's own nonce: still refused.
        nonce = next(c["value"] for c in tab.context.cookies() if c["name"] == NONCE)
        status, location, set_cookies = _get(ticket_url, cookie=f"{NONCE}={nonce}",
                                             **{"Sec-Fetch-Site": "cross-site"})
        assert (status, location) == (303, "/?reason=sign-in-refused")
        assert not any(c.startswith(COOKIE + "=") for c in set_cookies)

        # Typed in (or the app's own navigation), it works.
        tab.goto(ticket_url)
        expect(tab.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
        assert len(_session_cookies(tab.context)) == 1
    finally:
        tab.context.close()


def test_the_normal_sign_in_still_works_and_the_nonce_cookie_is_httponly(server, page: Page):
    staff = make_staff(server, name="Nora Normal")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    nonce = [c for c in page.context.cookies() if c["name"] == NONCE]
    assert len(nonce) == 1 and nonce[0]["httpOnly"] is True and nonce[0]["sameSite"] == "Lax"
    assert len(nonce[0]["value"]) >= 40
    assert NONCE not in page.evaluate("document.cookie")  # no script of the page can read it


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, cookie: str, **headers) -> tuple[int, str, list[str]]:
    request = urllib.request.Request(url, headers={"Cookie": cookie, **headers})
    try:
        with urllib.request.build_opener(_NoRedirect()).open(request, timeout=20) as response:
            answer = response
    except urllib.error.HTTPError as error:  # the 303, not followed
        answer = error
    return answer.status, answer.headers.get("Location", ""), answer.headers.get_all("Set-Cookie") or []
