"""Signed-out flows: sign in, register from an invitation, forgot and reset password.

Passwords pass through these handlers as arguments and are never kept in a
state var (state can live in Redis); only the rule ticks are.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from datetime import date
from typing import Optional
from urllib.parse import quote

import reflex as rx

from carespace_app import i18n, routes
from carespace_app.clock import utcnow
from carespace_app.http import TICKET_REFUSED, cookie_value, nonce_cookie_name
from carespace_app.policy import (
    HASH_QUEUE_LIMIT,
    HASH_WAIT_NOTICE,
    IDLE_TIMEOUT,
    PASSWORD_TRIES_PER_TAB,
    PASSWORD_TRIES_WINDOW,
)
from carespace_app.i18n import N_
from carespace_app.services.errors import BUSY_TEMPLATE
from carespace_app.services.identity import mfa, resets
from carespace_app.services.identity import signin
from carespace_app.services.onboarding import invitations
from carespace_app.services.identity import passwords
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.state.session import SOMETHING_WRONG_TEMPLATE, SessionState

SIGN_IN_NOTICES = {
    "signed-out": N_("You have signed out."),
    "idle": N_("You were signed out after {time} without activity. Please sign in again."),
    "expired": N_("Your session has ended. Please sign in again."),
    "password-changed": N_("Your password was changed. Please sign in with your new password."),
    "reset": N_("Your password has been reset. Sign in with your new password."),
    "email-confirmed": N_("Your new email address is confirmed. Sign in with it from now on."),
    # A sign-in link started in another browser, or followed from another site.
    TICKET_REFUSED: N_("For your safety, we didn't sign you in from that link. "
                       "To sign in, enter your email address and password."),
}
NOTICE_PARAMS = {"time": i18n.duration(IDLE_TIMEOUT)}
# The page's nonce cookie is missing (cookies blocked, or a page older than the cookie).
COOKIES_NEEDED = N_("We couldn't sign you in from this page. Please reload it and try again. "
                    "If this keeps happening, allow cookies for this site.")

MAX_FIELD = 1000  # nothing a person types is longer; refuses megabyte payloads early


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _rules_view(password: str, email: str | None, lang: str = "en") -> list[dict[str, str]]:
    return passwords.checklist(password, email, lang=lang)


def _browser_nonce(state: rx.State) -> Optional[str]:
    """The sign-in nonce cookie the event socket arrived with (http.py sets it with the page):
    the sign-in ticket is bound to it, so only this browser can swap the ticket."""
    return cookie_value(state.router.headers.cookie or "", nonce_cookie_name())


def _session_starter(state: rx.State, nonce: str):
    """``start(db, user)``: the session (its sign-in ticket) for a person this event proved,
    bound to this browser, with the address and browser it came from (read here, on the loop)."""
    client_ip = state.router.session.client_ip or ""
    user_agent = (state.router.headers.user_agent or "")[:300]
    return lambda db, user: sessions.start_session(db, user, clock=utcnow, client_ip=client_ip,
                                                   user_agent=user_agent, browser_nonce=nonce)


def _typed(value) -> tuple[str, str]:
    """(password, email) from a checklist event: the password alone, or both fields."""
    if isinstance(value, dict):
        password, email = value.get("password", ""), value.get("email", "")
    else:
        password, email = value, ""
    password = password[:MAX_FIELD] if isinstance(password, str) else ""
    email = email[:MAX_FIELD] if isinstance(email, str) else ""
    return password, email


# The pause after too many wrong passwords, counted down in the browser
# (pages/public.py::pause_countdown): "{time}" is "42 seconds" or "3 minutes".
SIGN_IN_PAUSED = N_("Too many unsuccessful sign-ins. For your safety, signing in is paused.")
PAUSE_LEFT = N_("You can try again in {time}.")
PAUSE_OVER = N_("You can try again now.")
PAUSE_UNITS = {"second": N_("1 second"), "seconds": N_("{n} seconds"),
               "minutes": N_("{n} minutes")}
PAUSE_FORGOT = N_("Forgot your password? Choose a new one:")
# A burst of sign-ins queues for password hashing (services/identity/security.py): shown
# beside the button while a sign-in waits longer than policy.HASH_WAIT_NOTICE. Longer than
# policy.HASH_QUEUE_LIMIT, it is refused at once instead (errors.BUSY).
SIGN_IN_WAITING = N_("Many people are signing in right now — this can take up to {time}.")
WAITING_PARAMS = {"time": i18n.duration(HASH_QUEUE_LIMIT, article=True)}
EMPTY_SIGN_IN = {"email": N_("Enter your email address."), "password": N_("Enter your password.")}
# A link that can no longer be used, opened by someone signed in: nothing to call about.
ALREADY_SIGNED_IN = N_("You're already signed in, so you don't need this link.")
HOME_LINKS = {"staff": N_("Go to the admin page"), "person": N_("Go to Home")}


def _focus(field_id: str):
    """Move the focus to a field (scrolled into view): a client-side event, no eval (CSP)."""
    return rx.set_focus(field_id)


def _refuse(form, field_id: str, sentence: str):
    """A sign-in, registration or reset form refuses: ``sentence`` beside its field ("": over
    the whole form), the focus on that field, the button usable again."""
    form.busy = False
    form.error = sentence
    form.error_field = field_id
    return _focus(field_id) if field_id else None


class SignInState(SessionState):
    error: str = ""
    # The field the error belongs to ("": the whole form): shown beside it, focused.
    error_field: str = ""
    notice: str = ""
    busy: bool = False
    # SIGN_IN_WAITING while a sign-in waits its turn in a long queue, else "".
    waiting: str = ""
    # Sign-in paused: seconds left when the server last said, and an id that restarts the
    # browser's countdown even when the number repeats.
    pause_seconds: int = 0
    pause_id: str = ""
    # The page to land on after signing in (?next=, a local page path; see routes.return_path).
    _next: str = ""
    # Two-step sign-in (services/identity/mfa.py): "password", then "code" (or "recovery":
    # a recovery code instead), "recovered" (how many are left, then Continue).
    step: str = "password"
    codes_left_note: str = ""
    # The "password passed" token: server-side only, forgotten when the tab starts over.
    _second_step: str = ""

    def _start_over(self) -> None:
        # Only what changed: every page load runs this, and Reflex sends each var set.
        for var, fresh in (("step", "password"), ("codes_left_note", ""), ("_second_step", "")):
            if getattr(self, var) != fresh:
                setattr(self, var, fresh)

    async def load(self):
        self.error = ""
        self.error_field = ""
        self.busy = False
        self.waiting = ""
        self._start_over()
        if self.pause_seconds:
            self.pause_seconds = 0
        query = self.router.url.query_parameters
        reason = query.get("reason", "")
        self.notice = self._tr(SIGN_IN_NOTICES[reason], **NOTICE_PARAMS) if reason in SIGN_IN_NOTICES else ""
        self._next = routes.return_path(query.get("next", "")) or ""
        tab = await self._bind_tab(touch=False)
        if tab.signed_in:
            return rx.redirect(routes.after_sign_in(self._next, staff=tab.user.is_staff),
                               replace=True)

    @rx.event
    async def submit(self, form: dict):
        email, password = _text(form, "email"), _text(form, "password")
        for field_id, value in (("email", email), ("password", password)):
            if not value:
                yield _refuse(self, field_id, self._tr(EMPTY_SIGN_IN[field_id]))
                return
        nonce = _browser_nonce(self)
        if not nonce:
            yield _refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        self.busy = True
        self.error = ""
        self.error_field = ""
        # A long queue is said while waiting; past the limit the call is refused at once.
        wait = security.bcrypt_wait_estimate()
        if HASH_WAIT_NOTICE.total_seconds() < wait <= HASH_QUEUE_LIMIT.total_seconds():
            self.waiting = self._tr(SIGN_IN_WAITING, **WAITING_PARAMS)
        yield
        client_ip = self.router.session.client_ip or ""
        start = _session_starter(self, nonce)

        def sign_in(db) -> tuple[str, str]:
            user = signin.authenticate(db, email, password, client_ip=client_ip, clock=utcnow)
            if mfa.needs_second_step(user):  # no session yet: the code comes first
                return "code", mfa.password_passed(db, user, clock=utcnow)
            return "ticket", start(db, user)

        got = await self._public(sign_in, what="sign-in", hashes=True)
        if self.waiting:
            self.waiting = ""
        if not got.ok:
            # Our side failed, or the queue was full (nothing was checked): no pause to
            # ask about, and the password stays typed for the next try.
            if got.msgid in (SOMETHING_WRONG_TEMPLATE, BUSY_TEMPLATE):
                yield _refuse(self, "", got.error)
                return
            paused = await self._public(lambda db: signin.sign_in_pause(
                db, email, client_ip, clock=utcnow), what="sign-in pause")
            yield self._paused_or_refused(paused, "password", got.field or "password", got.error)
            return
        if self.pause_seconds:
            self.pause_seconds = 0
        kind, token = got.value
        if kind == "code":
            self.busy = False
            self._second_step = token
            self.step = "code"
            yield _focus("code")
            return
        self._signed_in(token)

    def _paused_or_refused(self, paused, typed: str, field_id: str, error: str):
        """A refused password or code: past the failures allowed, the pause, counted down in
        the browser, and what was typed (``typed``) is gone, as it was refused; else the
        refusal beside ``field_id``."""
        if paused.ok and paused.value > 0:
            self.busy, self.error, self.error_field = False, "", ""
            self.pause_seconds = paused.value
            self.pause_id = secrets.token_hex(4)
            return rx.set_value(typed, "")
        if self.pause_seconds:
            self.pause_seconds = 0
        return _refuse(self, field_id, error)

    def _signed_in(self, ticket: str) -> None:
        self._start_over()
        self._go(f"{routes.AUTH_SESSION}?ticket={ticket}"
                 + (f"&next={quote(self._next, safe='/')}" if self._next else ""))

    # --- the second step -------------------------------------------------------------------

    def use_recovery_code(self):
        """"Use a recovery code instead" (and back): the same screen, another field."""
        if self.step in ("code", "recovery"):
            self.step = "recovery" if self.step == "code" else "code"
            self.error, self.error_field = "", ""
            return _focus("code")

    def back_to_password(self):
        """Back to the email and password: the sign-in starts over."""
        self._start_over()
        self.error, self.error_field, self.busy = "", "", False

    def _lost_second_step(self, got) -> bool:
        """The password-passed step expired or was replaced: start over, saying why."""
        if not got.link:
            return False
        self._start_over()
        self.busy = False
        self.error, self.error_field = got.error, ""
        return True

    @rx.event
    async def submit_code(self, form: dict):
        if self.step not in ("code", "recovery") or not self._second_step:
            self._start_over()
            return
        code = _text(form, "code")
        if not code.strip():
            missing = mfa.NO_CODE if self.step == "code" else mfa.NO_RECOVERY_CODE
            yield _refuse(self, "code", self._tr(missing, **mfa.DIGITS))
            return
        nonce = _browser_nonce(self)
        if not nonce:
            yield _refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        self.busy, self.error, self.error_field = True, "", ""
        yield
        token, recovery = self._second_step, self.step == "recovery"
        client_ip = self.router.session.client_ip or ""
        start = _session_starter(self, nonce)

        def second_step(db):
            if recovery:
                return mfa.sign_in_with_recovery_code(db, token, code, client_ip=client_ip,
                                                      clock=utcnow)
            user = mfa.sign_in_with_code(db, token, code, client_ip=client_ip, clock=utcnow)
            return start(db, user)

        got = await self._public(second_step, what="two-step sign-in")
        if self._lost_second_step(got):
            return
        if not got.ok:
            if got.msgid == SOMETHING_WRONG_TEMPLATE:
                yield _refuse(self, "", got.error)
                return
            paused = await self._public(lambda db: mfa.code_pause(db, token, client_ip,
                                                                  clock=utcnow), what="code pause")
            yield self._paused_or_refused(paused, "code", "code", got.error)
            return
        if self.pause_seconds:
            self.pause_seconds = 0
        if recovery:
            self.busy = False
            self.step = "recovered"
            self.codes_left_note = mfa.codes_left_text(got.value, self.lang)
            return
        self._signed_in(got.value)

    @rx.event
    async def finish_sign_in(self):
        """"Continue" after a recovery code, once the person has read how many are left."""
        if self.step != "recovered" or not self._second_step or self.busy:
            return
        nonce = _browser_nonce(self)
        if not nonce:
            yield _refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        self.busy = True
        yield
        token = self._second_step
        client_ip = self.router.session.client_ip or ""
        start = _session_starter(self, nonce)

        def finish(db) -> str:
            user = mfa.finish_after_recovery(db, token, client_ip=client_ip, clock=utcnow)
            return start(db, user)

        got = await self._public(finish, what="two-step sign-in")
        if self._lost_second_step(got):
            return
        if not got.ok:
            yield _refuse(self, "", got.error)
            return
        self.busy = False
        self._signed_in(got.value)


# Submitting a new password judges it with zxcvbn in the bcrypt threads: a tab gets
# policy.PASSWORD_TRIES_PER_TAB tries per policy.PASSWORD_TRIES_WINDOW.
TOO_MANY_TRIES = N_("You've tried several times in {time}. Please wait {time}, then try again.")
TRIES_PARAMS = {"time": i18n.duration(PASSWORD_TRIES_WINDOW, article=True)}


def _another_try(state) -> bool:
    """Counts a submit of this tab; False once the tab has used its tries for the window."""
    now = time.time()
    window = PASSWORD_TRIES_WINDOW.total_seconds()
    recent = [t for t in state._password_tries if now - window < t <= now]
    if len(recent) >= PASSWORD_TRIES_PER_TAB:
        if recent != state._password_tries:
            state._password_tries = recent
        return False
    state._password_tries = [*recent, now]
    return True


# A link that can't be used: each reason is its own view (pages/public.py::link_problem).
LINK_VIEWS = {"expired", "used", "superseded", "locked", "no_code"}
ENTER_DATE_OF_BIRTH = N_("Enter your date of birth.")
# The registration form's fields: a service's error with one of these names shows beside it.
REGISTER_FIELDS = {"email", "access_code", "password", "confirm_password", "date_of_birth", "terms"}


async def signed_in_home(state: SessionState) -> Optional[tuple[str, str]]:
    """(start page, its link's words) when this tab is signed in, else None: a used-up link
    (registration, reset, email confirmation) then says "You're already signed in"."""
    tab = await state._bind_tab(touch=False)
    if not tab.signed_in:
        return None
    staff = tab.user.is_staff
    return (routes.ADMIN if staff else routes.HOME), state._tr(HOME_LINKS["staff" if staff else "person"])


async def _tell_if_signed_in(state) -> None:
    """A used-up link opened in a signed-in tab: the page says so, with the way home."""
    home = await signed_in_home(state)
    if home is None:
        return
    state.view = "signed_in"
    state.link_message = state._tr(ALREADY_SIGNED_IN)
    state.home, state.home_label = home


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
        self.rules = _rules_view("", None, self.lang)
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
            await _tell_if_signed_in(self)

    def check_password(self, value: dict | str):
        """The live checklist: {"password", "email"} as typed (cheap: no zxcvbn here).

        With the email typed, "Not your email address" ticks as submit will judge it:
        submit checks against the invited address, which the typed one must match.
        """
        password, email = _typed(value)
        self.rules = _rules_view(password, email or None, self.lang)

    @rx.event
    async def submit(self, form: dict):
        email = _text(form, "email")
        password = _text(form, "password")
        confirm = _text(form, "confirm_password")
        accepted = form.get("terms") in (True, "on", "true")
        dob_text = _text(form, "date_of_birth")
        access_code = _text(form, "access_code")
        self.error = ""
        self.error_field = ""
        nonce = _browser_nonce(self)
        if not nonce:
            yield _refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        if not _another_try(self):
            yield _refuse(self, "", self._tr(TOO_MANY_TRIES, **TRIES_PARAMS))
            return
        dob = None
        if self.needs_date_of_birth:
            try:
                dob = date.fromisoformat(dob_text)
            except ValueError:
                yield _refuse(self, "date_of_birth", self._tr(ENTER_DATE_OF_BIRTH))
                return
        if self.needs_access_code and not access_code.strip():
            yield _refuse(self, "access_code", self._tr(invitations.ACCESS_CODE_TEXT["missing"],
                                                        first_name=self._code_from))
            return
        if self.existing_account:
            confirm = password  # they type their existing password once
        self.busy = True
        yield
        token = self._token
        client_ip = self.router.session.client_ip or ""
        start = _session_starter(self, nonce)
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
            yield _refuse(self, got.field if got.field in REGISTER_FIELDS else "", got.error)
            return
        self._go(f"{routes.AUTH_SESSION}?ticket={got.value}")


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
        email = _text(form, "email").strip()
        if not email:
            self.error = self._tr(FORGOT_EMPTY)
            self.error_field = "email"
            yield _focus("email")
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
        self.rules = _rules_view("", None, self.lang)
        token = self._token
        got = await self._public(lambda db: resets.inspect_reset(db, token, clock=utcnow),
                                 what="reset link")
        if not got.ok:
            self.view = got.link or "invalid"
            self.link_message = got.error
            if got.link:
                await _tell_if_signed_in(self)
            return
        self.view = "form"

    async def check_password(self, value: str):
        """The live checklist (cheap: no zxcvbn here), against the email the link's account
        has, as the reset itself will check."""
        password, _ignored = _typed(value)
        if self._email_for_token != self._token:
            token = self._token
            got = await self._public(lambda db: resets.reset_link_email(db, token, clock=utcnow),
                                     what="reset link's account")
            self._account_email = got.value if got.ok else ""
            self._email_for_token = token
        self.rules = _rules_view(password, self._account_email or None, self.lang)

    @rx.event
    async def submit(self, form: dict):
        if not _another_try(self):
            yield _refuse(self, "", self._tr(TOO_MANY_TRIES, **TRIES_PARAMS))
            return
        password, confirm = _text(form, "password"), _text(form, "confirm_password")
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
            await _tell_if_signed_in(self)
            return
        if not got.ok:
            yield _refuse(self, got.field if got.field in RESET_FIELDS else "", got.error)
            return
        yield rx.redirect(f"{routes.SIGN_IN}?reason=reset", replace=True)
