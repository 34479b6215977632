"""Critical values: the office enters a platelet count of 40 with its critical limit; the
patient is emailed, the link opens that report, and the value reads "Critical — call the
office now" in its own colour with the office's number to tap. Values read as entered."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from carespace_app.config import get_settings

from .harness import link_in
from .people import desk_page, make_staff, open_patient_page, registered_patient, sign_in

ADMIN_HOME = r"/admin/?$"


def test_critical_platelets_are_called_out_and_the_email_opens_the_report(
        server, page: Page, browser: Browser):
    patient = registered_patient(server, page, first="Rosa", last="Quintana")
    staff = make_staff(server, name="Lena Labdesk")
    office = desk_page(browser, server)
    sign_in(office, staff, lands_on=ADMIN_HOME)
    open_patient_page(office, patient)

    office.get_by_label("Panel", exact=True).fill("Complete blood count")
    office.get_by_label("Ordering provider", exact=True).fill("Dr. Anita Rao")
    office.get_by_label("Collected", exact=True).fill("2026-11-20T08:30")
    office.get_by_label("Resulted", exact=True).fill("2026-11-20T11:00")
    office.get_by_label("Test (result 1)").fill("Platelets")
    office.get_by_label("Value (result 1)").fill("40")
    office.get_by_label("Unit (result 1)").fill("K/uL")
    office.get_by_label("Reference low (result 1)").fill("150")
    office.get_by_label("Reference high (result 1)").fill("450")
    office.get_by_label("Critical low (result 1)").fill("50")
    office.get_by_label("Critical high (result 1)").fill("1000")
    office.get_by_label("Test (result 2)").fill("Creatinine")
    office.get_by_label("Value (result 2)").fill("1.0")
    office.get_by_label("Unit (result 2)").fill("mg/dL")
    office.get_by_label("Reference low (result 2)").fill("0.6")
    office.get_by_label("Reference high (result 2)").fill("1.1")
    # A double tap on Save stores the report once.
    office.get_by_role("button", name="Save lab report").dblclick()
    expect(office.get_by_text("Lab report saved.")).to_be_visible()
    reports = office.locator(".cs-report").filter(has_text="Complete blood count")
    expect(reports).to_have_count(1)
    expect(reports.get_by_role("row").filter(has_text="Platelets")).to_contain_text("Critical low")
    expect(reports.get_by_role("row").filter(has_text="Creatinine")).to_contain_text("1.0")
    expect(office.get_by_label("Test (result 1)")).to_have_value("")  # a fresh form
    office.context.close()

    # The email says only that results are in, and links to this report.
    mail = server.mailbox.wait_for(patient.email, "New results are available in CareSpace")
    # (Words, not digits inside the link: the server's random port may contain "40".)
    said = re.sub(r"https?://\S+", "", mail.subject + " " + mail.body)
    for secret in ("Platelets", "Critical", "Dr. Anita Rao", "blood"):
        assert secret not in said
    assert not re.search(r"\b40\b", said)
    link = link_in(mail, "/labs?report=")
    assert len(server.mailbox.all_to(patient.email)) == 2  # the invitation, one results email

    page.goto(link)
    report = page.get_by_role("list", name="Lab reports").get_by_role("listitem").filter(
        has_text="Complete blood count")
    expect(report).to_have_count(1)
    expect(page.get_by_role("link", name="See all lab reports")).to_be_visible()
    platelets = report.get_by_role("row").filter(has_text="Platelets")
    expect(platelets).to_contain_text("40 K/uL")
    expect(platelets).to_contain_text("Critical low")
    expect(report.get_by_role("row").filter(has_text="Creatinine")).to_contain_text("1.0 mg/dL")
    expect(report.get_by_text("Critical — call the office now")).to_be_visible()
    office = get_settings()
    call = report.get_by_role("link", name=f"Call {office.office_phone}")
    expect(call).to_have_attribute("href", f"tel:{office.office_phone_tel}")
    assert call.bounding_box()["height"] >= 44
    # Its own colour: not the High/Low words' colour.
    critical = platelets.locator(".cs-flag")
    colour = critical.evaluate("e => getComputedStyle(e).color")
    background = critical.evaluate("e => getComputedStyle(e).backgroundColor")
    assert colour != "rgb(122, 65, 0)" and background not in ("rgba(0, 0, 0, 0)", "transparent")

    page.reload()  # the report stays open
    expect(report.get_by_role("row").filter(has_text="Platelets")).to_contain_text("Critical low")
    expect(page.get_by_role("link", name="See all lab reports")).to_be_visible()
    page.get_by_role("link", name="See all lab reports").click()
    expect(page).to_have_url(re.compile(r"/labs/?$"))
    expect(page.get_by_role("link", name="See all lab reports")).to_have_count(0)
