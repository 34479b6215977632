"""A forwarded caregiver invitation, against the running server.

The attack: a patient gives someone access; the invitation email reaches someone else
(forwarded, a shared mailbox, a mistyped family address that is someone's). The email
shows the link and the invited address, which was all the form asked for: the reader
had full access to the patient's portal. Now the form also asks for the access code the
patient was shown and tells the person themselves; wrong codes count toward the link's
lock, like a wrong date of birth on a patient's link.

The unit tests (tests/test_caregiver_code.py) cover the code's storage, re-sends and
the typed forms of the code, on SQLite and PostgreSQL.
"""
from __future__ import annotations

import re
import time

from playwright.sync_api import Page, expect
from sqlalchemy import text

from tests.e2e.harness import link_in
from tests.e2e.people import PASSWORD, fill_access_code, registered_patient
from tests.e2e.portal_people import caregiver, grant_access, new_page, user_card

from .attack import scalar, server_db

WRONG = "That email address and access code don't match our invitation."
LOCKED = "This link no longer works because of too many attempts with details that don't match."


def _guesses(real: str, count: int) -> list[str]:
    """Codes a stranger might try: anything but the one the patient was shown."""
    real = real.replace(" ", "")
    tried = ["000000", "123456", "111111", "654321", "999999", "246810", "135791"]
    return [c for c in tried if c != real][:count]


def _try_as_stranger(server, page: Page, link: str, invited: str, codes: list[str]) -> None:
    """Everything the forwarded email shows (the link, the invited address), and guesses."""
    page.goto(link)
    expect(page.get_by_label(re.compile(r"^Access code from "))).to_be_visible()
    page.get_by_label("Email address").fill(invited)
    page.get_by_label("Password", exact=True).fill("Stranger-Danger-77!")
    page.get_by_label("Confirm password").fill("Stranger-Danger-77!")
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    for n, code in enumerate(codes, start=1):
        page.get_by_label(re.compile(r"^Access code from ")).fill(code)
        page.get_by_role("button", name="Create Password").click()
        # The next guess waits for this answer, as a person's next try would: the server
        # has counted it (the words on the page are the same after every wrong try).
        _wait_for_count(server, invited, n)
        if n < 5:
            expect(page.get_by_role("alert").filter(has_text=WRONG)).to_be_visible()
            expect(page).to_have_url(re.compile(r"/register"))


def _wait_for_count(server, invited: str, wanted: int, timeout: float = 30.0) -> None:
    deadline = time.time() + timeout
    while _attempts(server, invited)[0] < wanted:
        if time.time() > deadline:
            raise AssertionError(f"the server counted {_attempts(server, invited)[0]} wrong "
                                 f"answers, not {wanted}")
        time.sleep(0.1)


def _attempts(server, invited: str) -> tuple[int, bool]:
    with server_db(server) as engine:
        failed = scalar(engine, "SELECT failed_attempts FROM invitations WHERE email = :e "
                                "AND kind = 'caregiver' ORDER BY id DESC LIMIT 1", e=invited)
        locked = scalar(engine, "SELECT locked_at FROM invitations WHERE email = :e "
                                "AND kind = 'caregiver' ORDER BY id DESC LIMIT 1", e=invited)
    return failed, locked is not None


def _accounts(server, email: str) -> int:
    with server_db(server) as engine:
        return scalar(engine, "SELECT count(*) FROM users WHERE email = :e", e=email)


def test_a_forwarded_invitation_without_the_code_opens_nothing_and_the_caregiver_still_can(
        server, page: Page, browser):
    registered_patient(server, page, first="Greta", last="Lindahl")
    carer = caregiver("Jonas", "Lindahl")
    code = grant_access(page, carer)
    mail = server.mailbox.wait_for(carer.email, "CareSpace portal")
    link = link_in(mail, "/register")
    assert code.replace(" ", "") not in mail.body.replace(" ", "")

    stranger = new_page(browser, server)
    try:
        _try_as_stranger(server, stranger, link, carer.email, _guesses(code, 2))
        expect(stranger.get_by_text("Access code from Greta")).to_be_visible()
    finally:
        stranger.context.close()
    assert _attempts(server, carer.email) == (2, False)
    assert _accounts(server, carer.email) == 0

    # The caregiver Greta told the code to: the same link, before it locks.
    carer_page = new_page(browser, server)
    try:
        carer_page.goto(link)
        carer_page.get_by_label("Email address").fill(carer.email)
        fill_access_code(carer_page, carer)
        carer_page.get_by_label("Password", exact=True).fill(PASSWORD)
        carer_page.get_by_label("Confirm password").fill(PASSWORD)
        carer_page.get_by_role("checkbox", name="I agree to the terms of service").check()
        carer_page.get_by_role("button", name="Create Password").click()
        expect(carer_page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
        expect(carer_page.get_by_role("status").filter(has_text="You are viewing")).to_contain_text(
            "Greta Lindahl")
    finally:
        carer_page.context.close()
    assert _accounts(server, carer.email) == 1


def test_five_wrong_codes_lock_the_link_even_for_the_right_code(server, page: Page, browser):
    registered_patient(server, page, first="Hanne", last="Moe")
    carer = caregiver("Per", "Moe")
    code = grant_access(page, carer)
    link = link_in(server.mailbox.wait_for(carer.email, "CareSpace portal"), "/register")

    stranger = new_page(browser, server)
    try:
        _try_as_stranger(server, stranger, link, carer.email, _guesses(code, 5))
        expect(stranger.get_by_text(LOCKED)).to_be_visible()
        expect(stranger.get_by_role("button", name="Create Password")).to_have_count(0)
    finally:
        stranger.context.close()
    assert _attempts(server, carer.email) == (5, True)

    # Now the right code is no good either: the link is dead, and says whom to call.
    carer_page = new_page(browser, server)
    try:
        carer_page.goto(link)
        expect(carer_page.get_by_text(LOCKED)).to_be_visible()
        expect(carer_page.get_by_label(re.compile(r"^Access code from "))).to_have_count(0)
    finally:
        carer_page.context.close()
    assert _accounts(server, carer.email) == 0

    # Hanne sees the link needs replacing, and its code is no longer shown.
    page.reload()
    expect(user_card(page, carer)).to_contain_text("Link expired")
    expect(user_card(page, carer).get_by_test_id("access-code")).to_have_count(0)


def test_a_caregiver_link_from_before_access_codes_asks_for_a_new_link(server, page: Page, browser):
    """A link still pending when the access codes came (the migration leaves it without
    one) would need only the address: it is refused, and says what to do."""
    registered_patient(server, page, first="Ragna", last="Holm")
    carer = caregiver("Odd", "Holm")
    grant_access(page, carer)
    link = link_in(server.mailbox.wait_for(carer.email, "CareSpace portal"), "/register")
    with server_db(server) as engine, engine.begin() as conn:
        conn.execute(text("UPDATE invitations SET access_code_hash = NULL, access_code_sealed = NULL "
                          "WHERE email = :e AND kind = 'caregiver'"), {"e": carer.email})

    reader = new_page(browser, server)
    try:
        reader.goto(link)
        expect(reader.get_by_text(re.compile("sent before invitations had an access code"))).to_be_visible()
        expect(reader.get_by_text(re.compile("send you a new link from Manage Users"))).to_be_visible()
        expect(reader.get_by_role("button", name="Create Password")).to_have_count(0)
    finally:
        reader.context.close()
    page.reload()
    expect(user_card(page, carer)).to_contain_text("Needs a new link")
    expect(user_card(page, carer).get_by_role("button", name=f"Send new link to {carer.email}")).to_be_visible()
