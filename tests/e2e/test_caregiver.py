"""Caregivers: registering from the invitation, an existing account accepting with its
password, and one login for the portals of two patients."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from playwright.sync_api import Page, expect

from .harness import link_in
from .people import fill_access_code, make_staff, register_from_email, registered_patient, switch_patient
from .portal_people import caregiver, grant_access, new_page
from .records_office import book


def _viewing(page: Page):
    return page.get_by_role("status").filter(has_text="You are viewing")


def test_new_caregiver_registers_without_date_of_birth_and_with_the_invited_email(server, page: Page,
                                                                                  browser):
    registered_patient(server, page, first="Nell", last="Adams")
    carer = caregiver("Theo", "Adams")
    grant_access(page, carer)
    mail = server.mailbox.wait_for(carer.email, "CareSpace portal")
    # The email says what is needed, and the code isn't in it.
    assert "Nell Adams will tell you a short access code; you'll need it to finish." in mail.body
    assert carer.access_codes["Nell Adams"].replace(" ", "") not in mail.body.replace(" ", "")
    link = link_in(mail, "/register")

    carer_page = new_page(browser, server)
    try:
        carer_page.goto(link)
        expect(carer_page.get_by_text("You've been given access")).to_be_visible()
        expect(carer_page.get_by_label("Date of birth")).to_have_count(0)
        expect(carer_page.get_by_label("Access code from Nell")).to_be_visible()
        expect(carer_page.get_by_text("It isn't in the email: ask Nell for it.")).to_be_visible()
        # The link is bound to the invited address: another address is refused.
        carer_page.get_by_label("Email address").fill("someone.else@example.net")
        fill_access_code(carer_page, carer)
        carer_page.get_by_label("Password", exact=True).fill(carer.password)
        carer_page.get_by_label("Confirm password").fill(carer.password)
        carer_page.get_by_role("checkbox", name="I agree to the terms of service").check()
        carer_page.get_by_role("button", name="Create Password").click()
        expect(carer_page.get_by_role("alert")).to_contain_text(
            "That email address and access code don't match our invitation.")

        carer_page.get_by_label("Email address").fill(carer.email)
        carer_page.get_by_role("button", name="Create Password").click()
        expect(carer_page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
        expect(_viewing(carer_page)).to_contain_text("Nell Adams's portal")
    finally:
        carer_page.context.close()


def test_an_existing_patient_accepts_with_their_current_password(server, page: Page, browser):
    registered_patient(server, page, first="Olga", last="Ivanova")
    other_page = new_page(browser, server)
    try:
        friend = registered_patient(server, other_page, first="Vera", last="Lund")
        grant_access(page, friend)
        link = link_in(server.mailbox.wait_for(friend.email, "CareSpace portal"), "/register")

        other_page.goto(link)
        expect(other_page.get_by_text("You already have a CareSpace account")).to_be_visible()
        expect(other_page.get_by_label("Confirm password")).to_have_count(0)
        other_page.get_by_label("Email address").fill(friend.email)
        fill_access_code(other_page, friend)  # an account doesn't make the code unnecessary
        other_page.get_by_label("Password", exact=True).fill("Not-My-Password-9!")
        other_page.get_by_role("checkbox", name="I agree to the terms of service").check()
        other_page.get_by_role("button", name="Create Password").click()
        expect(other_page.get_by_role("alert")).to_contain_text("doesn't match your existing")

        other_page.get_by_label("Password", exact=True).fill(friend.password)
        other_page.get_by_role("button", name="Create Password").click()
        expect(other_page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)

        # Vera is a patient and now Olga's caregiver: one login, a switcher.
        switch_patient(other_page, re.compile("Olga Ivanova"))
        expect(_viewing(other_page)).to_contain_text("Olga Ivanova's portal")
        expect(other_page.get_by_role("link", name="Manage Users")).to_have_count(0)

        switch_patient(other_page, "Your record")
        expect(_viewing(other_page)).to_have_count(0)
        expect(other_page.get_by_role("link", name="Manage Users")).to_be_visible()
    finally:
        other_page.context.close()


def test_caregiver_of_two_patients_always_sees_whose_portal(server, page: Page, browser):
    registered_patient(server, page, first="Hugo", last="Brandt")
    carer = caregiver("Ada", "Brandt")
    grant_access(page, carer)
    carer_page = new_page(browser, server)
    second_page = new_page(browser, server)
    try:
        register_from_email(server, carer_page, carer, subject="CareSpace portal")
        expect(_viewing(carer_page)).to_contain_text("Hugo Brandt's portal")
        expect(carer_page.get_by_role("button", name="Switch patient")).to_have_count(0)

        registered_patient(server, second_page, first="Lotte", last="Brandt")
        grant_access(second_page, carer)
        link = link_in(server.mailbox.wait_for(carer.email, "Lotte Brandt's CareSpace portal"), "/register")
        carer_page.goto(link)
        carer_page.get_by_label("Email address").fill(carer.email)
        fill_access_code(carer_page, carer)  # Lotte's code: the form asks for it by her name
        carer_page.get_by_label("Password", exact=True).fill(carer.password)
        carer_page.get_by_role("checkbox", name="I agree to the terms of service").check()
        carer_page.get_by_role("button", name="Create Password").click()
        expect(carer_page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
        expect(_viewing(carer_page)).to_be_visible()

        for name in ("Lotte Brandt", "Hugo Brandt", "Lotte Brandt"):
            switch_patient(carer_page, re.compile(name))
            expect(_viewing(carer_page)).to_contain_text(f"{name}'s portal")
            carer_page.get_by_role("link", name="Help").first.click()
            # The banner is on every page: wait for Help itself, or the next menu opens on
            # the page being left.
            expect(carer_page).to_have_url(re.compile(r"/help/?$"))
            expect(_viewing(carer_page)).to_contain_text(f"{name}'s portal")
    finally:
        carer_page.context.close()
        second_page.context.close()


def test_a_caregivers_notice_names_whose_portal_and_its_link_opens_that_page(server, page: Page, browser):
    """News is told without medical details; a caregiver reads whose portal it is in, and
    the link, opened signed out, leads through sign-in to that page of that portal."""
    patient = registered_patient(server, page, first="Ilse", last="Varga")
    carer = caregiver("Petra", "Varga")
    grant_access(page, carer)
    carer_page = new_page(browser, server)
    try:
        register_from_email(server, carer_page, carer, subject="CareSpace portal")
        carer_page.context.clear_cookies()  # Petra's browser is signed out when the email comes

        staff = make_staff(server, name="Bea Booking")
        book(server, staff, patient, in_days=5, kind="Infusion", provider="Dr. Hidden Name",
             location="Secret Suite 9")
        notice = server.mailbox.wait_for(carer.email, "appointment")
        assert "in Ilse Varga's CareSpace portal." in notice.body
        for detail in ("Infusion", "Dr. Hidden Name", "Secret Suite 9"):
            assert detail not in notice.body + notice.subject
        own = server.mailbox.wait_for(patient.email, "appointment")
        assert "in your CareSpace portal." in own.body and "Ilse Varga" not in own.body

        # The office's write ran in this test process (records_office), so the link's host is
        # this process's base URL: its path is what the notice decides.
        carer_page.goto(urlsplit(link_in(notice, "/appointments")).path)
        expect(carer_page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
        carer_page.get_by_label("Email address").fill(carer.email)
        carer_page.get_by_label("Password", exact=True).fill(carer.password)
        carer_page.get_by_role("button", name="Sign in").click()
        expect(carer_page).to_have_url(re.compile(r"/appointments/?$"), timeout=30_000)
        expect(_viewing(carer_page)).to_contain_text("Ilse Varga's portal")
        expect(carer_page.get_by_text("Secret Suite 9")).to_be_visible()
    finally:
        carer_page.context.close()
