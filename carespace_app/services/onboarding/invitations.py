"""Registration by invitation: the office invites patients, patients invite caregivers.

A link is random, stored only as its SHA-256, bound to the address it was sent to,
valid for 96 hours, single use, and killed by any newer link for the same person.
A caregiver's link also needs a short access code that the patient sees when granting
access and tells the caregiver: the email doesn't carry it, so a forwarded email is
not enough.
"""
from __future__ import annotations

import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Optional

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import Clock
from carespace_app.config import OFFICE_PHONE, PRACTICE_NAME
from carespace_app.models import (
    INVITE_CAREGIVER,
    INVITE_PATIENT,
    RELATION_CAREGIVER,
    RELATION_SELF,
    CaregiverGrant,
    Invitation,
    Patient,
    PatientAccess,
    User,
)
from carespace_app.timefmt import to_local, when
from carespace_app.services.permissions import access
from carespace_app.services.identity import accounts
from carespace_app.services.audit import trail
from carespace_app.services.mail import outbox
from carespace_app.services.identity import security
from carespace_app.services.errors import DomainError, LinkError, NotFound, ValidationError
from carespace_app.services.identity.passwords import normalize_email, validate_email_address, validate_password
from carespace_app.services.text import one_line
from carespace_app.services.text_rules import check_text
from carespace_app.policy import (
    ACCESS_CODE_DIGITS,
    INVITATION_LIMIT_WINDOW,
    INVITATION_TTL,
    MAX_INVITATIONS_PER_DAY,
    MAX_WRONG_ANSWERS,
)


LINK_MESSAGES = {
    "invalid": "This registration link isn't valid. Open the link from your invitation email "
               f"exactly as it is, or call the office at {OFFICE_PHONE} for a new link.",
    "expired": "This registration link has expired. Please contact your physician's office or "
               "the user who granted you access to their portal at "
               f"{OFFICE_PHONE} for a new link.",
    "used": "This registration link was already used. Sign in with your email address and "
            "password, or use Forgot Password.",
    "superseded": "A newer link was sent, so this one no longer works. Use the link in the "
                  f"newest invitation email, or contact the office at {OFFICE_PHONE}.",
    "locked": "This link no longer works because of too many attempts with details that don't "
              f"match. Please contact the office at {OFFICE_PHONE} for a new link.",
    "no_code": "This link was sent before invitations had an access code, so it no longer works. "
               "Ask the person who gave you access to send you a new link from Manage Users, or "
               f"call the office at {OFFICE_PHONE}.",
}
WRONG_ANSWER = {
    INVITE_PATIENT: "That email address and date of birth don't match our invitation.",
    INVITE_CAREGIVER: "That email address and access code don't match our invitation.",
}
# Every sentence about a caregiver's access code, wherever it shows: the email, the
# registration form, Manage Users and the office's patient page fill in the names.
ACCESS_CODE_TEXT = {
    "email": "{patient} will tell you a short access code; you'll need it to finish. The code "
             "isn't in this email, so the link is no use to anyone this email reaches by mistake.",
    "label": "Access code from {first_name}",
    "hint": "The {digits}-digit code {first_name} sees in CareSpace under Manage Users. "
            "It isn't in the email: ask {first_name} for it.",
    "missing": "Enter the access code {first_name} gave you.",
    "granted": "We've emailed an invitation to {email}. Tell {name} this access code: {code}. "
               "They'll need it to finish, and it isn't in the email. The link works for 4 days; "
               "{name} will have full access once they accept.",
    "resent": "A new link is on its way, with a new access code: {code}. Tell {name}; older "
              "links and codes no longer work.",
    "row": "Access code to tell them: {code}",
    "before_grant": "You'll see a short access code to tell them yourself, by phone or in "
                    "person: they need it with the link.",
    "office_resent": "A new link was sent to {email}. New access code: {code}. {name} needs it "
                     "from the patient (or from us by phone) to finish; older links and codes "
                     "no longer work.",
    "office_row": "Access code: {code}",
    "old_link": "This invitation was sent before access codes, so it can't be used. Send a new "
                "link so they can join.",
}
INVITATION_LIMIT_REACHED = (
    f"You've sent {MAX_INVITATIONS_PER_DAY} invitations today. To protect people from unwanted "
    f"email, you can send more tomorrow, or call the office at {OFFICE_PHONE}.")
WRONG_EXISTING_PASSWORD = "That password doesn't match your existing CareSpace account."
# Said with every wrong answer, so nobody is surprised by the lock (MAX_WRONG_ANSWERS).
TRIES_LEFT = {1: "1 try left before this link locks.",
              "many": "{n} tries left before this link locks."}


def tries_left_text(tries_left: int) -> str:
    """"2 tries left before this link locks." ("" once no try is left: the link is locked)."""
    if tries_left <= 0:
        return ""
    return TRIES_LEFT[1] if tries_left == 1 else TRIES_LEFT["many"].format(n=tries_left)


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


def _expiry_text(expires_at: datetime) -> str:
    # Read against the day the link was sent (the email's "now"), not the server's clock.
    sent = expires_at - INVITATION_TTL
    return f"{when(expires_at, now=sent)} {to_local(expires_at):%Z}".strip()


def _patient_email(patient: Patient, expires_at: datetime) -> tuple[str, str]:
    return "Your invitation to CareSpace", (
        f"Hello {patient.first_name},\n\n"
        f"{PRACTICE_NAME} invites you to CareSpace, our patient portal. There you can send "
        "secure messages to our office, see your upcoming appointments and read your lab "
        "results.\n\n"
        "To create your password, open this link:\n\n{link}\n\n"
        f"This link expires in 4 days (on {_expiry_text(expires_at)}). You will be asked for "
        "this email address and your date of birth.\n\n"
        "Do not forward this email; the link won't work if forwarded.\n\n"
        f"Questions? Call our office at {OFFICE_PHONE}. We're glad to help.\n\n"
        f"Warm regards,\n{PRACTICE_NAME}"
    )


def _caregiver_email(grant: CaregiverGrant, patient: Patient,
                     expires_at: datetime) -> tuple[str, str]:
    return f"Your invitation to {patient.full_name}'s CareSpace portal", (
        f"Hello {grant.name},\n\n"
        f"{patient.full_name} has given you access to their CareSpace patient portal at "
        f"{PRACTICE_NAME}. You will have full access to the portal, including all of their "
        "medical records and messages.\n\n"
        "To accept, open this link and create a password (or, if you already use CareSpace, "
        "enter your existing password):\n\n{link}\n\n"
        f"This link expires in 4 days (on {_expiry_text(expires_at)}). You will be asked for "
        "this email address and an access code.\n\n"
        + ACCESS_CODE_TEXT["email"].format(patient=patient.full_name) + "\n\n"
        "Do not forward this email; the link won't work if forwarded.\n\n"
        f"If you weren't expecting this, or have questions, call our office at {OFFICE_PHONE}.\n\n"
        f"Warm regards,\n{PRACTICE_NAME}"
    )


def _supersede(db: Session, *conditions, now: datetime) -> int:
    """Kill every link matching the conditions that could still be used."""
    return db.execute(
        update(Invitation)
        .where(*conditions, Invitation.used_at.is_(None), Invitation.superseded_at.is_(None))
        .values(superseded_at=now, access_code_sealed=None)
        .execution_options(synchronize_session="fetch")
    ).rowcount


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
    return _same(_access_code_hash(token, _typed_code(typed)), invitation.access_code_hash)


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


def _check_daily_limit(db: Session, patient_id: int, sender: User, now: datetime) -> None:
    """The patient's own grants and re-sends in the last 24 hours (rows under the patient lock)."""
    sent = db.exec(select(func.count()).select_from(Invitation).where(
        Invitation.patient_id == patient_id, Invitation.kind == INVITE_CAREGIVER,
        Invitation.created_by_user_id == sender.id,
        Invitation.created_at > now - INVITATION_LIMIT_WINDOW)).one()
    if sent >= MAX_INVITATIONS_PER_DAY:
        raise ValidationError(INVITATION_LIMIT_REACHED)


def _issue(db: Session, *, patient: Patient, grant: Optional[CaregiverGrant],
           sent_by: Optional[User], clock: Clock) -> tuple[Invitation, str]:
    """A new link (older ones for the same person killed) and its email, not committed.

    The raw token is returned only to tests; the email holds it sealed.
    """
    now = clock()
    if grant is None:
        kind, email, name = INVITE_PATIENT, patient.email, patient.full_name
        _supersede(db, Invitation.patient_id == patient.id, Invitation.kind == INVITE_PATIENT,
                   now=now)
    else:
        kind, email, name = INVITE_CAREGIVER, grant.email, grant.name
        _supersede(db, Invitation.grant_id == grant.id, now=now)
    token = security.new_token()
    invitation = Invitation(
        token_hash=security.token_hash(token), kind=kind, patient_id=patient.id,
        grant_id=grant.id if grant else None, email=email, invitee_name=name,
        created_by_user_id=sent_by.id if sent_by else None, created_at=now,
        expires_at=now + INVITATION_TTL,
    )
    if grant is not None:
        code = _new_access_code()
        invitation.access_code_hash = _access_code_hash(token, code)
        invitation.access_code_sealed = security.seal(code)
    db.add(invitation)
    db.flush()
    subject, body = (_patient_email(patient, invitation.expires_at) if grant is None
                     else _caregiver_email(grant, patient, invitation.expires_at))
    queued = outbox.enqueue(db, to=email, subject=subject, body=body, kind="invitation",
                            link=routes.registration_link(token), patient_id=patient.id,
                            clock=clock)
    invitation.outbox_id = queued.id
    return invitation, token


def _locked_patient(db: Session, patient_id: int) -> Patient:
    # Row lock (PostgreSQL): two clicks on "Send new link" can't leave two live links.
    patient = db.exec(select(Patient).where(Patient.id == patient_id).with_for_update()).first()
    if patient is None:
        raise NotFound("We couldn't find that patient record.")
    return patient


def send_patient_invitation(db: Session, patient_id: int, *, sent_by: Optional[User],
                            clock: Clock, system: bool = False,
                            client_ip: Optional[str] = None) -> Invitation:
    """Staff (or the command line, ``system=True``) invite a patient by the email on file."""
    role = access.require_staff_or_system(db, sent_by, system=system, action="invitation.send",
                                          clock=clock, client_ip=client_ip)
    patient = _locked_patient(db, patient_id)
    if patient.user_id is not None:
        raise ValidationError(f"{patient.full_name} is already registered for CareSpace.")
    invitation, _token = _issue(db, patient=patient, grant=None, sent_by=sent_by, clock=clock)
    trail.record(db, "invitation.sent", actor=sent_by, role=role, patient_id=patient.id,
                 detail=f"patient invitation to {invitation.email}", client_ip=client_ip,
                 clock=clock)
    db.commit()
    return invitation


def supersede_patient_invitations(db: Session, patient_id: int, *, actor: Optional[User],
                                  role: str, reason: str, clock: Clock,
                                  client_ip: Optional[str] = None) -> int:
    """Kill the patient's outstanding links (e.g. the email on file changed); no commit."""
    killed = _supersede(db, Invitation.patient_id == patient_id, Invitation.kind == INVITE_PATIENT,
                        now=clock())
    if killed:
        trail.record(db, "invitation.superseded", actor=actor, role=role, patient_id=patient_id,
                     detail=f"{killed} link(s): {reason}", client_ip=client_ip, clock=clock)
    return killed


# --- caregivers ---------------------------------------------------------------------


def grant_access(db: Session, patient_user: User, patient_id: int, *, name: str, email: str,
                 clock: Clock, client_ip: Optional[str] = None) -> CaregiverGrant:
    """The patient gives a named person full access to their portal; an invitation goes out."""
    access.require_self(db, patient_user, patient_id, action="caregiver.grant", clock=clock,
                        client_ip=client_ip)
    name = check_text(name, field="name", label="name", single_line=True, breaks_become_spaces=True)
    name = one_line(name if isinstance(name, str) else "")
    if not name:
        raise ValidationError("Enter the person's name.", field="name")
    if len(name) > 200:
        raise ValidationError("The name can be at most 200 characters.", field="name")
    email = validate_email_address(email)
    patient = _locked_patient(db, patient_id)
    if email in (normalize_email(patient_user.email), patient.email):
        raise ValidationError("That's your own email address. Enter the email address of the "
                              "person you want to give access to.", field="email")
    _check_daily_limit(db, patient_id, patient_user, clock())
    earlier = db.exec(select(CaregiverGrant).where(
        CaregiverGrant.patient_id == patient_id, CaregiverGrant.email == email,
        CaregiverGrant.revoked_at.is_(None))).first()
    if earlier is not None:
        if earlier.access_id is not None:
            raise ValidationError(f"{earlier.name} already has access to your portal.",
                                  field="email")
        raise ValidationError(f"{earlier.name} was already invited. To send them a new link, use "
                              "Send new link next to their name.", field="email")
    grant = CaregiverGrant(patient_id=patient_id, name=name, email=email,
                           granted_by_user_id=patient_user.id, created_at=clock())
    db.add(grant)
    db.flush()
    _issue(db, patient=patient, grant=grant, sent_by=patient_user, clock=clock)
    trail.record(db, "caregiver.granted", actor=patient_user, role=RELATION_SELF,
                 patient_id=patient_id, detail=f"to {name} <{email}>", client_ip=client_ip,
                 clock=clock)
    db.commit()
    return grant


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
    return grant, RELATION_SELF if relation == RELATION_SELF else trail.role_of(actor)


def send_caregiver_invitation(db: Session, grant_id: int, *, sent_by: User, clock: Clock,
                              client_ip: Optional[str] = None,
                              patient_id: Optional[int] = None) -> Invitation:
    """"Send new link" for a caregiver: by the granting patient or staff.

    A new link has a new access code (``shown_access_code``); the old link and code die.
    The patient's re-sends count toward their daily limit; the office's don't: a patient
    at the limit is told to call the office, which must then still be able to help (its
    re-sends are audited under the staff member's name).
    """
    grant, role = _grant_for(db, sent_by, grant_id, action="caregiver.send_link", clock=clock,
                             client_ip=client_ip, patient_id=patient_id)
    if grant.revoked_at is not None:
        raise ValidationError(f"Access for {grant.name} was revoked. To invite them again, "
                              "grant access again.")
    if grant.access_id is not None:
        raise ValidationError(f"{grant.name} has already accepted and has access.")
    patient = _locked_patient(db, grant.patient_id)
    if role == RELATION_SELF:
        _check_daily_limit(db, grant.patient_id, sent_by, clock())
    invitation, _token = _issue(db, patient=patient, grant=grant, sent_by=sent_by, clock=clock)
    trail.record(db, "invitation.sent", actor=sent_by, role=role, patient_id=grant.patient_id,
                 detail=f"caregiver invitation to {grant.email}", client_ip=client_ip, clock=clock)
    db.commit()
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
    _supersede(db, Invitation.grant_id == grant.id, now=now)
    trail.record(db, "caregiver.revoked", actor=actor, role=role, patient_id=grant.patient_id,
                 detail=f"{grant.name} <{grant.email}>", client_ip=client_ip, clock=clock)
    db.commit()


def _grant_status(grant: CaregiverGrant, latest: Optional[Invitation], now: datetime) -> str:
    if grant.revoked_at is not None:
        return "revoked"
    if grant.access_id is not None:
        return "active"
    if latest is None or latest.locked_at is not None or latest.superseded_at is not None \
            or now > latest.expires_at:
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
            "expires_at": invitation.expires_at if invitation and status == "invited" else None,
            # What the patient tells the person (only the patient and the office see this list).
            "access_code": shown_access_code(invitation) if status == "invited" else "",
        })
    if relation != RELATION_SELF:
        trail.record(db, "caregivers.viewed", actor=actor, patient_id=patient_id,
                     client_ip=client_ip, clock=clock)
        db.commit()
    return rows


# --- registering from a link --------------------------------------------------------


def _find(db: Session, token: str) -> Invitation:
    if not isinstance(token, str) or not token or len(token) > 200:
        raise LinkError("invalid", LINK_MESSAGES["invalid"])
    invitation = db.exec(select(Invitation).where(
        Invitation.token_hash == security.token_hash(token))).first()
    if invitation is None:
        raise LinkError("invalid", LINK_MESSAGES["invalid"])
    return invitation


def _check_usable(invitation: Invitation, now: datetime) -> None:
    # Most telling reason first: a superseded link that also expired says "use the newer one".
    for reason, dead in (("used", invitation.used_at is not None),
                         ("superseded", invitation.superseded_at is not None),
                         ("locked", invitation.locked_at is not None),
                         ("expired", now > invitation.expires_at),
                         ("no_code", invitation.kind == INVITE_CAREGIVER
                          and not invitation.access_code_hash)):
        if dead:
            raise LinkError(reason, LINK_MESSAGES[reason])


def _account_for(db: Session, email: str) -> Optional[User]:
    return db.exec(select(User).where(User.email == email)).first()


def inspect(db: Session, token: str, *, clock: Clock) -> InvitationView:
    invitation = _find(db, token)
    _check_usable(invitation, clock())
    caregiver = invitation.kind == INVITE_CAREGIVER
    # The patient's first name only for a caregiver's link: the email already named them.
    patient = db.get(Patient, invitation.patient_id) if caregiver else None
    return InvitationView(
        kind=invitation.kind, invitee_name=invitation.invitee_name,
        needs_date_of_birth=invitation.kind == INVITE_PATIENT, expires_at=invitation.expires_at,
        existing_account=_account_for(db, invitation.email) is not None,
        needs_access_code=caregiver, patient_first_name=patient.first_name if patient else "",
        tries_left=max(0, MAX_WRONG_ANSWERS - (invitation.failed_attempts or 0)),
    )


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def _count_wrong_answer(db: Session, invitation: Invitation, now: datetime,
                        client_ip: Optional[str], clock: Clock) -> DomainError:
    """Count it (committed, so a refusal can't be undone by the caller's rollback)."""
    db.execute(update(Invitation).where(Invitation.id == invitation.id)
               .values(failed_attempts=Invitation.failed_attempts + 1))
    db.execute(update(Invitation).where(Invitation.id == invitation.id,
                                        Invitation.failed_attempts >= MAX_WRONG_ANSWERS,
                                        Invitation.locked_at.is_(None))
               .values(locked_at=now, access_code_sealed=None))
    db.refresh(invitation)
    locked = invitation.locked_at is not None
    trail.record(db, "invitation.locked" if locked else "invitation.wrong_answer",
                 patient_id=invitation.patient_id, client_ip=client_ip, clock=clock,
                 detail=f"invitation #{invitation.id}: "
                        f"{invitation.failed_attempts} wrong answer(s)")
    db.commit()
    if locked:
        return LinkError("locked", LINK_MESSAGES["locked"])
    # The typed address and the answer are judged together (saying which one was wrong would
    # help a guesser): the sentence sits by the first of them, the email field.
    left = tries_left_text(MAX_WRONG_ANSWERS - invitation.failed_attempts)
    return ValidationError(f"{WRONG_ANSWER[invitation.kind]} {left}", field="email")


def _claim(db: Session, invitation: Invitation, now: datetime) -> None:
    """Mark the link used, or LinkError if anyone else got there first.

    One conditional UPDATE: under any number of simultaneous submits exactly one
    sees rowcount 1 (PostgreSQL re-checks the WHERE after the row lock; SQLite
    serialises writers). The account is created in this same transaction.
    """
    claimed = db.execute(
        update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.used_at.is_(None),
               Invitation.superseded_at.is_(None), Invitation.locked_at.is_(None),
               Invitation.expires_at >= now)
        .values(used_at=now, access_code_sealed=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        db.rollback()
        db.refresh(invitation)
        _check_usable(invitation, now)
        raise LinkError("used", LINK_MESSAGES["used"])


def redeem(db: Session, token: str, *, email: str, password: str, confirm_password: str,
           date_of_birth: Optional[date], accepted_terms: bool, clock: Clock,
           client_ip: Optional[str] = None, access_code: Optional[str] = None) -> User:
    """Create the account (or add access to an existing one) from an invitation link.

    The invited address, and the date of birth (a patient) or the access code (a
    caregiver, new or with an account) must all match; wrong answers lock the link.
    """
    invitation = _find(db, token)
    now = clock()
    _check_usable(invitation, now)
    if accepted_terms is not True:
        raise ValidationError("Please agree to the terms of service.", field="terms")
    patient = db.get(Patient, invitation.patient_id)
    typed = normalize_email(email if isinstance(email, str) else "")
    right = _same(typed, invitation.email)
    if invitation.kind == INVITE_PATIENT:
        right = right and isinstance(date_of_birth, date) and date_of_birth == patient.date_of_birth
    else:
        right = _code_matches(invitation, token, access_code) and right
    if not right:
        raise _count_wrong_answer(db, invitation, now, client_ip, clock)

    existing = _account_for(db, invitation.email)
    if existing is not None:
        if not existing.is_active:
            raise DomainError("Your CareSpace account is turned off. "
                              f"Please call the office at {OFFICE_PHONE}.")
        # Guessing here is counted with sign-in failures, so a link can't bypass that throttle.
        accounts.check_throttle(db, existing.email, client_ip or "", user=existing, clock=clock)
        if not security.check_password(password, existing.password_hash):
            accounts.record_failure(db, existing.email, client_ip or "", clock=clock)
            db.commit()
            raise ValidationError(WRONG_EXISTING_PASSWORD, field="password")
        password_hash = None
    else:
        # Refused before the link is spent: fixing the password must not need a new link.
        validate_password(password, email=invitation.email, confirm=confirm_password)
        password_hash = security.hash_password(password)  # slow: done before any lock is held

    _claim(db, invitation, now)
    try:
        user = _open_access(db, invitation, existing, password_hash, now)
        db.flush()
    except IntegrityError:
        # The same address registered from another link at this very moment: nothing
        # was kept, the link is still good, and trying again takes the existing-account path.
        db.rollback()
        raise DomainError("We couldn't finish creating your account. Please try again.") from None
    if existing is None:
        action = "account.registered"
    else:
        action = "account.linked" if invitation.kind == INVITE_PATIENT else "caregiver.access_added"
    role = RELATION_SELF if invitation.kind == INVITE_PATIENT else RELATION_CAREGIVER
    trail.record(db, action, actor=user, role=role, patient_id=invitation.patient_id,
                 client_ip=client_ip, clock=clock, detail=f"invitation #{invitation.id}")
    db.commit()
    return user


def _open_access(db: Session, invitation: Invitation, existing: Optional[User],
                 password_hash: Optional[str], now: datetime) -> User:
    """Inside the claiming transaction: the account (new or existing) gets the access."""
    patient = db.get(Patient, invitation.patient_id, populate_existing=True)
    if existing is None:
        # Always the invited address, never what was typed.
        user = User(email=invitation.email, full_name=invitation.invitee_name,
                    password_hash=password_hash, created_at=now, password_changed_at=now)
        db.add(user)
        db.flush()
    else:
        user = existing
    grant = None
    if invitation.kind == INVITE_PATIENT:
        if patient.user_id is not None:
            db.rollback()
            raise ValidationError(f"{patient.full_name} is already registered. Please sign in.")
        patient.user_id = user.id
        granted = PatientAccess(patient_id=patient.id, user_id=user.id, relation=RELATION_SELF,
                                granted_at=now)
    else:
        grant = db.get(CaregiverGrant, invitation.grant_id, populate_existing=True)
        if grant is None or grant.revoked_at is not None:
            db.rollback()  # revoked while the form was open
            raise LinkError("superseded", LINK_MESSAGES["superseded"])
        granted = PatientAccess(patient_id=patient.id, user_id=user.id,
                                relation=RELATION_CAREGIVER,
                                granted_by_user_id=grant.granted_by_user_id, granted_at=now)
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
        raise NotFound("We couldn't find that patient record.")
    if patient.user_id is not None:
        return "registered"
    invitation = latest_invitation(db, patient_id)
    if invitation is None or invitation.superseded_at is not None:
        return "not invited"  # never sent, or killed when the email on file changed
    if invitation.locked_at is not None:
        return "locked"
    if clock() > invitation.expires_at:
        return "expired"
    return "invited"

