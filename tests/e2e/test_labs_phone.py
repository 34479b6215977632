"""Labs on a 375 px phone: each result is a card with its test, value and unit, flag and
range all in view; the history chart's band for "< 35" starts at 0 and its time axis is
proportional (an 8-week gap is twice a 4-week one)."""
from __future__ import annotations

from playwright.sync_api import Page, expect

from carespace_app.services.records.labs import ResultInput

from .people import make_staff, registered_patient
from .phone import assert_fits_phone
from .records_office import enter_report


def ca125(value: str) -> ResultInput:
    return ResultInput(test_name="CA-125 tumor marker, serum", value=value, unit="U/mL",
                       ref_high=35.0)


def _inside(inner: dict, outer: dict) -> bool:
    return (inner["x"] >= outer["x"] - 1 and inner["y"] >= outer["y"] - 1
            and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 1)


def test_results_are_cards_on_a_phone_and_the_chart_is_true_to_time(server, phone_page: Page):
    page = phone_page
    page.set_default_timeout(20_000)
    staff = make_staff(server)
    patient = registered_patient(server, page, first="Ines", last="Fairweather-Montgomery")
    # Twelve weeks ago, eight weeks ago, today: gaps of 4 and 8 weeks.
    for days_ago, value in ((84, "412"), (56, "88.0"), (0.01, "52")):
        enter_report(server, staff, patient, days_ago=days_ago, panel="Tumor marker",
                     results=[ca125(value)])

    page.goto("/labs")
    reports = page.get_by_role("list", name="Lab reports").locator("> li")
    expect(reports).to_have_count(3)
    newest = reports.first
    expect(newest.get_by_role("table")).to_be_hidden()  # no table to scroll sideways
    card = newest.get_by_role("list", name="Results of Tumor marker").get_by_role("listitem")
    expect(card).to_have_count(1)
    for part in ("CA-125 tumor marker, serum", "52 U/mL", "High", "< 35"):
        expect(card.get_by_text(part, exact=True)).to_be_visible()
        assert _inside(card.get_by_text(part, exact=True).bounding_box(), card.bounding_box())
    assert _inside(card.bounding_box(), newest.bounding_box())
    older = reports.nth(1)
    expect(older.get_by_role("list", name="Results of Tumor marker")).to_contain_text("88.0 U/mL")
    assert_fits_phone(page)

    card.get_by_role("button", name="History of CA-125 tumor marker, serum").click()
    dialog = page.get_by_role("dialog")
    chart = dialog.get_by_role("img", name="Trend chart of CA-125 tumor marker, serum")
    dots = chart.locator(".recharts-line-dots circle")
    expect(dots).to_have_count(3)
    x = sorted(float(dots.nth(i).get_attribute("cx")) for i in range(3))
    assert abs((x[2] - x[1]) - 2 * (x[1] - x[0])) < 3, x
    band = chart.locator(".recharts-reference-area").bounding_box()
    plot = chart.locator(".recharts-cartesian-grid").bounding_box()
    assert band["height"] > 10
    assert abs((band["y"] + band["height"]) - (plot["y"] + plot["height"])) < 2, (band, plot)
    expect(chart.get_by_text("0", exact=True)).to_be_visible()  # the y axis starts at 0
    values = dialog.get_by_role("list", name="Earlier values").get_by_role("listitem")
    expect(values).to_have_count(3)
    expect(values.first).to_contain_text("52 U/mL")
    assert_fits_phone(page)
