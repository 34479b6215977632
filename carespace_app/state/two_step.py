"""Settings › Two-step sign-in (issue #17, services/identity/mfa.py): turn it on with a QR
code and a first code, see the recovery codes once, make new ones, turn it off.

The key being set up is shown (it has to be, to be scanned or typed) and forgotten by the
page once confirmed; the recovery codes are shown once and forgotten at "I've saved these
codes". Every handler acts on the signed-in person's own account only (``_own``).
"""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.identity import mfa, mfa_codes
from carespace_app.state.session import SessionState
from carespace_app.timefmt import day

MAX_FIELD = 100
TURNED_ON = N_("Two-step sign-in is on.")
TURNED_OFF = N_("Two-step sign-in is off.")
NEW_CODES = N_("New recovery codes made. The old ones no longer work.")


def _text(form: dict, key: str) -> str:
    value = form.get(key, "") if isinstance(form, dict) else ""
    return value[:MAX_FIELD] if isinstance(value, str) else ""


class TwoStepState(SessionState):
    # off | setup (QR code and first code) | codes (the new recovery codes, once) | on
    view: str = "off"
    since: str = ""
    codes_left: int = 0
    # A staff member the practice requires it of, without it: the page says why.
    required_note: str = ""
    # Staff, while the practice requires it, keep it on: the page says so instead of "Turn off".
    can_turn_off: bool = True
    qr: str = ""
    secret_text: str = ""
    codes: list[str] = []
    error: str = ""
    error_field: str = ""
    busy: bool = False
    off_open: bool = False
    form_key: int = 0
    _was_required: bool = False

    def _show(self, status: mfa.Status) -> None:
        self.view = "on" if status.on else "off"
        self.since = day(status.since, lang=self.lang) if status.since else ""
        self.codes_left = status.codes_left
        self.required_note = self._tr(mfa.STAFF_SETUP_NEEDED) if status.must_set_up else ""
        self.can_turn_off = status.can_turn_off
        self._was_required = status.must_set_up

    def _clear(self) -> None:
        self.error, self.error_field, self.busy = "", "", False

    async def load(self):
        self._clear()
        self.qr, self.secret_text, self.codes, self.off_open = "", "", [], False
        got = await self._own(lambda db, v: mfa.status(db, v.user), what="two-step status")
        if got.ok:
            self._show(got.value)

    async def _refresh(self) -> None:
        got = await self._own(lambda db, v: mfa.status(db, v.user), what="two-step status")
        if got.ok:
            self._show(got.value)

    @rx.event
    async def start_setup(self):
        if self.busy:
            return
        self._clear()
        self.busy = True
        yield
        got = await self._own(lambda db, v: mfa.begin_setup(db, v.user, clock=utcnow,
                                                            client_ip=v.client_ip),
                              what="two-step set-up")
        self.busy = False
        if not got.ok:
            self.error = got.error
            return
        self.qr = mfa_codes.qr_data_uri(got.value.uri)
        self.secret_text = mfa_codes.grouped(got.value.secret)
        self.view = "setup"
        self.form_key += 1
        yield rx.set_focus("two_step_code")

    def cancel_setup(self):
        self._clear()
        self.qr, self.secret_text = "", ""
        if self.view == "setup":
            self.view = "off"

    @rx.event
    async def confirm_setup(self, form: dict):
        if self.busy:
            return
        code = _text(form, "two_step_code")
        self._clear()
        self.busy = True
        yield
        got = await self._own(lambda db, v: mfa.confirm_setup(db, v.user, code, clock=utcnow,
                                                              client_ip=v.client_ip),
                              what="two-step confirmation")
        self.busy = False
        if not got.ok:
            self.error, self.error_field = got.error, got.field
            if got.field:
                yield rx.set_focus("two_step_code")
            return
        self.qr, self.secret_text = "", ""
        self.codes = got.value
        self.view = "codes"
        self._flash("success", self._tr(TURNED_ON))

    async def saved_codes(self):
        """"I've saved these codes": the codes leave the page for good."""
        self.codes = []
        if self._was_required:  # the admin page was waiting for this
            self._was_required = False
            self._go(routes.ADMIN)
            return
        await self._refresh()

    @rx.event
    async def make_new_codes(self, form: dict):
        if self.busy:
            return
        code = _text(form, "new_codes_code")
        self._clear()
        self.busy = True
        yield
        got = await self._own(lambda db, v: mfa.new_recovery_codes(db, v.user, code, clock=utcnow,
                                                                   client_ip=v.client_ip),
                              what="new recovery codes")
        self.busy = False
        if not got.ok:
            self.error, self.error_field = got.error, got.field and "new_codes_code"
            return
        self.codes = got.value
        self.view = "codes"
        self.form_key += 1
        self._flash("success", self._tr(NEW_CODES))

    def set_off_open(self, value: bool):
        self.off_open = bool(value)
        self._clear()
        if not self.off_open:
            self.form_key += 1

    @rx.event
    async def turn_off(self, form: dict):
        if self.busy:
            return
        password, code = _text(form, "off_password"), _text(form, "off_code")
        self._clear()
        self.busy = True
        yield
        got = await self._own(lambda db, v: mfa.turn_off(db, v.user, password=password, code=code,
                                                         clock=utcnow, client_ip=v.client_ip),
                              what="two-step turn off", hashes=True)
        self.busy = False
        if not got.ok:
            self.error = got.error
            self.error_field = {"current_password": "off_password", "code": "off_code"}.get(
                got.field, "")
            return
        self.off_open = False
        self.form_key += 1
        await self._refresh()
        self._flash("success", self._tr(TURNED_OFF))
