"""Admin › a patient's appointments: book, change and cancel (on the patient's page)."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.state.admin_appointments import AdminAppointmentsState as S
from carespace_app.pages.admin_pages.layout import data_table, section, select_field, small_button


def _form(prefix: str, values, on_submit, button: str, extra=None) -> rx.Component:
    """Both forms share labels; ids differ so each label points at its own field."""
    def one(label, name, **props):
        default = values[name] if values is not None else props.pop("default", "")
        props.pop("default", None)
        return field(label, text_input(f"{prefix}{name}", name=name, default_value=default, **props),
                     f"{prefix}{name}",
                     error=None if name == "start_time" else S.errors[_error_key(name)])

    return rx.form(
        rx.vstack(
            rx.grid(
                select_field("Type", f"{prefix}appointment_type", S.types, name="appointment_type",
                             default=values["type"] if values is not None else None,
                             error=S.errors["appointment_type"]),
                one("Provider", "provider", required=True),
                one("Location", "location", required=True),
                one("Date", "start_date", type="date", required=True),
                one("Start time", "start_time", type="time", required=True),
                one("Length (minutes)", "duration_minutes", type="number", min=5, max=600,
                    default="30"),
                columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="3", width="100%",
            ),
            field("Instructions", rx.text_area(id=f"{prefix}instructions", name="instructions",
                                               default_value=values["instructions"] if values is not None else "",
                                               size="3", width="100%"),
                  f"{prefix}instructions", error=S.errors["instructions"]),
            rx.text("Times are in the practice's time zone.", size="2", color_scheme="gray"),
            rx.cond(
                S.past_question == prefix,
                _past_question(prefix),
                rx.hstack(primary_button(button, type="submit", loading=S.busy),
                          extra or rx.fragment(), spacing="3"),
            ),
            spacing="3", width="100%", align="start",
        ),
        on_submit=on_submit, key=S.form_version, width="100%",
    )


def _past_question(prefix: str) -> rx.Component:
    """The server refused a date in the past; the office confirms it or changes it."""
    return rx.callout.root(
        rx.callout.text(S.past_question_text, size="3"),
        # Sent with the next submit only while the question is on screen.
        rx.el.input(type="hidden", name="confirm_past", value="yes"),
        rx.hstack(
            primary_button("Book it anyway", type="submit", loading=S.busy),
            rx.button("Change the date", type="button", variant="soft", size="3",
                      on_click=[S.change_the_date, rx.set_focus(f"{prefix}start_date")]),
            spacing="3", wrap="wrap",
        ),
        color_scheme="amber", role="alert", width="100%",
    )


def _cancel_dialog(a) -> rx.Component:
    return confirm_dialog(
        small_button("Cancel appointment", color_scheme="red",
                     aria_label="Cancel appointment " + a.when),
        ("Cancel the appointment on ", a.when, "?"),
        "The patient will see it as Cancelled and gets an email saying their appointment "
        "changed. To see them after all, you would book a new appointment.",
        keep="Keep appointment", confirm="Yes, cancel appointment",
        on_confirm=S.cancel_appointment(a.id))


def _error_key(name: str) -> str:
    return "starts_at" if name in ("start_date", "start_time") else name


class _EditValues:
    """The appointment being changed, read field by field from the state var."""

    def __getitem__(self, name):
        mapping = {"provider": "provider", "location": "location", "start_date": "date",
                   "start_time": "time", "duration_minutes": "duration", "type": "type",
                   "instructions": "instructions"}
        return getattr(S.editing, mapping[name])


def _row(a, upcoming: bool) -> rx.Component:
    actions = rx.cond(a.can_change, rx.hstack(
        small_button("Edit", on_click=S.start_edit(a.id), aria_label="Edit appointment " + a.when),
        _cancel_dialog(a),
        spacing="2", wrap="wrap",
    )) if upcoming else rx.fragment()
    return rx.table.row(
        rx.table.cell(a.when), rx.table.cell(a.type), rx.table.cell(a.provider),
        rx.table.cell(a.location), rx.table.cell(a.duration, " min"),
        rx.table.cell(a.status), rx.table.cell(actions),
    )


def appointments_section() -> rx.Component:
    headers = ["When", "Type", "Provider", "Location", "Length", "Status", ""]
    return section(
        "Appointments",
        error_callout(S.form_error),
        rx.cond(
            S.editing.is_not_none(),
            rx.box(rx.heading("Change appointment", size="4", as_="h3"),
                   _form("edit_", _EditValues(), S.save_appointment, "Save appointment",
                         small_button("Stop editing", on_click=S.stop_edit, type="button")),
                   class_name="cs-editing"),
        ),
        rx.heading("Upcoming", size="4", as_="h3"),
        data_table(headers, S.upcoming, lambda a: _row(a, True), "No upcoming appointments."),
        rx.heading("Past", size="4", as_="h3"),
        data_table(headers, S.past, lambda a: _row(a, False), "No past appointments."),
        rx.heading("New appointment", size="4", as_="h3"),
        _form("new_", None, S.create_appointment, "Book appointment"),
    )
