"""`make screenshots`: a picture of every page, at desktop width and on a phone, for the docs.

Skipped unless CARESPACE_SCREENSHOTS names the folder to write (docs/screenshots).
Signed in as a demo patient (seed-demo), so the pages show a realistic practice.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from carespace_app.demo import DEMO_PASSWORD, DOMAIN

from .harness import ROOT, link_in
from .people import Person, make_patient, sign_in, sign_out

OUT = os.environ.get("CARESPACE_SCREENSHOTS", "")
pytestmark = pytest.mark.skipif(not OUT, reason="set CARESPACE_SCREENSHOTS=docs/screenshots")

PATIENT = Person(email=f"rosa.alvarez@{DOMAIN}", password=DEMO_PASSWORD)
ADMIN = Person(email=f"dana@{DOMAIN}", password=DEMO_PASSWORD)
PORTAL = [("home", "/home"), ("messages", "/messages"), ("appointments", "/appointments"),
          ("labs", "/labs"), ("resources", "/resources"), ("help", "/help"),
          ("manage-users", "/manage-users"), ("settings", "/settings"),
          ("record-activity", "/record-activity"), ("checkin", "/checkin"),
          ("checkin-history", "/checkin?view=history"), ("my-record", "/my-record")]
SIZES = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},
    "phone": {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True},
}


def _ready(page: Page) -> bool:
    """Wait for the page to settle; False for a route not built yet (404)."""
    not_found = page.get_by_text("404: Page not found")
    expect(page.get_by_role("heading", level=1).first.or_(not_found)).to_be_visible()
    page.wait_for_timeout(500)
    return not_found.count() == 0


def _shoot(page: Page, name: str, size: str) -> None:
    folder = Path(OUT) if Path(OUT).is_absolute() else ROOT / OUT
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}-{size}.png"))


def _answer_checkin(page: Page) -> None:
    """The demo patient's open check-in: severe pain, nothing else; ends on "call now"."""
    page.goto("/checkin")
    _ready(page)
    while page.get_by_role("button", name="Send my answers").count() == 0:
        question = page.locator("#checkin-question").inner_text()
        answer = "Severe" if "pain" in question else ("No" if "fever" in question else "None")
        page.get_by_role("radio", name=answer, exact=True).click()
        review = page.get_by_role("button", name="Review")
        (review if review.count() else page.get_by_role("button", name="Next")).click()
        expect(page.get_by_role("button", name="Send my answers").or_(
            page.locator("#checkin-question").filter(has_not_text=question))).to_be_visible()
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Please call the office now")).to_be_visible()
    page.wait_for_timeout(300)


@pytest.mark.parametrize("size", list(SIZES))
def test_screenshots(server, browser, size):
    server.cli("seed-demo")
    invited = make_patient(server, first="Elena", last="Marsh")
    register_link = link_in(server.mailbox.wait_for(invited.email, "invitation"), "/register")
    context = browser.new_context(base_url=server.base_url, locale="en-US",
                                  timezone_id="America/Chicago", **SIZES[size])
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        for name, path in [("sign-in", "/"), ("register", register_link),
                           ("forgot-password", "/forgot-password")]:
            page.goto(path)
            _ready(page)
            _shoot(page, name, size)

        sign_in(page, PATIENT)
        for name, path in PORTAL:
            page.goto(path)
            if _ready(page):
                _shoot(page, name, size)
        page.goto("/settings")
        _ready(page)
        page.get_by_role("button", name="Change email address or password").click()
        page.get_by_role("dialog").get_by_role("tab", name="Password").click()
        page.wait_for_timeout(300)
        _shoot(page, "settings-password", size)
        page.keyboard.press("Escape")
        if size == "phone":  # the last run (the demo's one open check-in is answered once)
            _answer_checkin(page)
            _shoot(page, "checkin-call-now", size)
        sign_out(page)

        sign_in(page, ADMIN, lands_on=r"/admin/?$")
        _ready(page)
        _shoot(page, "admin", size)
        page.goto("/admin/messages")  # the urgent items on top of the office's queue
        _ready(page)
        _shoot(page, "admin-urgent-queue", size)
        page.goto("/admin")
        page.get_by_label("Search by name, MRN, email or date of birth").fill("DEMO-0001")
        page.get_by_role("button", name="Search", exact=True).click()
        page.get_by_role("link", name="Alvarez, Rosa").click()
        _ready(page)
        page.get_by_role("button", name="Show check-in history").click()
        page.wait_for_timeout(500)
        _shoot(page, "admin-patient-checkins", size)
        # Rosa's newest CA-125 waits for review at her request (issue #16).
        page.get_by_role("heading", name="Lab reports").scroll_into_view_if_needed()
        page.wait_for_timeout(300)
        _shoot(page, "admin-patient-labs", size)
    finally:
        context.close()
