"""Labs: a result outside the range is flagged in words; its history shows every
earlier value as a table and a chart with the reference range drawn."""
from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from .phone import assert_fits_phone
from .people import make_staff, registered_patient
from .records_office import enter_report, hemoglobin, wbc


def test_high_result_flagged_with_history_table_and_chart(server, page: Page):
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Nell", last="Garcia")
    enter_report(server, staff, patient, days_ago=30, panel="Complete blood count",
                 results=[wbc(6.1), hemoglobin(13.2)])
    enter_report(server, staff, patient, days_ago=1, panel="Complete blood count",
                 results=[wbc(12.4), hemoglobin(11.1)])

    page.goto("/labs")
    reports = page.get_by_role("list", name="Lab reports").get_by_role("listitem")
    expect(reports).to_have_count(2)
    newest = reports.nth(0)
    expect(newest).to_contain_text("Dr. Lena Park")
    wbc_row = newest.get_by_role("row").filter(has_text="White blood cells")
    expect(wbc_row).to_contain_text("12.4 K/uL")
    expect(wbc_row).to_contain_text("4–11")
    expect(wbc_row).to_contain_text("High")
    expect(newest.get_by_role("row").filter(has_text="Hemoglobin")).to_contain_text("Low")
    expect(reports.nth(1).get_by_role("row").filter(has_text="White blood cells")).to_contain_text("Normal")

    newest.get_by_role("button", name="History of White blood cells").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_role("heading", name="History of White blood cells")).to_be_visible()
    expect(dialog.get_by_role("heading", name="Earlier values")).to_be_visible()
    rows = dialog.get_by_role("table").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("12.4")  # newest first in the table
    expect(rows.nth(0)).to_contain_text("High")
    expect(rows.nth(1)).to_contain_text("6.1")
    expect(dialog.get_by_role("img", name="Trend chart of White blood cells").locator("svg")).to_be_visible()
    expect(dialog.locator("svg .recharts-reference-area")).to_have_count(1)
    expect(dialog.locator("svg .recharts-line")).to_have_count(1)

    # Home lists the newest report with what was outside the range.
    page.goto("/home")
    expect(page.get_by_text("white blood cells high", exact=False)).to_be_visible()


def test_labs_on_a_phone_fit_the_screen(server, phone_page: Page):
    page = phone_page
    page.set_default_timeout(20_000)
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Otto", last="Lindgren")
    enter_report(server, staff, patient, days_ago=2, panel="Comprehensive metabolic panel",
                 results=[wbc(31.0), hemoglobin(14.0)])
    page.goto("/labs")
    expect(page.get_by_role("button", name=re.compile(r"^Menu"))).to_be_visible()
    expect(page.get_by_role("navigation", name="Portal sections")).to_be_hidden()
    results = page.get_by_role("list", name="Results of Comprehensive metabolic panel")
    expect(results.get_by_role("listitem").filter(has_text="White blood cells")).to_contain_text(
        "Critical high")
    assert_fits_phone(page)
    page.get_by_role("button", name="History of White blood cells").click()
    expect(page.get_by_role("dialog").locator("svg .recharts-reference-area")).to_have_count(1)
    assert_fits_phone(page)
