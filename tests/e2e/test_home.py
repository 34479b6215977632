"""Home: a new patient sees friendly empty states, each section linking to its tab."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .people import registered_patient
from .phone import assert_fits_phone


def test_new_patient_home_has_friendly_empty_states_and_links(server, page: Page):
    registered_patient(server, page, first="Beth", last="Cole")
    expect(page.get_by_role("heading", name="Welcome, Beth")).to_be_visible()
    expect(page.get_by_role("heading", name="Your next visits")).to_be_visible()
    expect(page.get_by_text("No upcoming visits.")).to_be_visible()
    expect(page.get_by_text("0 unread conversations")).to_be_visible()
    expect(page.get_by_text("No messages yet — start one with New message")).to_be_visible()
    expect(page.get_by_text("No lab results yet.")).to_be_visible()
    page.get_by_role("link", name="Go to Messages").click()
    expect(page).to_have_url(re.compile(r"/messages/?$"))
    page.goto("/home")
    page.get_by_role("link", name="All lab results").click()
    expect(page.get_by_role("heading", name="Labs", exact=True)).to_be_visible()


def test_signed_out_visitor_is_sent_to_sign_in(server, page: Page):
    for path in ("/messages", "/appointments", "/labs"):
        page.goto(path)
        expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()


def test_home_cards_stand_apart_on_a_phone_and_on_a_desktop(server, page: Page, phone_page: Page):
    """Each Home card is its own box: a visible gap between them, stacked or side by side."""
    for browser_page, stacked in ((phone_page, True), (page, False)):
        registered_patient(server, browser_page, first="Cora", last="Nash")
        expect(browser_page.get_by_text("No lab results yet.")).to_be_visible()
        cards = browser_page.locator("main .rt-Card")
        expect(cards).to_have_count(3)
        boxes = [cards.nth(i).bounding_box() for i in range(3)]
        for first, second in zip(boxes, boxes[1:]):
            gap = (second["y"] - (first["y"] + first["height"]) if stacked
                   else second["x"] - (first["x"] + first["width"]))
            assert gap >= 12, (gap, boxes)
        if stacked:
            assert_fits_phone(browser_page)
