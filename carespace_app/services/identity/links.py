"""One-time links: password resets, email confirmations, registration invitations and
sign-in tickets share one mechanism.

A link is a random token (``security.new_token``) that the database keeps only as its
SHA-256 and that nothing logs. It is issued for a binding (whose link it is; a newer link
for the same binding supersedes the older ones), found by its hash, checked (invalid,
used, superseded, locked, expired: each purpose has its sentence for each), and claimed
once by a conditional UPDATE, so that of two simultaneous uses only one wins.

Each ``Purpose`` below states, in one place, its table, lifetime, binding, attempt limit
and sentences. Nothing here commits: the caller's unit of work does (``db.session_scope``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Optional

from sqlalchemy import update
from sqlmodel import Session, select

from carespace_app import i18n
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.models import EmailChange, Invitation, PasswordReset, SignInTicket, User
from carespace_app.policy import (
    EMAIL_CHANGE_TTL,
    INVITATION_TTL,
    MAX_WRONG_ANSWERS,
    RESET_TTL,
    TICKET_TTL,
)
from carespace_app.services.errors import LinkError, ValidationError
from carespace_app.services.identity import security

# Longer than any token we make: such a "token" is answered as an invalid link unhashed.
MAX_TOKEN_CHARS = 200


@dataclass(frozen=True)
class Purpose:
    """What one kind of link is: every rule about it, in one place.

    ``bound_to``: the columns naming whose link it is; issuing a link supersedes the
    usable older ones with the same values. ``works_at_expiry``: whether the link still
    works at the very instant ``expires_at`` (an invitation's "96 hours" includes the
    96th). ``attempt_limit``: wrong answers (to the link's question) before it locks;
    None when it asks none. ``sealed``: a column holding a sealed secret that dies with
    the link (emptied when it is used, superseded or locked). ``messages``: the sentence
    for each reason a link can't be used.
    """

    name: str
    model: type
    lifetime: timedelta
    bound_to: tuple[str, ...]
    works_at_expiry: bool = False
    attempt_limit: Optional[int] = None
    sealed: Optional[str] = None
    messages: Mapping[str, str] = field(default_factory=dict)

    def column(self, name: str):
        return getattr(self.model, name)

    def has(self, name: str) -> bool:
        return hasattr(self.model, name)

    def refused(self, reason: str) -> LinkError:
        """The LinkError for ``reason``, its sentence naming the office's phone."""
        return LinkError(reason, self.messages[reason],
                         params={"phone": get_settings().office_phone,
                                 "time": i18n.duration(self.lifetime)})


RESET = Purpose(
    name="password reset", model=PasswordReset, lifetime=RESET_TTL, bound_to=("user_id",),
    messages={
        "invalid": N_("This password reset link is not valid. Request a new one from Forgot "
                   "Password."),
        "expired": N_("This password reset link has expired (links last {time}). "
                      "Request a new one from Forgot Password."),
        "used": N_("This password reset link was already used. Request a new one from Forgot "
                "Password."),
        "superseded": N_("This password reset link no longer works: a newer link was sent, or "
                         "the password or email address was changed since. Use the newest "
                         "link, or request a new one from Forgot Password."),
    })

EMAIL_CHANGE = Purpose(
    name="email confirmation", model=EmailChange, lifetime=EMAIL_CHANGE_TTL,
    bound_to=("user_id",),
    messages={
        "invalid": N_("This confirmation link is not valid. Sign in and change your email address "
                   "again."),
        "expired": N_("This confirmation link has expired (links last {time}). Sign in and "
                      "change your email address again."),
        "used": N_("This email address was already confirmed. Sign in with it."),
        "superseded": N_("A newer confirmation link was sent; only the newest one works."),
    })

# A patient's link is bound to the patient (kind "patient", no grant); a caregiver's to
# the patient's grant to that person.
INVITATION = Purpose(
    name="registration invitation", model=Invitation, lifetime=INVITATION_TTL,
    bound_to=("patient_id", "kind", "grant_id"), works_at_expiry=True,
    attempt_limit=MAX_WRONG_ANSWERS, sealed="access_code_sealed",
    messages={
        "invalid": N_("This registration link isn't valid. Open the link from your invitation "
                   "email exactly as it is, or call the office at {phone} for a new "
                   "link."),
        "expired": N_("This registration link has expired. Please contact your physician's "
                      "office or the user who granted you access to their portal at "
                      "{phone} for a new link."),
        "used": N_("This registration link was already used. Sign in with your email address and "
                "password, or use Forgot Password."),
        "superseded": N_("A newer link was sent, so this one no longer works. Use the link in "
                         "the newest invitation email, or contact the office at {phone}."),
        "locked": N_("This link no longer works because of too many attempts with details that "
                  "don't match. Please contact the office at {phone} for a new link."),
        "no_code": N_("This link was sent before invitations had an access code, so it no "
                      "longer works. Ask the person who gave you access to send you a new link "
                      "from Manage Users, or call the office at {phone}."),
    })

# From the sign-in event to the cookie: one per sign-in, never superseded, bound to the
# signing-in browser's nonce (checked when it is claimed, see sessions.redeem_ticket). Its
# sealed session token is read by the claimer, then emptied (sessions.redeem_ticket).
TICKET = Purpose(name="sign-in ticket", model=SignInTicket, lifetime=TICKET_TTL, bound_to=())


class WrongAnswer(ValidationError):
    """A wrong answer to a link's question (or a wrong password on it): refused, and
    counted, so the count stands (``keeps_writes``) when the unit of work ends."""

    keeps_writes = True


# --- issue, find, check, claim, supersede ---------------------------------------------------


def issue(db: Session, purpose: Purpose, now: datetime, *, token: Optional[str] = None,
          **fields: Any) -> tuple[Any, str]:
    """A new link (the usable older ones of the same binding superseded), and its token.

    ``fields`` fill the row and must name every column of the purpose's binding. ``token``:
    one the caller made already (Forgot Password makes one whether or not the address has
    an account, so both answers cost alike). Only the hash is stored; the row is flushed.
    """
    if purpose.bound_to:
        supersede(db, purpose, now, **{name: fields.get(name) for name in purpose.bound_to})
    token = token or security.new_token()
    row = purpose.model(token_hash=security.token_hash(token), expires_at=now + purpose.lifetime,
                        **fields)
    if purpose.has("created_at"):
        row.created_at = now
    db.add(row)
    db.flush()
    return row, token


def find(db: Session, purpose: Purpose, token: Any):
    """The link's row for a token, or None."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_CHARS:
        return None
    return db.exec(select(purpose.model).where(
        purpose.model.token_hash == security.token_hash(token))).first()


def expired(purpose: Purpose, expires_at: datetime, now: datetime) -> bool:
    return now > expires_at if purpose.works_at_expiry else now >= expires_at


def check_usable(purpose: Purpose, row, now: datetime) -> None:
    """LinkError with the purpose's sentence unless the link can still be used.

    The most telling reason first: a superseded link that also expired says "use the
    newer one".
    """
    if row is None:
        raise purpose.refused("invalid")
    for reason, dead in (
            ("used", row.used_at is not None),
            ("superseded", purpose.has("superseded_at") and row.superseded_at is not None),
            ("locked", purpose.has("locked_at") and row.locked_at is not None),
            ("expired", expired(purpose, row.expires_at, now))):
        if dead:
            raise purpose.refused(reason)


def usable(db: Session, purpose: Purpose, token: Any, now: datetime):
    """find + check_usable: the row of a link that can still be used; LinkError otherwise."""
    row = find(db, purpose, token)
    check_usable(purpose, row, now)
    return row


def usable_account(db: Session, purpose: Purpose, token: Any, now: datetime):
    """(row, account) of a usable link bound to an account that is still active; the
    purpose's "invalid" LinkError when the account is gone or turned off."""
    row = usable(db, purpose, token, now)
    user = db.get(User, row.user_id)
    if user is None or not user.is_active:
        raise purpose.refused("invalid")
    return row, user


def live_conditions(purpose: Purpose, now: datetime) -> list:
    model = purpose.model
    conditions = [model.used_at.is_(None),
                  model.expires_at >= now if purpose.works_at_expiry else model.expires_at > now]
    for name in ("superseded_at", "locked_at"):
        if purpose.has(name):
            conditions.append(purpose.column(name).is_(None))
    return conditions


def _ending(purpose: Purpose, column: str, now: datetime) -> dict[str, Any]:
    """The values that end a link (``column`` set to now): its sealed secret dies with it."""
    values: dict[str, Any] = {column: now}
    if purpose.sealed:
        values[purpose.sealed] = None
    return values


def claim(db: Session, purpose: Purpose, now: datetime, *conditions) -> bool:
    """Mark the link matching ``conditions`` used, if it is still usable; True if this call won.

    One conditional UPDATE: under any number of simultaneous uses exactly one sees
    rowcount 1 (PostgreSQL re-checks the WHERE after the row lock; SQLite serialises
    writers). What the use does comes after, in the same transaction.
    """
    return db.execute(
        update(purpose.model).where(*conditions, *live_conditions(purpose, now))
        .values(**_ending(purpose, "used_at", now))
        .execution_options(synchronize_session=False)
    ).rowcount == 1


def claim_or_refuse(db: Session, purpose: Purpose, row, now: datetime) -> None:
    """Claim a link found usable a moment ago; LinkError (the reason as it is now) if
    someone else got there first."""
    if claim(db, purpose, now, purpose.model.id == row.id):
        return
    db.refresh(row)
    check_usable(purpose, row, now)
    raise purpose.refused("used")


def supersede(db: Session, purpose: Purpose, now: datetime, *, except_id: Optional[int] = None,
              **binding: Any) -> int:
    """Kill the usable links of a binding (all or some of its columns); how many."""
    unknown = set(binding) - set(purpose.bound_to)
    if not binding or unknown:
        raise TypeError(f"{purpose.name} links are bound to {purpose.bound_to}, not {unknown}")
    model = purpose.model
    query = update(model).where(model.used_at.is_(None), model.superseded_at.is_(None), *(
        purpose.column(name).is_(None) if value is None else purpose.column(name) == value
        for name, value in binding.items()))
    if except_id is not None:
        query = query.where(model.id != except_id)
    return db.execute(query.values(**_ending(purpose, "superseded_at", now))
                      .execution_options(synchronize_session="fetch")).rowcount


def count_wrong_answer(db: Session, purpose: Purpose, row, now: datetime) -> int:
    """Count a wrong answer; the link locks at the purpose's attempt limit. Tries left (0: locked).

    The caller raises the refusal (``WrongAnswer``, or the "locked" LinkError), both of
    which keep this count when the unit of work ends.
    """
    model = purpose.model
    db.execute(update(model).where(model.id == row.id)
               .values(failed_attempts=model.failed_attempts + 1))
    db.execute(update(model).where(model.id == row.id,
                                   model.failed_attempts >= purpose.attempt_limit,
                                   model.locked_at.is_(None))
               .values(**_ending(purpose, "locked_at", now)))
    db.refresh(row)
    return 0 if row.locked_at is not None else max(0, purpose.attempt_limit - row.failed_attempts)


def tries_left(purpose: Purpose, row) -> int:
    """Wrong answers the link still takes before it locks."""
    return max(0, purpose.attempt_limit - (row.failed_attempts or 0))
