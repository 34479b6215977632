"""Registration by invitation: the office invites patients, patients invite caregivers.

A link is a ``links.INVITATION``: random, stored only as its SHA-256, valid for
``INVITATION_TTL`` (96 hours), single use, killed by any newer link for the same person,
locked after ``MAX_WRONG_ANSWERS``. It is also bound to the address it was sent to. A
caregiver's link also needs a short access code that the patient sees when granting access
and tells the caregiver: the email doesn't carry it, so a forwarded email is not enough.
Granting, re-sending and revoking a caregiver's access: permissions/caregivers.py.
Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.i18n import N_
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.models import (
    INVITE_CAREGIVER,
    INVITE_PATIENT,
    RELATION_CAREGIVER,
    RELATION_SELF,
    ROLE_CAREGIVER,
    ROLE_PATIENT,
    CaregiverGrant,
    Invitation,
    Patient,
    PatientAccess,
    User,
)
from carespace_app.policy import ACCESS_CODE_DIGITS, INVITATION_TTL, MAX_WRONG_ANSWERS
from carespace_app.services.audit import trail
from carespace_app.services.errors import DomainError, NotFound, ValidationError
from carespace_app.services.identity import accounts, emails, links, security, signin
from carespace_app.services.identity.emails import normalize_email
from carespace_app.services.identity.passwords import validate_password
from carespace_app.services.mail import outbox
from carespace_app.services.onboarding import invitation_emails
from carespace_app.services.permissions import access

WRONG_ANSWER = {
    INVITE_PATIENT: N_("That email address and date of birth don't match our invitation."),
    INVITE_CAREGIVER: N_("That email address and access code don't match our invitation."),
}
# Every sentence about a caregiver's access code, wherever it shows: the email, the
# registration form, Manage Users and the office's patient page fill in the names.
ACCESS_CODE_TEXT = {
    "email": N_("{patient} will tell you a short access code; you'll need it to finish. The "
                "code isn't in this email, so the link is no use to anyone this email reaches "
                "by mistake."),
    "label": N_("Access code from {first_name}"),
    "hint": N_("The {digits}-digit code {first_name} sees in CareSpace under Manage Users. "
               "It isn't in the email: ask {first_name} for it."),
    "missing": N_("Enter the access code {first_name} gave you."),
    "granted": N_("We've emailed an invitation to {email}. Tell {name} this access code: {code}. "
                  "They'll need it to finish, and it isn't in the email. The link works for "
                  "{time}; {name} will have full access once they accept."),
    "resent": N_("A new link is on its way, with a new access code: {code}. Tell {name}; older "
                 "links and codes no longer work."),
    "row": N_("Access code to tell them: {code}"),
    "before_grant": N_("You'll see a short access code to tell them yourself, by phone or in "
                       "person: they need it with the link."),
    "office_resent": N_("A new link was sent to {email}. New access code: {code}. {name} needs it "
                        "from the patient (or from us by phone) to finish; older links and codes "
                        "no longer work."),
    "office_row": N_("Access code: {code}"),
    "old_link": N_("This invitation was sent before access codes, so it can't be used. Send a new "
                   "link so they can join."),
}
# How long the link in "granted" works ({time}: said in the reader's language).
GRANTED_PARAMS = {"time": i18n.duration(INVITATION_TTL)}
WRONG_EXISTING_PASSWORD = N_("That password doesn't match your existing CareSpace account.")
# Said with every wrong answer, so nobody is surprised by the lock (MAX_WRONG_ANSWERS).
TRIES_LEFT = (N_("1 try left before this link locks."), N_("{n} tries left before this link locks."))
TERMS_NEEDED = N_("Please agree to the terms of service.")
ACCOUNT_OFF = N_("Your CareSpace account is turned off. Please call the office at {phone}.")
COULD_NOT_FINISH = N_("We couldn't finish creating your account. Please try again.")
ALREADY_REGISTERED = N_("{name} is already registered. Please sign in.")


def tries_left_text(tries_left: int, lang: str = "en") -> str:
    """"2 tries left before this link locks." ("" once no try is left: the link is locked)."""
    if tries_left <= 0:
        return ""
    # English and Spanish both say one try one way and every other number another.
    return i18n.gettext(lang, TRIES_LEFT[0 if tries_left == 1 else 1]).format(n=tries_left)


@dataclass(frozen=True)
class InvitationView:
    """What the registration page may show about a link before anything is typed."""

    kind: str
    invitee_name: str
    needs_date_of_birth: bool
    expires_at: datetime
    existing_account: bool
    needs_access_code: bool = False
    patient_first_name: str = ""  # whose access code the form asks for (caregiver links)
    tries_left: int = MAX_WRONG_ANSWERS  # wrong answers this link still takes before it locks


# --- sending ----------------------------------------------------------------------


def _inviting_patients_language(db: Session, patient: Patient, grant: CaregiverGrant) -> str:
    """A caregiver's invitation speaks the language the inviting patient uses CareSpace in
    (what the switch saved to them), else the office's record of their preference."""
    inviter = db.get(User, grant.granted_by_user_id) if grant.granted_by_user_id else None
    return i18n.normalize(inviter.language if inviter is not None else patient.language)


def issue(db: Session, *, patient: Patient, grant: Optional[CaregiverGrant],
          sent_by: Optional[User], clock: Clock) -> tuple[Invitation, str]:
    """A new link (older ones for the same person killed) and its email.

    The raw token is returned only to tests; the email holds it sealed.
    """
    now = clock()
    if grant is None:
        kind, email, name = INVITE_PATIENT, patient.email, patient.full_name
    else:
        kind, email, name = INVITE_CAREGIVER, grant.email, grant.name
    invitation, token = links.issue(
        db, links.INVITATION, now, patient_id=patient.id, kind=kind,
        grant_id=grant.id if grant else None, email=email, invitee_name=name,
        created_by_user_id=sent_by.id if sent_by else None)
    if grant is None:
        lang = i18n.normalize(patient.language)
        subject, body = invitation_emails.patient_email(patient, invitation.expires_at, lang)
    else:
        lang = _inviting_patients_language(db, patient, grant)
        code = _new_access_code()
        invitation.access_code_hash = _access_code_hash(token, code)
        invitation.access_code_sealed = security.seal(code)
        subject, body = invitation_emails.caregiver_email(
            grant, patient, invitation.expires_at,
            i18n.fmt(lang, ACCESS_CODE_TEXT["email"], patient=patient.full_name), lang)
    queued = outbox.enqueue(db, to=email, subject=subject, body=body, kind="invitation",
                            link=routes.registration_link(token), patient_id=patient.id,
                            clock=clock, lang=lang)
    invitation.outbox_id = queued.id
    return invitation, token


def locked_patient(db: Session, patient_id: int) -> Patient:
    # Row lock (PostgreSQL): two clicks on "Send new link" can't leave two live links.
    patient = db.exec(select(Patient).where(Patient.id == patient_id).with_for_update()).first()
    if patient is None:
        raise NotFound(N_("We couldn't find that patient record."))
    return patient


def send_patient_invitation(db: Session, patient_id: int, *, sent_by: Optional[User],
                            clock: Clock, system: bool = False,
                            client_ip: Optional[str] = None) -> Invitation:
    """Staff (or the command line, ``system=True``) invite a patient by the email on file."""
    role = access.require_staff_or_system(db, sent_by, system=system, action="invitation.send",
                                          clock=clock, client_ip=client_ip)
    patient = locked_patient(db, patient_id)
    if patient.user_id is not None:
        raise ValidationError(N_("{name} is already registered for CareSpace."), params={"name": patient.full_name})
    invitation, _token = issue(db, patient=patient, grant=None, sent_by=sent_by, clock=clock)
    trail.record(db, "invitation.sent", actor=sent_by, role=role, patient_id=patient.id,
                 detail=f"patient invitation to {invitation.email}", client_ip=client_ip,
                 clock=clock)
    return invitation


def supersede_patient_invitations(db: Session, patient_id: int, *, actor: Optional[User],
                                  role: str, reason: str, clock: Clock,
                                  client_ip: Optional[str] = None) -> int:
    """Kill the patient's outstanding links (e.g. the email on file changed)."""
    killed = links.supersede(db, links.INVITATION, clock(), patient_id=patient_id,
                             kind=INVITE_PATIENT)
    if killed:
        trail.record(db, "invitation.superseded", actor=actor, role=role, patient_id=patient_id,
                     detail=f"{killed} link(s): {reason}", client_ip=client_ip, clock=clock)
    return killed


# --- a caregiver link's access code -------------------------------------------------


def _new_access_code() -> str:
    return f"{secrets.randbelow(10 ** ACCESS_CODE_DIGITS):0{ACCESS_CODE_DIGITS}d}"


def _access_code_hash(token: str, code: str) -> str:
    # Keyed by the link's own token, which the database never holds: a copy of the
    # database can't be used to work the code out.
    return security.token_hash(f"access-code:{token}:{code}")


def _typed_code(value) -> str:
    """The digits as typed, on any keyboard, with the spaces or dashes people add."""
    if not isinstance(value, str):
        return ""
    value = unicodedata.normalize("NFKC", value[:100])
    return "".join(ch for ch in value if ch not in " -.\t")


def _code_matches(invitation: Invitation, token: str, typed) -> bool:
    if not invitation.access_code_hash:
        return False
    return security.constant_time_equals(_access_code_hash(token, _typed_code(typed)),
                                         invitation.access_code_hash)


def shown_access_code(invitation: Optional[Invitation]) -> str:
    """The pending link's code as people read it out ("482 913"); "" once it can't be used."""
    if invitation is None or not invitation.access_code_sealed:
        return ""
    try:
        code = security.unseal(invitation.access_code_sealed)
    except Exception:  # sealed under an earlier secret key: only a new link helps
        return ""
    half = len(code) // 2
    return f"{code[:half]} {code[half:]}"


# --- registering from a link --------------------------------------------------------


def _usable(db: Session, token: str, now: datetime) -> Invitation:
    invitation = links.usable(db, links.INVITATION, token, now)
    if invitation.kind == INVITE_CAREGIVER and not invitation.access_code_hash:
        raise links.INVITATION.refused("no_code")
    return invitation


def inspect(db: Session, token: str, *, clock: Clock) -> InvitationView:
    invitation = _usable(db, token, clock())
    caregiver = invitation.kind == INVITE_CAREGIVER
    # The patient's first name only for a caregiver's link: the email already named them.
    patient = db.get(Patient, invitation.patient_id) if caregiver else None
    return InvitationView(
        kind=invitation.kind, invitee_name=invitation.invitee_name,
        needs_date_of_birth=invitation.kind == INVITE_PATIENT, expires_at=invitation.expires_at,
        existing_account=emails.email_owner(db, invitation.email) is not None,
        needs_access_code=caregiver, patient_first_name=patient.first_name if patient else "",
        tries_left=links.tries_left(links.INVITATION, invitation),
    )


def _count_wrong_answer(db: Session, invitation: Invitation, now: datetime,
                        client_ip: Optional[str], clock: Clock) -> DomainError:
    """Count it; the refusal returned keeps the count (and its audit row) when raised."""
    left = links.count_wrong_answer(db, links.INVITATION, invitation, now)
    locked = invitation.locked_at is not None
    trail.record(db, "invitation.locked" if locked else "invitation.wrong_answer",
                 patient_id=invitation.patient_id, client_ip=client_ip, clock=clock,
                 detail=f"invitation #{invitation.id}: "
                        f"{invitation.failed_attempts} wrong answer(s)")
    if locked:
        return links.INVITATION.refused("locked")
    # The typed address and the answer are judged together (saying which one was wrong would
    # help a guesser): the sentence sits by the first of them, the email field.
    wrong = WRONG_ANSWER[invitation.kind]
    return links.WrongAnswer("{wrong} {left}", field="email", params={
        "wrong": lambda lang: i18n.gettext(lang, wrong),
        "left": lambda lang: tries_left_text(left, lang)})


def redeem(db: Session, token: str, *, email: str, password: str, confirm_password: str,
           date_of_birth: Optional[date], accepted_terms: bool, clock: Clock,
           client_ip: Optional[str] = None, access_code: Optional[str] = None,
           language: str = "en") -> User:
    """Create the account (or add access to an existing one) from an invitation link.

    The invited address, and the date of birth (a patient) or the access code (a
    caregiver, new or with an account) must all match; wrong answers lock the link.
    ``language``: the one the form was filled in, kept by a new account.
    """
    now = clock()
    invitation = _usable(db, token, now)
    if accepted_terms is not True:
        raise ValidationError(TERMS_NEEDED, field="terms")
    patient = db.get(Patient, invitation.patient_id)
    typed = normalize_email(email if isinstance(email, str) else "")
    right = security.constant_time_equals(typed, invitation.email)
    if invitation.kind == INVITE_PATIENT:
        right = right and isinstance(date_of_birth, date) and date_of_birth == patient.date_of_birth
    else:
        right = _code_matches(invitation, token, access_code) and right
    if not right:
        raise _count_wrong_answer(db, invitation, now, client_ip, clock)

    existing = emails.email_owner(db, invitation.email)
    if existing is not None:
        if not existing.is_active:
            raise DomainError(ACCOUNT_OFF, params={"phone": get_settings().office_phone})
        # Guessing here is counted with sign-in failures, so a link can't bypass that throttle.
        signin.check_throttle(db, existing.email, client_ip or "", user=existing, clock=clock)
        if not security.check_password(password, existing.password_hash):
            signin.record_failure(db, existing.email, client_ip or "", clock=clock)
            raise links.WrongAnswer(WRONG_EXISTING_PASSWORD, field="password")
        password_hash = None
    else:
        # Refused before the link is spent: fixing the password must not need a new link.
        validate_password(password, email=invitation.email, confirm=confirm_password)
        password_hash = security.hash_password(password)  # slow: done before any lock is held

    grant = None
    if invitation.kind == INVITE_CAREGIVER:
        grant = db.get(CaregiverGrant, invitation.grant_id, populate_existing=True)
        if grant is None or grant.revoked_at is not None:  # revoked while the form was open
            raise links.INVITATION.refused("superseded")
    links.claim_or_refuse(db, links.INVITATION, invitation, now)
    try:
        user = _open_access(db, invitation, grant, existing, password_hash, now)
        if existing is None and language in i18n.LANGUAGES:
            user.language = language
            user.language_chosen = True  # registered in it
            db.add(user)
        db.flush()
    except IntegrityError:
        # The same address registered from another link at this very moment: the unit of
        # work keeps nothing, the link is still good, and trying again takes the
        # existing-account path.
        raise DomainError(COULD_NOT_FINISH) from None
    if existing is None:
        action = "account.registered"
    else:
        action = "account.linked" if invitation.kind == INVITE_PATIENT else "caregiver.access_added"
    role = ROLE_PATIENT if invitation.kind == INVITE_PATIENT else ROLE_CAREGIVER
    trail.record(db, action, actor=user, role=role, patient_id=invitation.patient_id,
                 client_ip=client_ip, clock=clock, detail=f"invitation #{invitation.id}")
    return user


def _open_access(db: Session, invitation: Invitation, grant: Optional[CaregiverGrant],
                 existing: Optional[User], password_hash: Optional[str], now: datetime) -> User:
    """Inside the claiming transaction: the account (new or existing) gets the access."""
    patient = db.get(Patient, invitation.patient_id, populate_existing=True)
    if existing is None:
        # Always the invited address, never what was typed.
        user = accounts.add_account(db, email=invitation.email, full_name=invitation.invitee_name,
                                    password_hash=password_hash, now=now)
    else:
        user = existing
    if invitation.kind == INVITE_PATIENT:
        if patient.user_id is not None:  # (the unit of work rolls the claim back)
            raise ValidationError(ALREADY_REGISTERED, params={"name": patient.full_name})
        patient.user_id = user.id
        granted = PatientAccess(patient_id=patient.id, user_id=user.id, relation=RELATION_SELF,
                                granted_at=now)
    else:
        granted = PatientAccess(patient_id=patient.id, user_id=user.id,
                                relation=RELATION_CAREGIVER,
                                granted_by_user_id=grant.granted_by_user_id, granted_at=now,
                                scope=grant.scope, ends_on=grant.ends_on)
    db.add(granted)
    db.flush()
    if grant is not None:
        grant.access_id = granted.id
    db.execute(update(Invitation).where(Invitation.id == invitation.id)
               .values(used_by_user_id=user.id).execution_options(synchronize_session=False))
    return user


# --- the office's view ----------------------------------------------------------------


def latest_invitation(db: Session, patient_id: int) -> Optional[Invitation]:
    return db.exec(select(Invitation).where(Invitation.patient_id == patient_id,
                                            Invitation.kind == INVITE_PATIENT)
                   .order_by(Invitation.created_at.desc(), Invitation.id.desc())).first()


def invitation_status(db: Session, patient_id: int, *, clock: Clock) -> str:
    """"not invited", "invited", "expired", "registered" or "locked"."""
    patient = db.get(Patient, patient_id)
    if patient is None:
        raise NotFound(N_("We couldn't find that patient record."))
    if patient.user_id is not None:
        return "registered"
    invitation = latest_invitation(db, patient_id)
    if invitation is None or invitation.superseded_at is not None:
        return "not invited"  # never sent, or killed when the email on file changed
    if invitation.locked_at is not None:
        return "locked"
    if links.expired(links.INVITATION, invitation.expires_at, clock()):
        return "expired"
    return "invited"

