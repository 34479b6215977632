"""The practice's password rules (email addresses: ``emails.py``).

Shaped like Django's ``password_validation``: a list of small validators, each
with a ``help_text`` the form shows as a ticking checklist and a ``validate``
that says plainly why a password is refused. Rules are checked against the
NFKC form of the password, because that is what ``security.hash_password``
hashes: the rule a patient sees is the rule that applies to what is stored.
"""
from __future__ import annotations

import unicodedata
from typing import Optional

from zxcvbn import zxcvbn

from carespace_app.services.identity import security
from carespace_app.services.identity.emails import normalize_email
from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.services.errors import ValidationError
from carespace_app.policy import MIN_LENGTH

# Shorter local parts ("jo", "ann") are too likely to appear by chance in a good password.
MIN_EMAIL_PART_TO_REFUSE = 4
# zxcvbn's time grows fast with long input of look-alike characters (1.7 s of CPU for 72
# of them), so it never sees more than bcrypt's 72 bytes: longer is refused by
# MaxBytesValidator before NotCommonValidator runs anyway.
ZXCVBN_MAX_BYTES = 72


# --- password rules ----------------------------------------------------------


def _nfkc(password: str) -> str:
    return unicodedata.normalize("NFKC", password or "")


def _first_bytes(text: str, limit: int) -> str:
    """The longest start of ``text`` that is at most ``limit`` bytes of UTF-8."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


class PasswordRule:
    """One rule: ``help_text`` for the checklist, ``message`` when it refuses (catalogue
    templates: ``params`` fills their placeholders, in the reader's language).

    ``live``: cheap enough to tick on every keystroke of anyone, signed in or not. A rule
    that is not shows as "checked when you submit" and runs only at submit.
    """

    code: str = ""
    help_text: str = ""
    message: str = ""
    params: dict = {}
    live: bool = True

    def is_met(self, password: str, email: Optional[str] = None) -> bool:
        raise NotImplementedError

    def validate(self, password: str, email: Optional[str] = None) -> None:
        if not self.is_met(password, email):
            raise ValidationError(self.refusal(password, email), field="password",
                                  params=self.params)

    def refusal(self, password: str, email: Optional[str] = None) -> str:
        return self.message


class MinimumLengthValidator(PasswordRule):
    code = "min_length"
    help_text = N_("At least {n} characters")
    message = N_("Your password is too short: use at least {n} characters.")
    params = {"n": MIN_LENGTH}

    def is_met(self, password, email=None):
        return len(_nfkc(password)) >= MIN_LENGTH


class UppercaseValidator(PasswordRule):
    code = "uppercase"
    help_text = N_("One uppercase letter")
    message = N_("Add at least one uppercase letter (A–Z).")

    def is_met(self, password, email=None):
        return any(ch.isupper() for ch in _nfkc(password))


class LowercaseValidator(PasswordRule):
    code = "lowercase"
    help_text = N_("One lowercase letter")
    message = N_("Add at least one lowercase letter (a–z).")

    def is_met(self, password, email=None):
        return any(ch.islower() for ch in _nfkc(password))


class NumberValidator(PasswordRule):
    code = "number"
    help_text = N_("One number")
    message = N_("Add at least one number (0–9).")

    def is_met(self, password, email=None):
        return any(ch.isdigit() for ch in _nfkc(password))


class SpecialCharacterValidator(PasswordRule):
    code = "special"
    help_text = N_("One special character (like ! or #)")
    message = N_("Add at least one special character, like ! or #.")

    def is_met(self, password, email=None):
        # A space does not count: people do not think of it as a "special character".
        return any(not ch.isalnum() and not ch.isspace() for ch in _nfkc(password))


class MaxBytesValidator(PasswordRule):
    """bcrypt ignores everything past byte 72: refuse rather than truncate silently."""

    code = "max_bytes"
    help_text = N_("Not too long (at most 72 letters; fewer with accents or emoji)")
    message = N_(
        "Your password is too long: at most 72 bytes "
        "(about 72 letters, fewer with accents or emoji)."
    )

    def is_met(self, password, email=None):
        return not security.password_too_long(password or "")


class NotEmailValidator(PasswordRule):
    code = "not_email"
    help_text = N_("Not your email address")
    message = N_("Your password can't be or contain your email address.")

    def is_met(self, password, email=None):
        if not email:
            return True
        folded = _nfkc(password).casefold()
        address = normalize_email(email)
        if folded == address or (address and address in folded):
            return False
        local = address.split("@", 1)[0]
        return not (len(local) >= MIN_EMAIL_PART_TO_REFUSE and local in folded)


class NotCommonValidator(PasswordRule):
    """Refuses what zxcvbn, with its lists of leaked passwords and words, finds easy."""

    code = "not_common"
    help_text = N_("Not a common or easy-to-guess password (checked when you submit)")
    live = False  # zxcvbn: milliseconds usually, over a second for the worst 72 bytes
    message = N_(
        "This is a very common password. Choose something harder to guess, "
        "like a few unrelated words with a number and a symbol."
    )
    weak_message = N_(
        "This password is too easy to guess. Make it longer, "
        "or use a few unrelated words with a number and a symbol."
    )

    @staticmethod
    def _judge(password: str, email: Optional[str]) -> tuple[int, str]:
        inputs = []
        if email:
            address = normalize_email(email)
            inputs = [address, address.split("@", 1)[0]]
        result = zxcvbn(_first_bytes(_nfkc(password), ZXCVBN_MAX_BYTES), user_inputs=inputs)
        return result["score"], (result["feedback"].get("warning") or "")

    def is_met(self, password, email=None):
        if not password:
            return False
        score, warning = self._judge(password, email)
        return score > 1 and "common" not in warning.lower()

    def refusal(self, password, email=None):
        _score, warning = self._judge(password, email)
        return self.message if "common" in warning.lower() else self.weak_message


# Display order. The cheap rules come first so a refusal is decided before zxcvbn runs,
# and MaxBytes comes before NotCommon so zxcvbn never sees more than it accepts.
RULES: list[PasswordRule] = [
    MinimumLengthValidator(),
    UppercaseValidator(),
    LowercaseValidator(),
    NumberValidator(),
    SpecialCharacterValidator(),
    MaxBytesValidator(),
    NotEmailValidator(),
    NotCommonValidator(),
]


# The checklist may be sent anything by anyone: it looks at no more than a form field holds.
CHECKLIST_MAX_CHARS = 1000


def rule_status(password: str, email: Optional[str] = None,
                lang: str = "en") -> list[tuple[str, str, Optional[bool]]]:
    """(code, help_text, met) for the checklist that ticks as the patient types.

    Cheap and bounded whatever is typed: ``met`` is None for a rule judged only at submit
    (the common-password check), so this never runs zxcvbn. Nothing is ticked for an
    empty field. With the ``email`` the server will check against, every rule ticked
    here is a rule submit passes.
    """
    password = password[:CHECKLIST_MAX_CHARS] if isinstance(password, str) else ""
    email = email[:CHECKLIST_MAX_CHARS] if isinstance(email, str) else None
    status: list[tuple[str, str, Optional[bool]]] = []
    for rule in RULES:
        met = (bool(password) and rule.is_met(password, email)) if rule.live else None
        status.append((rule.code, i18n.fmt(lang, rule.help_text, **rule.params), met))
    return status


def checklist(password: str, email: Optional[str] = None,
              lang: str = "en") -> list[dict[str, str]]:
    """The checklist as the form shows it: ``met`` is "yes", "no" or "later" (at submit)."""
    return [
        {"code": code, "text": text, "met": "later" if met is None else ("yes" if met else "no")}
        for code, text, met in rule_status(password, email, lang)
    ]


def validate_password(
    password: str,
    *,
    email: Optional[str] = None,
    confirm: Optional[str] = None,
) -> None:
    """Raise the first rule the password breaks, then check the confirmation."""
    password = password if isinstance(password, str) else ""
    for rule in RULES:
        rule.validate(password, email)
    if confirm is not None and confirm != password:
        raise ValidationError(PASSWORDS_DIFFER, field="confirm_password")


PASSWORDS_DIFFER = N_("The two passwords don't match.")
