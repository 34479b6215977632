"""Every route of the app and the builders of links that go into emails."""
from __future__ import annotations

from urllib.parse import urlencode

from .config import get_settings

SIGN_IN = "/"
REGISTER = "/register"
FORGOT_PASSWORD = "/forgot-password"
RESET_PASSWORD = "/reset-password"
CONFIRM_EMAIL = "/confirm-email"
HOME = "/home"
MESSAGES = "/messages"
APPOINTMENTS = "/appointments"
LABS = "/labs"
RESOURCES = "/resources"
HELP = "/help"
MANAGE_USERS = "/manage-users"
SETTINGS = "/settings"
RECORD_ACTIVITY = "/record-activity"
# Whose portal this tab can show: after access ended, or for someone with no portal.
ACCESS = "/access"
ADMIN = "/admin"  # the admin page opens on Patients
ADMIN_PATIENT = "/admin/patient"  # ?id=…
ADMIN_MESSAGES = "/admin/messages"
ADMIN_RESOURCES = "/admin/resources"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_AUDIT = "/admin/audit"
ADMIN_STAFF = "/admin/staff"

# Backend (Starlette) routes, served on the same port as the pages.
AUTH_SESSION = "/auth/session"  # ?ticket=… → sets the HttpOnly cookie, redirects
AUTH_SIGN_OUT = "/auth/sign-out"
CALENDAR = "/calendar"  # /calendar/{appointment_id}.ics

SESSION_COOKIE = "carespace_session"


def _link(path: str, **params: str) -> str:
    return f"{get_settings().base_url}{path}?{urlencode(params)}"


def registration_link(token: str) -> str:
    return _link(REGISTER, token=token)


def password_reset_link(token: str) -> str:
    return _link(RESET_PASSWORD, token=token)


def email_confirmation_link(token: str) -> str:
    return _link(CONFIRM_EMAIL, token=token)


def sign_in_link() -> str:
    return f"{get_settings().base_url}{SIGN_IN}"


def item_link(path: str) -> str:
    """A link to a page of the portal (``/messages?thread=12``), for emails: opened signed
    out, the page sends the person to sign in and back to it."""
    return f"{get_settings().base_url}{path}"
