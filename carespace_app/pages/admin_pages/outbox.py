"""Admin › Outbox: to, subject, kind and delivery status. Never a link or a body."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import primary_button
from carespace_app.state.admin_outbox import AdminOutboxState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, pager, section, select_field, small_button


def _row(e) -> rx.Component:
    return rx.table.row(
        rx.table.cell(e.created), rx.table.cell(e.to_address), rx.table.cell(e.subject),
        rx.table.cell(e.kind), rx.table.cell(e.status, data_status=e.status),
        rx.table.cell(e.attempts), rx.table.cell(e.error),
        rx.table.cell(rx.cond(e.retry,
                              small_button("Retry", on_click=S.retry(e.id),
                                           aria_label="Retry the email to " + e.to_address))),
    )


def outbox_page() -> rx.Component:
    return admin_shell(
        "Outbox",
        rx.heading("Outbox", size="7", as_="h1"),
        section(
            "Every email CareSpace sends",
            rx.form(
                rx.hstack(rx.box(select_field("Status", "status", S.statuses, default=S.status),
                                 min_width="12rem"),
                          primary_button("Filter", type="submit"), spacing="3", align="end"),
                on_submit=S.filter_status,
            ),
            data_table(["Created", "To", "Subject", "Kind", "Status", "Attempts", "Last error", ""],
                       S.emails, _row, "No emails with this status."),
            pager(S),
        ),
    )
