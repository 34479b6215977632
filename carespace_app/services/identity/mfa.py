"""Two-step sign-in (issue #17): an authenticator app's codes (TOTP, RFC 6238, via pyotp) and
ten single-use recovery codes.

The key is sealed at rest (``security.seal``: AES-GCM under a key derived from the app's
secret key) because checking a code needs it; it is shown once, while being set up, and
never logged. A code is accepted for the current 30-second step and the one before and after,
and never twice: each key remembers the last step it took (a conditional UPDATE, so two
simultaneous uses of one code cannot both pass). Recovery codes are random and kept only as
a keyed hash. Wrong codes count as failed sign-ins (``signin.check_throttle``: per account
and per client), both at sign-in and where a signed-in person proves it is them.

Sign-in in two steps: a right password for a person with the second step on leaves a
"password passed" record (``links.SECOND_STEP``: random, hashed, minutes long) instead of a
session; only a right code for it starts the session. Every change is audited and the
person is emailed. Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional

from sqlalchemy import delete, update
from sqlmodel import Session, select

from carespace_app import i18n
from carespace_app.clock import Clock
from carespace_app.i18n import N_
from carespace_app.config import STAFF_MFA_REQUIRED, get_settings
from carespace_app.models import RecoveryCode, TwoStepKey, TwoStepPending, User
from carespace_app.policy import (
    TOTP_DIGITS,
    TWO_STEP_PENDING_TTL,
)
from carespace_app.services.audit import trail
from carespace_app.services.errors import AuthenticationFailed, NotAllowed, ValidationError
from carespace_app.services.identity import accounts, links, security, signin
from carespace_app.services.identity.mfa_codes import (
    matching_step, new_secret, otpauth_uri, only_digits, normal_recovery, replace_recovery_codes, recovery_codes_left, use_recovery_code,
)
from carespace_app.services.permissions import access


# --- what people read ------------------------------------------------------------------
DIGITS = {"n": TOTP_DIGITS}  # the parameter of the sentences that say how many digits
CODE_LABEL = N_("{n}-digit code")
ENTER_CODE = N_("Enter the {n}-digit code from your authenticator app.")
RECOVERY_LABEL = N_("Recovery code")
WRONG_CODE = N_("That code isn't right. Check your authenticator app and try again.")
WRONG_RECOVERY_CODE = N_("That recovery code isn't right, or it was already used. "
                         "Check it and try again.")
NO_CODE = ENTER_CODE
NO_RECOVERY_CODE = N_("Enter one of your recovery codes.")
START_AGAIN = N_("Signing in took too long, or was started again elsewhere. "
                 "Enter your email address and password again.")
ALREADY_ON = N_("Two-step sign-in is already on.")
NOT_ON = N_("Two-step sign-in is off.")
SETUP_GONE = N_("Start again: choose Turn on two-step sign-in.")
STAFF_MUST_KEEP = N_("The practice requires two-step sign-in for staff accounts, so it can't be "
                     "turned off. An administrator can reset it if you lose your phone.")
STAFF_SETUP_NEEDED = N_("The practice requires two-step sign-in for staff accounts. Turn it on "
                        "below to use the admin page.")
RESET_NOT_ON = N_("{name} doesn't have two-step sign-in on.")
RESET_NOT_STAFF = N_("Only a staff member's two-step sign-in can be reset here.")
RESET_NOT_THIS_PATIENT = N_("That person's portal account isn't linked to this patient.")
NO_CODES_LEFT = N_("You have no recovery codes left. Make new ones in Settings.")


def codes_left_text(left: int, lang: str = "en") -> str:
    if left == 0:
        return i18n.gettext(lang, NO_CODES_LEFT)
    return i18n.ngettext(lang, "You have {n} recovery code left.",
                         "You have {n} recovery codes left.", left).format(n=left)


# The emails (no link: "if this wasn't you, call the office"), in the person's language.
EMAILS = {
    "on": (N_("Two-step sign-in is on"),
           N_("Two-step sign-in was turned on for your CareSpace account.")),
    "off": (N_("Two-step sign-in is off"),
            N_("Two-step sign-in was turned off for your CareSpace account.")),
    "new_codes": (N_("New recovery codes"),
                  N_("New recovery codes were made for your CareSpace account. "
                     "The old ones no longer work.")),
    "recovery_used": (N_("A recovery code was used"),
                      N_("Someone signed in to your CareSpace account with one of your "
                         "recovery codes. {left}")),
    "reset": (N_("Two-step sign-in was reset"),
              N_("An administrator reset two-step sign-in for your CareSpace account. Set it "
                 "up again in Settings the next time you sign in.")),
    "reset_by_office": (N_("Two-step sign-in was reset"),
                        N_("Our office reset two-step sign-in for your CareSpace account. Set "
                           "it up again in Settings the next time you sign in.")),
}

# The password-passed step: a one-time link of its own (services/identity/links.py).
SECOND_STEP = links.Purpose(
    name="second sign-in step", model=TwoStepPending, lifetime=TWO_STEP_PENDING_TTL,
    bound_to=("user_id",),
    messages={reason: START_AGAIN for reason in ("invalid", "expired", "used", "superseded")})


# --- the key ----------------------------------------------------------------------------


def _key(db: Session, user_id: int) -> Optional[TwoStepKey]:
    return db.exec(select(TwoStepKey).where(TwoStepKey.user_id == user_id)).first()


def _take_code(db: Session, user: User, code, now: datetime) -> bool:
    """A right authenticator code for a step not used before: taken (never again)."""
    key = _key(db, user.id)
    if key is None or key.sealed_secret is None:
        return False
    step = matching_step(security.unseal(key.sealed_secret), only_digits(code), now)
    if step is None:
        return False
    return db.execute(update(TwoStepKey).where(
        TwoStepKey.id == key.id, TwoStepKey.last_step < step).values(last_step=step)
        .execution_options(synchronize_session=False)).rowcount == 1


def _notify(db: Session, user: User, what: str, clock: Clock, **words) -> None:
    subject, body = EMAILS[what]
    lang = i18n.normalize(user.language)
    accounts.security_notice(db, user, user.email, i18n.gettext(lang, subject),
                             i18n.fmt(lang, body, **words), clock=clock, lang=lang)


def _account(db: Session, actor: Optional[User]) -> User:
    """The signed-in person's own row, as it is now."""
    user = db.get(User, actor.id) if actor is not None and actor.id is not None else None
    if user is None or not user.is_active:
        raise NotAllowed()
    return user


# --- Settings ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    on: bool
    since: Optional[datetime]
    codes_left: int
    must_set_up: bool  # a staff member the practice requires it of, without it
    can_turn_off: bool  # not staff while the practice requires it


@dataclass(frozen=True)
class Setup:
    secret: str  # shown once, grouped, beside the QR code
    uri: str


def staff_must_use_it() -> bool:
    return get_settings().staff_mfa == STAFF_MFA_REQUIRED


def status(db: Session, actor: User) -> Status:
    user = _account(db, actor)
    on = user.two_step_since is not None
    return Status(on=on, since=user.two_step_since,
                  codes_left=recovery_codes_left(db, user.id) if on else 0,
                  must_set_up=access.two_step_missing(user),
                  can_turn_off=not (user.is_staff and staff_must_use_it()))


def begin_setup(db: Session, actor: User, *, clock: Clock, client_ip: Optional[str] = None) -> Setup:
    """A new key to scan; on only after ``confirm_setup`` with a right code."""
    user = _account(db, actor)
    if user.two_step_since is not None:
        raise ValidationError(ALREADY_ON)
    secret = new_secret()
    key = _key(db, user.id) or TwoStepKey(user_id=user.id)
    key.sealed_pending = security.seal(secret)
    db.add(key)
    trail.record(db, "two_step.setup_started", actor=user, client_ip=client_ip, clock=clock)
    return Setup(secret=secret, uri=otpauth_uri(secret, user.email))


def confirm_setup(db: Session, actor: User, code, *, clock: Clock,
                  client_ip: Optional[str] = None) -> list[str]:
    """Turn the second step on with a right code for the key being set up: the ten recovery
    codes, to be shown once."""
    user = _account(db, actor)
    if user.two_step_since is not None:
        raise ValidationError(ALREADY_ON)
    key = _key(db, user.id)
    if key is None or key.sealed_pending is None:
        raise ValidationError(SETUP_GONE)
    digits = only_digits(code)
    if not digits:
        raise ValidationError(NO_CODE, field="code", params=DIGITS)
    now = clock()
    step = matching_step(security.unseal(key.sealed_pending), digits, now)
    if step is None:
        raise ValidationError(WRONG_CODE, field="code")
    key.sealed_secret, key.sealed_pending, key.last_step = key.sealed_pending, None, step
    db.add(key)
    user.two_step_since = now
    db.add(user)
    codes = replace_recovery_codes(db, user, now)
    trail.record(db, "two_step.on", actor=user, client_ip=client_ip, clock=clock)
    _notify(db, user, "on", clock)
    return codes


def _prove(db: Session, user: User, code, *, clock: Clock, client_ip: str,
           recovery_ok: bool) -> None:
    """A signed-in person proves it is them with a code: throttled like sign-in, so an
    unattended open session can't be used to guess."""
    signin.check_throttle(db, user.email, client_ip, user=user, clock=clock)
    now = clock()
    if _take_code(db, user, code, now):
        return
    if recovery_ok and use_recovery_code(db, user, code, now):
        trail.record(db, "two_step.recovery_used", actor=user, client_ip=client_ip, clock=clock)
        return
    signin.record_failure(db, user.email, client_ip, clock=clock)
    raise AuthenticationFailed(WRONG_CODE, field="code")


def new_recovery_codes(db: Session, actor: User, code, *, clock: Clock,
                       client_ip: Optional[str] = None) -> list[str]:
    """"Make new recovery codes" (with an authenticator code): the old ones stop working."""
    user = _account(db, actor)
    if user.two_step_since is None:
        raise ValidationError(NOT_ON)
    if not only_digits(code):
        raise ValidationError(NO_CODE, field="code", params=DIGITS)
    _prove(db, user, code, clock=clock, client_ip=client_ip or "", recovery_ok=False)
    codes = replace_recovery_codes(db, user, clock())
    trail.record(db, "two_step.new_codes", actor=user, client_ip=client_ip, clock=clock)
    _notify(db, user, "new_codes", clock)
    return codes


def _turn_off(db: Session, user: User, now: datetime) -> None:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.execute(delete(TwoStepKey).where(TwoStepKey.user_id == user.id))
    links.supersede(db, SECOND_STEP, now, user_id=user.id)  # a sign-in half-way stops
    user.two_step_since = None
    db.add(user)


def turn_off(db: Session, actor: User, *, password: str, code, clock: Clock,
             client_ip: Optional[str] = None) -> None:
    """Turn the second step off: the password and a code (or a recovery code). Hashes a
    password: run it in the bcrypt pool."""
    user = _account(db, actor)
    if user.two_step_since is None:
        raise ValidationError(NOT_ON)
    if user.is_staff and staff_must_use_it():
        raise ValidationError(STAFF_MUST_KEEP)
    if not (isinstance(code, str) and code.strip()):
        raise ValidationError(NO_CODE, field="code", params=DIGITS)
    signin.check_current_password(db, user, password, client_ip=client_ip or "", clock=clock)
    _prove(db, user, code, clock=clock, client_ip=client_ip or "", recovery_ok=True)
    _turn_off(db, user, clock())
    trail.record(db, "two_step.off", actor=user, client_ip=client_ip, clock=clock)
    _notify(db, user, "off", clock)


def reset_for_staff(db: Session, admin: User, staff_user_id, *, clock: Clock,
                    client_ip: Optional[str] = None) -> str:
    """Admin › Staff: "Reset two-step sign-in" (a lost phone). Their name, for the notice."""
    access.require_admin(db, admin, action="staff.two_step_reset", clock=clock, client_ip=client_ip)
    target = db.get(User, staff_user_id) if access.row_id(staff_user_id) else None
    if target is None or not target.is_staff:
        raise ValidationError(RESET_NOT_STAFF)
    if target.two_step_since is None:
        raise ValidationError(RESET_NOT_ON, params={"name": target.full_name})
    _turn_off(db, target, clock())
    trail.record(db, "two_step.reset", actor=admin, client_ip=client_ip, clock=clock,
                 detail=f"For staff user #{target.id}")
    _notify(db, target, "reset", clock)
    return target.full_name


# --- sign-in ----------------------------------------------------------------------------


def needs_second_step(user: User) -> bool:
    return user.two_step_since is not None


def password_passed(db: Session, user: User, *, clock: Clock) -> str:
    """The token of the "password passed" step (kept by the tab, server-side only)."""
    _row, token = links.issue(db, SECOND_STEP, clock(), user_id=user.id)
    return token


def _pending_user(db: Session, token, now: datetime) -> tuple[TwoStepPending, User]:
    row, user = links.usable_account(db, SECOND_STEP, token, now)
    if user.two_step_since is None:  # turned off (or reset) in the meantime
        raise SECOND_STEP.refused("superseded")
    return row, user


def _wrong(db: Session, user: User, client_ip: str, clock: Clock, sentence: str, what: str):
    signin.record_failure(db, user.email, client_ip, clock=clock)
    trail.record(db, "sign_in.failed", detail=f"Wrong {what} for user #{user.id}",
                 role="anonymous", client_ip=client_ip, clock=clock)
    return AuthenticationFailed(sentence, field="code")


def sign_in_with_code(db: Session, token, code, *, client_ip: str, clock: Clock) -> User:
    """The second step with an authenticator code: the person, whose session may start."""
    now = clock()
    row, user = _pending_user(db, token, now)
    digits = only_digits(code)
    if not digits:
        raise ValidationError(NO_CODE, field="code", params=DIGITS)
    signin.check_throttle(db, user.email, client_ip, user=user, clock=clock)
    if not _take_code(db, user, digits, now):
        raise _wrong(db, user, client_ip, clock, WRONG_CODE, what="two-step code")
    links.claim_or_refuse(db, SECOND_STEP, row, now)
    trail.record(db, "sign_in", actor=user, client_ip=client_ip, clock=clock,
                 detail="With an authenticator code")
    return user


def sign_in_with_recovery_code(db: Session, token, code, *, client_ip: str, clock: Clock) -> int:
    """The second step with a recovery code (used up): how many are left. The sign-in ends
    with ``finish_after_recovery`` once the person has read that."""
    now = clock()
    row, user = _pending_user(db, token, now)
    if not normal_recovery(code):
        raise ValidationError(NO_RECOVERY_CODE, field="code")
    signin.check_throttle(db, user.email, client_ip, user=user, clock=clock)
    if not use_recovery_code(db, user, code, now):
        raise _wrong(db, user, client_ip, clock, WRONG_RECOVERY_CODE, what="recovery code")
    row.passed_at = now
    db.add(row)
    left = recovery_codes_left(db, user.id)
    trail.record(db, "two_step.recovery_used", actor=user, client_ip=client_ip, clock=clock,
                 detail=f"At sign-in; {left} left")
    _notify(db, user, "recovery_used", clock, left=lambda lang: codes_left_text(left, lang))
    return left


def finish_after_recovery(db: Session, token, *, client_ip: str, clock: Clock) -> User:
    """"Continue" after a recovery code: the person, whose session may start."""
    now = clock()
    row, user = _pending_user(db, token, now)
    if row.passed_at is None:
        raise SECOND_STEP.refused("invalid")
    links.claim_or_refuse(db, SECOND_STEP, row, now)
    trail.record(db, "sign_in", actor=user, client_ip=client_ip, clock=clock,
                 detail="With a recovery code")
    return user


def code_pause(db: Session, token, client_ip: str, *, clock: Clock) -> int:
    """Seconds until the code may be tried again (0: now), for the page's countdown."""
    row = links.find(db, SECOND_STEP, token)
    user = db.get(User, row.user_id) if row is not None else None
    if user is None:
        return 0
    return signin.sign_in_pause(db, user.email, client_ip, clock=clock)

