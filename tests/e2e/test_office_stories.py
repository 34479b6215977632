"""The practice administrator's day: staff accounts made on the command line show up in
the audit log as such, deactivating someone asks first, and the outbox reads in words."""
from __future__ import annotations


from playwright.sync_api import Page, expect

from .people import make_patient, make_staff, open_patient_page, sign_in

ADMIN_HOME = r"/admin/?$"


def test_admin_deactivates_a_colleague_only_after_confirming(server, page: Page):
    admin = make_staff(server, admin=True, name="Ada Administrator")
    leaving = make_staff(server, name="Lee Leaving")
    sign_in(page, admin, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Staff").click()
    row = page.get_by_role("row").filter(has_text=leaving.email)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("On")  # the message email, on by default

    row.get_by_role("button", name=f"Deactivate {leaving.email}").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text("Deactivate Lee Leaving's account?")
    expect(confirm).to_contain_text("signed out everywhere")
    confirm.get_by_role("button", name="Keep account").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(row).to_contain_text("Active")

    row.get_by_role("button", name=f"Deactivate {leaving.email}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, deactivate").click()
    expect(page.get_by_text("Account deactivated.")).to_be_visible()
    expect(row).to_contain_text("Deactivated")


def test_the_audit_log_names_the_command_line_and_the_role_it_gave(server, page: Page):
    admin = make_staff(server, admin=True, name="Abe Auditor")  # made on the command line
    sign_in(page, admin, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action", exact=True).fill("staff.created")
    page.get_by_role("button", name="Filter").click()
    made = page.get_by_role("row").filter(has=page.locator("[data-action='staff.created']"))
    expect(made.filter(has_text="administrator").first).to_contain_text("Command line")
    expect(made.filter(has_text="administrator").first).to_contain_text("command line")
    expect(made.filter(has_text="anonymous")).to_have_count(0)


def test_the_outbox_says_what_each_email_was_in_words(server, page: Page):
    staff = make_staff(server, name="Owen Outbox")
    person = make_patient(server, first="Petra", last="Booked")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, person)
    page.get_by_label("Provider", exact=True).fill("Dr. Anita Rao")
    page.get_by_label("Location", exact=True).fill("Main clinic")
    page.get_by_label("Date", exact=True).fill("2031-05-06")
    page.get_by_label("Start time", exact=True).fill("09:00")
    page.get_by_role("button", name="Book appointment").click()
    expect(page.get_by_text("Appointment booked.")).to_be_visible()
    server.mailbox.wait_for(person.email, "appointment")

    page.get_by_role("link", name="Outbox").click()
    rows = page.get_by_role("row").filter(has_text=person.email)
    expect(rows.filter(has_text="Appointment notice")).to_have_count(1)
    expect(rows.filter(has_text="Invitation to register")).to_have_count(1)
    expect(rows.filter(has_text="appointment_notification")).to_have_count(0)
