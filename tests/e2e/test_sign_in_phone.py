"""Signing in on a phone: the error sits by its field with the focus on it, the pause after
wrong passwords counts down and points to Forgot Password, and a bookmarked or emailed page
opens after signing in (only our own pages)."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from carespace_app.clock import utcnow
from carespace_app.services.records import messaging

from .people import make_staff, open_page, registered_patient, sign_out, unique
from .phone import assert_fits_phone
from .portal_people import wait_for_hydration
from .records_office import _patient_id, _user, office


def _try(page: Page, email: str, password: str) -> None:
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_a_wrong_password_is_told_beside_the_password_with_the_focus_there(server, phone_page: Page):
    page = phone_page
    open_page(page, "/")
    wait_for_hydration(page)
    forgot = page.get_by_role("link", name="Forgot Password")
    assert forgot.bounding_box()["height"] >= 44  # a thumb's size

    _try(page, "pat.mistyped@example.com", "Not-The-Password-1")
    password = page.get_by_label("Password")
    error = page.get_by_role("alert").filter(has_text="don't match")
    expect(error).to_be_in_viewport()
    expect(password).to_be_focused()
    expect(password).to_have_attribute("aria-invalid", "true")
    error_id = error.get_attribute("id")
    assert error_id and error_id in (password.get_attribute("aria-describedby") or "").split()
    expect(page.get_by_label("Email address")).to_have_value("pat.mistyped@example.com")
    assert_fits_phone(page)


def test_after_five_wrong_passwords_the_pause_counts_down_and_points_to_forgot_password(
        server, phone_page: Page):
    page = phone_page
    email = f"{unique('hurried')}@example.com"
    open_page(page, "/")
    wait_for_hydration(page)
    for attempt in range(5):
        _try(page, email, f"Wrong-Guess-{attempt}!a")
        if attempt < 4:
            expect(page.get_by_role("alert").filter(has_text="don't match")).to_be_visible()
    pause = page.get_by_role("status").filter(has_text="signing in is paused")
    expect(pause).to_be_visible()
    left = page.get_by_test_id("pause-left")
    expect(left).to_have_text(re.compile(r"^You can try again in \d+ seconds\.$"))
    shown = left.inner_text()
    # It counts down in the page, second by second.
    expect(left).not_to_have_text(shown, timeout=5_000)
    expect(left).to_have_text(re.compile(r"^You can try again in \d+ seconds\.$"))
    # The refused password is gone; the address stays.
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_label("Email address")).to_have_value(email)
    pause.get_by_role("link", name="Forgot Password").click()
    expect(page.get_by_role("heading", name="Forgot Password")).to_be_visible()


def test_an_emailed_link_to_a_conversation_opens_it_after_signing_in(server, phone_page: Page):
    page = phone_page
    patient = registered_patient(server, page, first="Lena", last="Ortiz")
    with office(server) as db:
        thread = messaging.start_thread(
            db, _user(db, patient), _patient_id(db, patient), category="Appointment",
            subject="Ride to the infusion", body="Can my son drive me there?", client_key=None,
            clock=utcnow)
    sign_out(page)

    # The link from the email, opened on the phone while signed out.
    open_page(page, f"/messages?thread={thread}")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    wait_for_hydration(page)
    _try(page, patient.email, patient.password)
    expect(page).to_have_url(re.compile(rf"/messages/?\?thread={thread}$"), timeout=30_000)
    expect(page.get_by_role("heading", name="Ride to the infusion")).to_be_visible()


def test_a_bookmarked_office_page_opens_after_staff_sign_in(server, page: Page):
    staff = make_staff(server)
    open_page(page, "/admin/outbox")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    wait_for_hydration(page)
    _try(page, staff.email, staff.password)
    expect(page).to_have_url(re.compile(r"/admin/outbox/?$"), timeout=30_000)


def test_a_patient_sent_to_an_office_page_or_another_site_lands_in_their_portal(
        server, phone_page: Page):
    page = phone_page
    patient = registered_patient(server, page, first="Ivo", last="Brandt")
    sign_out(page)
    for asked in ("/admin/audit", "//evil.example/home", "https://evil.example/"):
        open_page(page, f"/?next={asked}")
        wait_for_hydration(page)
        _try(page, patient.email, patient.password)
        expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
        assert page.url.startswith(server.base_url)
        sign_out(page)
