"""/shared#<token>: a record shared with a link and a passcode (issue #16). No sign-in."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t, t_rich
from carespace_app.components.records_ui import empty_state
from carespace_app.components.ui import brand, error_callout, field, office_phone_link, primary_button, text_input
from carespace_app.i18n import N_
from carespace_app.policy import SHARE_PASSCODE_DIGITS
from carespace_app.state.shared_record import (
    MESSAGES_LEFT_OUT,
    NO_MESSAGES,
    NO_REPORTS,
    NO_VISITS,
    SharedRecordState as S,
)

TITLE = N_("A health record shared with you")
ASK_PASSCODE = N_("The person who sent you this link also gave you a passcode, by phone, in "
                  "person or in another message. Enter it to see the record.")
PASSCODE_HINT = N_("{digits} digits, spaces don't matter.")
PRIVATE = N_("This is private health information. Please don't forward the link or the passcode.")
PAGE_TITLE = N_("Shared health record · CareSpace")


def _passcode_form() -> rx.Component:
    return rx.vstack(
        rx.text(t(ASK_PASSCODE), size="3"),
        rx.form(
            rx.vstack(
                field(t("Passcode"), text_input("passcode", auto_complete="off", input_mode="numeric",
                                             required=True, max_length=32), "passcode",
                      hint=t(PASSCODE_HINT, digits=SHARE_PASSCODE_DIGITS),
                      error=rx.cond(S.error_field == "passcode", S.error, "")),
                error_callout(rx.cond(S.error_field == "", S.error, "")),
                primary_button(t("View record"), type="submit", loading=S.busy, width="100%"),
                spacing="4", width="100%",
            ),
            on_submit=S.open_record,
            width="100%",
        ),
        spacing="4", width="100%", align="stretch",
    )


def _unavailable() -> rx.Component:
    return rx.callout(S.message, icon="link-2-off", color_scheme="amber", high_contrast=True,
                      size="3", role="alert", width="100%")


def _visit(v) -> rx.Component:
    return rx.el.li(
        rx.text(v.when, size="3", weight="bold"),
        rx.text(v.what, size="3"),
        rx.cond(v.cancelled, rx.badge(t("Cancelled"), color_scheme="gray", size="2")),
        rx.cond(v.location != "", rx.text(t("At {location}", location=v.location), size="3")),
        rx.cond(v.instructions != "", rx.text(t("Instructions: {text}", text=v.instructions), size="3")),
        class_name="cs-item cs-wrap",
    )


def _result(r) -> rx.Component:
    return rx.el.li(
        rx.text(r.test, size="3", weight="bold"),
        rx.text(t("Result: "), r.value, " ", r.unit,
                rx.cond(r.corrected, t(" (corrected)"), ""), size="3"),
        rx.text(t("Flag: "), rx.cond(r.flag != "", r.flag, t("Normal")), size="3",
                weight=rx.cond(r.flag != "", "bold", "regular")),
        rx.cond(r.reference != "", rx.text(t("Reference range: "), r.reference, size="3")),
        class_name="cs-item cs-wrap",
    )


def _report(report) -> rx.Component:
    return rx.el.li(
        rx.heading(report.panel, size="4", as_="h3", class_name="cs-wrap"),
        rx.text(report.dates, size="3", color_scheme="gray"),
        rx.el.ul(rx.foreach(report.results, _result), class_name="cs-list",
                 aria_label=t("Results of {panel}", panel=report.panel)),
        class_name="cs-item",
    )


def _message(m) -> rx.Component:
    return rx.el.li(
        rx.text(m.byline, size="3", weight="bold"),
        rx.text(m.body, size="3", white_space="pre-wrap"),
        class_name="cs-message cs-wrap",
    )


def _conversation(c) -> rx.Component:
    return rx.el.li(
        rx.heading(c.title, size="4", as_="h3", class_name="cs-wrap"),
        rx.el.ul(rx.foreach(c.messages, _message), class_name="cs-list"),
        class_name="cs-item",
    )


def _part(title, items, render, empty) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(title, size="5", as_="h2"),
            rx.cond(items.length() > 0,
                    rx.el.ul(rx.foreach(items, render), class_name="cs-list"),
                    empty_state(empty)),
            spacing="3", width="100%", align="stretch",
        ),
        size="2", width="100%",
    )


def _record() -> rx.Component:
    return rx.vstack(
        rx.card(
            rx.vstack(
                rx.heading(S.patient_name, size="6", as_="h2", class_name="cs-wrap"),
                rx.text(t("Date of birth: "), S.born, size="3"),
                rx.text(S.covers, size="3"),
                rx.text(S.shared_note, size="3", color_scheme="gray"),
                rx.flex(
                    primary_button(t("Download PDF"), on_click=S.download_pdf, variant="outline"),
                    primary_button(t("Download FHIR file"), on_click=S.download_fhir, variant="outline"),
                    spacing="3", wrap="wrap",
                ),
                spacing="2", width="100%", align="start",
            ),
            size="2", width="100%",
        ),
        error_callout(S.error),
        _part(t("Appointments"), S.visits, _visit, t(NO_VISITS)),
        _part(t("Lab results"), S.reports, _report, t(NO_REPORTS)),
        rx.cond(S.include_messages,
                _part(t("Messages"), S.conversations, _conversation, t(NO_MESSAGES)),
                rx.text(t(MESSAGES_LEFT_OUT), size="3", color_scheme="gray")),
        rx.text(t(PRIVATE), size="3", color_scheme="gray"),
        spacing="4", width="100%", align="stretch",
    )


def shared_record_page() -> rx.Component:
    from carespace_app.components.flash import flash_toast
    from carespace_app.components.navigate import full_page_navigate

    return rx.box(
        full_page_navigate(url=S.navigate_to, origin=S.navigate_from),
        flash_toast(),
        rx.el.main(
            rx.vstack(
                brand(),
                rx.heading(t(TITLE), size="7", as_="h1"),
                # Until the page has checked the link, nothing shows (a reload re-sends the
                # tab's last state before the check clears it).
                rx.cond(
                    rx.State.is_hydrated,
                    rx.match(
                        S.view,
                        ("passcode", rx.card(_passcode_form(), size="3", width="100%")),
                        ("record", _record()),
                        ("unavailable", _unavailable()),
                        rx.center(rx.spinner(size="3"), padding="2rem"),
                    ),
                    rx.center(rx.spinner(size="3"), padding="2rem"),
                ),
                rx.text(t_rich("Questions? Call the office at {phone}.", phone=office_phone_link()),
                        size="2", color_scheme="gray"),
                spacing="5", width="100%",
                max_width=rx.cond(S.view == "record", "60rem", "30rem"),
                align="stretch", margin_x="auto", padding_y="2.5rem", padding_x="1rem",
            ),
            on_unmount=S.leave,
        ),
        background=rx.color("gray", 2),
        min_height="100vh",
    )


def register(app: rx.App) -> None:
    app.add_page(shared_record_page, route=routes.SHARED, title=t(PAGE_TITLE),
                 on_load=S.load)
