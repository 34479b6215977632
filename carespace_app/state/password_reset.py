"""Forgot Password, and the reset link it emails.

Passwords pass through these handlers as arguments and are never kept in a state var.
"""
from __future__ import annotations

import asyncio

import reflex as rx

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.identity import resets
from carespace_app.state.session import SessionState
from carespace_app.state.auth_forms import (
    TOO_MANY_TRIES, TRIES_PARAMS, another_try, focus, form_text, refuse, rules_view,
    tell_if_signed_in, typed_password,
)


FORGOT_EMPTY = N_("Enter the email address you use for CareSpace.")
ANSWER_HEAD_START = 0.25  # seconds between Forgot Password's answer and its work


class ForgotPasswordState(SessionState):
    sent: bool = False
    error: str = ""
    error_field: str = ""
    busy: bool = False

    def load(self):
        self.sent = False
        self.error = ""
        self.error_field = ""
        self.busy = False

    @rx.event
    async def submit(self, form: dict):
        if self.sent:  # a second tap while the first was on its way: one email is enough
            return
        email = form_text(form, "email").strip()
        if not email:
            self.error = self._tr(FORGOT_EMPTY)
            self.error_field = "email"
            yield focus("email")
            return
        # The answer goes out first: the same words at the same moment whether or not the
        # address has an account. The work differs (a link, an email and their rows, or
        # one audit row), so timing it would tell an attacker which addresses are patients.
        self.sent = True
        self.busy = True
        self.error = ""
        self.error_field = ""
        yield
        # A head start: the work's Python holds the GIL and its writes take the CPU, and
        # started at once it delayed the answer to a known address by 10 ms, 30 ms on a
        # busy machine; 50 ms was still too short on a loaded 2-core CI runner, where the
        # browser took longer than that to show the answer (measured by
        # tests/security/live/test_credentials.py). Nobody waits for the work.
        await asyncio.sleep(ANSWER_HEAD_START)

        # Whatever the work comes to, the person has their answer already (and a failure is
        # logged by the call path): nothing more is shown.
        # Not in the password-hashing queue: it hashes no password, and a queue full of
        # sign-ins (security.Busy) would drop the request after the answer said it was sent.
        await self._public(lambda db: resets.request_password_reset(db, email, clock=utcnow),
                           what="password reset request")
        self.busy = False


RESET_FIELDS = {"password", "confirm_password"}


class ResetPasswordState(SessionState):
    view: str = "loading"  # loading | form | invalid | expired | used | superseded | signed_in
    link_message: str = ""
    error: str = ""
    error_field: str = ""  # "password", "confirm_password" or "" (the form)
    busy: bool = False
    home: str = ""  # see RegisterState.home
    home_label: str = ""
    rules: list[dict[str, str]] = []
    _token: str = ""
    # The account's email, for the checklist's "Not your email address"; never sent to the
    # browser (the reset page doesn't show it). Looked up once per link (_email_for_token).
    _account_email: str = ""
    _email_for_token: str = ""

    _password_tries: list[float] = []

    async def load(self):
        self._token = self.router.url.query_parameters.get("token", "")[:200]
        self.error = ""
        self.error_field = ""
        self.busy = False
        self.home = ""
        self.home_label = ""
        self.rules = rules_view("", None, self.lang)
        token = self._token
        got = await self._public(lambda db: resets.inspect_reset(db, token, clock=utcnow),
                                 what="reset link")
        if not got.ok:
            self.view = got.link or "invalid"
            self.link_message = got.error
            if got.link:
                await tell_if_signed_in(self)
            return
        self.view = "form"

    async def check_password(self, value: str):
        """The live checklist (cheap: no zxcvbn here), against the email the link's account
        has, as the reset itself will check."""
        password, _ignored = typed_password(value)
        if self._email_for_token != self._token:
            token = self._token
            got = await self._public(lambda db: resets.reset_link_email(db, token, clock=utcnow),
                                     what="reset link's account")
            self._account_email = got.value if got.ok else ""
            self._email_for_token = token
        self.rules = rules_view(password, self._account_email or None, self.lang)

    @rx.event
    async def submit(self, form: dict):
        if not another_try(self):
            yield refuse(self, "", self._tr(TOO_MANY_TRIES, **TRIES_PARAMS))
            return
        password, confirm = form_text(form, "password"), form_text(form, "confirm_password")
        self.busy = True
        self.error = ""
        self.error_field = ""
        yield
        token = self._token
        got = await self._public(lambda db: resets.reset_password(
            db, token, new_password=password, confirm_password=confirm, clock=utcnow),
            what="password reset", hashes=True)
        self.busy = False
        if got.link:
            self.view = got.link
            self.link_message = got.error
            await tell_if_signed_in(self)
            return
        if not got.ok:
            yield refuse(self, got.field if got.field in RESET_FIELDS else "", got.error)
            return
        yield rx.redirect(f"{routes.SIGN_IN}?reason=reset", replace=True)
