"""Appointments: upcoming visits soonest first, with "Add to calendar"; past ones apart."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.components.records_ui import empty_state, load_more, loading_or, page_title, section
from carespace_app.components.shell import portal_page
from carespace_app.components.ui import error_callout
from carespace_app.i18n import N_
from carespace_app.state.appointments import AppointmentsState


def _detail(label, value) -> rx.Component:
    return rx.cond(
        value != "",
        rx.text(rx.text.strong(label), " ", value, size="3", class_name="cs-wrap"),
    )


def _appointment(a, upcoming: bool) -> rx.Component:
    parts = [
        rx.flex(
            rx.text(a.day, size="4", weight="bold"),
            rx.cond(a.status != "", rx.badge(a.status, color_scheme="gray", size="2")),
            justify="between", align="center", spacing="2", wrap="wrap", width="100%",
        ),
        rx.text(a.time, size="3"),
        _detail(t("Type:"), a.type),
        _detail(t("Provider:"), a.provider),
        _detail(t("Location:"), a.location),
        _detail(t("Instructions:"), a.instructions),
    ]
    if upcoming:
        # A cancelled visit has nothing to add to a calendar.
        # The browser itself must ask the backend route for the file, with its session
        # cookie: reload_document stops React Router from handling the click in the page.
        parts.append(rx.cond(~a.cancelled, rx.el.a(
            rx.icon("calendar-plus", size=18, aria_hidden="true"), t("Add to calendar"),
            href=a.calendar, download=True, reload_document=True, class_name="cs-action-link",
        )))
    return rx.el.li(rx.vstack(*parts, spacing="1", width="100%", align="stretch"),
                    class_name="cs-item")


def appointment_list(rows, upcoming: bool, empty, label) -> rx.Component:
    return rx.cond(
        rows.length() > 0,
        rx.el.ul(rx.foreach(rows, lambda a: _appointment(a, upcoming)), class_name="cs-list",
                 aria_label=label),
        empty_state(empty, "calendar"),
    )


def appointments_page() -> rx.Component:
    return portal_page(
        N_("Appointments"),  # the tab's name (components/shell.py translates it)
        page_title(t("Appointments")),
        error_callout(AppointmentsState.error),
        loading_or(
            AppointmentsState.loaded,
            rx.vstack(
                section(t("Upcoming"),
                        appointment_list(AppointmentsState.upcoming, True,
                                         t("No upcoming appointments. The office will add them here "
                                           "when they are booked."), t("Upcoming appointments")),
                        load_more(t("Show more upcoming"), AppointmentsState.upcoming_more,
                                  AppointmentsState.more_upcoming)),
                section(t("Past"),
                        appointment_list(AppointmentsState.past, False,
                                         t("No past appointments yet."), t("Past appointments")),
                        load_more(t("Show more past"), AppointmentsState.past_more,
                                  AppointmentsState.more_past)),
                spacing="5", width="100%", align="stretch",
            ),
        ),
    )
