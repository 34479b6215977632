"""The sign-in page's second step (issue #17): the authenticator code, or a recovery code,
after a right password; then, after a recovery code, how many are left."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.services.identity import mfa
from carespace_app.state.auth import SignInState as S

HEADING = "Two-step sign-in"
USE_RECOVERY = "Use a recovery code instead"
USE_APP = "Use a code from your authenticator app instead"
BACK = "Back to email and password"
VERIFY = "Verify"
CONTINUE = "Continue"
RECOVERY_HINT = "One of the codes you saved when you turned on two-step sign-in, like k7qm-2xfp."


def _code_field() -> rx.Component:
    error = rx.cond(S.error_field == "code", S.error, "")
    return rx.cond(
        S.step == "code",
        field(mfa.CODE_LABEL,
              text_input("code", auto_complete="one-time-code", input_mode="numeric",
                         pattern="[0-9 ]*", max_length=12, required=True, key="totp"),
              "code", error=error),
        field(mfa.RECOVERY_LABEL,
              text_input("code", auto_complete="off", auto_capitalize="none", spell_check=False,
                         max_length=20, required=True, key="recovery"),
              "code", hint=RECOVERY_HINT, error=error),
    )


def _link_button(text: str, on_click) -> rx.Component:
    return rx.button(text, on_click=on_click, variant="ghost", size="3", min_height="44px",
                     type="button")


def code_screen() -> rx.Component:
    return rx.vstack(
        rx.heading(HEADING, size="5", as_="h2"),
        rx.cond(S.step == "code", rx.text(mfa.ENTER_CODE, size="3")),
        rx.form(
            rx.vstack(
                _code_field(),
                error_callout(rx.cond(S.error_field == "", S.error, "")),
                primary_button(VERIFY, type="submit", loading=S.busy, width="100%"),
                spacing="4", width="100%",
            ),
            on_submit=S.submit_code,
            reset_on_submit=False,
            width="100%",
        ),
        _link_button(rx.cond(S.step == "code", USE_RECOVERY, USE_APP), S.use_recovery_code),
        _link_button(BACK, S.back_to_password),
        spacing="3", width="100%", align="start",
    )


def recovered_screen() -> rx.Component:
    return rx.vstack(
        rx.heading(HEADING, size="5", as_="h2"),
        rx.callout(S.codes_left_note, icon="circle-check", color_scheme="green", role="status",
                   size="3", width="100%"),
        error_callout(S.error),
        primary_button(CONTINUE, on_click=S.finish_sign_in, loading=S.busy, width="100%"),
        spacing="4", width="100%",
    )


def second_step() -> rx.Component:
    return rx.cond(S.step == "recovered", recovered_screen(), code_screen())
