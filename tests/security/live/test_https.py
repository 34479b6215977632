"""The portal served over https, the way a practice deploys it: a TLS-terminating
reverse proxy in front, CARESPACE_BASE_URL=https://… (the dedicated server).

HSTS only over https, the session cookie Secure + HttpOnly + SameSite=Lax, the
other security headers, tokens in URLs never sent on as a Referer, and a sign-in
that works end to end through the proxy (the event channel over wss://).
"""
from __future__ import annotations

import re
import urllib.request

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.people import make_staff, sign_in

from .dedicated import unverified_https


def _headers(url: str) -> dict[str, str]:
    handlers = [urllib.request.HTTPSHandler(context=unverified_https())]
    with urllib.request.build_opener(*handlers).open(url, timeout=20) as response:
        return {k.lower(): v for k, v in response.headers.items()}


def test_hsts_is_sent_over_https_and_not_over_plain_http(dedicated, server):
    assert dedicated.server.base_url.startswith("https://")
    over_https = _headers(dedicated.server.base_url + "/")
    hsts = over_https.get("strict-transport-security", "")
    assert re.search(r"max-age=(\d+)", hsts) and int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31536000
    over_http = _headers(server.base_url + "/")
    assert "strict-transport-security" not in over_http, "HSTS over plain http is meaningless"


@pytest.mark.parametrize("path", ["/register?token=abc123", "/reset-password?token=abc123", "/home", "/ping"])
def test_every_https_response_carries_the_security_headers(dedicated, path):
    headers = _headers(dedicated.server.base_url + path)
    csp = headers.get("content-security-policy", "")
    assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp
    assert headers.get("x-content-type-options") == "nosniff"
    assert headers.get("referrer-policy") == "no-referrer"
    assert "strict-transport-security" in headers


def _https_context(browser: Browser, dedicated):
    return browser.new_context(base_url=dedicated.server.base_url, ignore_https_errors=True,
                               locale="en-US", timezone_id="America/Chicago")


def test_a_page_with_a_token_sends_no_referer(dedicated, browser: Browser):
    context = _https_context(browser, dedicated)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto("/reset-password?token=SECRET-TOKEN-abc123")
        expect(page.get_by_role("heading").first).to_be_visible()
        with page.expect_request(re.compile(r"/ping")) as request_info:
            page.evaluate("fetch('/ping')")
        headers = request_info.value.all_headers()
        assert "referer" not in headers, f"the token page leaks a Referer: {headers.get('referer')}"
    finally:
        context.close()


def test_sign_in_over_https_gives_a_secure_httponly_lax_session_cookie(dedicated, browser: Browser):
    staff = make_staff(dedicated.server)
    context = _https_context(browser, dedicated)
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)
        sign_in(page, staff, lands_on=r"/admin/?$")
        # The admin page's data arrives over the event channel: wss through the proxy.
        expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
        cookies = [c for c in context.cookies() if c["name"] == "carespace_session"]
        assert len(cookies) == 1
        cookie = cookies[0]
        assert cookie["secure"] is True
        assert cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Lax"
        assert page.evaluate("document.cookie").find("carespace_session") == -1
        page.get_by_role("link", name="Sign out").click()
        expect(page.get_by_text("You have signed out.")).to_be_visible()
        assert not [c for c in context.cookies() if c["name"] == "carespace_session"]
    finally:
        context.close()
