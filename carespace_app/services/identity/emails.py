"""Email addresses: the one normal form every look-up and every stored address uses, and
the look-up itself."""
from __future__ import annotations

import unicodedata
from typing import Optional

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from carespace_app.i18n import N_
from carespace_app.models import User
from carespace_app.services.errors import ValidationError
from carespace_app.services.text_rules import without_hidden_characters

INVALID_EMAIL = N_("Enter a valid email address, like name@example.com.")


def normalize_email(email: str) -> str:
    """The key for every email look-up and for storage.

    NFKC folds look-alike *compatibility* forms (fullwidth letters) into ASCII,
    casefold folds case. Neither folds a dotless "ı" into "i", so an address
    that merely looks like another stays a different address.
    """
    # Characters no person types (NUL, controls, invisible marks) are no part of an
    # address: dropped, so a forged one can't reach the database (PostgreSQL refuses NUL).
    email = without_hidden_characters(email or "")
    return unicodedata.normalize("NFKC", email.strip()).casefold()


def email_owner(db: Session, email: str) -> Optional[User]:
    """The account, active or not, that has this (normalised) address; None for ""."""
    return db.exec(select(User).where(User.email == email)).first() if email else None


def validate_email_address(email: str) -> str:
    """The normalised address, or ValidationError on the ``email`` field."""
    candidate = normalize_email(email if isinstance(email, str) else "")
    if not candidate or len(candidate) > 320:
        raise ValidationError(INVALID_EMAIL, field="email")
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError(INVALID_EMAIL, field="email") from None
    return normalize_email(checked.normalized)
