"""Labs: reports newest first with flagged results, and one test's history (table + chart).

A desktop shows each report's results as a table; a phone (below 640 px) shows each
result as a stacked card with every part in view (carespace.css, "Labs"). Critical
values have their own colour, their words and the office's number to tap.
"""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.records_ui import empty_state, flag_text, load_more, loading_or, page_title
from carespace_app.components.shell import portal_page
from carespace_app.components.ui import error_callout
from carespace_app.components.i18n import t
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.services.records.labs import CRITICAL_CALL
from carespace_app.state.labs import LabsState

NO_RESULTS = N_("No lab results yet. They appear here when they are ready.")

LINE = "var(--teal-11)"
BAND = "var(--green-9)"
# The x axis counts days (state/labs.py chart_day) of the practice's local time, so the
# label is read in UTC: "Oct 25, 2026" whatever the reader's own time zone.
# In the page's language (<html lang>, kept by components/i18n.py's LanguageSync).
DAY_LABEL_JS = ("(day) => new Date(day * 86400000).toLocaleDateString("
                "document.documentElement.lang === 'es' ? 'es-US' : 'en-US', "
                "{month: 'short', day: 'numeric', year: 'numeric', timeZone: 'UTC'})")
CALL_OFFICE = N_("Call {phone}")
CALL_OFFICE_PARAMS = {"phone": get_settings().office_phone}
ALL_REPORTS = N_("See all lab reports")


def _history_button(r) -> rx.Component:
    return rx.button(r.test_name, variant="ghost", size="3", on_click=LabsState.show_history(r.test_name),
                     aria_label=t("History of {test}", test=r.test_name), class_name="cs-test-button")


def _value(value, unit, corrected=None) -> rx.Component:
    parts = [rx.text(value, " ", unit, size="3", weight="bold")]
    if corrected is not None:
        parts.append(rx.cond(corrected, rx.text(t("(corrected)"), size="2", color_scheme="gray")))
    return rx.fragment(*parts)


def _result_row(r) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(_history_button(r)),
        rx.table.cell(_value(r.value, r.unit, r.corrected)),
        rx.table.cell(flag_text(r.flag_label, r.flag_icon)),
        rx.table.cell(rx.text(r.reference, size="3")),
        class_name=rx.cond(r.critical, "cs-lab-critical", ""),
    )


def _results_table(results) -> rx.Component:
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(t("Test")),
                rx.table.column_header_cell(t("Result")),
                rx.table.column_header_cell(t("Flag")),
                rx.table.column_header_cell(t("Reference range")),
            )),
            rx.table.body(rx.foreach(results, _result_row)),
            size="2", width="100%",
        ),
        class_name="cs-table-wrap cs-lab-table",
    )


def _fact(term, *detail: rx.Component) -> list[rx.Component]:
    return [rx.el.dt(term), rx.el.dd(*detail)]


def _result_card(r) -> rx.Component:
    """One result on a phone: the test, then its value, flag and range, one under another."""
    return rx.el.li(
        _history_button(r),
        rx.el.dl(
            *_fact(t("Result"), _value(r.value, r.unit, r.corrected)),
            *_fact(t("Flag"), flag_text(r.flag_label, r.flag_icon)),
            *_fact(t("Reference range"), rx.text(r.reference, size="3")),
            class_name="cs-lab-facts",
        ),
        class_name=rx.cond(r.critical, "cs-lab-card cs-lab-critical", "cs-lab-card"),
    )


def _result_cards(report) -> rx.Component:
    return rx.el.ul(rx.foreach(report.results, _result_card), class_name="cs-lab-cards",
                    aria_label=t("Results of {panel}", panel=report.panel))


def critical_call() -> rx.Component:
    """What to do about a critical value, with the number to tap (a 44 px target)."""
    return rx.box(
        rx.hstack(
            rx.icon("triangle-alert", size=20, aria_hidden="true"),
            rx.text(t(CRITICAL_CALL), size="3", weight="bold"),
            spacing="2", align="center",
        ),
        rx.link(rx.icon("phone", size=18, aria_hidden="true"),
                t(CALL_OFFICE, **CALL_OFFICE_PARAMS),
                href=f"tel:{get_settings().office_phone_tel}", class_name="cs-call-button"),
        class_name="cs-lab-critical-call",
    )


def _report(report) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.flex(
                    rx.heading(report.panel, size="5", as_="h2", class_name="cs-wrap"),
                    rx.cond(report.abnormal_count > 0,
                            rx.badge(t("{n} outside the range", n=report.abnormal_count.to_string()),
                                     color_scheme="amber", high_contrast=True, size="2")),
                    justify="between", align="center", spacing="2", wrap="wrap", width="100%",
                ),
                rx.cond(report.critical_count > 0, critical_call()),
                rx.text(rx.text.strong(t("Collected: ")), report.collected, size="3"),
                rx.text(rx.text.strong(t("Resulted: ")), report.resulted, size="3"),
                rx.text(rx.text.strong(t("Ordering provider: ")), report.provider, size="3"),
                _results_table(report.results),
                _result_cards(report),
                spacing="2", width="100%", align="stretch",
            ),
            size="2", width="100%",
        ),
        id="report-" + report.id,
    )


def _chart(with_band: bool) -> rx.Component:
    parts = []  # y1/y2 below: .to(int) is a type cast for the prop check; JS keeps the decimals
    if with_band:
        parts.append(rx.recharts.reference_area(
            y1=LabsState.range_low.to(int), y2=LabsState.range_high.to(int),
            fill=BAND, fill_opacity=0.15,
            stroke=BAND, stroke_opacity=0.4, if_overflow="extendDomain",
            class_name="cs-reference-band"))
    parts += [
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        # A number axis: the gap between two points is the time between them.
        rx.recharts.x_axis(data_key="day", type_="number", domain=["dataMin", "dataMax"],
                           ticks=LabsState.chart_ticks.to(list[int]),  # a type cast: the ticks keep their decimals
                           tick_formatter=DAY_LABEL_JS,
                           interval="preserveStartEnd", padding={"left": 16, "right": 16}),
        rx.recharts.y_axis(width=48),
        rx.recharts.line(data_key="value", stroke=LINE, stroke_width=2, is_animation_active=False,
                         type_="linear"),
        rx.recharts.graphing_tooltip(custom_attrs={"labelFormatter": rx.Var(DAY_LABEL_JS)}),
    ]
    return rx.recharts.line_chart(*parts, data=LabsState.chart_data, width="100%", height=260,
                                  margin={"top": 10, "right": 16, "left": 0, "bottom": 10})


def _history_row(h) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(h.when, size="3")),
        rx.table.cell(_value(h.value, h.unit)),
        rx.table.cell(flag_text(h.flag_label, h.flag_icon)),
        rx.table.cell(rx.text(h.reference, size="3")),
    )


def _history_card(h) -> rx.Component:
    return rx.el.li(
        rx.text(h.when, size="3", weight="bold"),
        rx.el.dl(
            *_fact(t("Result"), _value(h.value, h.unit)),
            *_fact(t("Flag"), flag_text(h.flag_label, h.flag_icon)),
            *_fact(t("Reference range"), rx.text(h.reference, size="3")),
            class_name="cs-lab-facts",
        ),
        class_name="cs-lab-card",
    )


def history_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("History of {test}", test=LabsState.history_test)),
            rx.dialog.description(
                rx.cond(LabsState.has_range,
                        rx.text(t("The shaded band is the reference range ({range} {unit}).",
                                  range=LabsState.range_text, unit=LabsState.history_unit), size="2"),
                        rx.text(t("Every earlier value of this test."), size="2")),
            ),
            error_callout(LabsState.history_error),
            rx.box(
                rx.cond(LabsState.has_range, _chart(True), _chart(False)),
                role="img", aria_label=t("Trend chart of {test}", test=LabsState.history_test),
                width="100%", class_name="cs-chart",
            ),
            rx.heading(t("Earlier values"), size="4", as_="h3", margin_top="1rem"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell(t("Collected")),
                        rx.table.column_header_cell(t("Result")),
                        rx.table.column_header_cell(t("Flag")),
                        rx.table.column_header_cell(t("Reference range")),
                    )),
                    rx.table.body(rx.foreach(LabsState.history_rows, _history_row)),
                    size="2", width="100%",
                ),
                class_name="cs-table-wrap cs-lab-table",
            ),
            rx.el.ul(rx.foreach(LabsState.history_rows, _history_card), class_name="cs-lab-cards",
                     aria_label=t("Earlier values")),
            rx.flex(rx.dialog.close(rx.button(t("Close"), size="3", min_height="44px")),
                    justify="end", margin_top="1rem"),
            max_width="48rem", width="calc(100vw - 1.5rem)",
        ),
        open=LabsState.history_open,
        on_open_change=LabsState.set_history_open,
    )


def _held_note(line) -> rx.Component:
    # A result held until the care team reviews it (result_release): that it exists, and
    # by when it appears; never what it is.
    return rx.callout(line, icon="clock", color_scheme="blue", size="3", high_contrast=True,
                      role="status", class_name="cs-held-note")


def labs_page() -> rx.Component:
    return portal_page(
        "Labs",
        page_title(t("Labs")),
        rx.text(t("Select a test's name to see its earlier values and a chart."), size="3"),
        error_callout(LabsState.error),
        loading_or(
            LabsState.loaded,
            rx.vstack(
                rx.foreach(LabsState.held_notes, _held_note),
                rx.cond(
                    LabsState.reports.length() > 0,
                    rx.el.ul(rx.foreach(LabsState.reports, _report), class_name="cs-list cs-list-gap",
                             aria_label=t("Lab reports")),
                    empty_state(t(NO_RESULTS), "flask-conical"),
                ),
                rx.cond(LabsState.opened_report != "",
                        rx.link(t(ALL_REPORTS), href=routes.LABS, size="3", class_name="cs-more-link")),
                load_more(t("Show more reports"), LabsState.has_more, LabsState.more_reports),
                spacing="3", width="100%", align="stretch",
            ),
        ),
        history_dialog(),
    )
