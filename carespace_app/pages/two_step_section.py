"""Settings › Two-step sign-in (issue #17): a card on the Settings page of patients,
caregivers and staff alike. Its state is ``TwoStepState`` (the page's on_load runs its load)."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.policy import RECOVERY_CODE_COUNT
from carespace_app.services.identity import mfa
from carespace_app.state.two_step import TwoStepState as S

HEADING = "Two-step sign-in"
INTRO = (f"Two-step sign-in protects your account even if someone learns your password: after "
         f"your password, you enter a {mfa.CODE_LABEL} from an authenticator app on your phone "
         "(such as Google Authenticator, Microsoft Authenticator or 1Password).")
TURN_ON = "Turn on two-step sign-in"
SCAN = "1. Scan this QR code with your authenticator app."
KEY_INSTEAD = "Can't scan it? Add an account in the app and enter this key instead:"
ENTER_FIRST = f"2. Enter the {mfa.CODE_LABEL} the app shows, to check it works."
CONFIRM = "Confirm"
CANCEL = "Cancel"
QR_ALT = "QR code for setting up two-step sign-in"
CODES_HEADING = "Your recovery codes"
CODES_EXPLAINED = (f"If you lose your phone, each of these {RECOVERY_CODE_COUNT} codes lets you "
                   "sign in once instead of a code from the app. Print them or keep them "
                   "somewhere safe: they won't be shown again.")
SAVED = "I've saved these codes"
NEW_CODES = "Make new recovery codes"
NEW_CODES_EXPLAINED = "New codes replace all the old ones. Enter a code from your app to make them."
TURN_OFF = "Turn off"
TURN_OFF_TITLE = "Turn off two-step sign-in"
TURN_OFF_EXPLAINED = ("Signing in will then need only your password. Enter your password and a "
                      "code from your authenticator app (or a recovery code).")
OFF_CODE_LABEL = "Code from your app, or a recovery code"


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
        rx.text(INTRO, size="3"),
        rx.text("Two-step sign-in is off.", size="3", weight="medium"),
        _form_error(),
        primary_button(TURN_ON, on_click=S.start_setup, loading=S.busy),
        spacing="3", align="start", width="100%",
    )


def _setup_view() -> rx.Component:
    return rx.vstack(
        rx.text(SCAN, size="3"),
        rx.image(src=S.qr, alt=QR_ALT, width="200px", height="200px"),
        rx.text(KEY_INSTEAD, size="3"),
        rx.code(S.secret_text, size="4", data_testid="two-step-key", class_name="cs-secret"),
        rx.text(ENTER_FIRST, size="3"),
        rx.form(
            rx.vstack(
                field(mfa.CODE_LABEL, _code_input("two_step_code"), "two_step_code",
                      error=_error("code")),
                _form_error(),
                rx.hstack(
                    primary_button(CONFIRM, type="submit", loading=S.busy),
                    rx.button(CANCEL, type="button", variant="soft", color_scheme="gray", size="3",
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
        rx.heading(CODES_HEADING, size="4", as_="h3"),
        rx.text(CODES_EXPLAINED, size="3"),
        rx.el.ul(rx.foreach(S.codes, lambda c: rx.el.li(rx.code(c, size="4"))),
                 class_name="cs-recovery-codes", aria_label=CODES_HEADING),
        primary_button(SAVED, on_click=S.saved_codes),
        spacing="3", align="start", width="100%",
    )


def _turn_off_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.button(TURN_OFF, variant="soft", color_scheme="red", size="3",
                                    min_height="44px")),
        rx.dialog.content(
            rx.dialog.title(TURN_OFF_TITLE),
            rx.dialog.description(TURN_OFF_EXPLAINED, size="3"),
            rx.form(
                rx.vstack(
                    field("Password", text_input("off_password", type="password",
                                                 auto_complete="current-password", required=True),
                          "off_password", error=_error("off_password")),
                    field(OFF_CODE_LABEL, text_input("off_code", auto_complete="one-time-code",
                                                     max_length=20, required=True),
                          "off_code", error=_error("off_code")),
                    _form_error(),
                    rx.hstack(
                        rx.dialog.close(rx.button(CANCEL, type="button", variant="soft",
                                                  color_scheme="gray", size="3")),
                        primary_button(TURN_OFF_TITLE, type="submit", color_scheme="red",
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
        rx.text("On since ", S.since, ".", size="3", weight="medium"),
        rx.text("Recovery codes left: ", S.codes_left, size="3", data_testid="codes-left"),
        rx.form(
            rx.vstack(
                rx.text(NEW_CODES_EXPLAINED, size="3"),
                field(mfa.CODE_LABEL, _code_input("new_codes_code"), "new_codes_code",
                      error=_error("new_codes_code")),
                rx.cond(~S.off_open, _form_error()),
                primary_button(NEW_CODES, type="submit", loading=S.busy),
                spacing="3", width="100%", align="start",
            ),
            on_submit=S.make_new_codes, reset_on_submit=True, key=S.form_key, width="100%",
        ),
        rx.cond(S.can_turn_off, _turn_off_dialog(),
                rx.text(mfa.STAFF_MUST_KEEP, size="3", color_scheme="gray")),
        spacing="4", align="start", width="100%",
    )


def two_step_card() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(HEADING, size="5", as_="h2", id="two-step"),
            rx.match(S.view, ("setup", _setup_view()), ("codes", _codes_view()),
                     ("on", _on_view()), _off_view()),
            spacing="3", align="start", width="100%",
        ),
        size="3",
    )
