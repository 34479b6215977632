"""Admin › Messages: the urgent items, the queue across patients and the open conversation."""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var, VarData

from carespace_app import routes
from carespace_app.components.ui import confirm_dialog, error_callout, field, notice_callout, primary_button
from carespace_app.policy import URGENT_HIGHLIGHT_AFTER, URGENT_REFRESH_EVERY, in_words
from carespace_app.services.records.urgent import CALLED, NOTE_MAX
from carespace_app.state.admin_messages import NOBODY, AdminMessagesState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, pager, section, select_field, small_button

URGENT_TITLE = "Urgent"
URGENT_EMPTY = "Nothing urgent right now."
URGENT_EXPLAINED = (f"Acknowledge each item once someone has acted on it. Items waiting "
                    f"{in_words(URGENT_HIGHLIGHT_AFTER)} or more are highlighted; new ones "
                    f"appear here on their own while this page is open.")
OVERDUE_WORD = "Overdue"
WAITING_WORD = f"Waiting over {in_words(URGENT_HIGHLIGHT_AFTER)}"
# Highlights (Radix colour steps keep the text's contrast).
HIGHLIGHT = "var(--red-3)"
HIGHLIGHT_BORDER = "2px solid var(--red-8)"


class UrgentRefresh(rx.Fragment):
    """Asks S.refresh_urgent every URGENT_REFRESH_EVERY while the page is visible, and at
    once when it becomes visible again after longer than that. Compiled into the bundle as
    a hook: our Content-Security-Policy forbids rx.call_script. The server does not count
    these as the staff member's activity (state/tab_guard.py NOT_ACTIVITY)."""

    def add_imports(self):
        return {"react": ["useEffect"]}

    def add_hooks(self):
        ask = Var.create(rx.EventChain(events=[S.refresh_urgent()], args_spec=lambda: []))
        every = int(URGENT_REFRESH_EVERY.total_seconds() * 1000)
        return [Var(
            f"""
const askUrgent = {ask};
useEffect(() => {{
  let asked = Date.now();
  const tick = () => {{
    if (document.visibilityState !== "visible") return;
    if (Date.now() - asked < {every} - 500) return;
    asked = Date.now();
    askUrgent();
  }};
  const timer = window.setInterval(tick, {every});
  document.addEventListener("visibilitychange", tick);
  return () => {{
    window.clearInterval(timer);
    document.removeEventListener("visibilitychange", tick);
  }};
}}, []);""",
            _var_data=VarData.merge(ask._get_all_var_data()),
        )]


def _filters() -> rx.Component:
    return rx.form(
        rx.hstack(
            rx.box(select_field("Category", "category", S.categories, default=S.category), min_width="12rem"),
            rx.box(select_field("Status", "status", S.statuses, default=S.status), min_width="9rem"),
            rx.box(rx.checkbox("Unread only", name="unread_only", default_checked=S.unread_only,
                               size="3"), class_name="cs-check-target"),
            rx.box(rx.checkbox("Mine", name="mine", default_checked=S.mine, size="3"),
                   class_name="cs-check-target"),
            primary_button("Filter", type="submit"),
            spacing="3", align="end", wrap="wrap",
        ),
        on_submit=S.apply_filters, width="100%",
    )


def _row(t) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.flex(
            rx.cond(t.urgent, rx.badge("Urgent", color_scheme="red", variant="solid")),
            rx.cond(t.overdue, rx.badge(OVERDUE_WORD, color_scheme="red")),
            rx.cond(t.unread, rx.badge("Unread", color_scheme="amber")),
            spacing="1", wrap="wrap")),
        rx.table.cell(small_button(t.subject, on_click=S.open_thread(t.id), variant="ghost",
                                   aria_label="Open conversation " + t.subject),
                      rx.cond(t.started_by != "",
                              rx.text("From ", t.started_by, size="2", color_scheme="gray"))),
        rx.table.cell(rx.link(t.patient, href=routes.ADMIN_PATIENT + "?id=" + t.patient_id),
                      rx.text(t.mrn, size="1", color_scheme="gray")),
        rx.table.cell(t.category),
        rx.table.cell(t.status),
        rx.table.cell(rx.cond(t.overdue, rx.text(t.due, weight="bold", color_scheme="red"),
                              rx.text(t.due))),
        rx.table.cell(t.assigned),
        rx.table.cell(t.last),
        rx.table.cell(t.replied_by),
        background=rx.cond(t.overdue, HIGHLIGHT, "transparent"),
    )


def _urgent_item(u) -> rx.Component:
    note_id = "urgent-note-" + u.id
    return rx.el.li(
        rx.vstack(
            rx.flex(
                rx.cond(u.overdue, rx.badge(WAITING_WORD, color_scheme="red", variant="solid")),
                rx.text(rx.text.strong(u.patient), " · ", u.mrn, " · ", u.kind, " · ", u.since,
                        size="3"),
                spacing="2", wrap="wrap", align="center",
            ),
            rx.el.ul(rx.foreach(u.lines, lambda line: rx.el.li(rx.text(line, size="3"))),
                     class_name="cs-list"),
            rx.link("Open", href=u.link, size="3", class_name="cs-tap-link",
                    aria_label="Open the urgent item of " + u.patient),
            rx.cond((S.note_error != "") & (S.note_error_for == u.id),
                    rx.text(S.note_error, size="2", color_scheme="red", role="alert")),
            rx.flex(
                rx.form(
                    rx.el.input(type="hidden", name="item_id", value=u.id, read_only=True),
                    rx.el.input(type="hidden", name="note", value=CALLED, read_only=True),
                    primary_button(CALLED, type="submit", loading=S.acknowledging == u.id),
                    on_submit=S.acknowledge,
                ),
                rx.form(
                    rx.flex(
                        rx.el.input(type="hidden", name="item_id", value=u.id, read_only=True),
                        rx.vstack(
                            rx.el.label("Or say what was done", html_for=note_id,
                                        class_name="cs-label"),
                            rx.input(id=note_id, name="note", size="3", max_length=NOTE_MAX,
                                     width="100%"),
                            spacing="1", width="100%", min_width="12rem", flex="1",
                        ),
                        primary_button("Acknowledge", type="submit", variant="soft"),
                        spacing="2", align="end", wrap="wrap", width="100%",
                    ),
                    on_submit=S.acknowledge, flex="1",
                    min_width="min(100%, 20rem)",
                ),
                spacing="3", align="end", wrap="wrap", width="100%",
            ),
            spacing="2", width="100%", align="stretch",
        ),
        class_name="cs-message",
        style={"background": rx.cond(u.overdue, HIGHLIGHT, "transparent"),
               "border": rx.cond(u.overdue, HIGHLIGHT_BORDER, "1px solid var(--gray-6)"),
               "border_radius": "8px", "padding": "0.75rem"},
    )


def _urgent() -> rx.Component:
    return section(
        URGENT_TITLE,
        rx.text(URGENT_EXPLAINED, size="2", color_scheme="gray"),
        rx.cond(
            S.urgent_items.length() > 0,
            rx.el.ul(rx.foreach(S.urgent_items, _urgent_item), class_name="cs-list",
                     aria_label="Urgent items"),
            rx.text(URGENT_EMPTY, size="3", color_scheme="gray"),
        ),
        UrgentRefresh.create(),
        id="urgent",
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


def _assign() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.box(
                field("Assigned to", rx.el.select(
                    rx.el.option(NOBODY, value=""),
                    rx.foreach(S.staff, lambda m: rx.el.option(m.name, value=m.id)),
                    id="assignee", name="assignee", default_value=S.thread.assigned_id,
                    key=S.thread.id + "-" + S.thread.assigned_id, class_name="cs-select"),
                      "assignee", error=S.assign_error),
                min_width="14rem",
            ),
            primary_button("Assign", type="submit", variant="soft"),
            spacing="3", align="end", wrap="wrap",
        ),
        on_submit=S.assign_thread, width="100%",
    )


def _thread() -> rx.Component:
    return section(
        "Conversation",
        rx.hstack(
            rx.vstack(
                rx.heading(S.thread.subject, size="4", as_="h3"),
                rx.text(S.thread.patient, " · ", S.thread.category, " · status ",
                        rx.text.strong(S.thread.status), size="2"),
                rx.cond(S.thread.urgent, rx.badge("Urgent", color_scheme="red", variant="solid")),
                rx.cond(S.thread.due != "", rx.text("Answer due ", S.thread.due, size="2")),
                spacing="1",
            ),
            rx.spacer(),
            rx.cond(S.thread.status == "closed",
                    small_button("Reopen", on_click=S.reopen_thread),
                    _close_dialog()),
            small_button("Back to the queue", on_click=S.close_thread_view, variant="outline"),
            spacing="2", width="100%", wrap="wrap", align="center",
        ),
        _assign(),
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
        _urgent(),
        rx.cond(S.thread.is_not_none(), _thread()),
        section(
            "Message queue",
            rx.text("Urgent conversations first, then by when the answer is due.", size="2",
                    color_scheme="gray"),
            _filters(),
            data_table(["", "Subject", "Patient", "Category", "Status", "Answer due",
                        "Assigned to", "Last message", "Replied by"],
                       S.queue, _row, "No conversations match these filters."),
            pager(S),
        ),
    )
