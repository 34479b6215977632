"""Messages: the secure-messaging banner, the conversations, one conversation, New message."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t, t_rich
from carespace_app.components.records_ui import empty_state, loading_or, page_title, unread_badge
from carespace_app.components.shell import portal_page, read_only_note
from carespace_app.components.ui import error_callout, field, notice_callout, office_phone_link, primary_button, text_input
from carespace_app.i18n import N_
from carespace_app.services.records.messaging import BODY_MAX, CATEGORIES, SUBJECT_MAX
from carespace_app.config import get_settings
from carespace_app.services.records.symptoms import CALL_NOW, CALL_NOW_TITLE, office_tel
from carespace_app.state.messages import DRAFT_OFFER, DRAFT_SAVE_MS, MessagesState

CALL_OFFICE = N_("Call the office")
SEND_ANYWAY = N_("Send anyway")
EDIT_MESSAGE = N_("Edit message")
SEND_ANYWAY_HINT = N_("If you still want to send it as a message, choose Send anyway: the care "
                      "team sees it marked urgent. Messages are not read outside office hours.")
BANNER = N_("Use messages for non-urgent questions only; the office answers them during normal "
            "business hours. For an urgent request, call the office at {phone}. For a medical "
            "emergency, call {emergency}.")


def office_phone() -> str:
    return get_settings().office_phone


def _keep(handler, name: str, key):
    """What a field holds is kept as a draft: after a pause in typing, and when it is left.

    Each call carries the key of the send it belongs to: one still on its way after the
    send (the pause outlasts it) is recognised as late and ignored.
    """
    return {
        "on_change": lambda value: handler({name: value, "key": key}).debounce(DRAFT_SAVE_MS),
        "on_blur": lambda value: handler({name: value, "key": key}),
    }


def _send_key(key) -> rx.Component:
    # The form's send key: a second tap of the same form sends the same key (stored once).
    return rx.el.input(type="hidden", name="key", value=key, read_only=True)


def banner() -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("info", aria_hidden="true")),
        rx.callout.text(
            t_rich(BANNER, phone=office_phone_link(high_contrast=True, weight="bold"),
                   emergency=rx.link("9-1-1", href="tel:911", high_contrast=True, weight="bold")),
            size="3",
        ),
        color_scheme="amber", high_contrast=True, size="3", role="note", width="100%",
    )


def red_flag_banner(alert, on_edit, field_id: str, busy) -> rx.Component:
    """In place of the send button when a message names a red flag: call now, or send
    anyway, or edit. The form (and what was typed) stays as it was, under it."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("triangle-alert", aria_hidden="true")),
        rx.vstack(
            rx.text(t(CALL_NOW_TITLE), size="4", weight="bold", as_="p"),
            rx.text(alert, size="3", as_="p", class_name="cs-wrap"),
            rx.text(t(CALL_NOW, phone=office_phone()), size="3", as_="p", weight="medium"),
            rx.link(rx.icon("phone", aria_hidden="true"), t(CALL_OFFICE), href=office_tel(),
                    class_name="cs-call-button"),
            rx.text(t(SEND_ANYWAY_HINT), size="3", as_="p"),
            rx.flex(
                primary_button(t(SEND_ANYWAY), type="submit", color_scheme="red", variant="soft",
                               loading=busy),
                primary_button(t(EDIT_MESSAGE), type="button", variant="outline", color_scheme="gray",
                               on_click=on_edit, aria_controls=field_id),
                spacing="3", wrap="wrap",
            ),
            spacing="2", align="start", width="100%",
        ),
        color_scheme="red", high_contrast=True, size="3", role="alert", width="100%",
        id=f"{field_id}-red-flags",
    )


def _category_select() -> rx.Component:
    # A native select: its <label for> works everywhere and phones show their own picker.
    return rx.el.select(
        rx.el.option(t("Choose a category"), value="", disabled=True),
        *[rx.el.option(t(c), value=c) for c in CATEGORIES],
        id="category", name="category", default_value=MessagesState.compose_category,
        required=True, class_name="cs-select",
        on_change=lambda value: MessagesState.keep_compose(
            {"category": value, "key": MessagesState.compose_key}),
    )


def compose_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title(t("New message")),
            rx.dialog.description(t("Not for emergencies: for a medical emergency, call 9-1-1."),
                                  size="2"),
            rx.form(
                rx.vstack(
                    error_callout(MessagesState.compose_error),
                    _send_key(MessagesState.compose_key),
                    field(t("Category"), _category_select(), "category"),
                    field(t("Subject"), text_input(
                        "subject", max_length=SUBJECT_MAX, required=True,
                        default_value=MessagesState.compose_subject,
                        **_keep(MessagesState.keep_compose, "subject", MessagesState.compose_key)),
                          "subject"),
                    field(t("Message"), rx.text_area(
                        id="body", name="body", size="3", rows="6", max_length=BODY_MAX,
                        required=True, width="100%", default_value=MessagesState.compose_body,
                        **_keep(MessagesState.keep_compose, "body", MessagesState.compose_key)),
                          "body"),
                    rx.cond(
                        MessagesState.compose_alert != "",
                        red_flag_banner(MessagesState.compose_alert, MessagesState.edit_message,
                                        "body", MessagesState.sending),
                        rx.flex(
                            rx.dialog.close(rx.button(t("Cancel"), type="button", variant="soft",
                                                      color_scheme="gray", size="3")),
                            primary_button(t("Send message"), type="submit",
                                           loading=MessagesState.sending),
                            justify="end", spacing="3", wrap="wrap", width="100%",
                        ),
                    ),
                    spacing="4", width="100%", align="stretch",
                ),
                on_submit=MessagesState.send_message,
                width="100%",
            ),
            max_width="36rem",
        ),
        open=MessagesState.compose_open,
        on_open_change=MessagesState.set_compose_open,
    )


def _thread_item(t) -> rx.Component:
    # A link, not a button: opening a conversation is a page of its own in the history.
    return rx.el.li(
        rx.link(
            rx.vstack(
                rx.flex(
                    rx.text(t.subject, size="3", weight="bold", class_name="cs-wrap"),
                    unread_badge(t.unread),
                    justify="between", align="center", spacing="2", width="100%",
                ),
                rx.flex(
                    rx.text(t.category, size="2", color_scheme="gray"),
                    rx.text(t.when, size="2", color_scheme="gray"),
                    justify="between", spacing="2", wrap="wrap", width="100%",
                ),
                # The newest message's start, on one line.
                rx.text(t.preview, size="3", white_space="nowrap", overflow="hidden",
                        text_overflow="ellipsis", width="100%", min_width="0"),
                spacing="1", width="100%", align="stretch", min_width="0",
            ),
            href=t.href,
            underline="none",
            color_scheme="gray",
            high_contrast=True,
            class_name=rx.cond(t.unread, "cs-row-button cs-row-unread", "cs-row-button"),
        ),
    )


def thread_list() -> rx.Component:
    return rx.vstack(
        rx.cond(
            MessagesState.threads.length() > 0,
            rx.el.ul(rx.foreach(MessagesState.threads, _thread_item), class_name="cs-list",
                     aria_label=t("Your conversations")),
            empty_state(t("No messages yet — start one with New message"), "mail"),
        ),
        rx.flex(
            rx.cond(MessagesState.offset > 0,
                    rx.button(t("Previous"), variant="outline", size="3",
                              on_click=MessagesState.previous_page)),
            rx.cond(MessagesState.has_more,
                    rx.button(t("Next"), variant="outline", size="3", on_click=MessagesState.next_page)),
            spacing="3",
        ),
        spacing="3", width="100%", align="stretch",
    )


def _message(m) -> rx.Component:
    return rx.el.li(
        rx.vstack(
            rx.flex(
                rx.text(m.author, size="3", weight="bold"),
                rx.text(m.when, size="2", color_scheme="gray"),
                justify="between", spacing="2", wrap="wrap", width="100%",
            ),
            rx.text(m.body, size="3", white_space="pre-wrap", class_name="cs-wrap"),
            spacing="1", width="100%", align="stretch",
        ),
        class_name=rx.cond(m.from_staff, "cs-message cs-message-staff", "cs-message"),
    )


def thread_view() -> rx.Component:
    return rx.vstack(
        rx.link(rx.icon("arrow-left", aria_hidden="true"), t("All messages"), href=routes.MESSAGES,
                size="3", class_name="cs-action-link"),
        rx.heading(MessagesState.thread_subject, size="5", as_="h2", class_name="cs-wrap"),
        rx.text(MessagesState.thread_category, size="2", color_scheme="gray"),
        rx.el.ol(rx.foreach(MessagesState.thread_messages, _message), class_name="cs-list",
                 aria_label=t("Messages in this conversation")),
        rx.cond(MessagesState.thread_closed_note != "", closed_note(), reply_form()),
        spacing="3", width="100%", align="stretch",
    )


def closed_note() -> rx.Component:
    """In place of the reply box: the office closed it; a new question is a new message."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("info", aria_hidden="true")),
        rx.vstack(
            rx.callout.text(MessagesState.thread_closed_note, size="3"),
            primary_button(t("New message"), on_click=MessagesState.start_compose, type="button",
                           disabled=MessagesState.view_as),
            spacing="3", align="start",
        ),
        color_scheme="gray", high_contrast=True, size="3", role="status", width="100%",
    )


def reply_form() -> rx.Component:
    # A new round (sent, restored, another conversation) shows the box afresh.
    return rx.form(
        rx.vstack(
            notice_callout(MessagesState.reply_note),
            error_callout(MessagesState.reply_error),
            _send_key(MessagesState.reply_key),
            field(t("Reply"), rx.text_area(
                id="reply", name="reply", size="3", rows="4", max_length=BODY_MAX, width="100%",
                default_value=MessagesState.reply_text,
                **_keep(MessagesState.keep_reply, "reply", MessagesState.reply_key)), "reply"),
            rx.cond(
                MessagesState.reply_alert != "",
                red_flag_banner(MessagesState.reply_alert, MessagesState.edit_reply, "reply",
                                MessagesState.replying),
                primary_button(t("Send reply"), type="submit", loading=MessagesState.replying,
                               disabled=MessagesState.view_as),
            ),
            read_only_note(),
            spacing="3", width="100%", align="stretch",
        ),
        on_submit=MessagesState.send_reply,
        key=MessagesState.reply_round,
        width="100%",
    )


def _draft_offer(d) -> rx.Component:
    return rx.el.li(
        rx.callout.root(
            rx.callout.icon(rx.icon("pencil", aria_hidden="true")),
            rx.vstack(
                rx.callout.text(rx.text.strong(t(DRAFT_OFFER)), " — ", d.what, size="3",
                                class_name="cs-wrap"),
                rx.text(d.preview, size="3", class_name="cs-wrap"),
                rx.flex(
                    primary_button(t("Restore"), type="button",
                                   on_click=MessagesState.restore_draft(d.thread)),
                    primary_button(t("Discard"), type="button", variant="soft", color_scheme="gray",
                                   on_click=MessagesState.discard_draft(d.thread)),
                    spacing="3", wrap="wrap",
                ),
                spacing="2", align="start", width="100%", min_width="0",
            ),
            color_scheme="blue", high_contrast=True, size="3", width="100%",
        ),
    )


def draft_offers() -> rx.Component:
    """Unsent messages of this person in this portal: back in their form, or gone."""
    return rx.cond(
        MessagesState.drafts.length() > 0,
        rx.el.ul(rx.foreach(MessagesState.drafts, _draft_offer), class_name="cs-list",
                 aria_label=t("Unsent messages")),
    )


def messages_page() -> rx.Component:
    return portal_page(
        N_("Messages"),  # the tab's name (components/shell.py translates it)
        page_title(t("Messages"),
                   primary_button(t("New message"), on_click=MessagesState.start_compose,
                                  type="button", disabled=MessagesState.view_as)),
        read_only_note(),
        banner(),
        notice_callout(MessagesState.notice),
        error_callout(MessagesState.error),
        rx.cond(MessagesState.view_as, rx.fragment(), draft_offers()),
        loading_or(MessagesState.loaded,
                   rx.cond(MessagesState.thread_id != "", thread_view(), thread_list())),
        compose_dialog(),
    )
