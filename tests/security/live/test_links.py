"""Attacks on emailed links, against the running server: a registration link tampered
with, forwarded, replayed, replaced by a newer link or past its 96 hours; a password reset
link that outlives a password or email change.

Also proven below the browser (tests/test_invitations.py, tests/test_accounts.py, on
SQLite and PostgreSQL): 20 concurrent redemptions of one link make one account, and the
96 h boundary to the second (valid at 96 h, refused at 96 h + 1 s)."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.db import make_engine
from carespace_app.models import Invitation, Patient, User
from carespace_app.policy import RESET_TTL, in_words
from carespace_app.services.identity.security import token_hash

from tests.e2e.harness import link_in
from tests.e2e.people import PASSWORD, make_patient, open_page, registered_patient, sign_in, sign_out, unique
from tests.e2e.portal_people import open_menu_item, wait_for_hydration


def _token(link: str) -> str:
    return re.search(r"token=([A-Za-z0-9_\-]+)", link).group(1)


def _fill_registration(page: Page, email: str, dob: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill(dob)
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    page.get_by_role("button", name="Create Password").click()


def test_a_link_with_one_character_changed_is_refused(server, page: Page):
    patient = make_patient(server, first="Lena", last="Moritz", dob="1958-05-05")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    token = _token(link)
    tampered = link.replace(token, token[:-1] + ("A" if token[-1] != "A" else "B"))
    page.goto(tampered)
    expect(page.get_by_text(re.compile("isn't valid"))).to_be_visible()
    expect(page.get_by_role("button", name="Create Password")).to_have_count(0)


def test_a_forwarded_link_does_not_make_an_account_for_the_other_address(server, page: Page):
    patient = make_patient(server, first="Hugo", last="Brandt", dob="1961-09-30")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    page.goto(link)
    stranger = patient.email.replace("@", ".forwarded@")
    _fill_registration(page, stranger, patient.dob)
    expect(page.get_by_role("alert").filter(has_text="don't match")).to_be_visible()

    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        with Session(engine) as db:
            assert db.exec(select(User).where(User.email == stranger)).first() is None
    finally:
        engine.dispose()
    # The invited person can still use their link.
    page.get_by_label("Email address").fill(patient.email)
    page.get_by_role("button", name="Create Password").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)


def test_a_new_link_kills_the_old_one(server, page: Page):
    patient = make_patient(server, first="Nadia", last="Okafor", dob="1955-03-12")
    first = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    server.cli("invite", "--mrn", patient.mrn)
    second = link_in(server.mailbox.wait_for_count(patient.email, 2)[-1], "/register")
    assert second != first
    page.goto(first)
    expect(page.get_by_text(re.compile("A newer link was sent"))).to_be_visible()
    page.goto(second)
    expect(page.get_by_role("button", name="Create Password")).to_be_visible()


def test_the_link_stops_working_when_its_96_hours_are_up(server, page: Page):
    patient = make_patient(server, first="Otto", last="Lindqvist", dob="1944-12-24")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    engine = make_engine(server.env["REFLEX_DB_URL"])
    try:
        def sent(ago: timedelta) -> None:
            at = utcnow() - ago
            with Session(engine) as db:
                db.execute(update(Invitation)
                           .where(Invitation.token_hash == token_hash(_token(link)))
                           .values(created_at=at, expires_at=at + timedelta(hours=96)))
                db.commit()

        # Sent 96 hours less a minute ago: the link still opens the form.
        sent(timedelta(hours=96) - timedelta(minutes=1))
        page.goto(link)
        expect(page.get_by_role("button", name="Create Password")).to_be_visible()
        # While the form is open the 96 hours pass (now sent 96 h + 1 s ago): submitting
        # it is refused. (The exact second on both sides: tests/test_invitations.py.)
        sent(timedelta(hours=96, seconds=1))
        _fill_registration(page, patient.email, patient.dob)
        expect(page.get_by_text(re.compile("has expired"))).to_be_visible()
        expect(page.get_by_role("link", name=get_settings().office_phone).first).to_be_visible()
        with Session(engine) as db:
            record = db.exec(select(Patient).where(Patient.mrn == patient.mrn)).one()
            assert record.user_id is None
    finally:
        engine.dispose()


def test_a_used_registration_link_cannot_be_replayed(server, page: Page):
    patient = registered_patient(server, page, first="Ines", last="Carvalho", dob="1970-02-14")
    link = link_in(server.mailbox.wait_for(patient.email, "invitation"), "/register")
    sign_out(page)
    open_page(page, link)
    expect(page.get_by_text(re.compile("already used"))).to_be_visible()
    expect(page.get_by_role("button", name="Create Password")).to_have_count(0)


def _reset_link(server, page: Page, email: str, already: int) -> str:
    open_page(page, "/forgot-password")
    wait_for_hydration(page)
    page.get_by_label("Email address").fill(email)
    page.get_by_role("button", name="Send reset link").click()
    expect(page.get_by_role("status").filter(has_text=f"link works for {in_words(RESET_TTL)}")).to_be_visible()
    deadline = time.time() + 30
    while time.time() < deadline:
        mails = [m for m in server.mailbox.all_to(email) if "Reset your CareSpace password" in m.subject]
        if len(mails) > already:
            return link_in(mails[-1], "/reset-password")
        time.sleep(0.2)
    raise AssertionError(f"no new reset email to {email}")


def _change_dialog(page: Page, tab: str):
    open_menu_item(page, "Settings")
    page.get_by_role("button", name="Change email address or password").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("tab", name=tab).click()
    return dialog


def _assert_dead(page: Page, link: str) -> None:
    """Dead for whoever holds it: opened in a browser that is not signed in (a signed-in
    tab is only told it is signed in already)."""
    context = page.context.browser.new_context()
    try:
        stranger = context.new_page()
        open_page(stranger, link)
        expect(stranger.get_by_text(re.compile("no longer works"))).to_be_visible()
        expect(stranger.get_by_label("New password", exact=True)).to_have_count(0)
    finally:
        context.close()


def test_reset_links_die_when_the_password_or_the_email_address_changes(server, page: Page):
    """Someone who asked for a reset link (or reads the old mailbox) cannot use it to undo
    the owner's password change or to take the account back after an email change."""
    patient = registered_patient(server, page, first="Wanda", last="Kowalczyk", dob="1966-06-06")
    sign_out(page)
    before_password_change = _reset_link(server, page, patient.email, already=0)

    sign_in(page, patient)
    dialog = _change_dialog(page, "Password")
    new_password = "Copper-Lantern-93?"
    dialog.get_by_label("Current password").fill(patient.password)
    dialog.get_by_label("New password", exact=True).fill(new_password)
    dialog.get_by_label("Confirm new password").fill(new_password)
    dialog.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status").filter(has_text="Your password was changed")).to_be_visible()
    patient.password = new_password
    sign_out(page)
    _assert_dead(page, before_password_change)

    before_email_change = _reset_link(server, page, patient.email, already=1)
    sign_in(page, patient)
    new_email = f"{unique('wanda.new')}@example.org"
    dialog = _change_dialog(page, "Email")
    dialog.get_by_label("New email address").fill(new_email)
    dialog.get_by_label("Current password").fill(patient.password)
    dialog.get_by_role("button", name="Send confirmation link").click()
    confirm = link_in(server.mailbox.wait_for(new_email, "Confirm your new CareSpace email"),
                      "/confirm-email")
    page.goto(confirm)
    expect(page.get_by_text(f"Your email address is now {new_email}")).to_be_visible()
    _assert_dead(page, before_email_change)
