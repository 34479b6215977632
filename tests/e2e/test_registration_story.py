"""The foundation story: the office invites a patient with the CLI, the patient
registers from the emailed link, signs out and back in; the used link is refused."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import PASSWORD, make_staff, open_page, sign_out, unique


def test_cli_invitation_to_signed_in_patient(server, page: Page):
    staff_email = f"{unique('staff')}@clinic.example.org"
    result = server.cli("create-staff", "--email", staff_email, "--name", "Olivia Staff",
                        input="Front-Desk-2026!\n")
    assert staff_email in result.stdout

    mrn = unique("MRN")
    email = f"{unique('rose')}@example.com"
    server.cli("create-patient", "--mrn", mrn, "--first", "Rose", "--last", "Whitaker",
               "--dob", "1952-07-19", "--email", email, "--phone", "479-555-0101")
    invited = server.cli("invite", "--mrn", mrn)
    assert "expires" in invited.stdout

    mail = server.mailbox.wait_for(email, "invitation")
    assert "noreply@carespaceportal.com" in mail.sender
    link = link_in(mail, "/register")
    assert link.startswith(server.base_url)

    page.goto(link)
    expect(page.get_by_role("heading", name="Create your CareSpace password")).to_be_visible()
    page.get_by_label("Email address").fill(email.upper())  # case doesn't matter
    password = page.get_by_label("Password", exact=True)
    password.fill("short")
    expect(page.locator("li[data-met='yes']", has_text="One lowercase letter")).to_be_visible()
    expect(page.locator("li[data-met='no']", has_text="At least 8 characters")).to_be_visible()
    password.fill(PASSWORD)
    expect(page.locator("li[data-met='yes']", has_text="At least 8 characters")).to_be_visible()
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1952-07-19")
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    page.get_by_role("button", name="Create Password").click()

    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
    expect(page.get_by_role("heading", name=re.compile("Welcome, Rose"))).to_be_visible()

    sign_out(page)
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    # The old session is over: the portal sends us back to sign in.
    open_page(page, "/home")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()

    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name=re.compile("Welcome, Rose"))).to_be_visible(timeout=30_000)

    # The link was used: it cannot make a second account. Signed in, the page just says so;
    # signed out, it says the link was used.
    page.goto(link)
    expect(page.get_by_text("You're already signed in")).to_be_visible()
    page.get_by_role("link", name="Go to Home").click()
    sign_out(page)
    page.goto(link)
    expect(page.get_by_text(re.compile("already used", re.I))).to_be_visible()


def test_wrong_date_of_birth_is_refused_and_nothing_typed_is_lost(server, page: Page):
    mrn = unique("MRN")
    email = f"{unique('amos')}@example.com"
    server.cli("create-patient", "--mrn", mrn, "--first", "Amos", "--last", "Reyes",
               "--dob", "1948-02-02", "--email", email)
    server.cli("invite", "--mrn", mrn)
    link = link_in(server.mailbox.wait_for(email, "invitation"), "/register")

    page.goto(link)
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_label("Date of birth").fill("1948-03-02")
    page.get_by_role("checkbox", name="I agree to the terms of service").check()
    page.get_by_role("button", name="Create Password").click()
    expect(page.get_by_role("alert").filter(has_text="don't match")).to_be_visible()
    expect(page.get_by_label("Email address")).to_have_value(email)
    expect(page.get_by_label("Password", exact=True)).to_have_value(PASSWORD)


def test_wrong_password_keeps_the_email_and_says_what_to_do(server, page: Page):
    page.goto("/")
    page.get_by_label("Email address").fill("nobody@example.com")
    page.get_by_label("Password").fill("Not-The-Password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("don't match")
    expect(page.get_by_label("Email address")).to_have_value("nobody@example.com")


def test_session_cookie_is_httponly(server, page: Page):
    staff = make_staff(server)
    page.goto("/")
    page.get_by_label("Email address").fill(staff.email)
    page.get_by_label("Password").fill(staff.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/admin/?$"), timeout=30_000)
    cookies = {c["name"]: c for c in page.context.cookies()}
    session = cookies["carespace_session"]
    assert session["httpOnly"] is True
    assert session["sameSite"] in ("Lax", "Strict")
    assert "carespace_session" not in page.evaluate("document.cookie")
