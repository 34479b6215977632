"""Caregiver access the patient shapes (issue #17), in Chromium against the real server.

Rosa gives Maria limited access (appointments and resources); Maria registers from the
emailed link and sees no Messages or Labs tab; typing /messages shows why; an event sent
straight down the socket is refused and audited. Rosa widens it from Change access, and an
end date that has come stops Maria's open tab at its next click.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import text

from carespace_app import timefmt
from carespace_app.clock import utcnow
from carespace_app.state.labs import LabsState
from tests.security.live.attack import scalar, server_db
from tests.security.live.test_audit_flood import Wire

from .people import register_from_email, registered_patient
from .portal_people import ACCESS_CODE, caregiver, new_page, patient_shown, user_card

LIMITED = "Limited access: appointments and resources"
MORE_REPORTS = f"{LabsState.get_full_name()}.more_reports"


def _tabs(page: Page):
    return page.get_by_role("navigation", name="Portal sections")


# Records, for the whole life of the tab, the first link to Messages or Labs any page of it
# ever showed, even for a moment (before its header arrived, say).
WATCH_HIDDEN_LINKS = """
(() => {
  const look = () => {
    if (sessionStorage.getItem("sawHidden")) return;
    const link = [...document.querySelectorAll('a[href^="/messages"], a[href^="/labs"]')]
      .find((a) => a.checkVisibility({visibilityProperty: true}));
    if (link) sessionStorage.setItem("sawHidden", link.getAttribute("href") + " on " + location.pathname);
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true, attributes: true});
})();
"""


# Where the Help tab was first drawn, before the page's header said whose access it shows.
FIRST_HELP_X = """
(() => {
  const look = () => {
    const help = document.querySelector('nav a[href="/help"]');
    if (help && window.firstHelpX === undefined && help.checkVisibility()) {
      window.firstHelpX = help.getBoundingClientRect().left;
    }
  };
  new MutationObserver(look).observe(document, {subtree: true, childList: true});
})();
"""


def _grant(page: Page, person, choice: str) -> None:
    page.goto("/manage-users")
    expect(page.get_by_role("heading", name="Manage Users", level=1)).to_be_visible()
    page.get_by_label("Name").fill(person.name)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_label(choice).check()
    page.get_by_role("button", name="Grant access").click()
    notice = page.get_by_role("status").filter(has_text=f"invitation to {person.email}")
    expect(notice).to_contain_text(ACCESS_CODE)
    person.access_codes[patient_shown(page)] = ACCESS_CODE.search(notice.inner_text()).group(1)


def test_a_limited_caregiver_sees_only_appointments_and_is_refused_over_the_socket(server, page: Page,
                                                                                   browser):
    rosa = registered_patient(server, page, first="Rosa", last="Quintero")
    # Her tabs wait for her page's header without moving: a full page load draws Home before
    # it, and the Help tab stays where a finger may already be on its way to it.
    page.add_init_script(FIRST_HELP_X)
    page.goto("/home")
    expect(_tabs(page).get_by_role("link", name=re.compile("^Messages"))).to_be_visible()
    # (A tab that moved is a tab's width away, 60 px or more; a late font may nudge a few.)
    moved = page.evaluate("window.firstHelpX") - page.evaluate(
        "document.querySelector('nav a[href=\"/help\"]').getBoundingClientRect().left")
    assert abs(moved) < 16, f"the Help tab moved {moved} px when the header came"
    maria = caregiver("Maria", "Quintero")
    _grant(page, maria, LIMITED)
    expect(user_card(page, maria).get_by_test_id("access-terms")).to_have_text(
        "What they see: Appointments and resources. No end date.")
    mail = server.mailbox.wait_for(maria.email, "CareSpace portal")
    assert "You will see their appointments and resources (not their lab results or messages)." \
        in mail.body

    carer = new_page(browser, server)
    try:
        wire = Wire(carer)  # Maria's event socket passes through the test
        carer.add_init_script(WATCH_HIDDEN_LINKS)
        register_from_email(server, carer, maria, subject="CareSpace portal")
        tabs = _tabs(carer)
        expect(tabs.get_by_role("link", name="Appointments")).to_be_visible()
        expect(tabs.get_by_role("link", name="Resources")).to_be_visible()
        expect(tabs.get_by_role("link", name=re.compile("^Messages"))).to_have_count(0)
        expect(tabs.get_by_role("link", name="Labs")).to_have_count(0)
        expect(carer.get_by_role("heading", name="Newest lab results")).to_have_count(0)
        # Not even for a moment on the first page after signing in, before its header came.
        assert carer.evaluate("sessionStorage.getItem('sawHidden')") is None

        # A bookmark or a typed address: the page says why instead of showing itself.
        carer.goto("/messages")
        expect(carer.get_by_test_id("outside-scope")).to_have_text(
            "Your access to Rosa Quintero's portal doesn't include messages.")
        expect(carer.get_by_role("button", name="New message")).to_have_count(0)

        # Straight down the socket: Labs' "Load more", sent from the Appointments page.
        wire.open("/appointments")
        answer = wire.send(MORE_REPORTS, {}, answered_by="error")
        assert answer == "You don't have access to that. Go back to Home and try again."
        with server_db(server) as engine:
            refused = scalar(engine, "SELECT count(*) FROM audit_events a JOIN users u "
                                     "ON u.id = a.actor_user_id WHERE a.action = 'access.refused' "
                                     "AND u.email = :e AND a.detail LIKE :d",
                             e=maria.email, d="%labs.view: outside the caregiver's appointments access%")
        assert refused == 1

        # Rosa gives Maria full access until a day ahead; Maria's next page has Messages.
        until = timefmt.to_local(utcnow()).date() + timedelta(days=60)
        page.reload()
        card = user_card(page, maria)
        card.get_by_text("Change access", exact=True).click()
        card.get_by_label("Full access").check()
        card.get_by_label("Access ends (optional)").fill(until.isoformat())
        card.get_by_role("button", name="Save access").click()
        expect(card.get_by_test_id("access-terms")).to_contain_text(
            f"What they see: Full access. Access ends {timefmt.day(until)}.")
        carer.get_by_role("link", name="Home").first.click()
        expect(_tabs(carer).get_by_role("link", name=re.compile("^Messages"))).to_be_visible()
        assert rosa.name == "Rosa Quintero"
    finally:
        carer.context.close()


def test_an_end_date_that_came_stops_the_caregivers_open_tab_at_its_next_click(server, page: Page,
                                                                                browser):
    registered_patient(server, page, first="Alma", last="Reyes")
    luis = caregiver("Luis", "Reyes")
    _grant(page, luis, "Full access")
    carer = new_page(browser, server)
    try:
        register_from_email(server, carer, luis, subject="CareSpace portal")
        # Home's load has chosen Alma's portal for this tab (the tabs show before it does).
        expect(carer.get_by_role("status").filter(has_text="You are viewing")).to_contain_text(
            "Alma Reyes")
        # The day Alma chose comes (set in the database as the calendar would: no sweep runs).
        today = timefmt.to_local(utcnow()).date()
        with server_db(server) as engine, engine.begin() as conn:
            user_id = conn.execute(text("SELECT id FROM users WHERE email = :e"),
                                   {"e": luis.email}).scalar_one()
            conn.execute(text("UPDATE patient_access SET ends_on = :d WHERE user_id = :u"),
                         {"d": today, "u": user_id})
            conn.execute(text("UPDATE caregiver_grants SET ends_on = :d WHERE email = :e"),
                         {"d": today, "e": luis.email})
        _tabs(carer).get_by_role("link", name="Appointments").click()
        expect(carer.get_by_role("heading", name=re.compile(
            r"Your access to Alma Reyes's portal has ended"))).to_be_visible()
        page.goto("/manage-users")
        expect(user_card(page, luis)).to_contain_text("Access ended")
        assert isinstance(today, date)
    finally:
        carer.context.close()
