"""Admin › Staff: the practice administrator's list of staff accounts.

Staff who aren't admins never see the tab; if they call a handler anyway, the
service refuses it (require_admin, audited as admin.refused).
"""
from __future__ import annotations

import dataclasses

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.policy import RESET_TTL, in_words
from carespace_app.services.identity import mfa
from carespace_app.services.onboarding import staff
from carespace_app.timefmt import when
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.session import form_errors

FIELDS = ("email", "full_name")
TWO_STEP_RESET = ("Two-step sign-in was reset and they were emailed. They set it up again "
                  "the next time they sign in.")


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


def _members(db, v):
    return staff.list_staff(db, v.user, clock=utcnow, client_ip=v.client_ip), v.user.id


@dataclasses.dataclass
class StaffRow:
    id: str = ""
    name: str = ""
    email: str = ""
    role: str = ""
    active: bool = False
    status: str = ""
    # Emails about patients' messages: "On" or "Off".
    message_email: str = ""
    # Two-step sign-in: "On" or "Off" (an administrator can reset it: a lost phone).
    two_step: str = ""
    # The administrator reading the list: no buttons on their own row.
    me: bool = False


class AdminStaffState(AdminState):
    members: list[StaffRow] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    form_version: int = 0
    refused: bool = False
    busy: bool = False

    def _show(self, got):
        self.refused = got.refused
        if not got.ok:
            self.members = []
            return self._flash("error", got.error)
        members, me = got.value
        self.members = [StaffRow(id=str(m.id), name=m.full_name, email=m.email,
                                 role="Administrator" if m.is_admin else "Staff",
                                 active=m.is_active,
                                 status=("Active" if m.is_active
                                         else f"Deactivated {when(m.deactivated_at)}"),
                                 message_email="On" if m.email_on_patient_message else "Off",
                                 two_step="On" if m.two_step_on else "Off",
                                 me=m.id == me) for m in members]

    async def _refresh(self):
        got = await self._office(_members, what="staff accounts")
        if got.left:
            return
        return self._show(got)

    async def load(self):
        self.busy = False
        got = await self._open_section(_members, what="staff accounts")
        if got.left:
            return
        self.errors, self.form_error = _blank(), ""
        return self._show(got)

    @rx.event
    async def create_member(self, form: dict):
        if self.busy:
            return
        wants_admin = str(form.get("is_admin", "")) in ("on", "true", "yes")
        self.busy = True
        yield
        made = await self._office(lambda db, v: staff.create_staff_member(
            db, v.user, email=str(form.get("email", "")), full_name=str(form.get("full_name", "")),
            is_admin=wants_admin, clock=utcnow, client_ip=v.client_ip), what="create staff account")
        self.busy = False
        if made.left:
            return
        self.errors, self.form_error = form_errors(made, _blank())
        if not made.ok:
            return
        self.form_version += 1
        await self._refresh()
        self._flash("success", f"Account created. {made.value.email} was emailed a link to "
                               "choose their password.")

    async def _change(self, member_id: str, action, said: str):
        wanted = int_or_none(member_id)
        done = await self._office(lambda db, v: action(db, v.user, wanted, clock=utcnow,
                                                       client_ip=v.client_ip),
                                  what="change staff account")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", said)

    async def deactivate(self, member_id: str):
        return await self._change(member_id, staff.deactivate,
                                  "Account deactivated. They were signed out everywhere.")

    async def reactivate(self, member_id: str):
        return await self._change(member_id, staff.reactivate,
                                  "Account reactivated. They can sign in again.")

    async def send_reset_link(self, member_id: str):
        return await self._change(member_id, staff.send_password_reset,
                                  "A password reset link was emailed "
                                  f"(valid for {in_words(RESET_TTL)}).")

    async def reset_two_step(self, member_id: str):
        """"Reset two-step sign-in" (a lost phone): they set it up again at their next sign-in."""
        return await self._change(member_id, mfa.reset_for_staff, TWO_STEP_RESET)
