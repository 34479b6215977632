"""Settings > Email: a confirmation link to the new address; the account moves when it is opened.

The link is a ``links.EMAIL_CHANGE`` (its lifetime, binding and sentences are there).
Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.clock import Clock
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.models import OutboxEmail, Patient, User
from carespace_app.policy import ADDRESS_IN_USE_NOTICE_EVERY, EMAIL_CHANGE_TTL
from carespace_app.services.audit import trail
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import accounts, emails, links, signin
from carespace_app.services.identity.emails import validate_email_address
from carespace_app.services.mail import outbox

EMAIL_TAKEN = N_("That email address is already used by another account.")
ALREADY_YOURS = N_("That is already your email address.")
# Settings > Email asked for an address another account has: the asker hears what anyone
# hears (no address book), and the address's owner is told, at most once a day.
ADDRESS_IN_USE_SUBJECT = N_("Someone tried to use your email address in CareSpace")
ADDRESS_IN_USE_BODY = N_(
    "Hello,\n\nSomeone tried to use this address for another CareSpace account. Nothing "
    "changed: the address stays with your account, and no one else can sign in with it.\n\n"
    "If that was you, you can ignore this email. If not, call the office at {phone} if you "
    "have questions.")


# The confirmation email, in the account's language (User.language).
CONFIRM_SUBJECT = N_("Confirm your new CareSpace email address")
CONFIRM_BODY = N_("Hello {name},\n\nTo use this address for your CareSpace account, open this "
                  "link within {time}:\n\n{link}\n\nUntil you do, your account keeps its "
                  "current address. If you didn't ask for this, ignore this email.")

# The notice to the old address once the change is confirmed.
CHANGED_SUBJECT = N_("Your CareSpace email address was changed")
CHANGED = N_("The email address of your CareSpace account was changed to {email}. From now on, "
             "sign in with that address.")


def request_email_change(db: Session, user_id: int, *, current_password: str, new_email: str,
                         clock: Clock, client_ip: str = "") -> None:
    """Settings > Email: a confirmation link goes to the NEW address; nothing changes until it is opened.

    An address another account already has gets the same answer (Settings must not tell
    who has an account); no link goes there, and its owner is told someone tried it.
    """
    user = accounts.active_user(db, user_id)
    signin.check_current_password(db, user, current_password, client_ip=client_ip, clock=clock)
    new_email = validate_email_address(new_email)
    if new_email == user.email:
        raise ValidationError(ALREADY_YOURS, field="email")
    taken = emails.email_owner(db, new_email) is not None
    now = clock()
    if taken:
        # As a new link would: an earlier link tells nothing about whether this address was free.
        links.supersede(db, links.EMAIL_CHANGE, now, user_id=user.id)
        _tell_address_owner(db, new_email, now, clock=clock)
        trail.record(db, "email.change_requested", actor=user, client_ip=client_ip or None,
                     detail=f"Not sent: {new_email} belongs to another account (its owner was told)",
                     clock=clock)
        return
    _change, token = links.issue(db, links.EMAIL_CHANGE, now, user_id=user.id,
                                 new_email=new_email)
    lang = i18n.normalize(user.language)
    outbox.enqueue(
        db, to=new_email, subject=i18n.gettext(lang, CONFIRM_SUBJECT), kind="email_change",
        link=routes.email_confirmation_link(token),
        body=i18n.fmt(lang, CONFIRM_BODY, name=user.full_name, link="{link}",
                      time=i18n.duration(EMAIL_CHANGE_TTL)),
        clock=clock, lang=lang)
    trail.record(db, "email.change_requested", actor=user, client_ip=client_ip or None,
                 detail=f"New address awaiting confirmation: {new_email}", clock=clock)


def _tell_address_owner(db: Session, address: str, now: datetime, *, clock: Clock) -> None:
    """Tell an address's owner someone tried it; once a day, so nobody can flood them."""
    told = db.exec(select(OutboxEmail.id).where(
        OutboxEmail.created_at > now - ADDRESS_IN_USE_NOTICE_EVERY,
        OutboxEmail.kind == "address_in_use", OutboxEmail.to_address == address).limit(1)).first()
    if told is None:
        owner = emails.email_owner(db, address)
        lang = i18n.normalize(owner.language if owner is not None else None)
        outbox.enqueue(db, to=address, subject=i18n.gettext(lang, ADDRESS_IN_USE_SUBJECT),
                       kind="address_in_use", clock=clock, lang=lang,
                       body=i18n.fmt(lang, ADDRESS_IN_USE_BODY, phone=get_settings().office_phone))


def confirm_email_change(db: Session, token: str, *, clock: Clock) -> User:
    """The link from the new address: the account (and the linked patient record) move to it."""
    now = clock()
    change, user = links.usable_account(db, links.EMAIL_CHANGE, token, now)
    owner = emails.email_owner(db, change.new_email)
    if owner is not None and owner.id != user.id:
        raise ValidationError(EMAIL_TAKEN, field="email")
    links.claim_or_refuse(db, links.EMAIL_CHANGE, change, now)
    old_email = user.email
    user.email = change.new_email
    db.add(user)
    patients = db.exec(select(Patient).where(Patient.user_id == user.id)).all()
    for patient in patients:  # the office's address on file follows the account
        patient.email = change.new_email
        patient.updated_at = now
        db.add(patient)
    # A reset link mailed to the old address must not outlive the change.
    links.supersede(db, links.RESET, now, user_id=user.id)
    try:
        db.flush()
    except IntegrityError:  # taken by a registration a moment ago (the unit of work rolls back)
        raise ValidationError(EMAIL_TAKEN, field="email") from None
    lang = i18n.normalize(user.language)
    accounts.security_notice(db, user, old_email, i18n.gettext(lang, CHANGED_SUBJECT),
                             i18n.fmt(lang, CHANGED, email=change.new_email), clock=clock,
                             lang=lang)
    trail.record(db, "email.changed", actor=user, clock=clock,
                 patient_id=patients[0].id if len(patients) == 1 else None,
                 detail=f"From {old_email} to {change.new_email}")
    return user
