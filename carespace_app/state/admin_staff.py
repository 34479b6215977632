"""Admin › Staff: the practice administrator's list of staff accounts.

Staff who aren't admins never see the tab; if they call a handler anyway, the
service refuses it (require_admin, audited as admin.refused).
"""
from __future__ import annotations

import reflex as rx

from ..clock import utcnow
from ..services import staff
from ..timefmt import when
from .admin import AdminState, int_or_none

FIELDS = ("email", "full_name")


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


class AdminStaffState(AdminState):
    members: list[dict[str, str]] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    form_version: int = 0
    refused: bool = False

    async def _refresh(self, viewer):
        got = await self._act(viewer, lambda db, v: staff.list_staff(
            db, v.user, clock=utcnow, client_ip=v.client_ip))
        self.refused = got.refused
        if not got.ok:
            self.members = []
            return self._flash("error", got.error)
        self.members = [{"id": str(m.id), "name": m.full_name, "email": m.email,
                         "role": "Administrator" if m.is_admin else "Staff",
                         "active": "yes" if m.is_active else "",
                         "status": "Active" if m.is_active else f"Deactivated {when(m.deactivated_at)}",
                         "me": "yes" if m.id == viewer.user.id else ""} for m in got.value]

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return
        self.errors, self.form_error = _blank(), ""
        return await self._refresh(viewer)

    async def create_member(self, form: dict):
        viewer = await self._staff()
        if viewer is None:
            return
        wants_admin = str(form.get("is_admin", "")) in ("on", "true", "yes")
        made = await self._act(viewer, lambda db, v: staff.create_staff_member(
            db, v.user, email=str(form.get("email", "")), full_name=str(form.get("full_name", "")),
            is_admin=wants_admin, clock=utcnow, client_ip=v.client_ip))
        self.errors, self.form_error = _blank(), ""
        if not made.ok:
            if made.field in self.errors:
                self.errors[made.field] = made.error
            else:
                self.form_error = made.error
            return
        self.form_version += 1
        await self._refresh(viewer)
        return self._flash("success", f"Account created. {made.value.email} was emailed a link to "
                                "choose their password.")

    async def _change(self, member_id: str, action, said: str):
        viewer = await self._staff()
        if viewer is None:
            return
        wanted = int_or_none(member_id)
        done = await self._act(viewer, lambda db, v: action(db, v.user, wanted, clock=utcnow,
                                                            client_ip=v.client_ip))
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh(viewer)
        return self._flash("success", said)

    async def deactivate(self, member_id: str):
        return await self._change(member_id, staff.deactivate,
                                  "Account deactivated. They were signed out everywhere.")

    async def reactivate(self, member_id: str):
        return await self._change(member_id, staff.reactivate,
                                  "Account reactivated. They can sign in again.")

    async def send_reset_link(self, member_id: str):
        return await self._change(member_id, staff.send_password_reset,
                                  "A password reset link was emailed (valid for one hour).")
