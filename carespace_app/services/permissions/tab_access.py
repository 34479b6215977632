"""Which person, and which patient, a browser tab shows: decided from the database on every event.

A tab's state lives on the server and is re-sent whole on every page load, so it
must belong to exactly one (session, patient) pair. The State layer asks here on
every event and clears the tab when the answer differs from what the tab holds.

- The *session* comes from the HttpOnly cookie (``sessions.resolve``).
- The *patient* is the tab's own: a caregiver of two patients may have one open in
  each tab. The session row only remembers the last choice, as the default for a
  new tab. Staff see a patient's portal only through "View as patient", which is
  the session's view: "Back to the admin page" ends it in every tab.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlmodel import Session, select

from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.models import Patient, User, UserSession
from carespace_app.services.permissions import access, scopes
from carespace_app.services.audit import trail
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.services.errors import NotAllowed, NotFound

# Why a tab has no session -> the key of the sign-in page's notice (state/auth.py).
NOTICE_FOR_ENDED = {
    sessions.ENDED_IDLE: "idle",
    # A page still loading when Sign out was clicked, or another tab of the same browser:
    # its next action finds the session ended and says so truthfully.
    sessions.ENDED_SIGNED_OUT: "signed-out",
    sessions.ENDED_PASSWORD_CHANGED: "password-changed",
    sessions.ENDED_PASSWORD_RESET: "password-changed",
}
# Why the tab's patient went away.
LOST_REVOKED = "revoked"  # the person's access to that patient ended
LOST_VIEW_ENDED = "view-ended"  # the office's "View as patient" ended (in this tab or another)


@dataclass
class TabAccess:
    """The answer for one event of one tab."""

    user: Optional[User] = None
    session: Optional[UserSession] = None
    ended: str = "expired"  # no session: why, as a sign-in notice key
    patient_id: Optional[int] = None  # the tab's patient, still allowed now
    relation: Optional[str] = None
    scope: str = ""  # a caregiver's scope (models.SCOPE_*); "" for the patient and staff
    lost: str = ""  # LOST_REVOKED / LOST_VIEW_ENDED when the tab's patient just went away
    lost_patient_name: str = ""

    @property
    def signed_in(self) -> bool:
        return self.user is not None

    @property
    def session_id(self) -> int:
        return self.session.id if self.session is not None else 0

    @property
    def view_as(self) -> bool:
        """The office viewing a patient's portal: read-only."""
        return self.relation == access.RELATION_STAFF

    @property
    def hidden_areas(self) -> list[str]:
        """The portal areas this viewer's access leaves out (the tabs hide them)."""
        return scopes.hidden_areas(self.relation, self.scope)


SIGNED_OUT = TabAccess()


def _ended_reason(db: Session, token: str) -> str:
    row = db.exec(select(UserSession.ended_reason).where(
        UserSession.token_hash == security.token_hash(token))).first()
    return NOTICE_FOR_ENDED.get(row, "expired")


def resolve_tab(db: Session, token: Optional[str], tab_patient_id: Optional[int], *, clock: Clock,
                touch: bool, client_ip: str = "", tab_session_id: Optional[int] = None) -> TabAccess:
    """The tab's person and patient now.

    ``tab_session_id`` and ``tab_patient_id``: what the tab showed so far. A tab whose
    session changed (someone else signed in on it) starts afresh, with no patient.
    """
    if not token:
        return SIGNED_OUT
    found = sessions.resolve(db, token, clock=clock, touch=touch)
    if found is None:
        return TabAccess(ended=_ended_reason(db, token))
    session, user = found
    tab = TabAccess(user=user, session=session, ended="")
    if not tab_patient_id or (tab_session_id is not None and tab_session_id != session.id):
        return tab
    found = access.access_to(db, user, tab_patient_id, now=clock())
    relation = found.relation if found is not None else None
    if relation == access.RELATION_STAFF and session.active_patient_id != tab_patient_id:
        tab.lost = LOST_VIEW_ENDED
        return tab
    if relation is None:
        # Access ended while this tab showed the patient (a caregiver revoked): the
        # attempt goes on the patient's trail once, as the tab forgets the patient.
        patient = db.get(Patient, tab_patient_id)
        trail.record(db, "access.refused", actor=user, patient_id=tab_patient_id,
                     detail="portal.open_after_revocation", client_ip=client_ip, clock=clock)
        tab.lost = LOST_REVOKED
        tab.lost_patient_name = patient.full_name if patient else ""
        return tab
    tab.patient_id, tab.relation = tab_patient_id, relation
    tab.scope = found.scope if relation == access.RELATION_CAREGIVER else ""
    return tab


def default_patient(db: Session, user: User, session: UserSession, *,
                    now=None) -> Optional[tuple[int, str, str]]:
    """The patient a tab with none opens on: the session's last choice, else the person's own
    record, else the first person they care for. Staff: only the patient they chose to view.
    Returns (patient id, relation, a caregiver's scope or "")."""
    candidates = [session.active_patient_id] if session.active_patient_id else []
    if not user.is_staff:
        candidates += [p.id for p, _relation in access.portal_patients(db, user, now=now)]
    for patient_id in candidates:
        found = access.access_to(db, user, patient_id, now=now)
        if found is not None:
            scope = found.scope if found.relation == access.RELATION_CAREGIVER else ""
            return patient_id, found.relation, scope
    return None


@dataclass
class PatientChoice:
    id: int
    name: str
    relation: str


def choices(db: Session, user: User, *, now=None) -> list[PatientChoice]:
    """The portals this person may open now (none for staff: they use View as patient)."""
    if user.is_staff:
        return []
    return [PatientChoice(id=p.id, name=p.full_name, relation=rel)
            for p, rel in access.portal_patients(db, user, now=now)]


def patient_name(db: Session, patient_id: Optional[int]) -> str:
    patient = db.get(Patient, patient_id) if patient_id else None
    return patient.full_name if patient else ""


def switch_patient(db: Session, user: User, session: UserSession, patient_id: int, *,
                   clock: Clock, client_ip: str = "") -> str:
    """A person picks whose portal this tab shows; returns the relation. Refusals are audited.

    The session remembers the choice only as the default for tabs opened later.
    """
    relation = access.require_access(db, user, patient_id, area=scopes.AREA_HOME,
                                     action="portal.switch_patient", clock=clock,
                                     client_ip=client_ip)
    if relation == access.RELATION_STAFF:
        # The office opening a portal goes through View as patient, which is audited.
        start_view_as(db, user, session, patient_id, clock=clock, client_ip=client_ip)
        return relation
    sessions.set_active_patient(db, session.id, patient_id)
    return relation


NO_SUCH_PATIENT = N_("We couldn't find that patient record.")


def start_view_as(db: Session, staff: User, session: UserSession, patient_id: int, *,
                  clock: Clock, client_ip: str = "") -> None:
    """Admin's "View as patient": the session shows this patient's portal, read-only; audited."""
    access.require_staff(db, staff, action="portal.view_as", clock=clock, client_ip=client_ip)
    if not isinstance(patient_id, int) or db.get(Patient, patient_id) is None:
        raise NotFound(NO_SUCH_PATIENT)
    trail.record(db, "portal.viewed_as_patient", actor=staff, patient_id=patient_id,
                 client_ip=client_ip, clock=clock)
    sessions.set_active_patient(db, session.id, patient_id)  # one unit of work with the audit row


def end_view_as(db: Session, user: User, session: UserSession) -> None:
    """"Back to the admin page": the view ends in every tab of this session."""
    if user.is_staff:
        sessions.set_active_patient(db, session.id, None)


def refuse_office_page(db: Session, user: User, *, where: str, clock: Clock, client_ip: str = "") -> None:
    """A patient or caregiver at an office page: audited as admin.refused (they stay signed in)."""
    try:
        access.require_staff(db, user, action=f"admin page ({where})", clock=clock, client_ip=client_ip)
    except NotAllowed:
        pass
