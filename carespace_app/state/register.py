"""/register?token=…: registering from an invitation (a patient's, or a caregiver's with the
access code the patient tells them).

Passwords pass through these handlers as arguments and are never kept in a state var.
"""
from __future__ import annotations

from datetime import date

import reflex as rx

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.onboarding import invitations
from carespace_app.state.session import SessionState
from carespace_app.state.auth_forms import (
    COOKIES_NEEDED, LINK_VIEWS, TOO_MANY_TRIES, TRIES_PARAMS, another_try,
    browser_nonce, form_text, refuse, rules_view, session_starter, tell_if_signed_in,
    typed_password,
)


ENTER_DATE_OF_BIRTH = N_("Enter your date of birth.")
# The registration form's fields: a service's error with one of these names shows beside it.
REGISTER_FIELDS = {"email", "access_code", "password", "confirm_password", "date_of_birth", "terms"}


class RegisterState(SessionState):
    """/register?token=…: the invitation link from the email."""

    view: str = "loading"  # loading | form | invalid | expired | used | superseded | locked | no_code
    link_message: str = ""
    kind: str = ""
    invitee_name: str = ""
    needs_date_of_birth: bool = False
    existing_account: bool = False
    # A caregiver's link: the access code the patient told them ("Access code from Rosa").
    needs_access_code: bool = False
    code_label: str = ""
    code_hint: str = ""
    _code_from: str = ""  # the patient's first name, for the sentence when the code is missing
    error: str = ""
    error_field: str = ""  # the field the error belongs to ("": the form): shown beside it
    busy: bool = False
    rules: list[dict[str, str]] = []
    passwords_match: bool = True
    tries_note: str = ""  # "2 tries left before this link locks." once a wrong answer was given
    # Where "Go to Home" leads when the link is used up and the tab is signed in ("": not).
    home: str = ""
    home_label: str = ""
    _token: str = ""
    _password_tries: list[float] = []

    def _token_from_url(self) -> str:
        return self.router.url.query_parameters.get("token", "")[:200]

    async def load(self):
        self._token = self._token_from_url()
        self.error = ""
        self.error_field = ""
        self.busy = False
        self.tries_note = ""
        self.home = ""
        self.home_label = ""
        self.rules = rules_view("", None, self.lang)
        token = self._token
        got = await self._public(lambda db: invitations.inspect(db, token, clock=utcnow),
                                 what="registration link")
        if not got.ok:
            await self._link_problem(got)
            return
        found = got.value
        self.view = "form"
        self.kind = found.kind
        self.invitee_name = found.invitee_name
        self.needs_date_of_birth = found.needs_date_of_birth
        self.existing_account = found.existing_account
        self.needs_access_code = found.needs_access_code
        self._code_from = found.patient_first_name
        words = invitations.ACCESS_CODE_TEXT
        self.code_label = self._tr(words["label"], first_name=found.patient_first_name)
        self.code_hint = self._tr(words["hint"], first_name=found.patient_first_name,
                                  digits=invitations.ACCESS_CODE_DIGITS)
        # Wrong answers were given before (perhaps in another tab): say what is left.
        self.tries_note = (invitations.tries_left_text(found.tries_left, self.lang)
                           if found.tries_left < invitations.MAX_WRONG_ANSWERS else "")

    async def _link_problem(self, got) -> None:
        """The link can't be used (got.link says why), or looking it up failed on our side.
        Someone signed in is told so, not sent to call the office."""
        self.busy = False
        self.view = got.link if got.link in LINK_VIEWS else ("invalid" if got.link else "unavailable")
        self.link_message = got.error
        if got.link:
            await tell_if_signed_in(self)

    def check_password(self, value: dict | str):
        """The live checklist: {"password", "email"} as typed (cheap: no zxcvbn here).

        With the email typed, "Not your email address" ticks as submit will judge it:
        submit checks against the invited address, which the typed one must match.
        """
        password, email = typed_password(value)
        self.rules = rules_view(password, email or None, self.lang)

    @rx.event
    async def submit(self, form: dict):
        email = form_text(form, "email")
        password = form_text(form, "password")
        confirm = form_text(form, "confirm_password")
        accepted = form.get("terms") in (True, "on", "true")
        dob_text = form_text(form, "date_of_birth")
        access_code = form_text(form, "access_code")
        self.error = ""
        self.error_field = ""
        nonce = browser_nonce(self)
        if not nonce:
            yield refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        if not another_try(self):
            yield refuse(self, "", self._tr(TOO_MANY_TRIES, **TRIES_PARAMS))
            return
        dob = None
        if self.needs_date_of_birth:
            try:
                dob = date.fromisoformat(dob_text)
            except ValueError:
                yield refuse(self, "date_of_birth", self._tr(ENTER_DATE_OF_BIRTH))
                return
        if self.needs_access_code and not access_code.strip():
            yield refuse(self, "access_code", self._tr(invitations.ACCESS_CODE_TEXT["missing"],
                                                        first_name=self._code_from))
            return
        if self.existing_account:
            confirm = password  # they type their existing password once
        self.busy = True
        yield
        token = self._token
        client_ip = self.router.session.client_ip or ""
        start = session_starter(self, nonce)
        lang = self.lang  # a new account keeps the language it was created in

        def register(db) -> str:
            user = invitations.redeem(
                db, token, email=email, password=password, confirm_password=confirm,
                date_of_birth=dob, accepted_terms=accepted, clock=utcnow, client_ip=client_ip,
                access_code=access_code, language=lang,
            )
            return start(db, user)

        got = await self._public(register, what="registration", hashes=True)
        if not got.ok:
            if got.link:
                await self._link_problem(got)
                return
            yield refuse(self, got.field if got.field in REGISTER_FIELDS else "", got.error)
            return
        self._go(f"{routes.AUTH_SESSION}?ticket={got.value}")
