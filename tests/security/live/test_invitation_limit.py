"""Invitations a patient account sends, against the running server.

The attack: each "Grant access" and each "Send new link" emails an address the patient
typed, in the practice's name, opening with a name the patient typed. Unbounded, a
patient account sent five such emails to any address in five seconds. Now a patient's
grants and re-sends together are limited to 10 a day, with a sentence saying what to do;
the office (the sentence sends the patient there) can still send a link, audited.

The rule at its edges (the 24-hour window, per patient) is in tests/test_caregiver_code.py.
"""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from carespace_app.config import get_settings
from carespace_app.policy import MAX_INVITATIONS_PER_DAY

from tests.e2e.people import make_staff, registered_patient, sign_in
from tests.e2e.portal_people import caregiver, grant_access, new_page, user_card

from .attack import scalar, server_db

LIMIT = (f"You've sent {MAX_INVITATIONS_PER_DAY} invitations today. To protect people from "
         "unwanted email, you can send more tomorrow, or call the office at "
         f"{get_settings().office_phone}.")


def _invitations(server, mrn: str) -> int:
    with server_db(server) as engine:
        return scalar(engine, "SELECT count(*) FROM invitations i JOIN patients p "
                              "ON p.id = i.patient_id WHERE p.mrn = :m AND i.kind = 'caregiver'",
                      m=mrn)


def test_ten_invitations_a_day_then_a_clear_sentence_and_the_office_can_still_send(
        server, page: Page, browser):
    patient = registered_patient(server, page, first="Ilse", last="Brenner")
    carer = caregiver("Kurt", "Brenner")
    grant_access(page, carer)
    resend = user_card(page, carer).get_by_role("button", name=f"Send new link to {carer.email}")
    for sent in range(2, 11):
        resend.click()
        # Each click's answer before the next, as a person would see it.
        assert len(server.mailbox.wait_for_count(carer.email, sent)) == sent
        expect(page.get_by_role("status").filter(has_text="A new link is on its way")).to_be_visible()
    assert _invitations(server, patient.mrn) == 10

    resend.click()
    expect(page.get_by_role("alert").filter(has_text=LIMIT)).to_be_visible()
    page.get_by_label("Name").fill("Another Person")
    page.get_by_label("Email", exact=True).fill("another.person@example.net")
    page.get_by_role("button", name="Grant access").click()
    expect(page.get_by_role("alert").filter(has_text=LIMIT).first).to_be_visible()
    expect(page.get_by_label("Name")).to_have_value("Another Person")  # nothing typed is lost
    assert _invitations(server, patient.mrn) == 10
    assert len(server.mailbox.all_to(carer.email)) == 10
    assert server.mailbox.all_to("another.person@example.net") == []

    # The office sends a link on the patient's call, sees its code, and is audited.
    office = new_page(browser, server)
    try:
        staff = make_staff(server, name="Petra Office")
        sign_in(office, staff, lands_on=r"/admin/?$")
        with server_db(server) as engine:
            patient_id = scalar(engine, "SELECT id FROM patients WHERE mrn = :m", m=patient.mrn)
        office.goto(f"/admin/patient?id={patient_id}")
        row = office.get_by_role("row").filter(has_text=carer.email)
        # The row shows the patient's last code until the office's new one replaces it.
        shown = row.get_by_test_id("access-code")
        expect(shown).to_contain_text(re.compile(r"Access code: \d{3} \d{3}"))
        before = shown.inner_text()
        row.get_by_role("button", name=f"Send new link to {carer.email}").click()
        assert len(server.mailbox.wait_for_count(carer.email, 11)) == 11
        expect(shown).not_to_have_text(before)
        expect(shown).to_contain_text(re.compile(r"Access code: \d{3} \d{3}"))
        code = re.search(r"\d{3} \d{3}", shown.inner_text()).group(0)
    finally:
        office.context.close()
    with server_db(server) as engine:
        assert scalar(engine, "SELECT count(*) FROM audit_events a JOIN users u "
                              "ON u.id = a.actor_user_id WHERE a.action = 'invitation.sent' "
                              "AND u.email = :e", e=staff.email) == 1
    # The patient sees the office's new code on the row too.
    page.reload()
    expect(user_card(page, carer).get_by_test_id("access-code")).to_have_text(
        f"Access code to tell them: {code}")
