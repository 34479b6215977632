"""Two-step sign-in's codes (issue #17): an authenticator app's (TOTP, RFC 6238, via pyotp:
SHA-1, 30-second steps, one step either side) and the ten single-use recovery codes (random,
kept only as a keyed hash). The rules around them (set-up, sign-in, throttling, audit) are
in mfa.py. Nothing here commits: the caller's unit of work does.
"""
from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import secrets
from datetime import datetime
from typing import Optional

import pyotp
import segno
from sqlalchemy import delete, func, update
from sqlmodel import Session, select

from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.models import RecoveryCode, User
from carespace_app.policy import RECOVERY_CODE_COUNT, TOTP_DIGITS, TOTP_DRIFT_STEPS, TOTP_STEP

ISSUER = N_("CareSpace")  # the authenticator app shows it; the name in every language
STEP_SECONDS = int(TOTP_STEP.total_seconds())
RECOVERY_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i to mix up
RECOVERY_GROUP = 4


# --- RFC 6238 ---------------------------------------------------------------------------


def _timestamp(at: datetime | int) -> int:
    """Seconds since the epoch of a naive UTC time (pyotp would read a naive one as local)."""
    return at if isinstance(at, int) else calendar.timegm(at.utctimetuple())


def code_at(secret: str, at: datetime | int, *, digits: int = TOTP_DIGITS) -> str:
    """The code an authenticator app shows at ``at`` for this base32 key (SHA-1, 30 s)."""
    return pyotp.TOTP(secret, digits=digits, digest=hashlib.sha1,
                      interval=STEP_SECONDS).at(_timestamp(at))


def matching_step(secret: str, code: str, at: datetime | int, *,
                  digits: int = TOTP_DIGITS) -> Optional[int]:
    """The 30-second step whose code this is (the current one, or one either side); None."""
    if not isinstance(code, str) or len(code) != digits or not code.isdigit():
        return None
    now_step = _timestamp(at) // STEP_SECONDS
    found = None
    for step in range(now_step - TOTP_DRIFT_STEPS, now_step + TOTP_DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step * STEP_SECONDS, digits=digits), code):
            found = step  # no early return: each check costs the same
    return found


def new_secret() -> str:
    return pyotp.random_base32()  # 160 bits, as RFC 4226 recommends


def grouped(secret: str) -> str:
    """"JBSW Y3DP EHPK 3PXP": the key as people copy it by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def otpauth_uri(secret: str, email: str) -> str:
    return pyotp.TOTP(secret, interval=STEP_SECONDS, digits=TOTP_DIGITS).provisioning_uri(
        name=email, issuer_name=ISSUER)


def qr_data_uri(uri: str) -> str:
    """The set-up QR code as an SVG data: URL (the CSP allows data: images)."""
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def only_digits(code) -> str:
    return re.sub(r"\s", "", code) if isinstance(code, str) else ""


# --- recovery codes ---------------------------------------------------------------------


def recovery_hash(code: str) -> str:
    """A keyed hash (the app's secret key): a stolen database alone can't test guesses."""
    key = hashlib.sha256(("carespace-recovery:" + get_settings().secret_key).encode()).digest()
    return hmac.new(key, code.encode("utf-8"), hashlib.sha256).hexdigest()


def normal_recovery(code) -> str:
    return re.sub(r"[\s-]", "", code).lower() if isinstance(code, str) else ""


def new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(2 * RECOVERY_GROUP))
    return f"{raw[:RECOVERY_GROUP]}-{raw[RECOVERY_GROUP:]}"


def replace_recovery_codes(db: Session, user: User, now: datetime) -> list[str]:
    db.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    for code in codes:
        db.add(RecoveryCode(user_id=user.id, code_hash=recovery_hash(normal_recovery(code)),
                            created_at=now))
    db.flush()
    return codes


def recovery_codes_left(db: Session, user_id: int) -> int:
    return db.exec(select(func.count(RecoveryCode.id)).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))).one()


def use_recovery_code(db: Session, user: User, code, now: datetime) -> bool:
    """Mark a right, unused recovery code used (once, under any race); True if it was."""
    normal = normal_recovery(code)
    if len(normal) != 2 * RECOVERY_GROUP:
        return False
    return db.execute(update(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == recovery_hash(normal),
        RecoveryCode.used_at.is_(None)).values(used_at=now)
        .execution_options(synchronize_session=False)).rowcount == 1
