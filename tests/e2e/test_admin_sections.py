"""The office's everyday sections: appointments, resources and the outbox."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .people import make_patient, make_staff, open_patient_page, sign_in, unique

ADMIN_HOME = r"/admin/?$"



def test_staff_books_changes_and_cancels_an_appointment(server, page: Page):
    staff = make_staff(server, name="Bea Booker")
    person = make_patient(server, first="Hal", last="Ostrander")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, person)

    page.get_by_label("Type", exact=True).select_option("Infusion")
    page.get_by_label("Provider", exact=True).fill("Dr. Anita Rao")
    page.get_by_label("Location", exact=True).fill("Infusion suite, 2nd floor")
    page.get_by_label("Date", exact=True).fill("2027-03-04")
    page.get_by_label("Start time", exact=True).fill("10:30")
    page.get_by_label("Length (minutes)", exact=True).fill("120")
    page.get_by_label("Instructions", exact=True).fill("Eat a light breakfast.")
    page.get_by_role("button", name="Book appointment").click()
    row = page.get_by_role("row").filter(has_text="Infusion suite")
    # 10:30 typed on the practice's clock comes back as 10:30 on it.
    expect(row).to_contain_text("Thu, Mar 4, 2027, 10:30 AM")
    expect(row).to_contain_text("Dr. Anita Rao")

    row.get_by_role("button", name=re.compile("^Edit appointment")).click()
    editing = page.locator(".cs-editing")
    expect(editing.get_by_role("heading", name="Change appointment")).to_be_visible()
    expect(editing.get_by_label("Provider", exact=True)).to_have_value("Dr. Anita Rao")
    editing.get_by_label("Provider", exact=True).fill("Dr. Marcus Lee")
    page.get_by_role("button", name="Save appointment").click()
    expect(page.get_by_role("row").filter(has_text="Infusion suite")).to_contain_text("Dr. Marcus Lee")

    page.get_by_role("row").filter(has_text="Infusion suite").get_by_role(
        "button", name=re.compile("^Cancel appointment")).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, cancel appointment").click()
    expect(page.get_by_role("row").filter(has_text="Infusion suite")).to_contain_text("Cancelled")


def test_staff_edits_resources_and_javascript_links_are_refused(server, page: Page):
    staff = make_staff(server, name="Rita Resources")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Resources").click()
    title = unique("Support group")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Link", exact=True).fill("javascript:alert(1)")
    page.get_by_role("button", name="Add link").click()
    expect(page.get_by_role("alert").filter(has_text="starts with https://")).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_have_value(title)

    page.get_by_label("Link", exact=True).fill("https://www.cancercare.org/support_groups")
    page.get_by_role("button", name="Add link").click()
    expect(page.get_by_role("row").filter(has_text=title)).to_be_visible()
    page.get_by_role("button", name=f"Move {title} up").click()
    rows = page.get_by_role("row")
    expect(rows.nth(rows.count() - 2)).to_contain_text(title)  # one place up from the bottom
    # Deleting asks first; keeping it changes nothing.
    page.get_by_role("button", name=f"Delete {title}").click()
    confirm = page.get_by_role("alertdialog")
    expect(confirm).to_contain_text(f"Delete the link “{title}”?")
    confirm.get_by_role("button", name="Keep link").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text=title)).to_be_visible()
    page.get_by_role("button", name=f"Delete {title}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Yes, delete link").click()
    expect(page.get_by_text("Link deleted.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text=title)).to_have_count(0)


def test_outbox_shows_status_but_never_the_link(server, page: Page):
    staff = make_staff(server, name="Omar Outbox")
    person = make_patient(server, first="Nina", last="Castell")
    server.mailbox.wait_for(person.email, "invitation")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    page.get_by_role("link", name="Outbox").click()
    row = page.get_by_role("row").filter(has_text=person.email)
    expect(row).to_contain_text("Invitation to register")  # the kind in words
    expect(row).to_contain_text("sent")
    html = page.content()
    assert "/register?token" not in html and "token=" not in html


def test_view_as_patient_opens_their_portal(server, page: Page, browser):
    from .people import register_from_email

    person = make_patient(server, first="Greta", last="Holm")
    patient_context = browser.new_context(base_url=server.base_url)
    register_from_email(server, patient_context.new_page(), person)
    patient_context.close()

    staff = make_staff(server, name="Vic Viewer")
    sign_in(page, staff, lands_on=ADMIN_HOME)
    open_patient_page(page, person)
    expect(page.locator("[data-invitation-status='registered']")).to_be_visible()
    page.get_by_role("button", name="View as patient").click()
    expect(page).to_have_url(re.compile(r"/home/?(\?.*)?$"), timeout=30_000)
    expect(page.get_by_role("navigation", name="Portal sections")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="Greta Holm's portal as the office")).to_be_visible()
    page.get_by_role("button", name="Back to the admin page").click()
    expect(page).to_have_url(re.compile(r"/admin/?(\?n=\w+)?$"), timeout=30_000)
    expect(page.get_by_role("heading", name="Patients", exact=True)).to_be_visible()
    page.goto("/admin/audit")
    page.get_by_label("Action", exact=True).fill("portal.viewed_as_patient")
    page.get_by_label("Patient MRN").fill(person.mrn)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("[data-action='portal.viewed_as_patient']")).to_have_count(1)
