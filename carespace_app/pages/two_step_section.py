"""Settings › Two-step sign-in (issue #17): a card on the Settings page of patients,
caregivers and staff alike. Its state is ``TwoStepState`` (the page's on_load runs its load)."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.policy import RECOVERY_CODE_COUNT
from carespace_app.services.identity import mfa
from carespace_app.state.two_step import TwoStepState as S

HEADING = N_("Two-step sign-in")
INTRO = N_("Two-step sign-in protects your account even if someone learns your password: after "
           "your password, you enter a {n}-digit code from an authenticator app on your phone "
           "(such as Google Authenticator, Microsoft Authenticator or 1Password).")
TURN_ON = N_("Turn on two-step sign-in")
SCAN = N_("1. Scan this QR code with your authenticator app.")
KEY_INSTEAD = N_("Can't scan it? Add an account in the app and enter this key instead:")
ENTER_FIRST = N_("2. Enter the {n}-digit code the app shows, to check it works.")
CONFIRM = N_("Confirm")
CANCEL = N_("Cancel")
QR_ALT = N_("QR code for setting up two-step sign-in")
CODES_HEADING = N_("Your recovery codes")
CODES_EXPLAINED = N_("If you lose your phone, each of these {count} codes lets you "
                     "sign in once instead of a code from the app. Print them or keep them "
                     "somewhere safe: they won't be shown again.")
SAVED = N_("I've saved these codes")
NEW_CODES = N_("Make new recovery codes")
NEW_CODES_EXPLAINED = N_("New codes replace all the old ones. Enter a code from your app to make them.")
TURN_OFF = N_("Turn off")
TURN_OFF_TITLE = N_("Turn off two-step sign-in")
TURN_OFF_EXPLAINED = N_("Signing in will then need only your password. Enter your password and a "
                        "code from your authenticator app (or a recovery code).")
OFF_CODE_LABEL = N_("Code from your app, or a recovery code")


def _error(field_id: str):
    return rx.cond(S.error_field == field_id, S.error, "")


def _form_error():
    return error_callout(rx.cond(S.error_field == "", S.error, ""))


def _code_input(field_id: str) -> rx.Component:
    return text_input(field_id, auto_complete="one-time-code", input_mode="numeric",
                      pattern="[0-9 ]*", max_length=12, required=True)


def _off_view() -> rx.Component:
    return rx.vstack(
        rx.cond(S.required_note != "",
                rx.callout(S.required_note, icon="shield-alert", color_scheme="amber", size="3",
                           role="status", width="100%")),
        rx.text(t(INTRO, **mfa.DIGITS), size="3"),
        rx.text(t(mfa.NOT_ON), size="3", weight="medium"),
        _form_error(),
        primary_button(t(TURN_ON), on_click=S.start_setup, loading=S.busy),
        spacing="3", align="start", width="100%",
    )


def _setup_view() -> rx.Component:
    return rx.vstack(
        rx.text(t(SCAN), size="3"),
        rx.image(src=S.qr, alt=t(QR_ALT), width="200px", height="200px"),
        rx.text(t(KEY_INSTEAD), size="3"),
        rx.code(S.secret_text, size="4", data_testid="two-step-key", class_name="cs-secret"),
        rx.text(t(ENTER_FIRST, **mfa.DIGITS), size="3"),
        rx.form(
            rx.vstack(
                field(t(mfa.CODE_LABEL, **mfa.DIGITS), _code_input("two_step_code"), "two_step_code",
                      error=_error("code")),
                _form_error(),
                rx.hstack(
                    primary_button(t(CONFIRM), type="submit", loading=S.busy),
                    rx.button(t(CANCEL), type="button", variant="soft", color_scheme="gray", size="3",
                              min_height="44px", on_click=S.cancel_setup),
                    spacing="3", wrap="wrap",
                ),
                spacing="3", width="100%", align="start",
            ),
            on_submit=S.confirm_setup, reset_on_submit=False, key=S.form_key, width="100%",
        ),
        spacing="3", align="start", width="100%",
    )


def _codes_view() -> rx.Component:
    return rx.vstack(
        rx.heading(t(CODES_HEADING), size="4", as_="h3"),
        rx.text(t(CODES_EXPLAINED, count=RECOVERY_CODE_COUNT), size="3"),
        rx.el.ul(rx.foreach(S.codes, lambda c: rx.el.li(rx.code(c, size="4"))),
                 class_name="cs-recovery-codes", aria_label=t(CODES_HEADING)),
        primary_button(t(SAVED), on_click=S.saved_codes),
        spacing="3", align="start", width="100%",
    )


def _turn_off_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(t(TURN_OFF), variant="soft", color_scheme="red", size="3",
                                    min_height="44px")),
        rx.dialog.content(
            rx.dialog.title(t(TURN_OFF_TITLE)),
            rx.dialog.description(t(TURN_OFF_EXPLAINED), size="3"),
            rx.form(
                rx.vstack(
                    field(t("Password"), text_input("off_password", type="password",
                                                 auto_complete="current-password", required=True),
                          "off_password", error=_error("off_password")),
                    field(t(OFF_CODE_LABEL), text_input("off_code", auto_complete="one-time-code",
                                                     max_length=20, required=True),
                          "off_code", error=_error("off_code")),
                    _form_error(),
                    rx.hstack(
                        rx.dialog.close(rx.button(t(CANCEL), type="button", variant="soft",
                                                  color_scheme="gray", size="3")),
                        primary_button(t(TURN_OFF_TITLE), type="submit", color_scheme="red",
                                       loading=S.busy),
                        spacing="3", justify="end", wrap="wrap",
                    ),
                    spacing="3", width="100%", align="stretch",
                ),
                on_submit=S.turn_off, reset_on_submit=False, key=S.form_key, width="100%",
            ),
            max_width="30rem",
        ),
        open=S.off_open,
        on_open_change=S.set_off_open,
    )


def _on_view() -> rx.Component:
    return rx.vstack(
        rx.text(t("On since {date}.", date=S.since), size="3", weight="medium"),
        rx.text(t("Recovery codes left: {n}", n=S.codes_left.to_string()), size="3",
                data_testid="codes-left"),
        rx.form(
            rx.vstack(
                rx.text(t(NEW_CODES_EXPLAINED), size="3"),
                field(t(mfa.CODE_LABEL, **mfa.DIGITS), _code_input("new_codes_code"), "new_codes_code",
                      error=_error("new_codes_code")),
                rx.cond(~S.off_open, _form_error()),
                primary_button(t(NEW_CODES), type="submit", loading=S.busy),
                spacing="3", width="100%", align="start",
            ),
            on_submit=S.make_new_codes, reset_on_submit=True, key=S.form_key, width="100%",
        ),
        rx.cond(S.can_turn_off, _turn_off_dialog(),
                rx.text(t(mfa.STAFF_MUST_KEEP), size="3", color_scheme="gray")),
        spacing="4", align="start", width="100%",
    )


def two_step_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t(HEADING), size="5", as_="h2", id="two-step"),
            rx.match(S.view, ("setup", _setup_view()), ("codes", _codes_view()),
                     ("on", _on_view()), _off_view()),
            spacing="3", align="start", width="100%",
        ),
        size="3",
    )
