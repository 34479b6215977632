"""Attacks on the transport: headers, cookies, foreign origins, copied cookies,
and secrets at rest. One attack per test, against the running server."""
from __future__ import annotations

import re
import urllib.request

import pytest
import websocket
from playwright.sync_api import Page, expect
from sqlalchemy import inspect, text

from carespace_app.db import make_engine

from tests.e2e.harness import link_in
from tests.e2e.people import make_patient, make_staff, register_from_email, sign_in


def _headers(url: str) -> dict[str, str]:
    request = urllib.request.Request(url, method="GET")
    opener = urllib.request.build_opener(_NoRedirect())
    try:
        with opener.open(request, timeout=10) as response:
            return {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as redirect:  # 303 from the auth routes
        return {k.lower(): v for k, v in redirect.headers.items()}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.parametrize("path", ["/", "/register?token=abc", "/home", "/ping", "/auth/session?ticket=x"])
def test_every_response_carries_the_security_headers(server, path):
    headers = _headers(server.base_url + path)
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp
    assert "default-src 'self'" in csp
    assert "unsafe-eval" not in csp
    assert headers.get("x-content-type-options") == "nosniff"
    # Registration and reset URLs carry a token: never sent on as a Referer.
    assert headers.get("referrer-policy") == "no-referrer"


def _connect(server, origin: str) -> bool:
    """Open Reflex's event socket the way a page on ``origin`` would."""
    url = server.base_url.replace("http", "ws", 1) + "/_event/?EIO=4&transport=websocket"
    try:
        ws = websocket.create_connection(url, origin=origin, timeout=10)
    except websocket.WebSocketBadStatusException:
        return False
    try:
        return ws.recv().startswith("0{")  # engine.io's "open" packet
    finally:
        ws.close()


def test_event_channel_refuses_a_foreign_origin(server):
    assert _connect(server, server.base_url), "the app's own origin must be able to connect"
    assert not _connect(server, "https://evil.example")


def test_a_copied_cookie_stops_working_after_sign_out(server, page: Page, browser):
    staff = make_staff(server)
    sign_in(page, staff, lands_on=r"/admin/?$")
    stolen = [c for c in page.context.cookies() if c["name"] == "carespace_session"]
    assert stolen
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    other = browser.new_context(base_url=server.base_url)
    try:
        other.add_cookies(stolen)
        thief = other.new_page()
        thief.goto("/admin")
        expect(thief.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    finally:
        other.close()


def test_tokens_are_nowhere_in_clear_in_the_database_or_the_log(server, page: Page):
    patient = make_patient(server, first="Tomas", last="Ibarra", dob="1960-01-31")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    token = re.search(r"token=([A-Za-z0-9_\-]+)", link).group(1)
    register_from_email(server, page, patient)

    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        found = []
        with engine.connect() as conn:
            for table in inspect(engine).get_table_names():
                for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                    if any(isinstance(v, str) and token in v for v in row):
                        found.append(table)
        assert found == [], f"the registration token is stored in clear in {found}"
    finally:
        engine.dispose()
    assert token not in server.log_text()
    assert patient.password not in server.log_text()
