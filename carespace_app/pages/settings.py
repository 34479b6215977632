"""Settings (under the name menu): the account's email address and password."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.components.i18n import said, t
from carespace_app.i18n import N_
from carespace_app.components.shell import portal_page
from carespace_app.components.ui import error_callout, field, notice_callout, primary_button, public_page, text_input
from carespace_app.models import RESULT_CATEGORIES
from carespace_app.policy import RESULT_HOLD_MAX_DAYS
from carespace_app.services.records import result_release as release
from carespace_app.state.settings import MESSAGE_EMAIL_LABEL, ConfirmEmailState, SettingsState as S
from carespace_app.pages.admin_pages.layout import admin_shell
from carespace_app.pages.public import link_problem, password_rules
from carespace_app.pages.two_step_section import two_step_card


def _email_tab() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(t("We'll send a confirmation link to the new address. Your address changes when "
                      "you open it, and we'll tell your current address about the change."),
                    size="3"),
            error_callout(S.email_error),
            field(t("New email address"), text_input("new_email", type="email", auto_complete="email",
                                                  required=True), "new_email"),
            field(t("Current password"), text_input("email_current_password", name="current_password",
                                                 type="password", auto_complete="current-password",
                                                 required=True),
                  "email_current_password"),
            primary_button(t("Send confirmation link"), type="submit", loading=S.busy),
            spacing="4", width="100%", align="stretch",
        ),
        on_submit=S.change_email,
        width="100%",
    )


def _password_tab() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text(t("You'll stay signed in here; your other devices will be signed out."), size="3"),
            error_callout(S.password_error),
            field(t("Current password"), text_input("password_current_password", name="current_password",
                                                 type="password", auto_complete="current-password",
                                                 required=True),
                  "password_current_password"),
            field(t("New password"), text_input("new_password", type="password",
                                              auto_complete="new-password", required=True,
                                              on_change=S.check_password.debounce(150)),
                  "new_password"),
            password_rules(S.rules),
            field(t("Confirm new password"), text_input("confirm_new_password", type="password",
                                                     auto_complete="new-password", required=True),
                  "confirm_new_password"),
            primary_button(t("Change password"), type="submit", loading=S.busy),
            spacing="4", width="100%", align="stretch",
        ),
        on_submit=S.change_password,
        width="100%",
    )


def _change_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(primary_button(t("Change email address or password"))),
        rx.dialog.content(
            rx.dialog.title(t("Change email address or password")),
            rx.dialog.description(t("Both need your current password."), size="3"),
            rx.tabs.root(
                rx.tabs.list(rx.tabs.trigger(t("Email"), value="email"),
                             rx.tabs.trigger(t("Password"), value="password"), size="2"),
                rx.tabs.content(rx.box(_email_tab(), padding_top="1rem"), value="email"),
                rx.tabs.content(rx.box(_password_tab(), padding_top="1rem"), value="password"),
                # Uncontrolled: the tab switches at the click, not when the server answers
                # (a controlled tab lagged behind, and typing landed in the other tab's field).
                default_value="email",
                on_change=S.set_tab,
                key=S.form_key,
            ),
            rx.dialog.close(rx.button(t("Close"), variant="soft", color_scheme="gray", size="3",
                                      margin_top="1rem")),
            max_width="34rem",
        ),
        open=S.dialog_open,
        on_open_change=S.set_dialog_open,
    )


def _account_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("Your account"), size="5", as_="h2"),
            rx.el.dl(
                rx.el.dt(t("Name"), class_name="cs-label"), rx.el.dd(S.user_name),
                rx.el.dt(t("Email address"), class_name="cs-label"), rx.el.dd(S.user_email),
                class_name="cs-dl",
            ),
            _change_dialog(),
            spacing="4", align="start",
        ),
        size="3",
    )


def _office_emails_card() -> rx.Component:
    """Staff only: the emails the office gets. Never anything about the patient."""
    return rx.card(
        rx.vstack(
            rx.heading(t("Emails from CareSpace"), size="5", as_="h2"),
            rx.box(rx.checkbox(MESSAGE_EMAIL_LABEL, checked=S.message_email,
                               on_change=S.choose_message_email, disabled=S.choice_busy, size="3"),
                   class_name="cs-check-target"),
            rx.text(t("The email says only that a patient wrote, with a link to the conversation: "
                      "never who wrote or what they said."), size="3", color_scheme="gray"),
            spacing="3", align="start",
        ),
        size="3",
    )


def _office_settings() -> rx.Component:
    return admin_shell(
        N_("Settings"),
        rx.heading(t("Settings"), size="7", as_="h1"),
        notice_callout(S.notice),
        _account_card(),
        two_step_card(),
        _office_emails_card(),
    )


def settings_page() -> rx.Component:
    return rx.cond(S.office, _office_settings(), _portal_settings())


def _result_choice(category: str, n: int) -> rx.Component:
    """One kind of result: right away, or held until reviewed for at most N days."""
    days_id = f"result_days_{n}"
    return rx.el.fieldset(
        rx.el.legend(t(category), class_name="cs-label"),
        rx.radio_group.root(
            rx.vstack(
                rx.el.label(rx.radio_group.item(value="now"), t(release.CHOICE_NOW),
                            class_name="cs-radio-target"),
                rx.el.label(rx.radio_group.item(value="hold"), t(release.CHOICE_HOLD_SHORT),
                            class_name="cs-radio-target"),
                spacing="1",
            ),
            value=S.result_mode[category], name=f"result_mode_{n}", size="3",
            on_change=lambda v: S.set_result_mode(category, v),
        ),
        rx.cond(
            S.result_mode[category] == "hold",
            rx.hstack(
                rx.el.label(t(release.CHOICE_DAYS_LABEL), html_for=days_id, class_name="cs-label"),
                rx.el.select(
                    *[rx.el.option(said(lambda lang, d=d: release.days_words(d, lang)), value=str(d))
                      for d in range(1, RESULT_HOLD_MAX_DAYS + 1)],
                    id=days_id, value=S.result_days[category], class_name="cs-select",
                    on_change=lambda v: S.set_result_days(category, v),
                ),
                spacing="2", align="center", wrap="wrap",
            ),
        ),
        class_name="cs-fieldset",
    )


def _result_choices_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("New test results"), size="5", as_="h2"),
            rx.text(t(release.CHOICES_EXPLAINED), size="3"),
            error_callout(S.result_error),
            *[_result_choice(c, n) for n, c in enumerate(RESULT_CATEGORIES)],
            primary_button(t("Save choices for new results"), on_click=S.save_result_choices,
                           loading=S.result_saving),
            spacing="3", align="stretch", width="100%",
        ),
        size="3",
    )


def _portal_settings() -> rx.Component:
    return portal_page(
        N_("Settings"),
        rx.heading(t("Settings"), size="7", as_="h1"),
        notice_callout(S.notice),
        _account_card(),
        two_step_card(),
        rx.cond(S.relation == "self", _result_choices_card()),
        rx.cond(
            S.relation == "self",
            rx.card(
                rx.vstack(
                    rx.heading(t("Your privacy"), size="5", as_="h2"),
                    rx.text(t("See who opened your record, and when: you, the people you gave access "
                              "to, and the office."), size="3"),
                    rx.link(t("Who viewed my record"), href=routes.RECORD_ACTIVITY, size="3"),
                    spacing="3", align="start",
                ),
                size="3",
            ),
        ),
    )


def confirm_email_page() -> rx.Component:
    return public_page(
        t("Confirm your email address"),
        rx.match(
            ConfirmEmailState.view,
            ("loading", rx.center(rx.spinner(size="3"), padding="2rem")),
            ("done", rx.vstack(
                rx.callout(ConfirmEmailState.message, icon="circle-check", color_scheme="green",
                           role="status"),
                rx.link(t("Go to sign in"), href=routes.SIGN_IN, size="3"),
                spacing="3",
            )),
            ("error", rx.vstack(error_callout(ConfirmEmailState.message),
                                rx.link(t("Go to sign in"), href=routes.SIGN_IN, size="3"), spacing="3")),
            link_problem(ConfirmEmailState.view, ConfirmEmailState.message,
                         ConfirmEmailState.home, ConfirmEmailState.home_label),
        ),
    )
