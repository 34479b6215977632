"""Admin › Office settings: when the office answers messages, and which words are alarms."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.services.records.practice_settings import PHRASE_MAX, RED_FLAGS_MAX
from carespace_app.services.records.red_flags import CHECKED_CATEGORIES, FEVER
from carespace_app.state.admin_office import AdminOfficeState as S
from carespace_app.pages.admin_pages.layout import admin_shell, section

HOURS_HINT = ("Leave both times empty on a day the office is closed. Every new conversation "
              "gets an automatic reply promising an answer by closing time of the next "
              "business day.")
HOLIDAYS_HINT = "One date per line, like 2026-12-25. The office counts them as closed days."
PHONE_HINT = "The number the automatic reply gives for after hours. Empty: the office phone, "
RED_FLAGS_HINT = (f"One phrase per line (at most {RED_FLAGS_MAX}, each up to {PHRASE_MAX} "
                  "characters). A message in these categories that mentions one shows the "
                  "patient “Please call the office now” before it can be sent: "
                  + ", ".join(sorted(CHECKED_CATEGORIES)) + ". A "
                  + FEVER + " is always checked.")
ROUTING_HINT = "Who a new conversation of each category is assigned to, unless changed."
NOBODY = "Nobody"


def _time(field_id: str, value) -> rx.Component:
    return rx.el.input(type="time", id=field_id, name=field_id, default_value=value,
                       class_name="cs-select", step="60")


def _day(d) -> rx.Component:
    opens, closes = d.key + "_opens", d.key + "_closes"
    return rx.el.fieldset(
        rx.el.legend(rx.text(d.name, size="3", weight="bold")),
        rx.grid(
            rx.vstack(
                rx.el.label(d.name + " opens", html_for=opens, class_name="cs-label"),
                _time(opens, d.opens),
                rx.cond(S.errors[opens] != "", rx.text(S.errors[opens], size="2",
                                                        color_scheme="red", role="alert")),
                spacing="1", width="100%",
            ),
            rx.vstack(
                rx.el.label(d.name + " closes", html_for=closes, class_name="cs-label"),
                _time(closes, d.closes),
                rx.cond(S.errors[closes] != "", rx.text(S.errors[closes], size="2",
                                                         color_scheme="red", role="alert")),
                spacing="1", width="100%",
            ),
            columns="2", spacing="3", width="100%",
        ),
        style={"border": "none", "padding": "0", "margin": "0", "min_width": "0"},
    )


def _route(r) -> rx.Component:
    return rx.vstack(
        rx.el.label(r.category, html_for=r.field, class_name="cs-label"),
        rx.el.select(
            rx.el.option(NOBODY, value=""),
            rx.foreach(S.staff, lambda m: rx.el.option(m.name, value=m.id)),
            id=r.field, name=r.field, default_value=r.chosen, class_name="cs-select",
        ),
        rx.cond(S.errors[r.field] != "", rx.text(S.errors[r.field], size="2", color_scheme="red",
                                                  role="alert")),
        spacing="1", width="100%",
    )


def office_settings_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            error_callout(S.form_error),
            section(
                "Business hours",
                rx.text(HOURS_HINT, size="2", color_scheme="gray"),
                rx.grid(rx.foreach(S.days, _day), columns=rx.breakpoints(initial="1", md="2"),
                        spacing="4", width="100%"),
            ),
            section(
                "Holidays and after hours",
                field("Holidays", rx.text_area(id="holidays", name="holidays", size="3", rows="5",
                                               width="100%", default_value=S.holidays),
                      "holidays", hint=HOLIDAYS_HINT, error=S.errors["holidays"]),
                field("After-hours phone number",
                      text_input("after_hours_phone", type="tel", auto_complete="off",
                                 default_value=S.after_hours_phone),
                      "after_hours_phone", hint=rx.text(PHONE_HINT, S.office_phone, "."),
                      error=S.errors["after_hours_phone"]),
            ),
            section(
                "Red flags",
                field("Red-flag phrases", rx.text_area(id="red_flags", name="red_flags", size="3",
                                                       rows="8", width="100%",
                                                       default_value=S.red_flags),
                      "red_flags", hint=RED_FLAGS_HINT, error=S.errors["red_flags"]),
            ),
            section(
                "Who gets each category",
                rx.text(ROUTING_HINT, size="2", color_scheme="gray"),
                rx.grid(rx.foreach(S.routes, _route), columns=rx.breakpoints(initial="1", sm="2"),
                        spacing="3", width="100%"),
            ),
            primary_button("Save office settings", type="submit", loading=S.saving),
            spacing="4", width="100%", align="stretch",
        ),
        on_submit=S.save, key=S.form_version, width="100%",
    )
    return admin_shell(
        "Office settings",
        rx.heading("Office settings", size="7", as_="h1"),
        rx.text("What the automatic reply to every new conversation promises, and which "
                "words in a patient's message are alarms.", size="3"),
        form,
    )

