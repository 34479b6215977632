"""Settings read once from the environment (see README "Configuration").

``get_settings()`` is the one place the process reads its environment: the app, rxconfig.py
(Reflex's ports, URLs, Redis), the CLI and the background sender all see the same values.
A value that makes no sense stops the process with a sentence (SystemExit), before it serves.
"""
from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field
from email.utils import parseaddr
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Today's practice; a deployment sets CARESPACE_PRACTICE_NAME, CARESPACE_OFFICE_PHONE and
# CARESPACE_MAIL_FROM. Code reads them from get_settings(), never from these defaults.
DEFAULT_SENDER = "CareSpace <noreply@carespaceportal.com>"
DEFAULT_OFFICE_PHONE = "(479) 587-1700"
DEFAULT_PRACTICE_NAME = "CareSpace Oncology"
DEFAULT_PORT = 3000


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _tel(phone: str, name: str = "CARESPACE_OFFICE_PHONE") -> str:
    """The number a ``tel:`` link dials: "(479) 587-1700" -> "+14795871700" (a ten-digit
    number is North American; one written with + keeps its country code)."""
    digits = re.sub(r"\D", "", phone)
    if phone.strip().startswith("+") and len(digits) >= 8:
        return "+" + digits
    if len(digits) == 10:
        return "+1" + digits
    if len(digits) == 11 and digits.startswith("1"):
        return "+" + digits
    raise SystemExit(f"{name} must be a phone number with its area code, got {phone!r}")


def _secret_key() -> str:
    """The key that seals secrets in the outbox; all workers must share it.

    Production sets CARESPACE_SECRET_KEY. On a laptop a key is generated once
    into data/secret.key so restarts keep queued emails readable.
    """
    key = os.environ.get("CARESPACE_SECRET_KEY")
    if key:
        return key
    path = PROJECT_ROOT / "data" / "secret.key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key)
        return key


# CARESPACE_STAFF_MFA: whether staff must use two-step sign-in before the admin page.
STAFF_MFA_REQUIRED = "required"
STAFF_MFA_OPTIONAL = "optional"


def _staff_mfa(raw: str | None) -> str:
    value = (raw or STAFF_MFA_REQUIRED).strip().lower()
    if value not in (STAFF_MFA_REQUIRED, STAFF_MFA_OPTIONAL):
        raise SystemExit(f"CARESPACE_STAFF_MFA must be {STAFF_MFA_REQUIRED!r} or "
                         f"{STAFF_MFA_OPTIONAL!r}, got {raw!r}")
    return value


@dataclass(frozen=True)
class Settings:
    base_url: str
    timezone: str
    database_url: str
    smtp_host: str | None
    smtp_port: int
    smtp_user: str | None
    smtp_password: str | None = field(repr=False)
    smtp_starttls: bool
    smtp_ssl: bool
    mail_from: str
    secret_key: str = field(repr=False)
    bcrypt_rounds: int = 12
    cookie_secure: bool = False
    run_background_jobs: bool = True
    # How long a request waits for a locked or unreachable database before the user is told.
    db_timeout: int = 30
    # The one port `make run` serves pages and backend on; base_url defaults to it.
    port: int = DEFAULT_PORT
    # Where the browser reaches the backend (the page's own origin unless REFLEX_API_URL).
    api_url: str = ""
    redis_url: str | None = None
    trusted_proxy_hops: int = 0
    # Threads per worker that hash passwords (services/identity/security.py).
    bcrypt_threads: int = 1
    respawn_workers: bool = True
    practice_name: str = DEFAULT_PRACTICE_NAME
    office_phone: str = DEFAULT_OFFICE_PHONE
    office_phone_tel: str = _tel(DEFAULT_OFFICE_PHONE)
    # "required": staff set up two-step sign-in before any admin page (services/identity/mfa.py).
    staff_mfa: str = STAFF_MFA_REQUIRED

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def mail_from_address(self) -> str:
        """The sender's bare address, as people are told to look for it."""
        return parseaddr(self.mail_from)[1] or self.mail_from


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'data' / 'carespace.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    env = os.environ
    port = _int("PORT", DEFAULT_PORT)
    base_url = (env.get("CARESPACE_BASE_URL") or f"http://localhost:{port}").rstrip("/")
    office_phone = env.get("CARESPACE_OFFICE_PHONE") or DEFAULT_OFFICE_PHONE
    return Settings(
        port=port,
        base_url=base_url,
        api_url=(env.get("REFLEX_API_URL") or base_url).rstrip("/"),
        redis_url=env.get("REFLEX_REDIS_URL") or None,
        trusted_proxy_hops=_int("CARESPACE_TRUSTED_PROXY_HOPS", 0),
        timezone=env.get("CARESPACE_TIMEZONE", "America/Chicago"),
        database_url=env.get("REFLEX_DB_URL") or default_database_url(),
        smtp_host=env.get("CARESPACE_SMTP_HOST") or None,
        smtp_port=_int("CARESPACE_SMTP_PORT", 587),
        smtp_user=env.get("CARESPACE_SMTP_USER") or None,
        smtp_password=env.get("CARESPACE_SMTP_PASSWORD") or None,
        smtp_starttls=_bool(env.get("CARESPACE_SMTP_STARTTLS"), default=True),
        smtp_ssl=_bool(env.get("CARESPACE_SMTP_SSL"), default=False),
        mail_from=env.get("CARESPACE_MAIL_FROM", DEFAULT_SENDER),
        secret_key=_secret_key(),
        bcrypt_rounds=_int("CARESPACE_BCRYPT_ROUNDS", 12),
        bcrypt_threads=max(1, _int("CARESPACE_BCRYPT_THREADS", (os.cpu_count() or 2) - 1)),
        cookie_secure=_bool(env.get("CARESPACE_COOKIE_SECURE"),
                            default=base_url.startswith("https://")),
        run_background_jobs=_bool(env.get("CARESPACE_BACKGROUND_JOBS"), default=True),
        respawn_workers=(env.get("CARESPACE_RESPAWN_WORKERS") or "true").strip().lower()
        not in {"0", "false", "no"},
        db_timeout=max(1, _int("CARESPACE_DB_TIMEOUT", 30)),
        practice_name=env.get("CARESPACE_PRACTICE_NAME") or DEFAULT_PRACTICE_NAME,
        office_phone=office_phone,
        office_phone_tel=_tel(office_phone),
        staff_mfa=_staff_mfa(env.get("CARESPACE_STAFF_MFA")),
    )

