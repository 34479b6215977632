"""Download my record (issue #16): a patient, on a phone, finds "Download my record" in her
account menu, downloads her record as a PDF and as a FHIR file, emails the PDF to her new
doctor (the practice's SMTP server receives it with the file attached and nothing medical in
the words), and finds each step in "Who viewed my record". At the desk, the office prints
her record for her."""
from __future__ import annotations

import email
import email.policy
import io
import re
from datetime import timedelta

from fhir.resources.R4B.bundle import Bundle
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from carespace_app import routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.services.records import labs

from .axe_check import assert_accessible
from .people import choose_in_account_menu, make_staff, open_patient_page, registered_patient, sign_in
from .portal_people import new_page
from .records_office import book, enter_report

PANEL = "Tumour markers"


def _form(page: Page):
    return page.get_by_role("form", name="Your record")


def _pdf_text(path) -> str:
    with open(path, "rb") as f:
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(f.read())).pages)


def test_a_patient_downloads_and_emails_her_record(server, phone_page: Page, browser):
    page = phone_page
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Ines", last="Valdivia")
    enter_report(server, staff, patient, days_ago=20, panel=PANEL,
                 results=[labs.ResultInput(test_name="CA-125", value=41.2, unit="U/mL",
                                           ref_high=35.0)])
    # Two years ago: outside the last 12 months the page starts with.
    enter_report(server, staff, patient, days_ago=730, panel="Old chemistry",
                 results=[labs.ResultInput(test_name="Sodium", value=140, unit="mmol/L",
                                           ref_low=135, ref_high=145)])
    book(server, staff, patient, in_days=5, kind="Infusion", provider="Dr. Lena Park",
         location="Infusion suite 2")
    today = timefmt.to_local(utcnow()).date()

    choose_in_account_menu(page, "Download my record")
    expect(page).to_have_url(re.compile(r"/my-record/?$"))
    expect(page.get_by_role("heading", name="Download my record", level=1)).to_be_visible()
    form = _form(page)
    expect(form.get_by_label("To")).to_have_value(today.isoformat())
    expect(form.get_by_label("Include my messages")).not_to_be_checked()
    assert_accessible(page, "Download my record at 375 px")

    # A range backwards: said beside From; what was typed stays.
    form.get_by_label("From").fill((today + timedelta(days=1)).isoformat())
    form.get_by_role("button", name="Download PDF").click()
    expect(form.get_by_role("alert")).to_contain_text("The start date must be on or before")
    expect(form.get_by_label("From")).to_have_value((today + timedelta(days=1)).isoformat())
    assert_accessible(page, "a range refused, at 375 px")
    form.get_by_label("From").fill((today - timedelta(days=365)).isoformat())
    # The next visit too: the range may reach into the weeks ahead.
    form.get_by_label("To").fill((today + timedelta(days=30)).isoformat())

    with page.expect_download() as got:
        form.get_by_role("button", name="Download PDF").click()
    pdf = got.value
    assert pdf.suggested_filename == f"carespace-record-{today.isoformat()}.pdf"
    text = _pdf_text(pdf.path())
    assert "Ines Valdivia" in text and PANEL in text and "CA-125" in text
    assert "Infusion with Dr. Lena Park" in text
    assert "Old chemistry" not in text
    expect(form.get_by_role("status")).to_contain_text(pdf.suggested_filename)

    with page.expect_download() as got:
        form.get_by_role("button", name="Download FHIR file").click()
    fhir = got.value
    assert fhir.suggested_filename == f"carespace-record-{today.isoformat()}.json"
    with open(fhir.path(), "rb") as f:
        bundle = Bundle.model_validate_json(f.read())
    resources = {e.resource.get_resource_type(): e.resource for e in bundle.entry}
    assert resources["Patient"].name[0].family == "Valdivia"
    assert {"Appointment", "DiagnosticReport", "Observation"} <= set(resources)
    observation = resources["Observation"]
    assert observation.interpretation[0].coding[0].code == "H"
    assert float(observation.referenceRange[0].high.value) == 35.0

    doctor = "dr.patel@newclinic.example"
    form.get_by_label("Email address").fill(doctor)
    form.get_by_label("PDF", exact=True).check()
    form.get_by_role("button", name="Email it").click()
    sent = form.get_by_role("status").filter(has_text="We're emailing your record")
    expect(sent).to_contain_text(doctor)
    mail = server.mailbox.wait_for(doctor, "A copy of a health record")
    message = email.message_from_bytes(mail.raw, policy=email.policy.default)
    attached = [p for p in message.iter_attachments()]
    assert [(p.get_filename(), p.get_content_type()) for p in attached] == [
        (f"carespace-record-{today.isoformat()}.pdf", "application/pdf")]
    assert attached[0].get_content()[:5] == b"%PDF-"
    for word in ("Valdivia", "Ines", "CA-125", PANEL, "Infusion"):
        assert word not in mail.body and word not in mail.subject
    assert_accessible(page, "Download my record after emailing, at 375 px")

    page.goto(routes.RECORD_ACTIVITY)
    expect(page.get_by_role("heading", name="Who viewed my record", level=1)).to_be_visible()
    for what in ("Downloaded your record (PDF)", "Downloaded your record (FHIR file)",
                 "Emailed your record (PDF)"):
        expect(page.get_by_role("cell", name=what, exact=True).first).to_be_visible()

    # At the desk: the office prints her record, and she can see it did.
    desk = new_page(browser, server)
    try:
        sign_in(desk, staff, lands_on=r"/admin/?$")
        open_patient_page(desk, patient)
        section = desk.get_by_role("form", name="Print record")
        with desk.expect_download() as got:
            section.get_by_role("button", name="Print record (PDF)").click()
        printed = _pdf_text(got.value.path())
        assert "Ines Valdivia" in printed and f"for {staff.name}" in printed.replace("\n", " ")
    finally:
        desk.context.close()
    page.reload()
    expect(page.get_by_role("cell", name="The office printed your record", exact=True)).to_be_visible()
    # The record itself never reached the server's log (the emailed PDF was sent, not logged).
    log = server.log_path.read_text()
    assert "CA-125" not in log
