"""Manage Users: the patient gives people they trust access, sends new links, revokes."""
from __future__ import annotations

import reflex as rx

from .. import timefmt
from ..clock import utcnow
from ..services import invitations
from .portal import PortalState

MAX_FIELD = 1000
STATUS_LABELS = {
    "invited": "Invited",
    "expired": "Link expired",
    "active": "Has access",
    "revoked": "Access revoked",
}


def _text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD].strip() if isinstance(value, str) else ""


def _row(user: dict) -> dict[str, str]:
    status = user["status"]
    if status == "invited":
        note = f"Invitation sent. The link works until {timefmt.when(user['expires_at'])}."
    elif status == "expired":
        note = "The invitation link has expired. Send a new link so they can join."
    elif status == "revoked":
        note = f"Access ended {timefmt.when(user['revoked_at'])}."
    else:
        note = f"Full access since {timefmt.day(user['granted_at'])}."
    return {
        "grant_id": str(user["grant_id"]), "name": user["name"], "email": user["email"],
        "status": status, "status_label": STATUS_LABELS.get(status, status), "note": note,
        "can_resend": "yes" if status in ("invited", "expired") else "no",
        "can_revoke": "no" if status == "revoked" else "yes",
    }


def _users(db, viewer) -> list[dict]:
    return invitations.authorized_users(db, viewer.user, viewer.patient_id, clock=utcnow,
                                        client_ip=viewer.client_ip)


class ManageUsersState(PortalState):
    users: list[dict[str, str]] = []
    allowed: bool = True
    loaded: bool = False
    grant_error: str = ""
    grant_error_field: str = ""
    grant_notice: str = ""
    busy: bool = False
    # A new key re-mounts the grant form: empty after success, untouched after an error.
    form_key: int = 0

    def _show_users(self, got) -> None:
        self.allowed = not got.refused
        self.users = [_row(r) for r in got.value] if got.ok else []

    async def load(self):
        self.grant_error = ""
        self.grant_notice = ""
        self.busy = False
        got = await self._open_page(_users, what="manage users")
        if got.left:
            return
        self._show_users(got)
        self.loaded = True

    @rx.event
    async def grant(self, form: dict):
        name, email = _text(form, "name"), _text(form, "email")
        self.grant_error = ""
        self.grant_error_field = ""
        self.grant_notice = ""
        got = await self._portal(lambda db, v: invitations.grant_access(
            db, v.user, v.patient_id, name=name, email=email, clock=utcnow,
            client_ip=v.client_ip), what="grant access", writes=True)
        if not got.ok:
            self.grant_error, self.grant_error_field = got.error, got.field
            return
        self.grant_notice = (f"We've emailed an invitation to {email}. The link works for 4 days; "
                             f"{name} will have full access once they accept.")
        self.form_key += 1
        self._show_users(await self._portal(_users))
        self._flash("success", f"Invitation sent to {name}.")

    async def _act(self, work, done: str):
        got = await self._portal(work, what="manage users", writes=True)
        if got.left:
            return
        self._show_users(await self._portal(_users))
        if not got.ok:
            return self._flash("error", got.error)
        self.grant_notice = done
        self._flash("success", done)

    @rx.event
    async def send_new_link(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        return await self._act(
            lambda db, v: invitations.send_caregiver_invitation(
                db, wanted, sent_by=v.user, clock=utcnow, client_ip=v.client_ip,
                patient_id=v.patient_id),
            "A new link is on its way. Older links no longer work.")

    @rx.event
    async def revoke(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        return await self._act(
            lambda db, v: invitations.revoke_access(
                db, v.user, wanted, clock=utcnow, client_ip=v.client_ip, patient_id=v.patient_id),
            "Access revoked. They can no longer open your portal.")
