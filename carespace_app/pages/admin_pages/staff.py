"""Admin › Staff (administrators only): accounts, deactivation, password reset links."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.policy import RESET_TTL, in_words
from carespace_app.state.admin_staff import AdminStaffState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, section, small_button


def _deactivate_dialog(m) -> rx.Component:
    return confirm_dialog(
        small_button("Deactivate", color_scheme="red", aria_label="Deactivate " + m.email),
        ("Deactivate ", m.name, "'s account?"),
        "They are signed out everywhere at once and can't sign in until an administrator "
        "reactivates the account. Nothing they did is deleted.",
        keep="Keep account", confirm="Yes, deactivate", on_confirm=S.deactivate(m.id))


def _reset_two_step_dialog(m) -> rx.Component:
    return confirm_dialog(
        small_button("Reset two-step sign-in", aria_label="Reset two-step sign-in for " + m.email),
        ("Reset two-step sign-in for ", m.name, "?"),
        "Their authenticator app and recovery codes stop working. They sign in with their "
        "password and set up two-step sign-in again. They are emailed about it.",
        keep="Cancel", confirm="Yes, reset", on_confirm=S.reset_two_step(m.id))


def _row(m) -> rx.Component:
    return rx.table.row(
        rx.table.cell(m.name), rx.table.cell(m.email), rx.table.cell(m.role),
        rx.table.cell(m.status), rx.table.cell(m.message_email), rx.table.cell(m.two_step),
        rx.table.cell(rx.cond(m.me, rx.text("You", size="2"), rx.hstack(
            rx.cond(m.active,
                    _deactivate_dialog(m),
                    small_button("Reactivate", on_click=S.reactivate(m.id),
                                 aria_label="Reactivate " + m.email)),
            rx.cond(m.active,
                    small_button("Send password reset link", on_click=S.send_reset_link(m.id),
                                 aria_label="Send password reset link to " + m.email)),
            rx.cond(m.two_step == "On", _reset_two_step_dialog(m)),
            spacing="2", wrap="wrap"))),
    )


def staff_page() -> rx.Component:
    new_member = rx.form(
        rx.vstack(
            rx.grid(
                field("Email", text_input("email", type="email", required=True, auto_complete="off"),
                      "email", error=S.errors["email"]),
                field("Full name", text_input("full_name", required=True, auto_complete="off"),
                      "full_name", error=S.errors["full_name"]),
                columns=rx.breakpoints(initial="1", sm="2"), spacing="3", width="100%",
            ),
            rx.checkbox("Administrator (can manage staff accounts)", name="is_admin", size="3"),
            rx.text("No password is emailed: they get a link to choose their own "
                    f"(valid for {in_words(RESET_TTL)}).",
                    size="2", color_scheme="gray"),
            primary_button("Create staff account", type="submit", loading=S.busy),
            spacing="3", width="100%", align="start",
        ),
        on_submit=S.create_member, key=S.form_version, width="100%",
    )
    return admin_shell(
        "Staff",
        rx.heading("Staff accounts", size="7", as_="h1"),
        rx.cond(
            S.refused,
            rx.callout("Only the practice administrator manages staff accounts.", icon="lock",
                       color_scheme="amber", role="alert"),
            rx.vstack(
                section("Staff", data_table(["Name", "Email", "Role", "Status",
                                             "Emails about patient messages",
                                             "Two-step sign-in", ""],
                                            S.members, _row, "No staff accounts.")),
                section("New staff account", error_callout(S.form_error), new_member),
                spacing="4", width="100%", align="stretch",
            ),
        ),
    )
