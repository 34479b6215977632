"""Caregivers: a patient gives a named person access to their portal: full, or limited to
some areas (scopes.py), until an optional end date (access_ends.py).

Granting sends an invitation (onboarding/invitations.py) whose access code the patient
tells the person; "Send new link" replaces it; revoking ends the access at once. Manage
Users (and the office's patient page) lists every grant with its status.
Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import func
from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import (
    INVITE_CAREGIVER,
    RELATION_SELF,
    ROLE_PATIENT,
    SCOPE_FULL,
    CaregiverGrant,
    Invitation,
    Patient,
    PatientAccess,
    User,
)
from carespace_app.i18n import N_, OFFICE_
from carespace_app.policy import INVITATION_LIMIT_WINDOW, MAX_INVITATIONS_PER_DAY
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import links
from carespace_app.services.identity.emails import normalize_email, validate_email_address
from carespace_app.services.mail import outbox
from carespace_app.services.onboarding import invitation_emails, invitations
from carespace_app.services.permissions import access, access_ends, scopes
from carespace_app.services.text import one_line
from carespace_app.services.text_rules import check_text

ACCESS_ALREADY_ENDED = N_("Access for {name} has ended. To give them access again, grant "
                          "access again.")
INVITATION_LIMIT_REACHED = N_(
    "You've sent {count} invitations today. To protect people from unwanted "
    "email, you can send more tomorrow, or call the office at {phone}.")
# The caregiver's email when the patient (or the office) changes what they see or until when,
# in the caregiver's language.
ACCESS_CHANGED_KIND = "access_changed"
ACCESS_CHANGED_SUBJECT = N_("Your access to {patient}'s CareSpace portal changed")
ACCESS_CHANGED_BODY = N_("Hello {name},\n\n"
                         "What you can see in {patient}'s portal has changed. {what}\n\n"
                         "Questions? Ask {patient}, or call the office at {phone}.\n\n"
                         "Sign in: {link}")
ACCESS_REVOKED = N_("Access for {name} was revoked. To invite them again, grant access again.")
ALREADY_ACCEPTED = N_("{name} has already accepted and has access.")
ALREADY_HAS_ACCESS = N_("{name} already has access to your portal.")
ALREADY_INVITED = N_("{name} was already invited. To send them a new link, use "
                     "Send new link next to their name.")
NAME_NEEDED = N_("Enter the person's name.")
NAME_TOO_LONG = N_("The name can be at most {n} characters.")
NAME_MAX = 200
OWN_EMAIL = N_("That's your own email address. Enter the email address of the "
               "person you want to give access to.")


def _check_daily_limit(db: Session, patient_id: int, sender: User, now: datetime) -> None:
    """The patient's own grants and re-sends within INVITATION_LIMIT_WINDOW (rows under the
    patient lock)."""
    sent = db.exec(select(func.count()).select_from(Invitation).where(
        Invitation.patient_id == patient_id, Invitation.kind == INVITE_CAREGIVER,
        Invitation.created_by_user_id == sender.id,
        Invitation.created_at > now - INVITATION_LIMIT_WINDOW)).one()
    if sent >= MAX_INVITATIONS_PER_DAY:
        raise ValidationError(INVITATION_LIMIT_REACHED, params={
            "count": MAX_INVITATIONS_PER_DAY, "phone": get_settings().office_phone})


def grant_access(db: Session, patient_user: User, patient_id: int, *, name: str, email: str,
                 clock: Clock, client_ip: Optional[str] = None, scope: str = SCOPE_FULL,
                 ends_on: Optional[str] = None) -> CaregiverGrant:
    """The patient gives a named person access to their portal (``scope``, until the
    optional ``ends_on`` the patient typed); an invitation goes out."""
    access.require_self(db, patient_user, patient_id, action="caregiver.grant", clock=clock,
                        client_ip=client_ip)
    scope = access_ends.parse_scope(scope)
    name = check_text(name, field="name", label=N_("name"), single_line=True, breaks_become_spaces=True)
    name = one_line(name if isinstance(name, str) else "")
    if not name:
        raise ValidationError(NAME_NEEDED, field="name")
    if len(name) > NAME_MAX:
        raise ValidationError(NAME_TOO_LONG, params={"n": NAME_MAX}, field="name")
    email = validate_email_address(email)
    end_day = access_ends.parse_end_date(ends_on, clock=clock)
    patient = invitations.locked_patient(db, patient_id)
    if email in (normalize_email(patient_user.email), patient.email):
        raise ValidationError(OWN_EMAIL, field="email")
    _check_daily_limit(db, patient_id, patient_user, clock())
    earlier = db.exec(select(CaregiverGrant).where(
        CaregiverGrant.patient_id == patient_id, CaregiverGrant.email == email,
        CaregiverGrant.revoked_at.is_(None))).first()
    if earlier is not None:
        if earlier.access_id is not None:
            raise ValidationError(ALREADY_HAS_ACCESS, params={"name": earlier.name}, field="email")
        raise ValidationError(ALREADY_INVITED, params={"name": earlier.name}, field="email")
    grant = CaregiverGrant(patient_id=patient_id, name=name, email=email,
                           granted_by_user_id=patient_user.id, created_at=clock(),
                           scope=scope, ends_on=end_day)
    db.add(grant)
    db.flush()
    invitations.issue(db, patient=patient, grant=grant, sent_by=patient_user, clock=clock)
    trail.record(db, "caregiver.granted", actor=patient_user, role=ROLE_PATIENT,
                 patient_id=patient_id, detail=f"to {name} <{email}>: {_terms(grant)}",
                 client_ip=client_ip, clock=clock)
    return grant


def _terms(grant: CaregiverGrant) -> str:
    """The access and end date, as the trail says them."""
    ends = grant.ends_on.isoformat() if grant.ends_on else OFFICE_("no end date")
    return f"{grant.scope} access, {ends}"


def change_access(db: Session, actor: User, grant_id: int, *, scope: str, ends_on: Optional[str],
                  clock: Clock, client_ip: Optional[str] = None,
                  patient_id: Optional[int] = None) -> CaregiverGrant:
    """"Change access": what a person sees and until when (extend or remove the end date).

    The live access row changes with the grant, so the caregiver's open tabs follow at
    their next event (the tab's scope is re-read on every event: state/session.py)."""
    grant, role = _grant_for(db, actor, grant_id, action="caregiver.change_access", clock=clock,
                             client_ip=client_ip, patient_id=patient_id)
    if grant.revoked_at is not None or scopes.has_ended(grant.ends_on, clock()):
        # Ended (the sweep may not have recorded it yet): granting again is the way back.
        raise ValidationError(ACCESS_ALREADY_ENDED, params={"name": grant.name})
    scope = access_ends.parse_scope(scope)
    end_day = access_ends.parse_end_date(ends_on, clock=clock)
    before = _terms(grant)
    if end_day != grant.ends_on:
        grant.end_notice_sent_at = None  # a new end date gets its own week-before email
    grant.scope, grant.ends_on = scope, end_day
    if grant.access_id is not None:
        granted = db.get(PatientAccess, grant.access_id)
        if granted is not None:
            granted.scope, granted.ends_on = scope, end_day
    after = _terms(grant)
    trail.record(db, "caregiver.access_changed", actor=actor, role=role,
                 patient_id=grant.patient_id,
                 detail=f"{grant.name} <{grant.email}>: {before} -> {after}",
                 client_ip=client_ip, clock=clock)
    if after != before:
        _tell_caregiver(db, grant, clock=clock)
    return grant


def _tell_caregiver(db: Session, grant: CaregiverGrant, *, clock: Clock) -> None:
    """Email the caregiver their new access (once they have an account: an invitation not
    yet accepted shows the new terms when it is)."""
    granted = db.get(PatientAccess, grant.access_id) if grant.access_id is not None else None
    carer = db.get(User, granted.user_id) if granted is not None else None
    patient = db.get(Patient, grant.patient_id)
    if carer is None or not carer.is_active or patient is None:
        return
    lang = i18n.normalize(carer.language)
    body = i18n.fmt(lang, ACCESS_CHANGED_BODY, name=carer.full_name, patient=patient.full_name,
                    what=invitation_emails.what_they_see(grant, lang, say_no_end=True),
                    phone=get_settings().office_phone, link=routes.item_link(routes.HOME))
    outbox.enqueue(db, to=carer.email, kind=ACCESS_CHANGED_KIND, patient_id=grant.patient_id,
                   subject=i18n.fmt(lang, ACCESS_CHANGED_SUBJECT, patient=patient.full_name),
                   body=body, clock=clock, lang=lang)


def _grant_for(db: Session, actor: Optional[User], grant_id: int, *, action: str, clock: Clock,
               client_ip: Optional[str], patient_id: Optional[int] = None) -> tuple[CaregiverGrant, str]:
    """The grant and the actor's audit role, if the actor is its patient or staff.

    ``patient_id``: the patient the acting tab shows; another patient's grant is answered
    as an unknown one.
    """
    grant = db.get(CaregiverGrant, grant_id) if isinstance(grant_id, int) else None
    if grant is None:
        raise access.refuse_unknown(db, actor, action=action, what=f"authorized user {grant_id!r}",
                                    clock=clock, client_ip=client_ip)
    relation = access.require_self_or_staff(db, actor, grant.patient_id, action=action,
                                            clock=clock, client_ip=client_ip)
    if patient_id is not None and grant.patient_id != patient_id:
        raise access.refuse_other_portal(db, actor, grant.patient_id, action=action,
                                         what=f"authorized user {grant_id}", clock=clock,
                                         client_ip=client_ip)
    return grant, ROLE_PATIENT if relation == RELATION_SELF else trail.role_of(actor)


def send_caregiver_invitation(db: Session, grant_id: int, *, sent_by: User, clock: Clock,
                              client_ip: Optional[str] = None,
                              patient_id: Optional[int] = None) -> Invitation:
    """"Send new link" for a caregiver: by the granting patient or staff.

    A new link has a new access code (``invitations.shown_access_code``); the old link and
    code die.
    The patient's re-sends count toward their daily limit; the office's don't: a patient
    at the limit is told to call the office, which must then still be able to help (its
    re-sends are audited under the staff member's name).
    """
    grant, role = _grant_for(db, sent_by, grant_id, action="caregiver.send_link", clock=clock,
                             client_ip=client_ip, patient_id=patient_id)
    if grant.ended_at is not None:
        raise ValidationError(ACCESS_ALREADY_ENDED, params={"name": grant.name})
    if grant.revoked_at is not None:
        raise ValidationError(ACCESS_REVOKED, params={"name": grant.name})
    if grant.access_id is not None:
        raise ValidationError(ALREADY_ACCEPTED, params={"name": grant.name})
    if scopes.has_ended(grant.ends_on, clock()):
        raise ValidationError(ACCESS_ALREADY_ENDED, params={"name": grant.name})
    patient = invitations.locked_patient(db, grant.patient_id)
    if role == ROLE_PATIENT:
        _check_daily_limit(db, grant.patient_id, sent_by, clock())
    invitation, _token = invitations.issue(db, patient=patient, grant=grant, sent_by=sent_by,
                                           clock=clock)
    trail.record(db, "invitation.sent", actor=sent_by, role=role, patient_id=grant.patient_id,
                 detail=f"caregiver invitation to {grant.email}", client_ip=client_ip, clock=clock)
    return invitation


def revoke_access(db: Session, actor: User, grant_id: int, *, clock: Clock,
                  client_ip: Optional[str] = None, patient_id: Optional[int] = None) -> None:
    """Permanent. Access ends at once: every portal event re-checks it in the database."""
    grant, role = _grant_for(db, actor, grant_id, action="caregiver.revoke", clock=clock,
                             client_ip=client_ip, patient_id=patient_id)
    if grant.revoked_at is not None:
        return  # a second click on Revoke: already done
    now = clock()
    grant.revoked_at = now
    if grant.access_id is not None:
        granted = db.get(PatientAccess, grant.access_id)
        if granted is not None and granted.revoked_at is None:
            granted.revoked_at = now
            granted.revoked_by_user_id = actor.id
    links.supersede(db, links.INVITATION, now, grant_id=grant.id)
    trail.record(db, "caregiver.revoked", actor=actor, role=role, patient_id=grant.patient_id,
                 detail=f"{grant.name} <{grant.email}>", client_ip=client_ip, clock=clock)


def _grant_status(grant: CaregiverGrant, latest: Optional[Invitation], now: datetime) -> str:
    if grant.ended_at is not None or (grant.revoked_at is None and scopes.has_ended(grant.ends_on, now)):
        return "ended"  # the end date came (recorded by the sweep, or not yet)
    if grant.revoked_at is not None:
        return "revoked"
    if grant.access_id is not None:
        return "active"
    if latest is None or latest.locked_at is not None or latest.superseded_at is not None \
            or links.expired(links.INVITATION, latest.expires_at, now):
        return "expired"  # either way, what is needed is a new link
    if latest.access_code_hash is None:
        return "old link"  # sent before access codes: it can't be used, a new link is needed
    return "invited"


def authorized_users(db: Session, actor: User, patient_id: int, *, clock: Clock,
                     client_ip: Optional[str] = None) -> list[dict]:
    """Manage Users: everyone the patient gave access to, newest first, with status, and the
    access code of each pending invitation."""
    relation = access.require_self_or_staff(db, actor, patient_id, action="caregivers.view",
                                            clock=clock, client_ip=client_ip)
    grants = db.exec(select(CaregiverGrant).where(CaregiverGrant.patient_id == patient_id)
                     .order_by(CaregiverGrant.created_at.desc(), CaregiverGrant.id.desc())).all()
    latest: dict[int, Invitation] = {}
    for invitation in db.exec(select(Invitation).where(
            Invitation.patient_id == patient_id, Invitation.kind == INVITE_CAREGIVER)
            .order_by(Invitation.created_at, Invitation.id)).all():
        latest[invitation.grant_id] = invitation  # ascending order: the last one wins
    now = clock()
    rows = []
    for grant in grants:
        invitation = latest.get(grant.id)
        status = _grant_status(grant, invitation, now)
        rows.append({
            "grant_id": grant.id, "name": grant.name, "email": grant.email, "status": status,
            "granted_at": grant.created_at, "revoked_at": grant.revoked_at,
            "scope": grant.scope, "ends_on": grant.ends_on,
            "expires_at": invitation.expires_at if invitation and status == "invited" else None,
            # What the patient tells the person (only the patient and the office see this list).
            "access_code": (invitations.shown_access_code(invitation)
                            if status == "invited" else ""),
        })
    if relation != RELATION_SELF:
        trail.record(db, "caregivers.viewed", actor=actor, patient_id=patient_id,
                     client_ip=client_ip, clock=clock)
    return rows
