"""Share links (issue #16): a patient, on a phone, makes a link to her record for Dr. Patel and
tells her the passcode; Dr. Patel's own browser opens it (a wrong passcode first), reads the
record and downloads the PDF; the patient revokes the link and the open page loses the record
on its next tap; "Who viewed my record" lists the link made, opened and turned off."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app import timefmt
from carespace_app.services.records import labs
from carespace_app.services.records.share_links import NOT_AVAILABLE

from .axe_check import assert_accessible
from .people import make_staff, registered_patient
from .portal_people import new_page
from .records_office import book, enter_report

# The page that holds the patient's share links section (the lead mounts it on Download my
# record).
SECTION_PAGE = "/my-record"


def _section(page: Page):
    return page.get_by_role("region", name="Share links")


def _wrong(passcode: str) -> str:
    digits = passcode.replace(" ", "")
    return str((int(digits) + 1) % 10 ** len(digits)).zfill(len(digits))


def test_a_share_link_opens_with_its_passcode_until_it_is_revoked(server, phone_page: Page, browser):
    page = phone_page
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Mira", last="Castellanos")
    enter_report(server, staff, patient, days_ago=3, panel="Tumour markers",
                 results=[labs.ResultInput(test_name="CA-125", value=41.2, unit="U/mL", ref_high=35.0)])
    book(server, staff, patient, in_days=4, kind="Infusion", provider="Dr. Lena Park",
         location="Infusion suite 2")
    today = timefmt.to_local(utcnow()).date()

    page.goto(SECTION_PAGE)
    section = _section(page)
    expect(section.get_by_text("No share links yet")).to_be_visible()
    section.get_by_label("Who is it for?").fill("Dr. Patel")
    section.get_by_label("Expires after").select_option(value="2")
    section.get_by_label("From").fill((today - timedelta(days=30)).isoformat())
    section.get_by_label("To").fill((today + timedelta(days=30)).isoformat())
    section.get_by_role("button", name="Make share link").click()

    ready = section.get_by_role("status").filter(has_text="Your share link is ready")
    expect(ready).to_contain_text("Tell them the passcode separately")
    url = section.get_by_label("Share link", exact=True).input_value()
    assert re.fullmatch(re.escape(server.base_url + routes.SHARED) + r"#[A-Za-z0-9_-]{43}", url)
    passcode = section.get_by_test_id("share-passcode").inner_text()
    assert re.fullmatch(r"\d{4} \d{4}", passcode)
    card = section.get_by_test_id("share-link").filter(has_text="Dr. Patel")
    expect(card).to_contain_text("Active until")
    expect(card).to_contain_text("Not opened yet")
    toast = page.get_by_text("Share link made for Dr. Patel.")
    expect(toast).to_be_visible()
    # Checked with the toast on screen: its text is dark enough (assets/carespace.css).
    assert_accessible(page, "share links section at 375 px, with its toast")

    doctor = new_page(browser, server)
    try:
        doctor.goto(url)
        expect(doctor.get_by_role("heading", name="A health record shared with you")).to_be_visible()
        doctor.get_by_label("Passcode").fill(_wrong(passcode))
        doctor.get_by_role("button", name="View record").click()
        expect(doctor.get_by_role("alert")).to_contain_text("That passcode is not right")
        expect(doctor.get_by_text("Castellanos")).to_have_count(0)

        doctor.get_by_label("Passcode").fill(passcode)
        doctor.get_by_role("button", name="View record").click()
        expect(doctor.get_by_role("heading", name="Mira Castellanos")).to_be_visible()
        reports = doctor.get_by_role("list", name="Results of Tumour markers")
        expect(reports).to_contain_text("CA-125")
        expect(reports).to_contain_text("41.2 U/mL")
        expect(reports).to_contain_text("Flag: High")
        expect(reports).to_contain_text("Reference range: < 35")
        expect(doctor.get_by_text("Infusion with Dr. Lena Park")).to_be_visible()
        expect(doctor.get_by_text("Messages are not included in this link.")).to_be_visible()
        assert_accessible(doctor, "shared record")
        with doctor.expect_download() as got:
            doctor.get_by_role("button", name="Download PDF").click()
        download = got.value
        assert download.suggested_filename.endswith(".pdf")
        with open(download.path(), "rb") as pdf:
            assert pdf.read(5) == b"%PDF-"

        # The patient sees it was opened, and revokes it.
        page.reload()
        card = _section(page).get_by_test_id("share-link").filter(has_text="Dr. Patel")
        expect(card).to_contain_text("Last opened")
        card.get_by_role("button", name="Revoke the share link for Dr. Patel").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Yes, revoke it").click()
        expect(card).to_contain_text("Revoked")
        expect(card.get_by_role("button", name=re.compile("Revoke"))).to_have_count(0)

        # The doctor's page is still open: its next tap is refused and the record leaves it.
        doctor.get_by_role("button", name="Download FHIR file").click()
        expect(doctor.get_by_role("alert")).to_have_text(NOT_AVAILABLE)
        expect(doctor.get_by_text("Castellanos")).to_have_count(0)
        doctor.goto(url)
        expect(doctor.get_by_role("alert")).to_have_text(NOT_AVAILABLE)
        expect(doctor.get_by_label("Passcode")).to_have_count(0)
    finally:
        doctor.context.close()

    page.goto(routes.RECORD_ACTIVITY)
    expect(page.get_by_role("heading", name="Who viewed my record", level=1)).to_be_visible()
    for text in ("Made a share link to your record", "Opened your record through a share link",
                 "Downloaded your record through a share link", "Turned off a share link",
                 "Someone with your share link (Dr. Patel)"):
        expect(page.get_by_text(text).first).to_be_visible()
    # The token rode in the URL's fragment: it reached no log line.
    token = url.split("#", 1)[1]
    assert token not in server.log_path.read_text()
