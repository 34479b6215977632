"""Labs: reports newest first with flagged results, and one test's history (table + chart)."""
from __future__ import annotations

import reflex as rx

from ..components.records_ui import empty_state, flag_text, load_more, loading_or, page_title
from ..components.shell import portal_page
from ..components.ui import error_callout
from ..state.labs import LabsState

LINE = "var(--teal-11)"
BAND = "var(--green-9)"


def _result_row(r) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(
            rx.button(r.test_name, variant="ghost", size="3", on_click=LabsState.show_history(r.test_name),
                      aria_label="History of " + r.test_name, class_name="cs-test-button"),
        ),
        rx.table.cell(rx.text(r.value, " ", r.unit, size="3", weight="bold"),
                      rx.cond(r.corrected, rx.text("(corrected)", size="2", color_scheme="gray"))),
        rx.table.cell(flag_text(r.flag_label, r.flag_icon)),
        rx.table.cell(rx.text(r.reference, size="3")),
    )


def _results_table(results) -> rx.Component:
    # The flag comes before the range: on a phone it stays in view while the range scrolls.
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell("Test"),
                rx.table.column_header_cell("Result"),
                rx.table.column_header_cell("Flag"),
                rx.table.column_header_cell("Reference range"),
            )),
            rx.table.body(rx.foreach(results, _result_row)),
            size="2", width="100%",
        ),
        class_name="cs-table-wrap",
    )


def _report(report) -> rx.Component:
    return rx.el.li(
        rx.card(
            rx.vstack(
                rx.flex(
                    rx.heading(report.panel, size="5", as_="h2", class_name="cs-wrap"),
                    rx.cond(report.abnormal_count > 0,
                            rx.badge(report.abnormal_count.to_string() + " outside the range",
                                     color_scheme="amber", size="2")),
                    justify="between", align="center", gap="2", wrap="wrap", width="100%",
                ),
                rx.text(rx.text.strong("Collected: "), report.collected, size="3"),
                rx.text(rx.text.strong("Resulted: "), report.resulted, size="3"),
                rx.text(rx.text.strong("Ordering provider: "), report.provider, size="3"),
                _results_table(report.results),
                spacing="2", width="100%", align="stretch",
            ),
            size="2", width="100%",
        ),
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
        rx.recharts.x_axis(data_key="date", interval="preserveStartEnd"),
        rx.recharts.y_axis(width=48),
        rx.recharts.line(data_key="value", stroke=LINE, stroke_width=2, is_animation_active=False,
                         type_="monotone"),
        rx.recharts.graphing_tooltip(),
    ]
    return rx.recharts.line_chart(*parts, data=LabsState.chart_data, width="100%", height=260,
                                  margin={"top": 10, "right": 16, "left": 0, "bottom": 10})


def _history_row(h) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(h["when"], size="3")),
        rx.table.cell(rx.text(h["value"], " ", h["unit"], size="3", weight="bold")),
        rx.table.cell(flag_text(h["flag_label"], h["flag_icon"])),
        rx.table.cell(rx.text(h["reference"], size="3")),
    )


def history_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("History of ", LabsState.history_test),
            rx.dialog.description(
                rx.cond(LabsState.has_range,
                        rx.text("The shaded band is the reference range (", LabsState.range_text,
                                " ", LabsState.history_unit, ").", size="2"),
                        rx.text("Every earlier value of this test.", size="2")),
            ),
            error_callout(LabsState.history_error),
            rx.box(
                rx.cond(LabsState.has_range, _chart(True), _chart(False)),
                role="img", aria_label="Trend chart of " + LabsState.history_test,
                width="100%", class_name="cs-chart",
            ),
            rx.heading("Earlier values", size="4", as_="h3", margin_top="1rem"),
            rx.box(
                rx.table.root(
                    rx.table.header(rx.table.row(
                        rx.table.column_header_cell("Collected"),
                        rx.table.column_header_cell("Result"),
                        rx.table.column_header_cell("Flag"),
                        rx.table.column_header_cell("Reference range"),
                    )),
                    rx.table.body(rx.foreach(LabsState.history_rows, _history_row)),
                    size="2", width="100%",
                ),
                class_name="cs-table-wrap",
            ),
            rx.flex(rx.dialog.close(rx.button("Close", size="3", min_height="44px")),
                    justify="end", margin_top="1rem"),
            max_width="48rem", width="calc(100vw - 1.5rem)",
        ),
        open=LabsState.history_open,
        on_open_change=LabsState.set_history_open,
    )


def labs_page() -> rx.Component:
    return portal_page(
        "Labs",
        page_title("Labs"),
        rx.text("Select a test's name to see its earlier values and a chart.", size="3"),
        error_callout(LabsState.error),
        loading_or(
            LabsState.loaded,
            rx.vstack(
                rx.cond(
                    LabsState.reports.length() > 0,
                    rx.el.ul(rx.foreach(LabsState.reports, _report), class_name="cs-list cs-list-gap",
                             aria_label="Lab reports"),
                    empty_state("No lab results yet. They appear here as soon as the office "
                                "enters them.", "flask-conical"),
                ),
                load_more("Show more reports", LabsState.has_more, LabsState.more_reports),
                spacing="3", width="100%", align="stretch",
            ),
        ),
        history_dialog(),
    )
