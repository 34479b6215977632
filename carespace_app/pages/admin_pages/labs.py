"""Admin › a patient's lab reports: enter a report and its results (its category, an
optional LOINC code per test, an optional clinician's hold), correct a value, mark a
report reviewed or release a held one."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.models import RESULT_CATEGORIES
from carespace_app.services.records.result_release import (
    CLINICIAN_HOLD_REASONS, DEFAULT_CATEGORY, STATUS_HELD, STATUS_SHOWN,
)
from carespace_app.state.admin_labs import AdminLabsState as S
from carespace_app.pages.admin_pages.layout import section, select_field, small_button

CATEGORY_HINT = ("The patient may have asked to wait for results of some kinds until they are "
                 "reviewed; their choice follows this category.")
HOLD_HINT = ("Only for a reason: the patient sees that a result is waiting and by when, never "
             "its values. It is shown by itself on the release date.")


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
        cell("LOINC code (optional)", "loinc"),
        columns=rx.breakpoints(initial="2", md="4", lg="8"), spacing="2", width="100%",
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
            select_field("Result category", "category", list(RESULT_CATEGORIES),
                         default=DEFAULT_CATEGORY, error=S.errors["category"]),
            rx.text(CATEGORY_HINT, size="2", color_scheme="gray"),
            _hold_fields(),
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


def _hold_fields() -> rx.Component:
    return rx.vstack(
        rx.el.input(type="hidden", name="hold", value=rx.cond(S.hold_open, "on", "")),
        rx.box(rx.checkbox("Hold this report until it is reviewed", checked=S.hold_open,
                           on_change=S.choose_hold, size="3"),
               class_name="cs-check-target"),
        rx.cond(
            S.hold_open,
            rx.vstack(
                rx.text(HOLD_HINT, size="2", color_scheme="gray"),
                select_field("Reason for the hold", "hold_reason", list(CLINICIAN_HOLD_REASONS),
                             error=S.errors["hold_reason"]),
                field("Note (what the care team should know)",
                      rx.text_area(id="hold_note", name="hold_note", size="3", max_length=500),
                      "hold_note", error=S.errors["hold_note"]),
                field("Released by itself on", text_input("hold_release_on", type="date"),
                      "hold_release_on", error=S.errors["hold_release_on"]),
                spacing="2", width="100%", align="stretch",
            ),
        ),
        spacing="2", width="100%", align="stretch",
    )


def _release_actions(rep) -> rx.Component:
    return rx.hstack(
        rx.cond(~rep.reviewed,
                small_button("Mark reviewed", on_click=S.mark_reviewed(rep.id),
                             aria_label="Mark reviewed: " + rep.panel)),
        rx.cond(rep.held, confirm_dialog(
            small_button("Release now", aria_label="Release now: " + rep.panel),
            ("Release ", rep.panel, " now?"),
            "The patient (and their caregivers) can see it at once and are told by email.",
            keep="Keep it held", confirm="Release now", on_confirm=S.release_now(rep.id),
            color_scheme="blue")),
        spacing="2", wrap="wrap",
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
        rx.text(rx.text.strong(rep.panel), " · ", rep.category, " · collected ", rep.collected,
                " · resulted ", rep.resulted, " · ", rep.provider, size="2"),
        rx.hstack(
            rx.badge(rx.cond(rep.held, STATUS_HELD, STATUS_SHOWN),
                     color_scheme=rx.cond(rep.held, "amber", "green"), high_contrast=True, size="2"),
            rx.text(rep.release_status, size="2", class_name="cs-release-status"),
            spacing="2", wrap="wrap", align="center",
        ),
        _release_actions(rep),
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
