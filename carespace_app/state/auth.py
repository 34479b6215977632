"""Signing in: the email and password, then the second step's code when it is on.

Registration is in register.py, Forgot Password and the reset link in password_reset.py;
what the signed-out forms share is in auth_forms.py.
Passwords pass through these handlers as arguments and are never kept in a
state var (state can live in Redis); only the rule ticks are.
"""
from __future__ import annotations

import secrets
from urllib.parse import quote

import reflex as rx

from carespace_app import i18n, routes
from carespace_app.clock import utcnow
from carespace_app.http import TICKET_REFUSED
from carespace_app.policy import (
    HASH_QUEUE_LIMIT,
    HASH_WAIT_NOTICE,
    IDLE_TIMEOUT,
)
from carespace_app.i18n import N_
from carespace_app.services.errors import BUSY_TEMPLATE
from carespace_app.services.identity import mfa
from carespace_app.services.identity import signin
from carespace_app.services.identity import security
from carespace_app.state.session import SOMETHING_WRONG_TEMPLATE, SessionState
from carespace_app.state.auth_forms import (
    COOKIES_NEEDED, browser_nonce, focus, form_text, refuse, session_starter,
)


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
        email, password = form_text(form, "email"), form_text(form, "password")
        for field_id, value in (("email", email), ("password", password)):
            if not value:
                yield refuse(self, field_id, self._tr(EMPTY_SIGN_IN[field_id]))
                return
        nonce = browser_nonce(self)
        if not nonce:
            yield refuse(self, "", self._tr(COOKIES_NEEDED))
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
        start = session_starter(self, nonce)

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
                yield refuse(self, "", got.error)
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
            yield focus("code")
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
        return refuse(self, field_id, error)

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
            return focus("code")

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
        code = form_text(form, "code")
        if not code.strip():
            missing = mfa.NO_CODE if self.step == "code" else mfa.NO_RECOVERY_CODE
            yield refuse(self, "code", self._tr(missing, **mfa.DIGITS))
            return
        nonce = browser_nonce(self)
        if not nonce:
            yield refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        self.busy, self.error, self.error_field = True, "", ""
        yield
        token, recovery = self._second_step, self.step == "recovery"
        client_ip = self.router.session.client_ip or ""
        start = session_starter(self, nonce)

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
                yield refuse(self, "", got.error)
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
        nonce = browser_nonce(self)
        if not nonce:
            yield refuse(self, "", self._tr(COOKIES_NEEDED))
            return
        self.busy = True
        yield
        token = self._second_step
        client_ip = self.router.session.client_ip or ""
        start = session_starter(self, nonce)

        def finish(db) -> str:
            user = mfa.finish_after_recovery(db, token, client_ip=client_ip, clock=utcnow)
            return start(db, user)

        got = await self._public(finish, what="two-step sign-in")
        if self._lost_second_step(got):
            return
        if not got.ok:
            yield refuse(self, "", got.error)
            return
        self.busy = False
        self._signed_in(got.value)
