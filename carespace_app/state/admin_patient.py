"""Admin › a patient's page: the record, invitation, caregivers, conversations, View as patient.

The patient comes from the page's ``?id=`` and is only ever handed to services,
which check the staff role and audit the read.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import reflex as rx

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.services.identity import mfa_office
from carespace_app.services.onboarding import invitations
from carespace_app.services.permissions import caregivers, scopes
from carespace_app.services.records import messaging
from carespace_app.services.mail import office_outbox
from carespace_app.services.records import patients
from carespace_app.services.records import record_download
from carespace_app.services.permissions import tab_access
from carespace_app.services.onboarding.invitations import ACCESS_CODE_TEXT
from carespace_app.timefmt import day, when
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.session import form_errors
from carespace_app.state.admin_patients import blank_errors, patient_form_values

STATUS_TEXT = {
    "not invited": "Not invited",
    "invited": "Invited",
    "expired": "Invitation expired",
    "registered": "Registered",
    "locked": "Link locked after wrong answers",
}


def _caregiver_note(c: dict) -> str:
    """A pending link's access code (staff send links too, and read it out on the phone)."""
    if c["access_code"]:
        return ACCESS_CODE_TEXT["office_row"].format(code=c["access_code"])
    return ACCESS_CODE_TEXT["old_link"] if c["status"] == "old link" else ""


@dataclasses.dataclass
class PatientRecord:
    """The record as the page shows it; the edit form's fields read it by their names."""

    id: str = ""
    mrn: str = ""
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    date_of_birth: str = ""
    dob_text: str = ""
    email: str = ""
    phone: str = ""
    language: str = "en"  # the preferred language: the invitation's


@dataclasses.dataclass
class CaregiverRow:
    grant_id: str = ""
    name: str = ""
    email: str = ""
    status: str = ""
    expires: str = ""
    note: str = ""
    can_send: bool = False
    can_revoke: bool = False
    # What their access reaches and until when (issue #17): "Appointments and resources · ends
    # Mar 1, 2027".
    access: str = ""


def _caregiver_access(c: dict) -> str:
    if c["status"] in ("revoked", "ended"):
        return ""
    what = scopes.SCOPE_SHORT.get(c["scope"], c["scope"])
    return f"{what} · ends {day(c['ends_on'])}" if c["ends_on"] else f"{what} · no end date"


TWO_STEP_RESET = ("Two-step sign-in was reset for {name}, and they were emailed. They set it "
                  "up again the next time they sign in.")


@dataclasses.dataclass
class TwoStepRow:
    """A portal account of this patient's with two-step sign-in on (administrators see it)."""

    user_id: str = ""
    name: str = ""
    email: str = ""
    who: str = ""  # "Patient's own account" or "Caregiver"


@dataclasses.dataclass
class PatientThreadRow:
    id: str = ""
    subject: str = ""
    category: str = ""
    status: str = ""
    last: str = ""
    unread: bool = False


def _patient_record(p) -> PatientRecord:
    return PatientRecord(id=str(p.id), mrn=p.mrn, first_name=p.first_name, last_name=p.last_name,
                         name=p.full_name, date_of_birth=p.date_of_birth.isoformat(),
                         dob_text=day(p.date_of_birth), email=p.email, phone=p.phone or "",
                         language=p.language or "en")


class AdminPatientState(AdminState):
    # The patient the page shows; None until found.
    patient: Optional[PatientRecord] = None
    found: bool = False
    invitation_status: str = ""
    invitation_text: str = ""
    invitation_expires: str = ""
    invitation_delivery: str = ""
    caregivers: list[CaregiverRow] = []
    two_step_accounts: list[TwoStepRow] = []
    threads: list[PatientThreadRow] = []
    errors: dict[str, str] = blank_errors()
    form_error: str = ""
    saved_note: str = ""
    busy: bool = False
    # Bumped after a save so the uncontrolled form re-mounts with the stored values.
    form_version: int = 0
    # Print record (PDF) for a patient at the desk (issue #16): the range the form starts
    # with, its errors by field ("start", "end") and over the form.
    desk_start: str = ""
    desk_end: str = ""
    desk_errors: dict[str, str] = {"start": "", "end": ""}
    desk_error: str = ""
    desk_busy: bool = False

    def _patient_id(self) -> Optional[int]:
        return int_or_none(self._page_param("id"))

    def _read(self, db, v, patient_id: int) -> dict:
        patient = patients.get_patient(db, v.user, patient_id, clock=utcnow, client_ip=v.client_ip)
        status = invitations.invitation_status(db, patient_id, clock=utcnow)
        latest = invitations.latest_invitation(db, patient_id)
        delivery = office_outbox.invitation_delivery(db, v.user, latest, clock=utcnow) \
            if status != "not invited" else ""
        granted = caregivers.authorized_users(db, v.user, patient_id, clock=utcnow,
                                              client_ip=v.client_ip)
        threads = messaging.list_threads(db, v.user, patient_id, limit=20, clock=utcnow).items
        two_step = mfa_office.resettable_accounts(db, v.user, patient_id, clock=utcnow,
                                                  client_ip=v.client_ip) if v.user.is_admin else []
        return dict(patient=_patient_record(patient), status=status, latest=latest,
                    delivery=delivery, caregivers=granted, threads=threads, two_step=two_step)

    def _show(self, got):
        if not got.ok:
            self.found = False
            return self._flash("error", got.error)
        data = got.value
        self.found = True
        self.patient = data["patient"]
        self.invitation_status = data["status"]
        self.invitation_text = STATUS_TEXT.get(data["status"], data["status"])
        latest = data["latest"]
        self.invitation_expires = when(latest.expires_at) if latest and data["status"] == "invited" else ""
        self.invitation_delivery = data["delivery"]
        self.caregivers = [
            CaregiverRow(grant_id=str(c["grant_id"]), name=c["name"], email=c["email"],
                         status=c["status"],
                         expires=when(c["expires_at"]) if c["expires_at"] else "",
                         note=_caregiver_note(c),
                         can_send=c["status"] in ("invited", "expired", "old link"),
                         can_revoke=c["status"] not in ("revoked", "ended"),
                         access=_caregiver_access(c))
            for c in data["caregivers"]]
        self.threads = [
            PatientThreadRow(id=str(t.id), subject=t.subject, category=t.category,
                             status=t.status, last=when(t.last_message_at), unread=t.unread)
            for t in data["threads"]]
        self.two_step_accounts = [
            TwoStepRow(user_id=str(a.user_id), name=a.name, email=a.email,
                       who="Patient's own account" if a.relation == "self" else "Caregiver")
            for a in data["two_step"]]

    async def _refresh(self):
        patient_id = self._patient_id()
        if patient_id is None:
            self.found = False
            return
        got = await self._office(lambda db, v: self._read(db, v, patient_id), what="patient record")
        if got.left:
            return
        return self._show(got)

    async def load(self):
        got = await self._open_section(what="patient record")
        if got.left:
            return
        self.errors = blank_errors()
        self.form_error = self.saved_note = ""
        self.busy = False
        start, end = record_download.default_range(utcnow)
        self._set_changed({"desk_start": start.isoformat(), "desk_end": end.isoformat(),
                           "desk_errors": {"start": "", "end": ""}, "desk_error": "",
                           "desk_busy": False})
        return await self._refresh()

    @rx.event
    async def save_patient(self, form: dict):
        if self.busy:
            return
        patient_id = self._patient_id()
        values = patient_form_values(form)
        self.busy = True
        yield
        saved = await self._office(lambda db, v: patients.update_patient(
            db, v.user, patient_id, **values, clock=utcnow, client_ip=v.client_ip),
            what="save patient")
        self.busy = False
        if saved.left:
            return
        self.errors, self.form_error = form_errors(saved, blank_errors())
        self.saved_note = ""
        if not saved.ok:
            return
        shown_email = self.patient.email if self.patient else ""
        email_changed = values["email"].strip().casefold() != shown_email
        self.saved_note = ("Saved. The email changed, so any earlier invitation link no longer "
                           "works: send a new one." if email_changed else "Saved.")
        self.form_version += 1
        await self._refresh()  # the page says it beside the form: no toast repeating it

    @rx.event
    async def send_invitation(self):
        if self.busy:
            return
        patient_id = self._patient_id()
        self.busy = True
        yield
        sent = await self._office(lambda db, v: invitations.send_patient_invitation(
            db, patient_id, sent_by=v.user, clock=utcnow, client_ip=v.client_ip).expires_at,
            what="send invitation")
        self.busy = False
        if sent.left:
            return
        if not sent.ok:
            self._flash("error", sent.error)
            return
        await self._refresh()
        email = self.patient.email if self.patient else ""
        self._flash("success", f"Invitation sent to {email}. The link expires {when(sent.value)}.")

    async def send_caregiver_link(self, grant_id: str):
        # The grant id comes from the browser: another patient's grant is answered as unknown.
        patient_id, wanted = self._patient_id(), int_or_none(grant_id)

        def send(db, v):
            invitation = caregivers.send_caregiver_invitation(
                db, wanted, sent_by=v.user, clock=utcnow, client_ip=v.client_ip,
                patient_id=patient_id)
            return ACCESS_CODE_TEXT["office_resent"].format(
                email=invitation.email, name=invitation.invitee_name,
                code=invitations.shown_access_code(invitation))

        sent = await self._office(send, what="send caregiver link")
        if sent.left:
            return
        if not sent.ok:
            return self._flash("error", sent.error)
        await self._refresh()
        return self._flash("success", sent.value)

    async def revoke_caregiver(self, grant_id: str):
        patient_id, wanted = self._patient_id(), int_or_none(grant_id)
        done = await self._office(lambda db, v: caregivers.revoke_access(
            db, v.user, wanted, clock=utcnow, client_ip=v.client_ip, patient_id=patient_id),
            what="revoke caregiver")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", "Access revoked. They can no longer open this portal.")

    async def reset_two_step(self, user_id: str):
        """"Reset two-step sign-in" for the patient's own account or a caregiver's (a lost
        phone); administrators only (the service checks), audited on the patient's record."""
        patient_id, wanted = self._patient_id(), int_or_none(user_id)
        done = await self._office(lambda db, v: mfa_office.reset_for_patient_account(
            db, v.user, patient_id, wanted, clock=utcnow, client_ip=v.client_ip),
            what="reset two-step sign-in")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", TWO_STEP_RESET.format(name=done.value))

    @rx.event
    async def print_record(self, form: dict):
        """Print record (PDF): the record for the dates chosen, as the patient would download
        it, for a patient who asks at the desk (audited as record.printed_at_desk)."""
        if self.desk_busy:
            return
        patient_id = self._patient_id()
        form = form if isinstance(form, dict) else {}
        start, end = str(form.get("start", ""))[:40], str(form.get("end", ""))[:40]
        messages = form.get("messages") in ("on", "true", True)
        self.desk_busy = True
        yield
        got = await self._office(lambda db, v: record_download.print_at_desk(
            db, v.user, patient_id, start_text=start, end_text=end, include_messages=messages,
            clock=utcnow, client_ip=v.client_ip), what="print record")
        self.desk_busy = False
        if got.left:
            return
        self.desk_errors, self.desk_error = form_errors(got, {"start": "", "end": ""})
        if not got.ok:
            return
        made = got.value
        yield rx.download(data=made.data, filename=made.filename, mime_type=made.content_type)

    async def view_as_patient(self):
        """Open the portal as this patient sees it (relation "staff"), read-only; audited."""
        patient_id = self._patient_id()
        got = await self._office(lambda db, v: tab_access.start_view_as(
            db, v.user, v.session, patient_id, clock=utcnow, client_ip=v.client_ip),
            what="view as patient")
        if got.left:
            return
        if not got.ok:
            return self._flash("error", got.error)
        await self._switch_tab_to(patient_id)
        self._go(routes.HOME)
