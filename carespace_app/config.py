"""Settings read once from the environment (see README "Configuration")."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SENDER = "CareSpace <noreply@carespaceportal.com>"
OFFICE_PHONE = "(479) 587-1700"
OFFICE_PHONE_TEL = "+14795871700"
PRACTICE_NAME = "CareSpace Oncology"


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

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)


def default_database_url() -> str:
    return f"sqlite:///{PROJECT_ROOT / 'data' / 'carespace.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    base_url = os.environ.get("CARESPACE_BASE_URL", "http://localhost:3000").rstrip("/")
    db_url = os.environ.get("REFLEX_DB_URL") or default_database_url()
    return Settings(
        base_url=base_url,
        timezone=os.environ.get("CARESPACE_TIMEZONE", "America/Chicago"),
        database_url=db_url,
        smtp_host=os.environ.get("CARESPACE_SMTP_HOST") or None,
        smtp_port=_int("CARESPACE_SMTP_PORT", 587),
        smtp_user=os.environ.get("CARESPACE_SMTP_USER") or None,
        smtp_password=os.environ.get("CARESPACE_SMTP_PASSWORD") or None,
        smtp_starttls=_bool(os.environ.get("CARESPACE_SMTP_STARTTLS"), default=True),
        smtp_ssl=_bool(os.environ.get("CARESPACE_SMTP_SSL"), default=False),
        mail_from=os.environ.get("CARESPACE_MAIL_FROM", DEFAULT_SENDER),
        secret_key=_secret_key(),
        bcrypt_rounds=_int("CARESPACE_BCRYPT_ROUNDS", 12),
        cookie_secure=_bool(os.environ.get("CARESPACE_COOKIE_SECURE"),
                            default=base_url.startswith("https://")),
        run_background_jobs=_bool(os.environ.get("CARESPACE_BACKGROUND_JOBS"), default=True),
        db_timeout=max(1, _int("CARESPACE_DB_TIMEOUT", 30)),
    )
