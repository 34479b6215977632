"""Settings: change the email address or the password (both ask for the current password),
and confirm a new email address from the emailed link; a patient's choice of when new
results are shown (issue #16, services/records/result_release.py)."""
from __future__ import annotations

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.policy import EMAIL_CHANGE_TTL
from carespace_app.services.identity import accounts
from carespace_app.services.identity import email_change
from carespace_app.services.mail import notifications
from carespace_app.services.identity import passwords
from carespace_app.services.onboarding import staff
from carespace_app.services.records import result_release
from carespace_app.state.auth_forms import (ALREADY_SIGNED_IN, TOO_MANY_TRIES, TRIES_PARAMS,
                                            another_try, signed_in_home)
from carespace_app.state.portal import PortalState
from carespace_app.state.session import SessionState

MAX_FIELD = 1000
MESSAGE_EMAIL_LABEL = notifications.STAFF_SETTING_LABEL
MESSAGE_EMAIL_ON = N_("Saved. You'll get an email when a patient sends a message.")
MESSAGE_EMAIL_OFF = N_("Saved. You won't get emails about patients' messages.")
LINK_SENT = N_("We've sent a confirmation link to {email}. Your email address changes when you "
               "open it (the link works for {time}).")
CHECK_INBOX = N_("Check your new inbox for the confirmation link.")
PASSWORD_CHANGED = N_("Your password was changed. You were signed out on your other devices.")
PASSWORD_CHANGED_SHORT = N_("Password changed.")
EMAIL_CHANGED = N_("Your email address is now {email}. Sign in with it from now on.")


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def _rules_view(password: str, email: str | None, lang: str = "en") -> list[dict[str, str]]:
    # Cheap whatever is typed: the common-password rule shows "checked when you submit".
    return passwords.checklist(password, email, lang=lang)


class SettingsState(PortalState):
    _password_tries: list[float] = []
    dialog_open: bool = False
    tab: str = "email"
    email_error: str = ""
    password_error: str = ""
    notice: str = ""
    busy: bool = False
    rules: list[dict[str, str]] = []
    form_key: int = 0
    # The office's own choices: shown to staff only, in the admin frame.
    office: bool = False
    message_email: bool = True
    choice_busy: bool = False
    # The patient's own choices for new results, per category: "now" or "hold", and the
    # most days to wait ("1".."14"), as the form shows them.
    result_mode: dict[str, str] = {}
    result_days: dict[str, str] = {}
    result_error: str = ""
    result_saving: bool = False

    async def load(self):
        self.dialog_open = False
        self.email_error = ""
        self.password_error = ""
        self.notice = ""
        self.busy = False
        self.choice_busy = False
        # Staff have no patient's portal: their Settings open without one.
        choice = await self._own(lambda db, v: staff.message_email_choice(db, v.user),
                                 what="settings")
        if choice.left:
            return
        if choice.ok and choice.value is not None:
            viewer = await self._person()
            if viewer is None:
                return
            await self._show_identity(viewer)
            self.office, self.message_email = True, choice.value
        else:
            self.office = False
            got = await self._open_page(area=None)
            if not got.ok:
                return
            await self._load_result_choices()
        self.rules = _rules_view("", self.user_email, self.lang)

    async def _load_result_choices(self) -> None:
        self.result_error, self.result_saving = "", False
        if self.relation != "self":  # a caregiver follows the patient's choice
            self.result_mode, self.result_days = {}, {}
            return
        got = await self._portal(lambda db, v: result_release.choices(db, v.user, v.patient_id,
                                                                      clock=utcnow),
                                 what="result choices")
        if got.ok:
            self._show_result_choices(got.value)

    def _show_result_choices(self, days: dict[str, int]) -> None:
        self.result_mode = {c: "hold" if d else "now" for c, d in days.items()}
        self.result_days = {c: str(d or result_release.SUGGESTED_DAYS) for c, d in days.items()}

    def set_result_mode(self, category: str, mode: str):
        if category in self.result_mode and mode in ("now", "hold"):
            self.result_mode = {**self.result_mode, category: mode}

    def set_result_days(self, category: str, days: str):
        if category in self.result_days and isinstance(days, str) and len(days) <= 3:
            self.result_days = {**self.result_days, category: days}

    @rx.event
    async def save_result_choices(self):
        if self.result_saving:
            return
        wanted = {c: (self.result_days.get(c, "") if mode == "hold" else 0)
                  for c, mode in self.result_mode.items()}
        self.result_saving, self.result_error = True, ""
        yield
        got = await self._portal(lambda db, v: (
            result_release.set_choices(db, v.user, v.patient_id, wanted, clock=utcnow),
            result_release.choices(db, v.user, v.patient_id, clock=utcnow)),
            what="result choices", writes=True)
        self.result_saving = False
        if got.left:
            return
        if not got.ok:
            self.result_error = got.error
            return
        self._show_result_choices(got.value[1])
        self._flash("success", self._tr(result_release.CHOICES_SAVED))

    @rx.event
    async def choose_message_email(self, value: bool):
        """Staff: "Email me when a patient sends a message" (saved at the click)."""
        if self.choice_busy:
            return
        self.choice_busy = True
        yield
        got = await self._office(lambda db, v: staff.choose_message_email(
            db, v.user, value is True, clock=utcnow, client_ip=v.client_ip), what="settings")
        self.choice_busy = False
        if got.left:
            return
        if not got.ok:
            self._flash("error", got.error)
            return
        self.message_email = got.value
        said = MESSAGE_EMAIL_ON if got.value else MESSAGE_EMAIL_OFF
        self._flash("success", self._tr(said))

    def set_dialog_open(self, value: bool):
        self.dialog_open = bool(value)
        if self.dialog_open:
            self.email_error = ""
            self.password_error = ""
            self.rules = _rules_view("", self.user_email, self.lang)
        else:
            # Fresh fields next time. Not on opening: this reply can arrive after the
            # person has started typing, and a remount would wipe what they typed.
            self.form_key += 1

    def set_tab(self, value: str):
        self.tab = "password" if value == "password" else "email"

    def check_password(self, value: str):
        typed = value[:MAX_FIELD] if isinstance(value, str) else ""
        self.rules = _rules_view(typed, self.user_email, self.lang)

    @rx.event
    async def change_email(self, form: dict):
        current, new_email = _text(form, "current_password"), _text(form, "new_email").strip()
        self.email_error = ""
        self.busy = True
        yield
        got = await self._own(lambda db, v: email_change.request_email_change(
            db, v.user.id, current_password=current, new_email=new_email, clock=utcnow,
            client_ip=v.client_ip), what="email change request", hashes=True)
        self.busy = False
        if not got.ok:
            self.email_error = got.error
            return
        self.dialog_open = False
        self.notice = self._tr(LINK_SENT, email=new_email, time=i18n.duration(EMAIL_CHANGE_TTL))
        self._flash("success", self._tr(CHECK_INBOX))

    @rx.event
    async def change_password(self, form: dict):
        if not another_try(self):
            self.password_error = self._tr(TOO_MANY_TRIES, **TRIES_PARAMS)
            return
        current = _text(form, "current_password")
        new, confirm = _text(form, "new_password"), _text(form, "confirm_new_password")
        self.password_error = ""
        self.busy = True
        yield
        got = await self._own(lambda db, v: accounts.change_password(
            db, v.user.id, current_password=current, new_password=new, confirm_password=confirm,
            clock=utcnow, keep_session_id=v.session.id, client_ip=v.client_ip),
            what="password change", hashes=True)
        self.busy = False
        if not got.ok:
            self.password_error = got.error
            return
        self.dialog_open = False
        self.notice = self._tr(PASSWORD_CHANGED)
        self._flash("success", self._tr(PASSWORD_CHANGED_SHORT))


class ConfirmEmailState(SessionState):
    """/confirm-email?token=…: the link sent to the new address."""

    view: str = "loading"  # loading | done | invalid | expired | used | superseded | error | signed_in
    message: str = ""
    new_email: str = ""
    home: str = ""
    home_label: str = ""

    async def load(self):
        token = self.router.url.query_parameters.get("token", "")[:200]
        got = await self._public(lambda db: email_change.confirm_email_change(db, token, clock=utcnow).email,
                                 what="email confirmation")
        if got.link:
            self.view = got.link if got.link in {"expired", "used", "superseded"} else "invalid"
            self.message = got.error
            # Confirmed already and signed in: nothing to call the office about. (An expired
            # or replaced link keeps its sentence: the change has to be asked for again.)
            home = await signed_in_home(self) if got.link == "used" else None
            if home is not None:
                self.view, self.message = "signed_in", self._tr(ALREADY_SIGNED_IN)
                self.home, self.home_label = home
            return
        if not got.ok:
            self.view = "error"
            self.message = got.error
            return
        self.new_email = got.value
        self.view = "done"
        self.message = self._tr(EMAIL_CHANGED, email=self.new_email)
