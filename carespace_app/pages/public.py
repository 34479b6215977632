"""The signed-out pages: Sign in, Create Password (registration), Forgot and reset password."""
from __future__ import annotations

import reflex as rx

from .. import routes
from ..components.ui import (
    error_callout,
    field,
    notice_callout,
    office_phone_link,
    primary_button,
    public_page,
    text_input,
)
from ..state.auth import ForgotPasswordState, RegisterState, ResetPasswordState, SignInState
from .terms import TERMS_OF_SERVICE


def sign_in_page() -> rx.Component:
    return public_page(
        "Sign in to CareSpace",
        notice_callout(SignInState.notice),
        error_callout(SignInState.error),
        rx.form(
            rx.vstack(
                field("Email address", text_input("email", type="email", auto_complete="username",
                                                  required=True), "email"),
                field("Password", text_input("password", type="password",
                                             auto_complete="current-password", required=True),
                      "password"),
                primary_button("Sign in", type="submit", loading=SignInState.busy, width="100%"),
                spacing="4",
                width="100%",
            ),
            on_submit=SignInState.submit,
            width="100%",
        ),
        rx.hstack(
            rx.link("Forgot Password", href=routes.FORGOT_PASSWORD, size="3"),
            justify="between",
            width="100%",
        ),
        rx.text(
            "New to CareSpace? Registration is by invitation from your doctor's office. "
            "Look for an email from noreply@carespaceportal.com.",
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
                    rx.match(rule["met"], ("yes", rx.el.span(" (done)", class_name="cs-sr-only")),
                             ("later", rx.fragment()),
                             rx.el.span(" (not yet)", class_name="cs-sr-only")),
                    spacing="2",
                    align="center",
                ),
                data_met=rule["met"],
            ),
        ),
        aria_label="Password requirements",
        aria_live="polite",
        class_name="cs-rules",
    )


def link_problem(view, message) -> rx.Component:
    return rx.vstack(
        rx.callout(message, icon="triangle_alert", color_scheme="amber", role="alert"),
        rx.text("Call the office at ", office_phone_link(), " and we'll send you a new link.", size="3"),
        rx.link("Go to sign in", href=routes.SIGN_IN, size="3"),
        spacing="3",
        align="start",
        data_link_state=view,
    )


def terms_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.trigger(rx.link("Read the terms of service", href="#", size="2")),
        rx.dialog.content(
            rx.dialog.title("Terms of service"),
            rx.scroll_area(
                rx.vstack(*[rx.text(p, size="2") for p in TERMS_OF_SERVICE], spacing="3"),
                max_height="60vh",
                type="auto",
            ),
            rx.dialog.close(primary_button("Close", margin_top="1rem")),
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
                    "You've been given access to a patient's CareSpace portal. ",
                    rx.cond(RegisterState.existing_account,
                            "You already have a CareSpace account: confirm with your email and your current password.",
                            "Create a password to finish."),
                    size="3",
                ),
                rx.text("Welcome, ", RegisterState.invitee_name,
                        ". Create a password and confirm your date of birth.", size="3"),
            ),
            error_callout(RegisterState.error),
            # The checklist hears both fields: "Not your email address" ticks as submit decides.
            field("Email address", text_input(
                "email", type="email", auto_complete="username", required=True,
                on_change=lambda email: RegisterState.check_password(
                    {"password": _typed_in("password"), "email": email})),
                  "email", hint="The address this invitation was sent to."),
            # A caregiver's link: the code the patient tells them, which the email doesn't carry.
            rx.cond(
                RegisterState.needs_access_code,
                field(RegisterState.code_label,
                      text_input("access_code", auto_complete="off", input_mode="numeric",
                                 required=True, max_length=20),
                      "access_code", hint=RegisterState.code_hint),
            ),
            field("Password", text_input(
                "password", type="password", auto_complete="new-password", required=True,
                on_change=lambda password: RegisterState.check_password(
                    {"password": password, "email": _typed_in("email")})),
                  "password"),
            rx.cond(~RegisterState.existing_account, password_rules(RegisterState.rules)),
            rx.cond(
                ~RegisterState.existing_account,
                field("Confirm password", text_input("confirm_password", type="password",
                                                     auto_complete="new-password"),
                      "confirm_password"),
            ),
            rx.cond(
                RegisterState.needs_date_of_birth,
                field("Date of birth", text_input("date_of_birth", type="date", required=True),
                      "date_of_birth", hint="As on file with the office."),
            ),
            rx.vstack(
                rx.checkbox("I agree to the terms of service", name="terms", size="3"),
                terms_dialog(),
                spacing="1",
            ),
            primary_button("Create Password", type="submit", loading=RegisterState.busy, width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=RegisterState.submit,
        width="100%",
    )
    return public_page(
        "Create your CareSpace password",
        rx.match(
            RegisterState.view,
            ("loading", rx.center(rx.spinner(size="3"), padding="2rem")),
            ("form", form),
            link_problem(RegisterState.view, RegisterState.link_message),
        ),
    )


def forgot_password_page() -> rx.Component:
    return public_page(
        "Forgot Password",
        rx.cond(
            ForgotPasswordState.sent,
            rx.vstack(
                rx.callout(
                    "If that address belongs to a CareSpace account, we've sent it a link to reset "
                    "your password. The link works for 1 hour.",
                    icon="mail", color_scheme="green", role="status",
                ),
                rx.link("Back to sign in", href=routes.SIGN_IN, size="3"),
                spacing="3",
            ),
            rx.form(
                rx.vstack(
                    rx.text("Enter the email address you use for CareSpace. We'll send you a link "
                            "to choose a new password.", size="3"),
                    error_callout(ForgotPasswordState.error),
                    field("Email address", text_input("email", type="email", auto_complete="username",
                                                      required=True), "email"),
                    primary_button("Send reset link", type="submit", width="100%"),
                    rx.link("Back to sign in", href=routes.SIGN_IN, size="3"),
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
            error_callout(ResetPasswordState.error),
            field("New password", text_input("password", type="password", auto_complete="new-password",
                                             required=True, on_change=ResetPasswordState.check_password),
                  "password"),
            password_rules(ResetPasswordState.rules),
            field("Confirm new password", text_input("confirm_password", type="password",
                                                     auto_complete="new-password", required=True),
                  "confirm_password"),
            primary_button("Reset password", type="submit", loading=ResetPasswordState.busy, width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=ResetPasswordState.submit,
        width="100%",
    )
    return public_page(
        "Choose a new password",
        rx.match(
            ResetPasswordState.view,
            ("loading", rx.center(rx.spinner(size="3"), padding="2rem")),
            ("form", form),
            link_problem(ResetPasswordState.view, ResetPasswordState.link_message),
        ),
    )
