"""Results on the patient's terms (issue #16): a patient asks to see tumour markers only after
the care team has reviewed them; the office enters a CA-125; the patient sees that a result is
waiting and by when, never what it is, and no email goes out; the office marks it reviewed;
the value appears and the "new results" email arrives. And a clinician's hold with a reason
and a date, released early with "Release now"."""
from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import Browser, Page, expect
from sqlmodel import select

from carespace_app import policy, timefmt
from carespace_app.clock import utcnow
from carespace_app.models import OutboxEmail
from carespace_app.services.mail.notifications import LAB_RESULTS_KIND
from carespace_app.services.records import result_release

from .axe_check import assert_accessible
from .harness import link_in
from .people import desk_page, make_staff, open_patient_page, registered_patient, sign_in
from .phone import assert_fits_phone
from .records_office import office

ADMIN_HOME = r"/admin/?$"
RESULTS_SUBJECT = "New results are available in CareSpace"
HOLD = "Hold them until my care team has reviewed them"
RIGHT_AWAY = "Show me new results right away"


def _results_emails_queued(server, to: str) -> int:
    """The outbox row is written with the report or its release, in the same transaction: a
    count of 0 here means no email was ever going to go."""
    with office(server) as db:
        return len(db.exec(select(OutboxEmail).where(OutboxEmail.to_address == to,
                                                     OutboxEmail.kind == LAB_RESULTS_KIND)).all())


def _card_fits(page: Page, card) -> None:
    """Nothing in the card is cut off or wider than the phone: every control and label lies
    inside the card, and the card inside the 375 px screen."""
    found = card.evaluate("""card => {
        const box = card.getBoundingClientRect();
        const out = [...card.querySelectorAll('label, legend, select, button, p, fieldset')]
            .filter(e => { const r = e.getBoundingClientRect();
                           return r.width > 0 && (r.left < box.left - 1 || r.right > box.right + 1); })
            .map(e => e.tagName + ': ' + (e.innerText || '').slice(0, 40));
        const clipped = [...card.querySelectorAll('*')]
            .filter(e => e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX === 'hidden')
            .map(e => e.tagName + '.' + e.className);
        return {left: box.left, right: box.right, width: window.innerWidth, out, clipped};
    }""")
    assert found["left"] >= 0 and found["right"] <= found["width"], found
    assert not found["out"] and not found["clipped"], found


def _enter_report(office_page: Page, *, panel: str, category: str, test: str, value: str,
                  unit: str, high: str) -> None:
    office_page.get_by_label("Panel", exact=True).fill(panel)
    office_page.get_by_label("Ordering provider", exact=True).fill("Dr. Anita Rao")
    collected = timefmt.to_local(utcnow() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    office_page.get_by_label("Collected", exact=True).fill(collected)
    office_page.get_by_label("Resulted", exact=True).fill(collected)
    office_page.get_by_label("Result category").select_option(category)
    office_page.get_by_label("Test (result 1)").fill(test)
    office_page.get_by_label("Value (result 1)").fill(value)
    office_page.get_by_label("Unit (result 1)").fill(unit)
    office_page.get_by_label("Reference high (result 1)").fill(high)


def test_a_patient_holds_tumour_markers_until_the_care_team_has_reviewed_them(
        server, phone_page: Page, browser: Browser):
    page = phone_page  # the patient, on a phone
    patient = registered_patient(server, page, first="Maren", last="Holloway")

    # Settings: "Tumour markers" held until reviewed, at most 7 days; everything else at once.
    page.goto("/settings")
    card = page.locator(".rt-Card").filter(
        has=page.get_by_role("heading", name="New test results"))
    expect(card).to_be_visible()
    markers = card.get_by_role("group", name="Tumour markers")
    expect(markers.get_by_role("radio", name=RIGHT_AWAY)).to_be_checked()  # the default
    markers.get_by_role("radio", name=HOLD).click()
    expect(markers.get_by_role("radio", name=HOLD)).to_be_checked()
    days = markers.get_by_label("At most")
    # 1 to 14 days, worded as people say them; the patient picks a week.
    options = days.locator("option").all_inner_texts()
    assert options == [result_release.days_words(n) for n in range(1, policy.RESULT_HOLD_MAX_DAYS + 1)]
    days.select_option("7")
    page.wait_for_timeout(300)  # the choice's event reaches the server before the click below
    assert_fits_phone(page)
    _card_fits(page, card)
    for button in (card.get_by_role("button", name="Save choices for new results"),
                   markers.get_by_role("radio", name=HOLD).locator("xpath=ancestor::label")):
        assert button.bounding_box()["height"] >= 44
    assert_accessible(page, "Settings, New test results, at 375 px")
    card.get_by_role("button", name="Save choices for new results").click()
    expect(page.get_by_text("Your choices for new results are saved.")).to_be_visible()

    page.reload()  # saved: the choice is there when Settings opens again
    markers = page.get_by_role("group", name="Tumour markers")
    expect(markers.get_by_role("radio", name=HOLD)).to_be_checked()
    expect(markers.get_by_label("At most")).to_have_value("7")
    expect(page.get_by_role("group", name="Pathology").get_by_role("radio", name=RIGHT_AWAY)).to_be_checked()

    # The office enters a CA-125 in "Tumour markers".
    staff = make_staff(server, name="Lena Labdesk")
    desk = desk_page(browser, server)
    try:
        sign_in(desk, staff, lands_on=ADMIN_HOME)
        open_patient_page(desk, patient)
        _enter_report(desk, panel="Ovarian tumour marker", category="Tumour markers",
                      test="CA-125", value="412", unit="U/mL", high="35")
        desk.get_by_role("button", name="Save lab report").click()
        expect(desk.get_by_text("Lab report saved and held")).to_be_visible()
        by_day = timefmt.day(utcnow() + timedelta(days=7))
        report = desk.locator(".cs-report").filter(has_text="Ovarian tumour marker")
        expect(report).to_contain_text("Held")
        expect(report).to_contain_text(
            f"Held at the patient's request until reviewed, at most until {by_day}")
        # The office still sees the value it entered.
        expect(report.get_by_role("row").filter(has_text="CA-125")).to_contain_text("412")

        # The patient sees that a result is waiting and by when; not what it is.
        page.goto("/labs")
        waiting = page.get_by_text(
            f"1 result will appear after your care team reviews it, by {by_day}.")
        expect(waiting).to_be_visible()
        main = page.get_by_role("main")
        expect(main).not_to_contain_text("CA-125")
        expect(main).not_to_contain_text("412")
        expect(main).not_to_contain_text("Ovarian")
        assert_fits_phone(page)
        assert_accessible(page, "Labs with a held result at 375 px")
        # ...and no email says results are in.
        assert _results_emails_queued(server, patient.email) == 0
        assert [m.subject for m in server.mailbox.all_to(patient.email)
                if RESULTS_SUBJECT in m.subject] == []

        # The care team reviews it.
        desk.get_by_role("button", name="Mark reviewed: Ovarian tumour marker").click()
        expect(desk.get_by_text("Marked reviewed. The patient can see it now")).to_be_visible()
        expect(report).to_contain_text("Shown to the patient")
        expect(report.get_by_role("button", name=re.compile("^Mark reviewed"))).to_have_count(0)
        expect(report.get_by_role("button", name=re.compile("^Release now"))).to_have_count(0)
    finally:
        desk.context.close()

    page.reload()
    ca125 = page.get_by_role("list", name="Lab reports").get_by_role("listitem").filter(
        has_text="Ovarian tumour marker")
    expect(ca125).to_have_count(1)
    expect(ca125).to_contain_text("CA-125")
    expect(ca125).to_contain_text("412")
    expect(page.get_by_text("will appear after your care team reviews")).to_have_count(0)

    mail = server.mailbox.wait_for(patient.email, RESULTS_SUBJECT)
    said = re.sub(r"https?://\S+", "", mail.subject + " " + mail.body)
    for secret in ("CA-125", "412", "tumour", "Tumour", "Ovarian"):
        assert secret not in said
    page.goto(link_in(mail, "/labs?report="))
    opened = page.get_by_role("list", name="Lab reports").get_by_role("listitem").filter(
        has_text="Ovarian tumour marker")
    expect(opened).to_have_count(1)
    expect(opened).to_contain_text("CA-125")
    assert _results_emails_queued(server, patient.email) == 1  # once, and only once


def test_a_clinician_holds_a_report_with_a_reason_and_releases_it_now(
        server, page: Page, browser: Browser):
    patient = registered_patient(server, page, first="Ada", last="Brennan")
    staff = make_staff(server, name="Olivia Frontdesk")
    desk = desk_page(browser, server)
    try:
        sign_in(desk, staff, lands_on=ADMIN_HOME)
        open_patient_page(desk, patient)
        _enter_report(desk, panel="Lymph node biopsy", category="Pathology", test="Ki-67",
                      value="80", unit="%", high="20")
        desk.get_by_role("checkbox", name="Hold this report until it is reviewed").click()
        desk.get_by_label("Reason for the hold").select_option("Waiting for related results")
        desk.get_by_label("Note (what the care team should know)").fill(
            "Dr. Rao wants the PET scan first.")
        today = timefmt.to_local(utcnow()).date()
        # Too far: at most 14 days. Said beside the field, and nothing typed is lost.
        desk.get_by_label("Released by itself on").fill((today + timedelta(days=15)).isoformat())
        desk.get_by_role("button", name="Save lab report").click()
        expect(desk.get_by_text(result_release.RELEASE_DATE_RANGE.format(
            most=policy.in_words(timedelta(days=policy.RESULT_HOLD_MAX_DAYS))))).to_be_visible()
        expect(desk.get_by_label("Test (result 1)")).to_have_value("Ki-67")
        expect(desk.get_by_label("Note (what the care team should know)")).to_have_value(
            "Dr. Rao wants the PET scan first.")

        release_on = today + timedelta(days=3)
        desk.get_by_label("Released by itself on").fill(release_on.isoformat())
        desk.get_by_role("button", name="Save lab report").click()
        expect(desk.get_by_text("Lab report saved and held")).to_be_visible()
        report = desk.locator(".cs-report").filter(has_text="Lymph node biopsy")
        day = timefmt.day(release_on)
        expect(report).to_contain_text(
            f"Held by Olivia Frontdesk: Waiting for related results. Released by itself on {day}")

        page.goto("/labs")
        expect(page.get_by_text(
            f"1 result will appear after your care team reviews it, by {day}.")).to_be_visible()
        expect(page.get_by_role("main")).not_to_contain_text("Ki-67")
        expect(page.get_by_role("main")).not_to_contain_text("biopsy")
        assert _results_emails_queued(server, patient.email) == 0

        # Release now asks first; keeping it held changes nothing.
        desk.get_by_role("button", name="Release now: Lymph node biopsy").click()
        confirm = desk.get_by_role("alertdialog")
        expect(confirm).to_contain_text("Release Lymph node biopsy now?")
        confirm.get_by_role("button", name="Keep it held").click()
        expect(desk.get_by_role("alertdialog")).to_have_count(0)
        expect(report).to_contain_text("Held by Olivia Frontdesk")
        desk.get_by_role("button", name="Release now: Lymph node biopsy").click()
        desk.get_by_role("alertdialog").get_by_role("button", name="Release now").click()
        expect(desk.get_by_text("Released. The patient can see it now")).to_be_visible()
        expect(report).to_contain_text("Shown to the patient")
    finally:
        desk.context.close()

    page.reload()
    biopsy = page.get_by_role("list", name="Lab reports").get_by_role("listitem").filter(
        has_text="Lymph node biopsy")
    expect(biopsy).to_contain_text("Ki-67")
    expect(biopsy).to_contain_text("80")
    expect(page.get_by_text("will appear after your care team reviews")).to_have_count(0)
    server.mailbox.wait_for(patient.email, RESULTS_SUBJECT)
    assert _results_emails_queued(server, patient.email) == 1
