"""Home: the signed-in patient's first page — next visits, messages, newest lab reports."""
from __future__ import annotations

import reflex as rx

from carespace_app import i18n, routes
from carespace_app.components.i18n import t
from carespace_app.components.records_ui import empty_state, loading_or, section, unread_badge
from carespace_app.components.shell import portal_page, shown_for
from carespace_app.components.ui import error_callout
from carespace_app.services.permissions import scopes
from carespace_app.i18n import N_
from carespace_app.policy import CHECKIN_RECALL
from carespace_app.services.records import symptoms
from carespace_app.state.portal import HomeState


def _visit(v) -> rx.Component:
    return rx.el.li(
        rx.text(v.when, size="3", weight="bold"),
        rx.text(t("{type} with {provider}", type=v.type, provider=v.provider), size="3"),
        rx.text(v.location, size="2", color_scheme="gray", class_name="cs-wrap"),
        class_name="cs-item",
    )


def _thread(row) -> rx.Component:
    return rx.el.li(
        rx.flex(
            rx.link(row.subject, href=routes.MESSAGES + "?thread=" + row.id, size="3",
                    weight="bold", class_name="cs-wrap"),
            unread_badge(row.unread),
            justify="between", align="center", spacing="2", width="100%",
        ),
        rx.text(row.category, " · ", row.when, size="2", color_scheme="gray"),
        class_name="cs-item",
    )


def _report(r) -> rx.Component:
    return rx.el.li(
        rx.text(r.panel, size="3", weight="bold"),
        rx.text(t("Resulted {when}", when=r.resulted), size="2", color_scheme="gray"),
        rx.cond(r.abnormal != "",
                rx.hstack(rx.icon("triangle-alert", size=16, aria_hidden="true"),
                          rx.text(t("Outside the range: {tests}", tests=r.abnormal), size="3"),
                          spacing="1", align="center", class_name="cs-flag"),
                rx.text(t("All results within the range"), size="3")),
        class_name="cs-item",
    )


CHECKIN_TEXT = N_("A few questions from your care team about the last {span}. "
                  "It takes about 2 minutes.")
CHECKIN_START = N_("Start check-in")


def _checkin_due() -> rx.Component:
    return rx.cond(
        HomeState.checkin_due,
        rx.callout.root(
            rx.callout.icon(rx.icon("clipboard-list", aria_hidden="true")),
            rx.vstack(
                rx.heading(t(symptoms.DUE), size="5", as_="h2"),
                rx.text(t(CHECKIN_TEXT, span=i18n.duration(CHECKIN_RECALL)), size="3"),
                rx.link(t(CHECKIN_START), href=routes.CHECKIN, class_name="cs-link-button",
                        underline="none"),
                spacing="2", align="start",
            ),
            color_scheme="teal", size="3", width="100%",
        ),
    )


def home_page() -> rx.Component:
    return portal_page(
        N_("Home"),
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
                            empty_state(t("No upcoming visits."), "calendar")),
                    link_text=t("All appointments"), href=routes.APPOINTMENTS,
                ),
                shown_for(scopes.AREA_MESSAGES, section(
                    t("Messages"),
                    rx.text(rx.cond(HomeState.unread_messages == 1, t("1 unread conversation"),
                                    t("{n} unread conversations",
                                      n=HomeState.unread_messages.to_string())),
                            size="3"),
                    rx.cond(HomeState.threads.length() > 0,
                            rx.el.ul(rx.foreach(HomeState.threads, _thread), class_name="cs-list"),
                            empty_state(t("No messages yet — start one with New message"), "mail")),
                    link_text=t("Go to Messages"), href=routes.MESSAGES,
                )),
                shown_for(scopes.AREA_LABS, section(
                    t("Newest lab results"),
                    rx.cond(HomeState.reports.length() > 0,
                            rx.el.ul(rx.foreach(HomeState.reports, _report), class_name="cs-list"),
                            empty_state(t("No lab results yet."), "flask-conical")),
                    link_text=t("All lab results"), href=routes.LABS,
                )),
                columns=rx.breakpoints(initial="1", md="3"), spacing="4", width="100%",
            ),
        ),
    )
