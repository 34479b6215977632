"""Admin › Messages: the queue across patients and the open conversation."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.ui import confirm_dialog, error_callout, field, notice_callout, primary_button
from carespace_app.state.admin_messages import AdminMessagesState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, pager, section, select_field, small_button


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(select_field("Category", "category", S.categories, default=S.category), min_width="12rem"),
            rx.box(select_field("Status", "status", S.statuses, default=S.status), min_width="9rem"),
            rx.checkbox("Unread only", name="unread_only", default_checked=S.unread_only, size="3"),
            primary_button("Filter", type="submit"),
            spacing="3", align="end", wrap="wrap",
        ),
        on_submit=S.apply_filters, width="100%",
    )


def _row(t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.cond(t.unread, rx.badge("Unread", color_scheme="amber"))),
        rx.table.cell(small_button(t.subject, on_click=S.open_thread(t.id), variant="ghost",
                                   aria_label="Open conversation " + t.subject)),
        rx.table.cell(rx.link(t.patient, href=routes.ADMIN_PATIENT + "?id=" + t.patient_id),
                      rx.text(t.mrn, size="1", color_scheme="gray")),
        rx.table.cell(t.category),
        rx.table.cell(t.status),
        rx.table.cell(t.last),
        rx.table.cell(t.replied_by),
    )


def _message(m) -> rx.Component:
    return rx.box(
        rx.text(rx.text.strong(m.author), " · ", rx.cond(m.from_staff, "Office", "Patient side"),
                " · ", m.at, size="2", color_scheme="gray"),
        rx.text(m.body, size="3", white_space="pre-wrap"),
        class_name=rx.cond(m.from_staff, "cs-msg cs-msg-office", "cs-msg"),
    )


CLOSE_QUESTION = "Close this conversation?"
CLOSE_EXPLAINED = ("The patient and their caregivers can read it but can no longer reply in it; "
                   "to ask something new they start a new message. You can reopen it later.")


def _close_dialog() -> rx.Component:
    """Closing asks first: the patient's side can no longer answer in it."""
    return confirm_dialog(
        small_button("Close"), CLOSE_QUESTION,
        ("“", S.thread.subject, "” with ", S.thread.patient, ". ", CLOSE_EXPLAINED),
        keep="Keep it open", confirm="Close conversation", on_confirm=S.close_thread,
        color_scheme="teal")


def _thread() -> rx.Component:
    return section(
        "Conversation",
        rx.hstack(
            rx.vstack(
                rx.heading(S.thread.subject, size="4", as_="h3"),
                rx.text(S.thread.patient, " · ", S.thread.category, " · status ",
                        rx.text.strong(S.thread.status), size="2"),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(S.thread.status == "closed",
                    small_button("Reopen", on_click=S.reopen_thread),
                    _close_dialog()),
            small_button("Back to the queue", on_click=S.close_thread_view, variant="outline"),
            spacing="2", width="100%", wrap="wrap", align="center",
        ),
        rx.vstack(rx.foreach(S.thread_messages, _message), spacing="2", width="100%"),
        notice_callout(S.reply_note),
        error_callout(S.reply_error),
        rx.form(
            rx.vstack(
                # A second tap of the same form carries the same key: stored once.
                rx.el.input(type="hidden", name="key", value=S.reply_key, read_only=True),
                field("Reply", rx.text_area(id="reply", name="reply", size="3", rows="5",
                                            width="100%", required=True), "reply",
                      hint="The patient is emailed that there's a new message; the email never "
                           "includes what you write."),
                primary_button("Send reply", type="submit", loading=S.replying),
                spacing="2", width="100%", align="start",
            ),
            on_submit=S.send_reply, key=S.reply_version, width="100%",
        ),
    )


def messages_page() -> rx.Component:
    return admin_shell(
        "Messages",
        rx.heading("Messages", size="7", as_="h1"),
        rx.cond(S.thread.is_not_none(), _thread()),
        section(
            "Message queue",
            _filters(),
            data_table(["", "Subject", "Patient", "Category", "Status", "Last message", "Replied by"],
                       S.queue, _row, "No conversations match these filters."),
            pager(S),
        ),
    )
