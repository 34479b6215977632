"""Accounts: sign-in with throttling, new accounts, password change and reset, email change.

bcrypt is deliberately slow, so these functions are synchronous: the Reflex
handlers run them in the bcrypt thread pool (``security.run_in_bcrypt_pool``).
Each function commits its own unit of work; a refusal that must be remembered
(a failed sign-in) is committed before the error is raised.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import Clock
from carespace_app.config import OFFICE_PHONE
from carespace_app.models import (
    EmailChange,
    OutboxEmail,
    Patient,
    PasswordReset,
    SignInFailure,
    User,
    UserSession,
)
from carespace_app.services.audit import trail
from carespace_app.services.mail import outbox
from carespace_app.services.identity import security
from carespace_app.services.identity import sessions
from carespace_app.services.errors import (
    AuthenticationFailed,
    LinkError,
    NotFound,
    Throttled,
    ValidationError,
)
from carespace_app.services.identity.passwords import normalize_email, validate_email_address, validate_password
from carespace_app.services.text import one_line
from carespace_app.services.text_rules import check_text
from carespace_app.policy import (
    ACCOUNT_BURST,
    ACCOUNT_BURST_PAUSE,
    ACCOUNT_BURST_WINDOW,
    ACCOUNT_LIMIT,
    ACCOUNT_WINDOW,
    ADDRESS_IN_USE_NOTICE_EVERY,
    CLIENT_LIMIT,
    CLIENT_WINDOW,
    EMAIL_CHANGE_TTL,
    RESET_REQUESTS_PER_HOUR,
    RESET_TTL,
)

# --- throttling numbers --------------------------------------------------------

DUPLICATE_EMAIL = "An account with that email already exists."
EMAIL_TAKEN = "That email address is already used by another account."
# Settings > Email asked for an address another account has: the asker hears what anyone
# hears (no address book), and the address's owner is told, at most once a day.
ADDRESS_IN_USE_SUBJECT = "Someone tried to use your email address in CareSpace"
ADDRESS_IN_USE_BODY = (
    "Hello,\n\nSomeone tried to use this address for another CareSpace account. Nothing "
    "changed: the address stays with your account, and no one else can sign in with it.\n\n"
    "If that was you, you can ignore this email. If not, call the office at {phone} if you "
    "have questions.")
WRONG_CURRENT_PASSWORD = "Your current password is not correct."

RESET_LINK_MESSAGES = {
    "invalid": "This password reset link is not valid. Request a new one from Forgot Password.",
    "expired": "This password reset link has expired (links last one hour). "
               "Request a new one from Forgot Password.",
    "used": "This password reset link was already used. Request a new one from Forgot Password.",
    "superseded": "This password reset link no longer works: a newer link was sent, or the "
                  "password or email address was changed since. Use the newest link, or "
                  "request a new one from Forgot Password.",
}
EMAIL_LINK_MESSAGES = {
    "invalid": "This confirmation link is not valid. Sign in and change your email address again.",
    "expired": "This confirmation link has expired (links last 24 hours). "
               "Sign in and change your email address again.",
    "used": "This email address was already confirmed. Sign in with it.",
    "superseded": "A newer confirmation link was sent; only the newest one works.",
}


# --- sign-in ---------------------------------------------------------------------


def _failures(db: Session, *conditions) -> tuple[int, Optional[datetime], Optional[datetime]]:
    """How many failures match, the oldest and the latest."""
    return tuple(db.exec(select(func.count(SignInFailure.id), func.min(SignInFailure.at),
                                func.max(SignInFailure.at)).where(*conditions)).one())


def _wait_seconds(until: datetime, now: datetime) -> int:
    return max(1, int((until - now).total_seconds() + 0.999))


def check_throttle(db: Session, email: str, client_ip: str, *, user: Optional[User], clock: Clock) -> None:
    """Raise Throttled if this account or this client has failed too often lately."""
    now = clock()
    # Guesses at a password that has since been changed (a reset proves the person holds
    # the mailbox) say nothing about the new one: they no longer count, so "use Forgot
    # Password" really lets a patient locked out by a stranger back in.
    window_start = now - ACCOUNT_WINDOW
    if user is not None and user.password_changed_at is not None \
            and user.password_changed_at > window_start:
        window_start = user.password_changed_at - timedelta(microseconds=1)
    count, oldest, _latest = _failures(
        db, SignInFailure.email == email, SignInFailure.at > window_start)
    if count >= ACCOUNT_LIMIT:
        wait = _wait_seconds(oldest + ACCOUNT_WINDOW, now)
        raise Throttled(
            "Too many unsuccessful sign-ins for this account. Try again in about "
            f"{max(1, wait // 60)} minutes, or use Forgot Password.", retry_after_seconds=wait)
    if client_ip:
        count, oldest, _latest = _failures(
            db, SignInFailure.client_ip == client_ip, SignInFailure.at > now - CLIENT_WINDOW)
        if count >= CLIENT_LIMIT:
            wait = _wait_seconds(oldest + CLIENT_WINDOW, now)
            raise Throttled(
                "Too many unsuccessful sign-ins from your network. Try again in about "
                f"{max(1, wait // 60)} minutes.", retry_after_seconds=wait)
    # Consecutive failures: those since the last successful sign-in (its session's start).
    since = max(now - ACCOUNT_BURST_WINDOW, window_start)
    if user is not None:
        last_success = db.exec(
            select(func.max(UserSession.created_at)).where(UserSession.user_id == user.id)
        ).one()
        if last_success is not None and last_success > since:
            since = last_success
    count, _oldest, latest = _failures(db, SignInFailure.email == email, SignInFailure.at > since)
    if count >= ACCOUNT_BURST and now - latest < ACCOUNT_BURST_PAUSE:
        wait = _wait_seconds(latest + ACCOUNT_BURST_PAUSE, now)
        raise Throttled(f"Too many attempts. Please wait {wait} seconds and try again.",
                        retry_after_seconds=wait)


def sign_in_pause(db: Session, email: str, client_ip: str, *, clock: Clock) -> int:
    """Seconds until this address may try to sign in again from this client (0: now).

    The sign-in page asks after a refusal, to count the pause down. It answers alike for
    an address with or without an account (failures are counted by the address typed).
    """
    email = normalize_email(email if isinstance(email, str) else "")
    user = db.exec(select(User).where(User.email == email)).first() if email else None
    try:
        check_throttle(db, email, client_ip or "", user=user, clock=clock)
    except Throttled as paused:
        return paused.retry_after_seconds
    return 0


def record_failure(db: Session, email: str, client_ip: str, *, clock: Clock) -> None:
    # Without an "@" the "email" may well be a password typed in the wrong box: keep it out.
    db.add(SignInFailure(email=(email if "@" in email else "")[:320],
                         client_ip=(client_ip or "")[:64], at=clock()))


def authenticate(db: Session, email: str, password: str, *, client_ip: str, clock: Clock) -> User:
    """The user for a right email + password; AuthenticationFailed or Throttled otherwise.

    The answer (and its time) is the same for an unknown address as for a wrong password.
    """
    email = normalize_email(email if isinstance(email, str) else "")
    client_ip = client_ip or ""
    user = db.exec(select(User).where(User.email == email)).first() if email else None
    check_throttle(db, email, client_ip, user=user, clock=clock)
    if user is None:
        security.check_password(password, security.dummy_hash())  # spend the same time
        record_failure(db, email, client_ip, clock=clock)
        trail.record(db, "sign_in.failed", detail="No account for that address",
                     client_ip=client_ip, clock=clock)
        db.commit()
        raise AuthenticationFailed()
    if not security.check_password(password, user.password_hash):
        record_failure(db, email, client_ip, clock=clock)
        trail.record(db, "sign_in.failed", detail=f"Wrong password for user #{user.id}",
                     role="anonymous", client_ip=client_ip, clock=clock)
        db.commit()
        raise AuthenticationFailed()
    if not user.is_active:
        trail.record(db, "sign_in.failed", detail=f"Deactivated account, user #{user.id}",
                     role="anonymous", client_ip=client_ip, clock=clock)
        db.commit()
        raise AuthenticationFailed()
    trail.record(db, "sign_in", actor=user, client_ip=client_ip, clock=clock)
    db.commit()
    return user


def _check_current_password(db: Session, user: User, password: str, *, client_ip: str, clock: Clock) -> None:
    # Counted like sign-in failures: a borrowed open session must not allow guessing.
    check_throttle(db, user.email, client_ip, user=user, clock=clock)
    if not security.check_password(password, user.password_hash):
        record_failure(db, user.email, client_ip, clock=clock)
        db.commit()
        raise AuthenticationFailed(WRONG_CURRENT_PASSWORD, field="current_password")


# --- new accounts --------------------------------------------------------------


def _active_user(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("That account was not found.")
    return user


def _email_owner(db: Session, email: str) -> Optional[User]:
    return db.exec(select(User).where(User.email == email)).first()


def create_user(db: Session, *, email: str, full_name: str, password: str, clock: Clock,
                confirm_password: Optional[str] = None, commit: bool = True,
                audited: bool = True) -> User:
    """A new account. ``commit=False`` lets registration create it in the same
    transaction as consuming the invitation (the caller then commits). ``audited=False``:
    the caller records who made it (the office, the command line) instead of a sign-up."""
    email = validate_email_address(email)
    full_name = check_text(full_name, field="full_name", label="full name", single_line=True,
                           breaks_become_spaces=True)
    full_name = one_line(full_name if isinstance(full_name, str) else "")[:200]
    if not full_name:
        raise ValidationError("Enter your full name.", field="full_name")
    validate_password(password, email=email, confirm=confirm_password)
    if _email_owner(db, email) is not None:
        raise ValidationError(DUPLICATE_EMAIL, field="email")
    now = clock()
    user = User(email=email, full_name=full_name, password_hash=security.hash_password(password),
                created_at=now, password_changed_at=now)
    db.add(user)
    try:
        db.flush()
    except IntegrityError:  # the same address registered a moment ago
        db.rollback()
        raise ValidationError(DUPLICATE_EMAIL, field="email") from None
    if audited:
        trail.record(db, "account.created", actor=user, clock=clock)
    if commit:
        db.commit()
    return user


# A staff account's role as the audit log names it.
STAFF_ROLE_WORDS = {True: "administrator", False: "staff"}


def create_staff(db: Session, *, email: str, full_name: str, password: str, is_admin: bool = False,
                 clock: Clock, created_by: Optional[User] = None) -> User:
    """A staff (or admin) account. An address that already has any account,
    a patient's included, is refused: one person, one account, no silent upgrade."""
    user = create_user(db, email=email, full_name=full_name, password=password, clock=clock,
                       commit=False, audited=False)
    user.is_staff = True
    user.is_admin = bool(is_admin)
    db.add(user)
    trail.record(db, "account.created", actor=created_by, clock=clock,
                 detail=f"user #{user.id}, {STAFF_ROLE_WORDS[user.is_admin]}")
    trail.record(db, "staff.created", actor=created_by, clock=clock,
                 detail=f"user #{user.id}" + (" (admin)" if is_admin else ""))
    db.commit()
    return user


# --- password change and reset ------------------------------------------------


def _security_notice(db: Session, user: User, to: str, subject: str, what: str, *, clock: Clock) -> None:
    """Tell the person about a change to their account, in case it wasn't them. No link."""
    outbox.enqueue(db, to=to, subject=subject, kind="account_notice", clock=clock,
                   body=(f"Hello {user.full_name},\n\n{what}\n\n"
                         f"If this wasn't you, call the office right away at {OFFICE_PHONE}."))


def change_password(db: Session, user_id: int, *, current_password: str, new_password: str,
                    confirm_password: str, clock: Clock, keep_session_id: Optional[int] = None,
                    client_ip: str = "") -> None:
    """Settings > Password. Every other session (other devices) ends."""
    user = _active_user(db, user_id)
    _check_current_password(db, user, current_password, client_ip=client_ip, clock=clock)
    validate_password(new_password, email=user.email, confirm=confirm_password)
    user.password_hash = security.hash_password(new_password)
    user.password_changed_at = clock()
    db.add(user)
    sessions.end_user_sessions(db, user.id, reason=sessions.ENDED_PASSWORD_CHANGED, clock=clock,
                               except_session_id=keep_session_id)
    # A reset link sent before the change (perhaps by someone else) must not undo it.
    _supersede_resets(db, user.id, clock())
    trail.record(db, "password.changed", actor=user, client_ip=client_ip or None, clock=clock)
    _security_notice(db, user, user.email, "Your CareSpace password was changed",
                     "The password of your CareSpace account was just changed, and you were "
                     "signed out on your other devices.", clock=clock)
    db.commit()


def _supersede_resets(db: Session, user_id: int, now: datetime, except_id: Optional[int] = None) -> None:
    query = update(PasswordReset).where(
        PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None),
        PasswordReset.superseded_at.is_(None))
    if except_id is not None:
        query = query.where(PasswordReset.id != except_id)
    db.execute(query.values(superseded_at=now))


def request_password_reset(db: Session, email: str, *, clock: Clock) -> None:
    """Forgot Password. Answers nothing, and does the same work, whether or not the address exists."""
    now = clock()
    token = security.new_token()
    hashed = security.token_hash(token)  # made either way, so both paths cost alike
    address = normalize_email(email if isinstance(email, str) else "")
    user = db.exec(
        select(User).where(User.email == address, User.is_active.is_(True))
    ).first() if address else None
    if user is None:
        trail.record(db, "password.reset_requested", detail="No active account for that address",
                     clock=clock)
        db.commit()
        return
    recent = db.exec(select(func.count(PasswordReset.id)).where(
        PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1))).one()
    if recent >= RESET_REQUESTS_PER_HOUR:
        trail.record(db, "password.reset_requested", actor=user, role="anonymous",
                     detail="Not sent: too many requests this hour", clock=clock)
        db.commit()
        return
    _supersede_resets(db, user.id, now)
    db.add(PasswordReset(token_hash=hashed, user_id=user.id, created_at=now,
                         expires_at=now + RESET_TTL))
    outbox.enqueue(
        db, to=user.email, subject="Reset your CareSpace password", kind="password_reset",
        link=routes.password_reset_link(token),
        body=(f"Hello {user.full_name},\n\nSomeone (we hope you) asked to reset the password "
              "of your CareSpace account. To choose a new password, open this link within "
              "one hour:\n\n{link}\n\nThe link works once. If you didn't ask for this, ignore "
              f"this email: your password stays the same. Questions? Call {OFFICE_PHONE}."),
        clock=clock)
    trail.record(db, "password.reset_requested", actor=user, role="anonymous", clock=clock)
    db.commit()


def _find_link(db: Session, model, token: str, now: datetime, messages: dict):
    row = None
    if isinstance(token, str) and token:
        row = db.exec(select(model).where(model.token_hash == security.token_hash(token))).first()
    if row is None:
        raise LinkError("invalid", messages["invalid"])
    if row.used_at is not None:
        raise LinkError("used", messages["used"])
    if row.superseded_at is not None:
        raise LinkError("superseded", messages["superseded"])
    if now >= row.expires_at:
        raise LinkError("expired", messages["expired"])
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise LinkError("invalid", messages["invalid"])
    return row, user


def _use_link(db: Session, model, row, now: datetime, messages: dict) -> None:
    # Conditional UPDATE: of two concurrent uses of one link, only one wins.
    won = db.execute(
        update(model)
        .where(model.id == row.id, model.used_at.is_(None), model.superseded_at.is_(None),
               model.expires_at > now)
        .values(used_at=now)
    ).rowcount
    if won != 1:
        db.rollback()
        raise LinkError("used", messages["used"])


def inspect_reset(db: Session, token: str, *, clock: Clock) -> PasswordReset:
    """The reset for a link that can still be used; LinkError (with the reason) otherwise."""
    reset, _user = _find_link(db, PasswordReset, token, clock(), RESET_LINK_MESSAGES)
    return reset


def reset_link_email(db: Session, token: str, *, clock: Clock) -> str:
    """The email of the account a usable reset link is for ("" if none): the live password
    checklist's "not your email" rule. Never sent to the browser."""
    reset = inspect_reset(db, token, clock=clock)
    user = db.get(User, reset.user_id)
    return user.email if user is not None else ""


def reset_password(db: Session, token: str, *, new_password: str, confirm_password: str,
                   clock: Clock) -> User:
    """Set a new password from a reset link; every session of the account ends."""
    reset, user = _find_link(db, PasswordReset, token, clock(), RESET_LINK_MESSAGES)
    # Rules first: a refused password must not use up the link.
    validate_password(new_password, email=user.email, confirm=confirm_password)
    new_hash = security.hash_password(new_password)  # slow: before any row is locked
    now = clock()
    _use_link(db, PasswordReset, reset, now, RESET_LINK_MESSAGES)
    user.password_hash = new_hash
    user.password_changed_at = now
    db.add(user)
    _supersede_resets(db, user.id, now, except_id=reset.id)
    sessions.end_user_sessions(db, user.id, reason=sessions.ENDED_PASSWORD_RESET, clock=clock)
    trail.record(db, "password.reset", actor=user, clock=clock)
    _security_notice(db, user, user.email, "Your CareSpace password was reset",
                     "The password of your CareSpace account was just reset from a Forgot "
                     "Password link, and you were signed out everywhere.", clock=clock)
    db.commit()
    return user


# --- email change ----------------------------------------------------------------


def request_email_change(db: Session, user_id: int, *, current_password: str, new_email: str,
                         clock: Clock, client_ip: str = "") -> None:
    """Settings > Email: a confirmation link goes to the NEW address; nothing changes until it is opened.

    An address another account already has gets the same answer (Settings must not tell
    who has an account); no link goes there, and its owner is told someone tried it.
    """
    user = _active_user(db, user_id)
    _check_current_password(db, user, current_password, client_ip=client_ip, clock=clock)
    new_email = validate_email_address(new_email)
    if new_email == user.email:
        raise ValidationError("That is already your email address.", field="email")
    taken = _email_owner(db, new_email) is not None
    now = clock()
    # Either way, so an earlier link tells nothing about whether this address was free.
    db.execute(update(EmailChange).where(
        EmailChange.user_id == user.id, EmailChange.used_at.is_(None),
        EmailChange.superseded_at.is_(None)).values(superseded_at=now))
    token = security.new_token()
    if taken:
        _tell_address_owner(db, new_email, now, clock=clock)
        trail.record(db, "email.change_requested", actor=user, client_ip=client_ip or None,
                     detail=f"Not sent: {new_email} belongs to another account (its owner was told)",
                     clock=clock)
        db.commit()
        return
    db.add(EmailChange(token_hash=security.token_hash(token), user_id=user.id, new_email=new_email,
                       created_at=now, expires_at=now + EMAIL_CHANGE_TTL))
    outbox.enqueue(
        db, to=new_email, subject="Confirm your new CareSpace email address", kind="email_change",
        link=routes.email_confirmation_link(token),
        body=(f"Hello {user.full_name},\n\nTo use this address for your CareSpace account, "
              "open this link within 24 hours:\n\n{link}\n\nUntil you do, your account keeps "
              "its current address. If you didn't ask for this, ignore this email."),
        clock=clock)
    trail.record(db, "email.change_requested", actor=user, client_ip=client_ip or None,
                 detail=f"New address awaiting confirmation: {new_email}", clock=clock)
    db.commit()


def _tell_address_owner(db: Session, address: str, now: datetime, *, clock: Clock) -> None:
    """Tell an address's owner someone tried it; once a day, so nobody can flood them."""
    told = db.exec(select(OutboxEmail.id).where(
        OutboxEmail.created_at > now - ADDRESS_IN_USE_NOTICE_EVERY,
        OutboxEmail.kind == "address_in_use", OutboxEmail.to_address == address).limit(1)).first()
    if told is None:
        outbox.enqueue(db, to=address, subject=ADDRESS_IN_USE_SUBJECT, kind="address_in_use",
                       body=ADDRESS_IN_USE_BODY.format(phone=OFFICE_PHONE), clock=clock)


def confirm_email_change(db: Session, token: str, *, clock: Clock) -> User:
    """The link from the new address: the account (and the linked patient record) move to it."""
    now = clock()
    change, user = _find_link(db, EmailChange, token, now, EMAIL_LINK_MESSAGES)
    owner = _email_owner(db, change.new_email)
    if owner is not None and owner.id != user.id:
        raise ValidationError(EMAIL_TAKEN, field="email")
    _use_link(db, EmailChange, change, now, EMAIL_LINK_MESSAGES)
    old_email = user.email
    user.email = change.new_email
    db.add(user)
    patients = db.exec(select(Patient).where(Patient.user_id == user.id)).all()
    for patient in patients:  # the office's address on file follows the account
        patient.email = change.new_email
        patient.updated_at = now
        db.add(patient)
    # A reset link mailed to the old address must not outlive the change.
    _supersede_resets(db, user.id, now)
    try:
        db.flush()
    except IntegrityError:  # taken by a registration a moment ago
        db.rollback()
        raise ValidationError(EMAIL_TAKEN, field="email") from None
    _security_notice(db, user, old_email, "Your CareSpace email address was changed",
                     f"The email address of your CareSpace account was changed to "
                     f"{change.new_email}. From now on, sign in with that address.", clock=clock)
    trail.record(db, "email.changed", actor=user, clock=clock,
                 patient_id=patients[0].id if len(patients) == 1 else None,
                 detail=f"From {old_email} to {change.new_email}")
    db.commit()
    return user
