"""Home: the signed-in patient's first page — next visits, messages, newest lab reports."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.records_ui import empty_state, loading_or, section, unread_badge
from carespace_app.components.shell import portal_page, shown_for
from carespace_app.components.ui import error_callout
from carespace_app.services.permissions import scopes
from carespace_app.services.records import symptoms
from carespace_app.state.portal import HomeState


def _visit(v) -> rx.Component:
    return rx.el.li(
        rx.text(v.when, size="3", weight="bold"),
        rx.text(v.type, " with ", v.provider, size="3"),
        rx.text(v.location, size="2", color_scheme="gray", class_name="cs-wrap"),
        class_name="cs-item",
    )


def _thread(t) -> rx.Component:
    return rx.el.li(
        rx.flex(
            rx.link(t.subject, href=routes.MESSAGES + "?thread=" + t.id, size="3",
                    weight="bold", class_name="cs-wrap"),
            unread_badge(t.unread),
            justify="between", align="center", spacing="2", width="100%",
        ),
        rx.text(t.category, " · ", t.when, size="2", color_scheme="gray"),
        class_name="cs-item",
    )


def _report(r) -> rx.Component:
    return rx.el.li(
        rx.text(r.panel, size="3", weight="bold"),
        rx.text("Resulted ", r.resulted, size="2", color_scheme="gray"),
        rx.cond(r.abnormal != "",
                rx.hstack(rx.icon("triangle-alert", size=16, aria_hidden="true"),
                          rx.text("Outside the range: ", r.abnormal, size="3"),
                          spacing="1", align="center", class_name="cs-flag"),
                rx.text("All results within the range", size="3")),
        class_name="cs-item",
    )


CHECKIN_TEXT = (f"A few questions from your care team about the last {symptoms.RECALL_SPAN}. "
                "It takes about 2 minutes.")
CHECKIN_START = "Start check-in"


def _checkin_due() -> rx.Component:
    return rx.cond(
        HomeState.checkin_due,
        rx.callout.root(
            rx.callout.icon(rx.icon("clipboard-list", aria_hidden="true")),
            rx.vstack(
                rx.heading(symptoms.DUE, size="5", as_="h2"),
                rx.text(CHECKIN_TEXT, size="3"),
                rx.link(CHECKIN_START, href=routes.CHECKIN, class_name="cs-link-button",
                        underline="none"),
                spacing="2", align="start",
            ),
            color_scheme="teal", size="3", width="100%",
        ),
    )


def home_page() -> rx.Component:
    return portal_page(
        "Home",
        rx.heading(HomeState.greeting, size="7", as_="h1"),
        error_callout(HomeState.error),
        _checkin_due(),
        loading_or(
            HomeState.loaded,
            rx.grid(
                section(
                    HomeState.visits_title,
                    rx.cond(HomeState.visits.length() > 0,
                            rx.el.ul(rx.foreach(HomeState.visits, _visit), class_name="cs-list"),
                            empty_state("No upcoming visits.", "calendar")),
                    link_text="All appointments", href=routes.APPOINTMENTS,
                ),
                shown_for(scopes.AREA_MESSAGES, section(
                    "Messages",
                    rx.text(rx.cond(HomeState.unread_messages == 1, "1 unread conversation",
                                    HomeState.unread_messages.to_string() + " unread conversations"),
                            size="3"),
                    rx.cond(HomeState.threads.length() > 0,
                            rx.el.ul(rx.foreach(HomeState.threads, _thread), class_name="cs-list"),
                            empty_state("No messages yet — start one with New message", "mail")),
                    link_text="Go to Messages", href=routes.MESSAGES,
                )),
                shown_for(scopes.AREA_LABS, section(
                    "Newest lab results",
                    rx.cond(HomeState.reports.length() > 0,
                            rx.el.ul(rx.foreach(HomeState.reports, _report), class_name="cs-list"),
                            empty_state("No lab results yet.", "flask-conical")),
                    link_text="All lab results", href=routes.LABS,
                )),
                columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%",
            ),
        ),
    )
