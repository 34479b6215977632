"""Admin › Patients: search the records, and the New patient form."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.config import get_settings
from carespace_app.state.admin_patients import AdminPatientsState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, pager, section


SEARCH_LABEL = "Search by name, MRN, email or date of birth"
SEARCH_EXAMPLE = f"Whitaker, Rose · 00042 · rose@ · {get_settings().office_phone} · 07/19/1952"
SEARCH_HINT = ("A first name, \u201cRose Whitaker\u201d or \u201cWhitaker, Rose\u201d, part of an MRN "
               "or email, a phone number typed any way, or a date of birth.")


def patient_fields(errors, values=None) -> list[rx.Component]:
    """MRN, names, date of birth, email and phone: shared by New patient and the record's edit."""
    values = {} if values is None else values

    def one(label, name, hint=None, **props):
        default = values.get(name, "") if isinstance(values, dict) else getattr(values, name)
        return field(label, text_input(name, default_value=default, **props), name, hint=hint,
                     error=errors[name])

    return [
        rx.grid(
            one("MRN", "mrn", required=True),
            one("First name", "first_name", required=True, auto_complete="off"),
            one("Last name", "last_name", required=True, auto_complete="off"),
            one("Date of birth", "date_of_birth", type="date", required=True),
            one("Email", "email", type="email", required=True, auto_complete="off"),
            one("Phone", "phone", type="tel", hint=f"Optional, like {get_settings().office_phone}."),
            _language_field(errors, values),
            columns=rx.breakpoints(initial="1", sm="2", lg="3"), spacing="3", width="100%",
        ),
    ]


def _language_field(errors, values) -> rx.Component:
    """The patient's preferred language: their invitation email is written in it."""
    default = values.get("language", "en") if isinstance(values, dict) else values.language
    return field("Preferred language", rx.el.select(
        rx.el.option("English", value="en", lang="en"),
        rx.el.option("Español", value="es", lang="es"),
        id="language", name="language", default_value=default, class_name="cs-select",
    ), "language", hint="Their invitation email is written in this language.",
        error=errors["language"])


def _row(p) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(p.name, href=routes.ADMIN_PATIENT + "?id=" + p.id)),
        rx.table.cell(p.mrn),
        rx.table.cell(p.dob),
        rx.table.cell(p.email),
        rx.table.cell(p.phone),
    )


def patients_page() -> rx.Component:
    search = section(
        "Find a patient",
        rx.form(
            rx.hstack(
                rx.box(field(SEARCH_LABEL,
                             text_input("query", default_value=S.query, type="search",
                                        placeholder=SEARCH_EXAMPLE),
                             "query"), flex="1", min_width="16rem"),
                primary_button("Search", type="submit"),
                align="end", spacing="3", wrap="wrap", width="100%",
            ),
            rx.text(SEARCH_HINT, size="2", color_scheme="gray", margin_top="0.25rem"),
            on_submit=S.search, width="100%",
        ),
        data_table(["Name", "MRN", "Date of birth", "Email", "Phone"], S.results, _row,
                   "No patients match. Check the spelling, or create the record below."),
        pager(S),
    )
    new_patient = section(
        "New patient",
        rx.text("Create the record first, then send the invitation from the patient's page.",
                size="2", color_scheme="gray"),
        error_callout(S.form_error),
        rx.form(
            rx.vstack(*patient_fields(S.errors), primary_button("Create patient record", type="submit", loading=S.busy),
                      spacing="3", width="100%", align="start"),
            on_submit=S.create_patient, width="100%",
        ),
    )
    return admin_shell("Patients", rx.heading("Patients", size="7", as_="h1"), search, new_patient)
