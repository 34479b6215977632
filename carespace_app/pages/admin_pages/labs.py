"""Admin › a patient's lab reports: enter a report and its results, correct a value."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.state.admin_labs import AdminLabsState as S
from carespace_app.pages.admin_pages.layout import section, small_button


def _result_row(n) -> rx.Component:
    """One result line; ids carry the row number so every label has its own field."""
    def cell(label, name, **props):
        field_id = f"{name}_" + n.to_string()
        return rx.box(
            rx.el.label(label, " (result ", n + 1, ")", html_for=field_id, class_name="cs-label"),
            rx.input(id=field_id, name=field_id, size="2", width="100%", **props),
        )

    return rx.grid(
        cell("Test", "test"), cell("Value", "value", input_mode="decimal"), cell("Unit", "unit"),
        cell("Reference low", "low", input_mode="decimal"),
        cell("Reference high", "high", input_mode="decimal"),
        # At or beyond a critical limit the patient reads "Critical — call the office now".
        cell("Critical low", "critical_low", input_mode="decimal"),
        cell("Critical high", "critical_high", input_mode="decimal"),
        columns=rx.breakpoints(initial="2", md="4", lg="7"), spacing="2", width="100%",
        class_name="cs-result-row",
    )


def _entry_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.el.input(type="hidden", name="form_key", value=S.form_key),
            rx.grid(
                field("Panel", text_input("panel", required=True), "panel", error=S.errors["panel"]),
                field("Ordering provider", text_input("ordering_provider", required=True),
                      "ordering_provider", error=S.errors["ordering_provider"]),
                field("Collected", text_input("collected_at", type="datetime-local", required=True),
                      "collected_at", error=S.errors["collected_at"]),
                field("Resulted", text_input("resulted_at", type="datetime-local", required=True),
                      "resulted_at", error=S.errors["resulted_at"]),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
            ),
            rx.heading("Results", size="3", as_="h4"),
            rx.foreach(S.rows, _result_row),
            rx.cond(S.errors["results"] != "",
                    rx.text(S.errors["results"], size="2", color_scheme="red", role="alert")),
            rx.hstack(
                small_button("Add another result", on_click=S.add_result_row, type="button"),
                primary_button("Save lab report", type="submit", loading=S.saving),
                spacing="3", wrap="wrap",
            ),
            rx.text("Times are in the practice's time zone. Flags are worked out from the "
                    "reference range and the critical limits when you save; values are shown "
                    "as you type them (1.0 stays 1.0).", size="2", color_scheme="gray"),
            spacing="3", width="100%", align="stretch",
        ),
        on_submit=S.enter_report, key=S.form_version, width="100%",
    )


def _correct(r) -> rx.Component:
    field_id = "correct_" + r.id
    return rx.popover.root(
        rx.popover.trigger(small_button("Correct value", aria_label="Correct value of " + r.test)),
        rx.popover.content(
            rx.form(
                rx.vstack(
                    rx.el.input(type="hidden", name="result_id", value=r.id),
                    rx.el.label("Corrected value for ", r.test, html_for=field_id, class_name="cs-label"),
                    rx.input(id=field_id, name="value", size="2", input_mode="decimal",
                             default_value=r.value),
                    rx.text("The earlier value stays in the audit log.", size="1", color_scheme="gray"),
                    rx.popover.close(small_button("Save correction", type="submit", variant="solid")),
                    spacing="2",
                ),
                on_submit=S.correct_result,
            ),
        ),
    )


def _flag(r) -> rx.Component:
    return rx.cond(
        r.critical,
        rx.badge(rx.icon("triangle-alert", size=14, aria_hidden="true"), r.flag,
                 color_scheme="red", variant="solid", size="2"),
        rx.cond(r.abnormal,
                rx.badge(r.flag, color_scheme="amber", high_contrast=True, size="2"),
                rx.text(r.flag, size="2")))


def _report(rep) -> rx.Component:
    return rx.box(
        rx.text(rx.text.strong(rep.panel), " · collected ", rep.collected, " · resulted ",
                rep.resulted, " · ", rep.provider, size="2"),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in
                                               ["Test", "Value", "Unit", "Reference range", "Flag", ""]])),
                rx.table.body(rx.foreach(rep.results, lambda r: rx.table.row(
                    rx.table.cell(r.test),
                    rx.table.cell(r.value, rx.cond(r.corrected,
                                                      rx.badge("Corrected", margin_left="0.5rem"))),
                    rx.table.cell(r.unit), rx.table.cell(r.reference),
                    rx.table.cell(_flag(r), data_flag=r.flag), rx.table.cell(_correct(r)),
                ))),
                variant="surface", size="1", width="100%",
            ),
            class_name="cs-table-wrap",
        ),
        class_name="cs-report", data_report=rep.id,
    )


def labs_section() -> rx.Component:
    return section(
        "Lab reports",
        rx.cond(S.reports.length() > 0, rx.vstack(rx.foreach(S.reports, _report), spacing="3",
                                                  width="100%"),
                rx.text("No lab reports yet.", size="3", color_scheme="gray")),
        rx.heading("Enter a lab report", size="4", as_="h3"),
        error_callout(S.form_error),
        _entry_form(),
    )
