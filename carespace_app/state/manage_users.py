"""Manage Users: the patient gives people they trust access, sends new links, revokes."""
from __future__ import annotations

import dataclasses

import reflex as rx

from carespace_app import i18n, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers, scopes
from carespace_app.services.onboarding.invitations import ACCESS_CODE_TEXT
from carespace_app.state.portal import PortalState

MAX_FIELD = 1000
# Toasts: short, and never the words the page already shows inline (the notice with the
# access code stays on the page; a toast only says it happened).
GRANTED_TOAST = N_("Invitation sent to {name}.")
RESENT_TOAST = N_("New link sent to {name}.")
REVOKED = N_("Access revoked. They can no longer open your portal.")
CHANGED_TOAST = N_("Access changed for {name}.")
NO_END = N_("No end date.")
ENDS_ON = N_("Access ends {day}.")
ENDED_ON = N_("Access ended {day}, the end date you chose.")
INVITED_NOTE = N_("Invitation sent. The link works until {when}.")
EXPIRED_NOTE = N_("The invitation link has expired. Send a new link so they can join.")
REVOKED_NOTE = N_("Access ended {when}.")
ACTIVE_NOTE = N_("Has access since {day}.")
CODE_BEFORE_GRANT = ACCESS_CODE_TEXT["before_grant"]
STATUS_LABELS = {
    "invited": N_("Invited"),
    "expired": N_("Link expired"),
    "old link": N_("Needs a new link"),
    "active": N_("Has access"),
    "revoked": N_("Access revoked"),
    "ended": N_("Access ended"),
}


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD].strip() if isinstance(value, str) else ""


@dataclasses.dataclass
class UserRow:
    grant_id: str = ""
    name: str = ""
    email: str = ""
    status: str = ""
    status_label: str = ""
    note: str = ""
    # The access code to pass on, while the person still needs it; else "".
    code_note: str = ""
    can_resend: bool = False
    can_revoke: bool = False
    # What they see and until when (issue #17), and the values "Change access" starts from.
    scope: str = ""
    scope_label: str = ""
    ends_on: str = ""  # YYYY-MM-DD, "" for no end
    ends_note: str = ""
    can_change: bool = False


def _row(user: dict, lang: str = "en") -> UserRow:
    status = user["status"]
    if status == "invited":
        note = i18n.fmt(lang, INVITED_NOTE, when=timefmt.when(user["expires_at"], lang=lang))
    elif status == "expired":
        note = i18n.gettext(lang, EXPIRED_NOTE)
    elif status == "old link":
        note = i18n.gettext(lang, ACCESS_CODE_TEXT["old_link"])
    elif status == "revoked":
        note = i18n.fmt(lang, REVOKED_NOTE, when=timefmt.when(user["revoked_at"], lang=lang))
    elif status == "ended":
        note = i18n.fmt(lang, ENDED_ON, day=timefmt.day(user["ends_on"], lang=lang))
    else:
        note = i18n.fmt(lang, ACTIVE_NOTE, day=timefmt.day(user["granted_at"], lang=lang))
    live = status not in ("revoked", "ended")
    label = STATUS_LABELS.get(status)
    if not live:
        ends_note = ""
    elif user["ends_on"]:
        ends_note = i18n.fmt(lang, ENDS_ON, day=timefmt.day(user["ends_on"], lang=lang))
    else:
        ends_note = i18n.gettext(lang, NO_END)
    scope_label = scopes.SCOPE_SHORT.get(user["scope"])
    return UserRow(
        grant_id=str(user["grant_id"]), name=user["name"], email=user["email"],
        status=status, status_label=i18n.gettext(lang, label) if label else status, note=note,
        code_note=(i18n.fmt(lang, ACCESS_CODE_TEXT["row"], code=user["access_code"])
                   if user["access_code"] else ""),
        can_resend=status in ("invited", "expired", "old link"),
        can_revoke=live,
        scope=user["scope"], scope_label=i18n.gettext(lang, scope_label) if scope_label else "",
        ends_on=user["ends_on"].isoformat() if user["ends_on"] else "",
        ends_note=ends_note,
        can_change=live,
    )


def _users(db, viewer) -> list[dict]:
    return caregivers.authorized_users(db, viewer.user, viewer.patient_id, clock=utcnow,
                                        client_ip=viewer.client_ip)


def _code_for(got, grant_id: int) -> str:
    """The access code of a just-granted person, from the list as reloaded."""
    rows = got.value if got.ok else []
    return next((r["access_code"] for r in rows if r["grant_id"] == grant_id), "")


class ManageUsersState(PortalState):
    users: list[UserRow] = []
    allowed: bool = True
    loaded: bool = False
    grant_error: str = ""
    grant_error_field: str = ""
    grant_notice: str = ""
    # A refused "Send new link" or "Revoke access", shown above the list (and not in a toast).
    list_error: str = ""
    # A grant on its way: the button shows it is working and can't be pressed again.
    busy: bool = False
    # A new key re-mounts the grant form: empty after success, untouched after an error.
    # The form sends it back (a hidden field): a second tap of the same filled-in form,
    # queued behind the first, finds it used and sends nothing.
    form_key: int = 0
    # "Change access": the person whose form said something, and what (beside that form).
    change_grant: str = ""
    change_error: str = ""

    def _show_users(self, got) -> None:
        self.allowed = not got.refused
        self.users = [_row(r, self.lang) for r in got.value] if got.ok else []

    async def load(self):
        self.grant_error = ""
        self.grant_notice = ""
        self.list_error = ""
        self.busy = False
        got = await self._open_page(_users, area=None, what="manage users")
        if got.left:
            return
        self._show_users(got)
        self.loaded = True

    @rx.event
    async def grant(self, form: dict):
        if _text(form, "form_key") not in ("", str(self.form_key)):
            return  # the same form sent twice (a double tap): the first one is the one
        name, email = _text(form, "name"), _text(form, "email")
        scope, ends_on = _text(form, "scope"), _text(form, "ends_on")
        self.grant_error = ""
        self.grant_error_field = ""
        self.grant_notice = ""
        self.list_error = ""
        self.busy = True
        yield
        got = await self._portal(lambda db, v: caregivers.grant_access(
            db, v.user, v.patient_id, name=name, email=email, clock=utcnow,
            client_ip=v.client_ip, scope=scope, ends_on=ends_on).id,
            what="grant access", writes=True)
        self.busy = False
        if not got.ok:
            self.grant_error, self.grant_error_field = got.error, got.field
            return
        self.form_key += 1
        listed = await self._portal(_users)
        self._show_users(listed)
        self.grant_notice = self._tr(ACCESS_CODE_TEXT["granted"], email=email, name=name,
                                     code=_code_for(listed, got.value), **invitations.GRANTED_PARAMS)
        self._flash("success", self._tr(GRANTED_TOAST, name=name))

    async def _act(self, work, done):
        """``done(value)``: (the inline notice or "", the toast) confirming what the work did.

        A refusal is said once, above the list (inline, not again in a toast)."""
        got = await self._portal(work, what="manage users", writes=True)
        if got.left:
            return
        self._show_users(await self._portal(_users))
        self.list_error = "" if got.ok else got.error
        if not got.ok:
            return
        self.grant_notice, toast = done(got.value)
        self._flash("success", toast)

    @rx.event
    async def send_new_link(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return

        def send(db, v):
            invitation = caregivers.send_caregiver_invitation(
                db, wanted, sent_by=v.user, clock=utcnow, client_ip=v.client_ip,
                patient_id=v.patient_id)
            return invitation.invitee_name, invitations.shown_access_code(invitation)

        return await self._act(send, lambda sent: (
            self._tr(ACCESS_CODE_TEXT["resent"], name=sent[0], code=sent[1]),
            self._tr(RESENT_TOAST, name=sent[0])))

    @rx.event
    async def change_access(self, form: dict):
        """"Save access" of one person's "Change access" form: what they see, until when."""
        grant_id = _text(form, "grant_id")
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        scope, ends_on = _text(form, "scope"), _text(form, "ends_on")
        self._set_changed({"change_grant": grant_id, "change_error": "", "list_error": "",
                           "grant_notice": ""})
        got = await self._portal(lambda db, v: caregivers.change_access(
            db, v.user, wanted, scope=scope, ends_on=ends_on, clock=utcnow,
            client_ip=v.client_ip, patient_id=v.patient_id).name,
            what="change access", writes=True)
        if got.left:
            return
        if not got.ok:
            self.change_error = got.error
            return
        self.change_grant = ""
        self._show_users(await self._portal(_users))
        self._flash("success", self._tr(CHANGED_TOAST, name=got.value))

    @rx.event
    async def revoke(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        return await self._act(
            lambda db, v: caregivers.revoke_access(
                db, v.user, wanted, clock=utcnow, client_ip=v.client_ip, patient_id=v.patient_id),
            lambda _none: ("", self._tr(REVOKED)))
