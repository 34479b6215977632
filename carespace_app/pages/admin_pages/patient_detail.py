"""Admin › one patient: check-ins, the record, the invitation, caregivers and conversations."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.ui import (confirm_dialog, error_callout, field, notice_callout,
                                         primary_button, text_input)
from carespace_app.state.admin_patient import AdminPatientState as S
from carespace_app.pages.admin_pages.appointments import appointments_section
from carespace_app.pages.admin_pages.checkins import checkins_section
from carespace_app.pages.admin_pages.labs import labs_section
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, section, small_button
from carespace_app.pages.admin_pages.patients import patient_fields


def _record() -> rx.Component:
    return section(
        "Record",
        error_callout(S.form_error),
        notice_callout(S.saved_note),
        rx.form(
            rx.vstack(
                *patient_fields(S.errors, S.patient),
                rx.text("Changing the email cancels any invitation link already sent: send a "
                        "new one after saving.", size="2", color_scheme="gray"),
                primary_button("Save changes", type="submit", loading=S.busy),
                spacing="3", width="100%", align="start",
            ),
            on_submit=S.save_patient, key=S.form_version, width="100%",
        ),
    )


def _invitation() -> rx.Component:
    not_registered = S.invitation_status != "registered"
    return section(
        "Invitation",
        rx.hstack(
            rx.text("Status: ", rx.text.strong(S.invitation_text), size="3",
                    data_invitation_status=S.invitation_status),
            rx.cond(S.invitation_expires != "",
                    rx.text("· link expires ", S.invitation_expires, size="3")),
            rx.cond(S.invitation_delivery != "",
                    rx.badge("Email: ", S.invitation_delivery, size="2")),
            spacing="2", align="center", wrap="wrap",
        ),
        rx.cond(
            not_registered,
            rx.hstack(
                rx.cond(S.invitation_status == "not invited",
                        primary_button("Send invitation", on_click=S.send_invitation,
                                       loading=S.busy),
                        primary_button("Send new link", on_click=S.send_invitation,
                                       loading=S.busy)),
                rx.text("Sent to ", S.patient.email, ". A new link cancels every earlier one.",
                        size="2", color_scheme="gray"),
                spacing="3", align="center", wrap="wrap",
            ),
        ),
    )


DESK_RECORD_NOTE = ("For a patient who asks at the desk: their record for the dates chosen, as "
                    "the PDF they would download themselves, to print or hand over. It is listed "
                    "in their Who viewed my record.")


def _desk_record() -> rx.Component:
    """Print record (PDF) (issue #16): the patient's right of access, at the desk."""
    def one(label, name, default):
        return rx.box(field(label, text_input(f"desk_{name}", name=name, type="date",
                                              default_value=default, required=True),
                            f"desk_{name}", error=S.desk_errors[name]),
                      min_width="12rem", flex="1")

    return section(
        "Print record",
        rx.text(DESK_RECORD_NOTE, size="2", color_scheme="gray"),
        error_callout(S.desk_error),
        rx.form(
            rx.vstack(
                rx.flex(one("From", "start", S.desk_start), one("To", "end", S.desk_end),
                        spacing="3", wrap="wrap", width="100%"),
                rx.checkbox("Include messages", name="messages", size="3"),
                primary_button("Print record (PDF)", type="submit", loading=S.desk_busy),
                spacing="3", width="100%", align="start",
            ),
            on_submit=S.print_record, width="100%", aria_label="Print record",
        ),
    )


def _caregiver_row(c) -> rx.Component:
    return rx.table.row(
        rx.table.cell(c.name),
        rx.table.cell(c.email),
        rx.table.cell(c.status, rx.cond(c.expires != "", rx.text(" until ", c.expires)),
                      rx.cond(c.note != "", rx.text(c.note, weight="bold",
                                                       data_testid="access-code"))),
        rx.table.cell(c.access),
        rx.table.cell(rx.hstack(
            rx.cond(c.can_send,
                    small_button("Send new link", on_click=S.send_caregiver_link(c.grant_id),
                                 aria_label="Send new link to " + c.email)),
            rx.cond(c.can_revoke, _revoke(c)),
            spacing="2", wrap="wrap",
        )),
    )


def _revoke(c) -> rx.Component:
    return confirm_dialog(
        small_button("Revoke access", color_scheme="red", aria_label="Revoke access for " + c.email),
        "Revoke access?",
        ("This is permanent. ", c.name, " loses access to this patient's portal at once."),
        keep="Keep access", confirm="Revoke access", on_confirm=S.revoke_caregiver(c.grant_id))


def _two_step_row(a) -> rx.Component:
    return rx.table.row(
        rx.table.cell(a.name),
        rx.table.cell(a.email),
        rx.table.cell(a.who),
        rx.table.cell(confirm_dialog(
            small_button("Reset two-step sign-in",
                         aria_label="Reset two-step sign-in for " + a.email),
            ("Reset two-step sign-in for ", a.name, "?"),
            "Their authenticator app and recovery codes stop working. They sign in with their "
            "password and set up two-step sign-in again. They are emailed about it.",
            keep="Cancel", confirm="Yes, reset", on_confirm=S.reset_two_step(a.user_id))),
    )


def _two_step() -> rx.Component:
    """Administrators: reset the second step of the patient's or a caregiver's account."""
    return rx.cond(
        S.is_admin,
        section("Two-step sign-in",
                rx.text("For someone who lost the phone with their authenticator app: after a "
                        "reset they sign in with their password alone and set it up again.",
                        size="2", color_scheme="gray"),
                data_table(["Name", "Email", "Account", "Actions"], S.two_step_accounts,
                           _two_step_row,
                           "No one with access to this portal has two-step sign-in on.")),
    )


def _thread_row(t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(t.subject, href=routes.ADMIN_MESSAGES + "?thread=" + t.id)),
        rx.table.cell(t.category),
        rx.table.cell(t.status),
        rx.table.cell(t.last),
        rx.table.cell(rx.cond(t.unread, rx.badge("Unread", color_scheme="amber"))),
    )


def patient_detail_page() -> rx.Component:
    body = rx.vstack(
        rx.hstack(
            rx.vstack(
                rx.heading(S.patient.name, size="7", as_="h1"),
                rx.text("MRN ", S.patient.mrn, " · born ", S.patient.dob_text, size="3",
                        color_scheme="gray"),
                spacing="1",
            ),
            rx.spacer(),
            small_button("View as patient", on_click=S.view_as_patient, variant="outline"),
            align="center", width="100%", wrap="wrap",
        ),
        checkins_section(),
        _invitation(),
        _record(),
        section("Caregivers (authorized users)",
                data_table(["Name", "Email", "Status", "Access", "Actions"], S.caregivers, _caregiver_row,
                           "No authorized users. The patient adds them from Manage Users.")),
        _two_step(),
        section("Conversations",
                data_table(["Subject", "Category", "Status", "Last message", ""], S.threads,
                           _thread_row, "No messages yet.")),
        appointments_section(),
        labs_section(),
        _desk_record(),
        spacing="4", width="100%", align="stretch",
    )
    return admin_shell(
        "Patients",
        rx.link("← All patients", href=routes.ADMIN, size="2"),
        rx.cond(S.found, body, rx.text("We couldn't find that patient record.", size="3")),
    )
