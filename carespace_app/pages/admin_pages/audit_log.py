"""Admin › Audit log: filtered by patient, person, action and dates; newest first."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import field, primary_button, text_input
from carespace_app.state.admin_audit import AdminAuditState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, pager, section


def _row(e) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e.at), rx.table.cell(e.actor, rx.text(e.role, size="1", color_scheme="gray")),
        rx.table.cell(e.patient), rx.table.cell(e.action, data_action=e.action),
        rx.table.cell(e.detail), rx.table.cell(e.ip),
    )


def audit_log_page() -> rx.Component:
    def one(label, name, **props):
        return field(label, text_input(name, default_value=S.filters[name], **props), name)

    filters = rx.form(
        rx.vstack(
            rx.grid(
                one("Patient MRN", "mrn"), one("Actor email", "actor_email", type="email"),
                one("Action", "action", placeholder="e.g. admin.refused"),
                one("From", "from_day", type="date"), one("To", "to_day", type="date"),
                columns=rx.breakpoints(initial="1", sm="2", lg="5"), spacing="3", width="100%",
            ),
            primary_button("Filter", type="submit"),
            spacing="3", width="100%", align="start",
        ),
        on_submit=S.apply_filters, width="100%",
    )
    return admin_shell(
        "Audit log",
        rx.heading("Audit log", size="7", as_="h1"),
        section("Filters", filters),
        section("Events, newest first",
                data_table(["When", "Who", "Patient", "Action", "Detail", "Address"], S.events, _row,
                           "No events match these filters."),
                pager(S)),
    )
