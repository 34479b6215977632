"""Attacks on registration links, against the running server: tampered, forwarded,
replaced by a newer link, and past the 96-hour limit."""
from __future__ import annotations

import re
import time
from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app.clock import utcnow
from carespace_app.db import make_engine
from carespace_app.models import Invitation, Patient, User
from carespace_app.services.security import token_hash

from .conftest import link_in
from .people import PASSWORD, make_patient


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
    deadline = time.time() + 30
    while len(server.mailbox.all_to(patient.email)) < 2 and time.time() < deadline:
        time.sleep(0.2)
    second = link_in(server.mailbox.all_to(patient.email)[-1], "/register")
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
        # As if the email had been sent 96 hours minus 4 seconds ago.
        sent = utcnow() - timedelta(hours=96) + timedelta(seconds=4)
        with Session(engine) as db:
            db.execute(update(Invitation)
                       .where(Invitation.token_hash == token_hash(_token(link)))
                       .values(created_at=sent, expires_at=sent + timedelta(hours=96)))
            db.commit()
        page.goto(link)
        expect(page.get_by_role("button", name="Create Password")).to_be_visible()
        time.sleep(5)
        _fill_registration(page, patient.email, patient.dob)
        expect(page.get_by_text(re.compile("has expired"))).to_be_visible()
        expect(page.get_by_role("link", name="(479) 587-1700").first).to_be_visible()
        with Session(engine) as db:
            record = db.exec(select(Patient).where(Patient.mrn == patient.mrn)).one()
            assert record.user_id is None
    finally:
        engine.dispose()
