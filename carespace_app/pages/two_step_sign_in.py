"""The sign-in page's second step (issue #17): the authenticator code, or a recovery code,
after a right password; then, after a recovery code, how many are left."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.components.ui import error_callout, field, primary_button, text_input
from carespace_app.services.identity import mfa
from carespace_app.state.auth import SignInState as S

HEADING = N_("Two-step sign-in")
USE_RECOVERY = N_("Use a recovery code instead")
USE_APP = N_("Use a code from your authenticator app instead")
BACK = N_("Back to email and password")
VERIFY = N_("Verify")
CONTINUE = N_("Continue")
RECOVERY_HINT = N_("One of the codes you saved when you turned on two-step sign-in, like k7qm-2xfp.")


def _code_field() -> rx.Component:
    error = rx.cond(S.error_field == "code", S.error, "")
    return rx.cond(
        S.step == "code",
        field(t(mfa.CODE_LABEL, **mfa.DIGITS),
              text_input("code", auto_complete="one-time-code", input_mode="numeric",
                         pattern="[0-9 ]*", max_length=12, required=True, key="totp"),
              "code", error=error),
        field(t(mfa.RECOVERY_LABEL),
              text_input("code", auto_complete="off", auto_capitalize="none", spell_check=False,
                         max_length=20, required=True, key="recovery"),
              "code", hint=t(RECOVERY_HINT), error=error),
    )


def _link_button(text: str, on_click) -> rx.Component:
    return rx.button(text, on_click=on_click, variant="ghost", size="3", min_height="44px",
                     type="button")


def code_screen() -> rx.Component:
    return rx.vstack(
        rx.heading(t(HEADING), size="5", as_="h2"),
        rx.cond(S.step == "code", rx.text(t(mfa.ENTER_CODE, **mfa.DIGITS), size="3")),
        rx.form(
            rx.vstack(
                _code_field(),
                error_callout(rx.cond(S.error_field == "", S.error, "")),
                primary_button(t(VERIFY), type="submit", loading=S.busy, width="100%"),
                spacing="4", width="100%",
            ),
            on_submit=S.submit_code,
            reset_on_submit=False,
            width="100%",
        ),
        _link_button(rx.cond(S.step == "code", t(USE_RECOVERY), t(USE_APP)), S.use_recovery_code),
        _link_button(t(BACK), S.back_to_password),
        spacing="3", width="100%", align="start",
    )


def recovered_screen() -> rx.Component:
    return rx.vstack(
        rx.heading(t(HEADING), size="5", as_="h2"),
        rx.callout(S.codes_left_note, icon="circle-check", color_scheme="green", role="status",
                   size="3", width="100%"),
        error_callout(S.error),
        primary_button(t(CONTINUE), on_click=S.finish_sign_in, loading=S.busy, width="100%"),
        spacing="4", width="100%",
    )


def second_step() -> rx.Component:
    return rx.cond(S.step == "recovered", recovered_screen(), code_screen())
