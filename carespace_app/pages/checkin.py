"""The symptom check-in: one question per screen on a phone, then "call now" or thanks;
and its history (a chart of one symptom over time, and a table). Issue #15."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import t
from carespace_app.components.records_ui import empty_state, loading_or, page_title
from carespace_app.components.shell import portal_page
from carespace_app.components.ui import error_callout, primary_button
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.pages.labs import DAY_LABEL_JS, LINE
from carespace_app.services.permissions import scopes
from carespace_app.services.records import symptoms
from carespace_app.state.checkin import (HISTORY_LINK, INTRO, INTRO_PARAMS, NO_HISTORY, NONE_DUE,
                                         CheckinState as S)
from carespace_app.state.session import SessionState

TITLE = N_("Symptom check-in")
HISTORY_TITLE = N_("Your check-ins")
SEND = N_("Send my answers")
REVIEW_TITLE = N_("Check your answers")
CALL_BUTTON = N_("Call {phone}")
SEVERITY_HINT = N_("0 is none, 4 is very severe.")
SEE_HISTORY = N_("See your check-ins")


def _option(word, index) -> rx.Component:
    """One answer: a native radio button in a whole-width, 52 px tall label to tap."""
    chosen = S.answers[S.step] == index
    option_id = "answer-" + index.to_string()
    return rx.el.label(
        rx.el.input(type="radio", name="answer", id=option_id, value=index.to_string(),
                    checked=chosen, on_change=S.choose(index), class_name="cs-radio"),
        rx.text(word, as_="span", size="4"),
        html_for=option_id,
        class_name=rx.cond(chosen, "cs-checkin-option cs-chosen", "cs-checkin-option"),
    )


def _question_screen() -> rx.Component:
    question = S.questions[S.step]
    return rx.card(
        rx.vstack(
            rx.text(t("Question {n} of {total}", n=(S.step + 1).to_string(),
                      total=S.questions.length().to_string()),
                    size="2", color_scheme="gray"),
            rx.heading(question.question, size="5", as_="h2", id="checkin-question",
                       class_name="cs-wrap"),
            rx.box(rx.foreach(question.words, _option), class_name="cs-list",
                   role="radiogroup", aria_labelledby="checkin-question"),
            rx.cond(S.step_error != "", rx.text(S.step_error, size="3", color_scheme="red",
                                                role="alert")),
            rx.flex(
                rx.cond(S.step > 0, rx.button(t("Back"), variant="outline", size="3",
                                              min_height="44px", on_click=S.previous_question)),
                rx.spacer(),
                primary_button(rx.cond(S.step + 1 == S.questions.length(), t("Review"), t("Next")),
                               on_click=S.next_question),
                width="100%", align="center", spacing="3",
            ),
            spacing="4", width="100%", align="stretch",
        ),
        size="3", width="100%",
    )


def _review_row(q, index) -> rx.Component:
    word = q.words[S.answers[index]]
    return rx.el.li(
        rx.flex(
            rx.vstack(rx.text(q.name, size="3", weight="bold"), rx.text(word, size="3"),
                      spacing="0", align="start"),
            rx.button(t("Change"), variant="ghost", size="3", min_height="44px",
                      on_click=S.change_answer(index), aria_label=t("Change {name}", name=q.name)),
            justify="between", align="center", width="100%", spacing="2",
        ),
        class_name="cs-item",
    )


def _review_screen() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t(REVIEW_TITLE), size="5", as_="h2"),
            rx.el.ul(rx.foreach(S.questions, _review_row), class_name="cs-list"),
            rx.flex(
                rx.button(t("Back"), variant="outline", size="3", min_height="44px",
                          on_click=S.previous_question),
                rx.spacer(),
                primary_button(rx.cond(S.sending, t("Sending…"), t(SEND)), on_click=S.send_answers,
                               disabled=S.sending, loading=S.sending),
                width="100%", align="center", spacing="3", wrap="wrap",
            ),
            spacing="4", width="100%", align="stretch",
        ),
        size="3", width="100%",
    )


def _form() -> rx.Component:
    return rx.vstack(
        rx.text(t(INTRO, **INTRO_PARAMS), size="3"),
        rx.text(S.due_by, size="3", color_scheme="gray"),
        rx.cond(S.for_whom != "", rx.text(S.for_whom, size="3", weight="medium")),
        rx.cond(S.step < S.questions.length(), _question_screen(), _review_screen()),
        spacing="3", width="100%", align="stretch",
    )


def call_now_box() -> rx.Component:
    """The call-now sentence with a tap-to-call button (also used by the Messages banner)."""
    phone = get_settings().office_phone
    return rx.callout.root(
        rx.callout.icon(rx.icon("phone", aria_hidden="true")),
        rx.vstack(
            rx.heading(t(symptoms.CALL_NOW_TITLE), size="5", as_="h2"),
            rx.text(t(symptoms.CALL_NOW, phone=phone), size="4"),
            rx.button(rx.el.a(rx.icon("phone", size=20, aria_hidden="true"),
                              t(CALL_BUTTON, phone=phone), href=symptoms.office_tel()),
                      as_child=True, size="4", min_height="52px", color_scheme="red",
                      width="100%"),
            rx.link(t("Call 9-1-1"), href="tel:911", size="3", color_scheme="red", high_contrast=True,
                    class_name="cs-more-link"),
            spacing="3", width="100%", align="stretch",
        ),
        color_scheme="red", high_contrast=True, role="alert", size="3", width="100%",
    )


def _called() -> rx.Component:
    return rx.vstack(
        call_now_box(),
        rx.cond(S.told.length() > 0, rx.vstack(
            rx.text(t("What you told us:"), size="3", weight="bold"),
            rx.el.ul(rx.foreach(S.told, lambda t: rx.el.li(rx.text(t, size="3"))),
                     class_name="cs-list"),
            spacing="1", align="stretch")),
        rx.text(t("Your answers were sent to your care team."), size="3"),
        rx.link(t(SEE_HISTORY), href=HISTORY_LINK, size="3"),
        spacing="4", width="100%", align="stretch",
    )


def _thanks() -> rx.Component:
    return rx.vstack(
        rx.callout(t(symptoms.THANKS), icon="circle-check", color_scheme="green", size="3",
                   role="status", width="100%"),
        rx.text(t("If you feel worse before your next check-in, call the office at {phone}.",
                  phone=get_settings().office_phone), size="3"),
        rx.hstack(rx.link(t(SEE_HISTORY), href=HISTORY_LINK, size="3"),
                  rx.link(t("Go to Home"), href=routes.HOME, size="3"), spacing="4", wrap="wrap"),
        spacing="4", width="100%", align="stretch",
    )


def _none() -> rx.Component:
    return rx.vstack(
        empty_state(t(NONE_DUE), "clipboard-check"),
        rx.link(t(SEE_HISTORY), href=HISTORY_LINK, size="3"),
        spacing="3", width="100%", align="stretch",
    )


def _chart(state) -> rx.Component:
    return rx.recharts.line_chart(
        rx.recharts.cartesian_grid(stroke_dasharray="3 3"),
        rx.recharts.x_axis(data_key="day", type_="number", domain=["dataMin", "dataMax"],
                           ticks=state.chart_ticks.to(list[int]), tick_formatter=DAY_LABEL_JS,
                           interval="preserveStartEnd", padding={"left": 16, "right": 16}),
        rx.recharts.y_axis(domain=[0, 4], ticks=[0, 1, 2, 3, 4], width=32, allow_decimals=False),
        rx.recharts.line(data_key="grade", stroke=LINE, stroke_width=2, is_animation_active=False,
                         type_="linear"),
        rx.recharts.graphing_tooltip(custom_attrs={"labelFormatter": rx.Var(DAY_LABEL_JS)}),
        data=state.chart_data, width="100%", height=240,
        margin={"top": 10, "right": 16, "left": 0, "bottom": 10},
    )


def _history_row(h) -> rx.Component:
    return rx.table.row(
        rx.table.row_header_cell(rx.text(h.when, size="3")),
        rx.table.cell(rx.text(h.answer, " (", h.grade.to_string(), ")", size="3")),
        rx.table.cell(rx.text(h.who, size="3")),
    )


def history_view(state=S, select_id: str = "history-symptom") -> rx.Component:
    """The chart and the table of one symptom, with the choice of symptom (the patient's
    check-in page and the office's patient page: ``state`` has the history vars)."""
    return rx.vstack(
        rx.cond(
            state.history_empty,
            empty_state(t(NO_HISTORY), "clipboard-list"),
            rx.vstack(
                rx.vstack(
                    rx.el.label(t("Symptom"), html_for=select_id, class_name="cs-label"),
                    rx.el.select(
                        rx.foreach(state.history_choices,
                                   lambda c: rx.el.option(c.name, value=c.key)),
                        id=select_id, value=state.history_symptom,
                        on_change=state.show_symptom, class_name="cs-select",
                    ),
                    spacing="1", align="stretch",
                ),
                rx.text(t(SEVERITY_HINT), size="2", color_scheme="gray"),
                rx.box(_chart(state), role="img",
                       aria_label=t("Chart of {name} over time", name=state.history_name),
                       width="100%", class_name="cs-chart"),
                rx.box(
                    rx.table.root(
                        rx.table.header(rx.table.row(
                            rx.table.column_header_cell(t("Answered"), scope="col"),
                            rx.table.column_header_cell(state.history_name, scope="col"),
                            rx.table.column_header_cell(t("By"), scope="col"),
                        )),
                        rx.table.body(rx.foreach(state.history_rows, _history_row)),
                        size="2", width="100%",
                    ),
                    class_name="cs-table-wrap cs-scroll", tab_index=0, role="region",
                    aria_label=t("Answers to {name}", name=state.history_name),
                ),
                spacing="3", width="100%", align="stretch",
            ),
        ),
        spacing="3", width="100%", align="stretch",
    )


def checkin_page() -> rx.Component:
    return portal_page(
        N_("Home"),  # the tab's name (components/shell.py translates it)
        page_title(rx.cond(S.mode == "history", t(HISTORY_TITLE), t(TITLE))),
        error_callout(S.error),
        loading_or(
            S.loaded,
            rx.match(
                S.mode,
                ("form", _form()),
                ("call", _called()),
                ("thanks", _thanks()),
                ("history", rx.vstack(history_view(), rx.cond(
                    SessionState.signed_in, rx.link(t("Back to your check-in"), href=routes.CHECKIN,
                                                    size="3")),
                    spacing="4", width="100%", align="stretch")),
                _none(),
            ),
        ),
        area=scopes.AREA_CHECKINS,
    )
