"""Manage Users: the patient gives people they trust access, sends new links, revokes."""
from __future__ import annotations

import logging

import reflex as rx

from .. import timefmt
from ..clock import utcnow
from ..db import session_scope
from ..services import invitations
from ..services.errors import DomainError, NotAllowed, ValidationError
from .portal import PortalState

log = logging.getLogger("carespace.people")

MAX_FIELD = 1000
SOMETHING_WRONG = "Something went wrong on our side. Please try again in a minute."
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

    async def _reload(self, viewer) -> None:
        def load():
            with session_scope() as db:
                return invitations.authorized_users(db, viewer.user, viewer.patient_id, clock=utcnow,
                                                    client_ip=viewer.client_ip)

        try:
            rows = await self._run(load)
        except NotAllowed:
            self.allowed = False
            self.users = []
            return
        self.allowed = True
        self.users = [_row(r) for r in rows]

    async def load(self):
        self.grant_error = ""
        self.grant_notice = ""
        self.busy = False
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
        await self._reload(viewer)
        self.loaded = True

    @rx.event
    async def grant(self, form: dict):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")
        name, email = _text(form, "name"), _text(form, "email")
        self.grant_error = ""
        self.grant_error_field = ""
        self.grant_notice = ""

        def grant():
            with session_scope() as db:
                invitations.grant_access(db, viewer.user, viewer.patient_id, name=name, email=email,
                                         clock=utcnow, client_ip=viewer.client_ip)

        try:
            await self._run(grant)
        except ValidationError as exc:
            self.grant_error = str(exc)
            self.grant_error_field = exc.field or ""
            return
        except DomainError as exc:
            self.grant_error = str(exc)
            return
        except Exception:
            log.exception("granting access failed")
            self.grant_error = SOMETHING_WRONG
            return
        self.grant_notice = (f"We've emailed an invitation to {email}. The link works for 4 days; "
                             f"{name} will have full access once they accept.")
        self.form_key += 1
        await self._reload(viewer)
        self._flash("success", f"Invitation sent to {name}.")

    async def _act(self, fn, done: str):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")

        def run():
            with session_scope() as db:
                fn(db, viewer)

        try:
            await self._run(run)
        except DomainError as exc:
            await self._reload(viewer)
            return self._flash("error", str(exc))
        except Exception:
            log.exception("manage users action failed")
            return self._flash("error", SOMETHING_WRONG)
        await self._reload(viewer)
        self.grant_notice = done
        self._flash("success", done)

    @rx.event
    async def send_new_link(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        return await self._act(
            lambda db, viewer: invitations.send_caregiver_invitation(
                db, wanted, sent_by=viewer.user, clock=utcnow, client_ip=viewer.client_ip),
            "A new link is on its way. Older links no longer work.")

    @rx.event
    async def revoke(self, grant_id: str):
        try:
            wanted = int(grant_id)
        except (TypeError, ValueError):
            return
        return await self._act(
            lambda db, viewer: invitations.revoke_access(
                db, viewer.user, wanted, clock=utcnow, client_ip=viewer.client_ip),
            "Access revoked. They can no longer open your portal.")
