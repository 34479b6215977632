"""Every route of the app and the builders of links that go into emails."""
from __future__ import annotations

from typing import Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

from carespace_app.config import get_settings

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
# Settings opened at two-step sign-in: where the office sends staff who must set it up.
SETTINGS_TWO_STEP = "/settings?setup=two-step"
RECORD_ACTIVITY = "/record-activity"
SHARED = "/shared"  # a share link (issue #16): /shared#<token>, opened with a passcode, no sign-in
CHECKIN = "/checkin"  # the symptom check-in (issue #15); ?view=history: its history
RECORD = "/my-record"  # Download my record (issue #16)
# Whose portal this tab can show: after access ended, or for someone with no portal.
ACCESS = "/access"
ADMIN = "/admin"  # the admin page opens on Patients
ADMIN_PATIENT = "/admin/patient"  # ?id=…
ADMIN_MESSAGES = "/admin/messages"
ADMIN_RESOURCES = "/admin/resources"
ADMIN_OUTBOX = "/admin/outbox"
ADMIN_AUDIT = "/admin/audit"
ADMIN_STAFF = "/admin/staff"
# The office's rules for messages: hours, holidays, after-hours number, red flags, routing.
ADMIN_OFFICE = "/admin/office-settings"

# Backend (Starlette) routes, served on the same port as the pages.
AUTH_SESSION = "/auth/session"  # ?ticket=… → sets the HttpOnly cookie, redirects
AUTH_SIGN_OUT = "/auth/sign-out"
CALENDAR = "/calendar"  # /calendar/{appointment_id}.ics

SESSION_COOKIE = "carespace_session"
# Beside the session cookie, readable by the page and holding nothing secret (a random
# tag, new at each sign-in, gone at sign-out): an open tab that sees it change knows this
# browser signed in or out elsewhere and asks the server who it belongs to now
# (components/idle.py), so it never waits for a poll to stop showing the last person.
SIGNED_IN_COOKIE = "carespace_signed_in"

# The pages a signed-out tab may be sent back to after signing in (``?next=``): a
# bookmark, or a link from an email (item_link). Nothing else is honoured: another host,
# a backend route, a signed-out page.
PORTAL_PAGES = frozenset({HOME, MESSAGES, APPOINTMENTS, LABS, RESOURCES, HELP, MANAGE_USERS,
                          SETTINGS, RECORD_ACTIVITY, CHECKIN, RECORD})
ADMIN_PAGES = frozenset({ADMIN, ADMIN_PATIENT, ADMIN_MESSAGES, ADMIN_RESOURCES, ADMIN_OUTBOX,
                         ADMIN_AUDIT, ADMIN_STAFF, ADMIN_OFFICE})
NEXT_MAX = 500  # a page path with its query; anything longer is not one of ours
# Query parameters of ours that must not travel: a navigation's nonce, a sign-in notice.
_NOT_CARRIED = {"n", "reason", "next"}


def return_path(target: object) -> Optional[str]:
    """``target`` as a local page of the portal or the admin page, with its query
    re-encoded; None for anything else (another host, ``//host``, a backslash, a scheme,
    a backend route, a signed-out page, an unknown path)."""
    if not isinstance(target, str) or not target or len(target) > NEXT_MAX:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    path = parts.path.rstrip("/") or "/"
    if path not in PORTAL_PAGES and path not in ADMIN_PAGES:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
             if k not in _NOT_CARRIED]
    return f"{path}?{urlencode(query)}" if query else path


def after_sign_in(target: object, *, staff: bool) -> str:
    """Where a person lands after signing in: the page they asked for when it is one of
    theirs, else their start page. A patient's or caregiver's admin page is their portal."""
    start = ADMIN if staff else HOME
    path = return_path(target)
    if path is None:
        return start
    if not staff and path.split("?", 1)[0] in ADMIN_PAGES:
        return start
    return path


def _link(path: str, **params: str) -> str:
    return f"{get_settings().base_url}{path}?{urlencode(params)}"


def registration_link(token: str) -> str:
    return _link(REGISTER, token=token)


def password_reset_link(token: str) -> str:
    return _link(RESET_PASSWORD, token=token)


def email_confirmation_link(token: str) -> str:
    return _link(CONFIRM_EMAIL, token=token)


def item_link(path: str) -> str:
    """A link to a page of the portal (``/messages?thread=12``), for emails: opened signed
    out, the page sends the person to sign in and back to it."""
    return f"{get_settings().base_url}{path}"
