"""Admin › a patient's symptom check-ins (issue #15): the schedule and the symptoms asked,
the latest answers at a glance, and the history (chart and table) on request."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import confirm_dialog, error_callout, field, notice_callout, primary_button
from carespace_app.pages.admin_pages.layout import section, small_button
from carespace_app.pages.checkin import history_view
from carespace_app.state.admin_checkins import INTERVAL_CHOICES, AdminCheckinsState as S

TITLE = "Symptom check-ins"
END_HINT = "Leave empty to keep asking until you stop the check-ins."
SYMPTOMS_LEGEND = "Symptoms asked"
NOT_ENROLLED = "Not enrolled. Choose a schedule and the symptoms to ask about."


def _toggle(t) -> rx.Component:
    box_id = "checkin-symptom-" + t.key
    return rx.el.label(
        rx.el.input(type="checkbox", name="symptom_" + t.key, id=box_id, default_checked=t.on,
                    class_name="cs-checkbox"),
        rx.text(t.name, as_="span", size="3"),
        html_for=box_id, class_name="cs-check-row",
    )


def _form() -> rx.Component:
    return rx.form(
        rx.vstack(
            error_callout(S.form_error),
            field("Schedule", rx.el.select(
                *[rx.el.option(words, value=value) for value, words in INTERVAL_CHOICES],
                id="every_days", name="every_days", default_value=S.every_days,
                class_name="cs-select"), "every_days", error=S.errors["every_days"]),
            field("First check-in", rx.input(type="date", id="starts_on", name="starts_on",
                                             default_value=S.starts_on, size="3"),
                  "starts_on", error=S.errors["starts_on"]),
            field("End date (optional)", rx.input(type="date", id="ends_on", name="ends_on",
                                                  default_value=S.ends_on, size="3"),
                  "ends_on", hint=END_HINT, error=S.errors["ends_on"]),
            rx.el.fieldset(
                rx.el.legend(SYMPTOMS_LEGEND, class_name="cs-label"),
                rx.grid(rx.foreach(S.toggles, _toggle),
                        columns=rx.breakpoints(initial="1", sm="2", md="3"), spacing="1",
                        width="100%"),
                rx.cond(S.errors["symptoms"] != "",
                        rx.text(S.errors["symptoms"], size="2", color_scheme="red", role="alert")),
                class_name="cs-fieldset",
            ),
            rx.hstack(
                primary_button(rx.cond(S.enrolled, "Save changes", "Start check-ins"),
                               type="submit", loading=S.saving, disabled=S.saving),
                rx.cond(S.enrolled, confirm_dialog(
                    rx.button("Stop check-ins", color_scheme="red", variant="soft", size="3",
                              min_height="44px", type="button"),
                    "Stop check-ins?",
                    "The patient is asked no more questions; an open check-in closes now. "
                    "What was answered stays in the history.",
                    keep="Keep check-ins", confirm="Stop check-ins", on_confirm=S.stop_plan)),
                spacing="3", wrap="wrap", align="center",
            ),
            spacing="3", width="100%", align="start",
        ),
        on_submit=S.save_plan, key=S.form_version, width="100%",
    )


def _grade(g) -> rx.Component:
    return rx.el.li(
        rx.text(g.name, ": ", as_="span", size="2"),
        rx.text(g.answer, as_="span", size="2", weight=rx.cond(g.severe, "bold", "regular"),
                color_scheme=rx.cond(g.severe, "red", "gray")),
        class_name="cs-grade",
    )


def _latest() -> rx.Component:
    return rx.cond(
        S.latest_when != "",
        rx.vstack(
            rx.text(rx.text.strong("Latest check-in: "), S.latest_when, " by ", S.latest_who,
                    size="3"),
            rx.el.ul(rx.foreach(S.latest, _grade), class_name="cs-grades"),
            spacing="2", width="100%", align="stretch",
        ),
        rx.cond(S.enrolled, rx.text("No check-in answered yet.", size="3", color_scheme="gray")),
    )


def _history() -> rx.Component:
    return rx.cond(
        S.history_open,
        rx.vstack(
            rx.heading("History", size="4", as_="h3"),
            history_view(S, select_id="admin-history-symptom"),
            small_button("Hide history", on_click=S.hide_history),
            spacing="3", width="100%", align="stretch",
        ),
        small_button("Show check-in history", on_click=S.show_history),
    )


def checkins_section() -> rx.Component:
    return section(
        TITLE,
        notice_callout(S.saved_note),
        rx.cond(S.enrolled,
                rx.vstack(rx.text(rx.text.strong(S.summary), size="3"),
                          rx.text(S.next_text, size="3", color_scheme="gray"),
                          spacing="1"),
                rx.text(NOT_ENROLLED, size="3", color_scheme="gray")),
        _latest(),
        _history(),
        rx.heading(rx.cond(S.enrolled, "Change the schedule", "Enrol"), size="4", as_="h3"),
        _form(),
    )
