"""The signed-out pages: Sign in, Create Password (registration), Forgot and reset password."""
from __future__ import annotations

import reflex as rx
from reflex.vars.base import Var

from carespace_app import i18n, routes
from carespace_app.components.i18n import t, t_rich
from carespace_app.components.ui import (
    error_callout,
    field,
    notice_callout,
    office_phone_link,
    primary_button,
    public_page,
    text_input,
)
from carespace_app.config import get_settings
from carespace_app.policy import RESET_TTL
from carespace_app.state.auth import (
    PAUSE_FORGOT,
    PAUSE_LEFT,
    PAUSE_OVER,
    PAUSE_UNITS,
    SIGN_IN_PAUSED,
    SignInState,
)
from carespace_app.state.password_reset import ForgotPasswordState, ResetPasswordState
from carespace_app.state.register import RegisterState
from carespace_app.pages.terms import TERMS_OF_SERVICE
from carespace_app.pages.two_step_sign_in import second_step


class PauseCountdown(rx.Component):
    """"You can try again in 42 seconds.", counted down in the browser from the seconds the
    server gave (no clock of the server's is compared with the browser's). Compiled into
    the bundle as a small React component: our CSP forbids evaluated scripts."""

    tag = "CsPauseCountdown"
    seconds: Var[int]
    stamp: Var[str]
    template: Var[str]
    done: Var[str]
    units: Var[dict]

    def add_imports(self):
        return {"react": ["useEffect", "useState"]}

    def add_custom_code(self) -> list[str]:
        return ["""
function CsPauseCountdown({seconds, stamp, template, done, units}) {
  const [left, setLeft] = useState(seconds);
  useEffect(() => {
    const deadline = Date.now() + seconds * 1000;
    const tick = () => setLeft(Math.max(0, Math.ceil((deadline - Date.now()) / 1000)));
    tick();
    const timer = window.setInterval(tick, 1000);
    return () => window.clearInterval(timer);
  }, [seconds, stamp]);
  if (left <= 0) return done;
  const time = left === 1 ? units.second
    : left < 120 ? units.seconds.replace("{n}", String(left))
    : units.minutes.replace("{n}", String(Math.ceil(left / 60)));
  return template.replace("{time}", time);
}"""]


def pause_countdown() -> rx.Component:
    """The sign-in pause after too many wrong passwords: what happened, the time left, and
    the way out (Forgot Password)."""
    return rx.callout.root(
        rx.callout.icon(rx.icon("clock", aria_hidden="true")),
        rx.vstack(
            rx.text(t(SIGN_IN_PAUSED), size="3", weight="medium"),
            # The seconds tick silently: a screen reader hears the sentence once.
            rx.text(PauseCountdown.create(seconds=SignInState.pause_seconds,
                                          stamp=SignInState.pause_id, template=t(PAUSE_LEFT),
                                          done=t(PAUSE_OVER),
                                          units={unit: t(words) for unit, words in PAUSE_UNITS.items()}),
                    size="3", aria_live="off", data_testid="pause-left"),
            rx.text(t(PAUSE_FORGOT), " ", tap_link(t("Forgot Password"), routes.FORGOT_PASSWORD),
                    size="3"),
            spacing="1",
        ),
        color_scheme="amber", size="3", role="status", width="100%",
    )


def tap_link(text, href: str) -> rx.Component:
    """A text link with a 44 px tall target (a thumb's size)."""
    return rx.link(text, href=href, size="3", class_name="cs-tap-link")


def form_error(state) -> rx.Component:
    """An error of the whole form (none of its fields): shown by the submit button, where
    the eye is after tapping it."""
    return error_callout(rx.cond(state.error_field == "", state.error, ""))


def error_of(state, field_id: str) -> rx.Var:
    """The form's error when it belongs to this field, else ""."""
    return rx.cond(state.error_field == field_id, state.error, "")


def waiting_note(message: rx.Var) -> rx.Component:
    """A long wait for the sign-in, said under the button while it spins. The live region is
    always on the page (empty when there is nothing to say), so a screen reader hears the
    sentence when it appears; boxed with the button, its emptiness adds no gap."""
    return rx.el.div(
        rx.cond(message != "",
                rx.callout(message, icon="hourglass", color_scheme="blue", high_contrast=True,
                           size="3", width="100%", margin_top="0.75rem")),
        role="status",
        aria_live="polite",
        data_testid="sign-in-waiting",
    )


def sign_in_page() -> rx.Component:
    return public_page(
        t("Sign in to CareSpace"),
        rx.cond(SignInState.step == "password", notice_callout(SignInState.notice)),
        rx.cond(SignInState.pause_seconds > 0, pause_countdown()),
        rx.cond(SignInState.step == "password", _password_step(), second_step()),
    )


def _password_step() -> rx.Component:
    return rx.fragment(
        rx.form(
            rx.vstack(
                field(t("Email address"), text_input("email", type="email", auto_complete="username",
                                                     required=True), "email",
                      error=error_of(SignInState, "email")),
                field(t("Password"), text_input("password", type="password",
                                             auto_complete="current-password", required=True),
                      "password", error=error_of(SignInState, "password")),
                form_error(SignInState),
                rx.box(
                    primary_button(t("Sign in"), type="submit", loading=SignInState.busy,
                                   width="100%"),
                    waiting_note(SignInState.waiting),
                    width="100%",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=SignInState.submit,
            width="100%",
        ),
        rx.hstack(
            tap_link(t("Forgot Password"), routes.FORGOT_PASSWORD),
            justify="between",
            width="100%",
        ),
        rx.text(
            t("New to CareSpace? Registration is by invitation from your doctor's office. "
              "Look for an email from {sender}.", sender=get_settings().mail_from_address),
            size="2",
            color_scheme="gray",
        ),
    )


def password_rules(rules) -> rx.Component:
    """The checklist that ticks as the user types. A rule met "later" is judged only when
    the form is sent (its text says so)."""
    return rx.el.ul(
        rx.foreach(
            rules,
            lambda rule: rx.el.li(
                rx.hstack(
                    rx.match(
                        rule["met"],
                        ("yes", rx.icon("circle-check", color=rx.color("green", 10), size=18,
                                        aria_hidden="true")),
                        ("later", rx.icon("clock", color=rx.color("gray", 9), size=18, aria_hidden="true")),
                        rx.icon("circle", color=rx.color("gray", 9), size=18, aria_hidden="true"),
                    ),
                    rx.text(rule["text"], size="2"),
                    rx.match(rule["met"], ("yes", rx.el.span(" ", t("(done)"), class_name="cs-sr-only")),
                             ("later", rx.fragment()),
                             rx.el.span(" ", t("(not yet)"), class_name="cs-sr-only")),
                    spacing="2",
                    align="center",
                ),
                data_met=rule["met"],
            ),
        ),
        aria_label=t("Password requirements"),
        aria_live="polite",
        class_name="cs-rules",
    )


def link_problem(view, message, home=None, home_label=None) -> rx.Component:
    """A link that can't be used. ``home``: the signed-in person's start page, for the view
    "signed_in" (nothing to call the office about: they are in already)."""
    problem = rx.vstack(
        rx.callout(message, icon="triangle_alert", color_scheme="amber", role="alert"),
        rx.text(t_rich("Call the office at {phone} and we'll send you a new link.",
                       phone=office_phone_link()), size="3"),
        tap_link(t("Go to sign in"), routes.SIGN_IN),
        spacing="3",
        align="start",
        data_link_state=view,
    )
    if home is None:
        return problem
    signed_in = rx.vstack(
        rx.callout(message, icon="circle-check", color_scheme="green", role="status"),
        rx.link(home_label, href=home, size="3", class_name="cs-tap-link"),
        spacing="3",
        align="start",
        data_link_state=view,
    )
    return rx.cond(view == "signed_in", signed_in, problem)


def terms_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.link(t("Read the terms of service"), href="#", size="2")),
        rx.dialog.content(
            rx.dialog.title(t("Terms of service")),
            rx.scroll_area(
                rx.vstack(*[rx.text(t(p, phone=get_settings().office_phone), size="2")
                            for p in TERMS_OF_SERVICE], spacing="3"),
                max_height="60vh",
                type="auto",
            ),
            rx.dialog.close(primary_button(t("Close"), margin_top="1rem")),
        ),
    )


def _typed_in(field_id: str) -> rx.Var:
    """What another field of the form holds now (the forms are uncontrolled): read in the
    browser when an event is sent, compiled into the page (no eval)."""
    return rx.Var(f"(document.getElementById({field_id!r})?.value ?? '')").to(str)


def register_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.cond(
                RegisterState.kind == "caregiver",
                rx.text(
                    t("You've been given access to a patient's CareSpace portal."), " ",
                    rx.cond(RegisterState.existing_account,
                            t("You already have a CareSpace account: confirm with your email "
                              "and your current password."),
                            t("Create a password to finish.")),
                    size="3",
                ),
                rx.text(t("Welcome, {name}. Create a password and confirm your date of birth.",
                          name=RegisterState.invitee_name), size="3"),
            ),
            rx.cond(RegisterState.tries_note != "",
                    rx.callout(RegisterState.tries_note, icon="info", color_scheme="amber",
                               size="2", role="status", width="100%")),
            # The checklist hears both fields: "Not your email address" ticks as submit decides.
            field(t("Email address"), text_input(
                "email", type="email", auto_complete="username", required=True,
                on_change=lambda email: RegisterState.check_password(
                    {"password": _typed_in("password"), "email": email})),
                  "email", hint=t("The address this invitation was sent to."),
                  error=error_of(RegisterState, "email")),
            # A caregiver's link: the code the patient tells them, which the email doesn't carry.
            rx.cond(
                RegisterState.needs_access_code,
                field(RegisterState.code_label,
                      text_input("access_code", auto_complete="off", input_mode="numeric",
                                 required=True, max_length=20),
                      "access_code", hint=RegisterState.code_hint,
                      error=error_of(RegisterState, "access_code")),
            ),
            field(t("Password"), text_input(
                "password", type="password", auto_complete="new-password", required=True,
                on_change=lambda password: RegisterState.check_password(
                    {"password": password, "email": _typed_in("email")})),
                  "password", error=error_of(RegisterState, "password")),
            rx.cond(~RegisterState.existing_account, password_rules(RegisterState.rules)),
            rx.cond(
                ~RegisterState.existing_account,
                field(t("Confirm password"), text_input("confirm_password", type="password",
                                                        auto_complete="new-password"),
                      "confirm_password", error=error_of(RegisterState, "confirm_password")),
            ),
            rx.cond(
                RegisterState.needs_date_of_birth,
                field(t("Date of birth"), text_input("date_of_birth", type="date", required=True),
                      "date_of_birth", hint=t("As on file with the office."),
                      error=error_of(RegisterState, "date_of_birth")),
            ),
            rx.vstack(
                rx.checkbox(t("I agree to the terms of service"), name="terms", size="3", id="terms",
                            aria_invalid=rx.cond(RegisterState.error_field == "terms", "true", "false"),
                            aria_describedby=rx.cond(RegisterState.error_field == "terms",
                                                     "terms-error", "")),
                rx.cond(RegisterState.error_field == "terms",
                        rx.text(RegisterState.error, size="2", color_scheme="red", role="alert",
                                id="terms-error", class_name="cs-field-error")),
                terms_dialog(),
                spacing="1",
            ),
            form_error(RegisterState),
            primary_button(t("Create Password"), type="submit", loading=RegisterState.busy,
                           width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=RegisterState.submit,
        width="100%",
    )
    return public_page(
        t("Create your CareSpace password"),
        rx.match(
            RegisterState.view,
            ("loading", rx.center(rx.spinner(size="3"), padding="2rem")),
            ("form", form),
            link_problem(RegisterState.view, RegisterState.link_message, RegisterState.home,
                         RegisterState.home_label),
        ),
    )


def forgot_password_page() -> rx.Component:
    return public_page(
        t("Forgot Password"),
        rx.cond(
            ForgotPasswordState.sent,
            rx.vstack(
                rx.callout(
                    t("If that address belongs to a CareSpace account, we've sent it a link to "
                      "reset your password. The link works for {time}.",
                      time=i18n.duration(RESET_TTL)),
                    icon="mail", color_scheme="green", role="status",
                ),
                tap_link(t("Back to sign in"), routes.SIGN_IN),
                spacing="3",
            ),
            rx.form(
                rx.vstack(
                    rx.text(t("Enter the email address you use for CareSpace. We'll send you a "
                              "link to choose a new password."), size="3"),
                    field(t("Email address"), text_input("email", type="email",
                                                         auto_complete="username", required=True),
                          "email", error=error_of(ForgotPasswordState, "email")),
                    form_error(ForgotPasswordState),
                    primary_button(t("Send reset link"), type="submit",
                                   loading=ForgotPasswordState.busy, width="100%"),
                    tap_link(t("Back to sign in"), routes.SIGN_IN),
                    spacing="4",
                    width="100%",
                ),
                on_submit=ForgotPasswordState.submit,
                width="100%",
            ),
        ),
    )


def reset_password_page() -> rx.Component:
    form = rx.form(
        rx.vstack(
            field(t("New password"), text_input("password", type="password",
                                                auto_complete="new-password", required=True,
                                                on_change=ResetPasswordState.check_password),
                  "password", error=error_of(ResetPasswordState, "password")),
            password_rules(ResetPasswordState.rules),
            field(t("Confirm new password"), text_input("confirm_password", type="password",
                                                        auto_complete="new-password", required=True),
                  "confirm_password", error=error_of(ResetPasswordState, "confirm_password")),
            form_error(ResetPasswordState),
            primary_button(t("Reset password"), type="submit", loading=ResetPasswordState.busy,
                           width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=ResetPasswordState.submit,
        width="100%",
    )
    return public_page(
        t("Choose a new password"),
        rx.match(
            ResetPasswordState.view,
            ("loading", rx.center(rx.spinner(size="3"), padding="2rem")),
            ("form", form),
            link_problem(ResetPasswordState.view, ResetPasswordState.link_message,
                         ResetPasswordState.home, ResetPasswordState.home_label),
        ),
    )
