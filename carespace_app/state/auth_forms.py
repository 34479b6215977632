"""What the signed-out forms share (sign in, register, reset a password): reading a field,
the password checklist, the browser's sign-in nonce, refusing beside a field, the tab's
password tries, and "You're already signed in" for a used-up link.
"""
from __future__ import annotations

import time
from typing import Optional

import reflex as rx

from carespace_app import i18n, routes
from carespace_app.clock import utcnow
from carespace_app.http import cookie_value, nonce_cookie_name
from carespace_app.policy import (
    PASSWORD_TRIES_PER_TAB,
    PASSWORD_TRIES_WINDOW,
)
from carespace_app.i18n import N_
from carespace_app.services.identity import language, passwords
from carespace_app.services.identity import sessions
from carespace_app.state.session import SessionState


# The page's nonce cookie is missing (cookies blocked, or a page older than the cookie).
COOKIES_NEEDED = N_("We couldn't sign you in from this page. Please reload it and try again. "
                    "If this keeps happening, allow cookies for this site.")


MAX_FIELD = 1000  # nothing a person types is longer; refuses megabyte payloads early


def form_text(form: dict, key: str) -> str:
    value = form.get(key, "")
    return value[:MAX_FIELD] if isinstance(value, str) else ""


def rules_view(password: str, email: str | None, lang: str = "en") -> list[dict[str, str]]:
    return passwords.checklist(password, email, lang=lang)


def browser_nonce(state: rx.State) -> Optional[str]:
    """The sign-in nonce cookie the event socket arrived with (http.py sets it with the page):
    the sign-in ticket is bound to it, so only this browser can swap the ticket."""
    return cookie_value(state.router.headers.cookie or "", nonce_cookie_name())


def session_starter(state: SessionState, nonce: str):
    """``start(db, user)``: the session (its sign-in ticket) for a person this event proved,
    bound to this browser, with the address and browser it came from (read here, on the loop).
    An account that never chose a language takes the one this page is shown in."""
    client_ip = state.router.session.client_ip or ""
    user_agent = (state.router.headers.user_agent or "")[:300]
    lang = state.lang

    def start(db, user) -> str:
        language.adopt_at_sign_in(db, user, lang, clock=utcnow, client_ip=client_ip or None)
        return sessions.start_session(db, user, clock=utcnow, client_ip=client_ip,
                                      user_agent=user_agent, browser_nonce=nonce)

    return start


def typed_password(value) -> tuple[str, str]:
    """(password, email) from a checklist event: the password alone, or both fields."""
    if isinstance(value, dict):
        password, email = value.get("password", ""), value.get("email", "")
    else:
        password, email = value, ""
    password = password[:MAX_FIELD] if isinstance(password, str) else ""
    email = email[:MAX_FIELD] if isinstance(email, str) else ""
    return password, email


# A link that can no longer be used, opened by someone signed in: nothing to call about.
ALREADY_SIGNED_IN = N_("You're already signed in, so you don't need this link.")
HOME_LINKS = {"staff": N_("Go to the admin page"), "person": N_("Go to Home")}


def focus(field_id: str):
    """Move the focus to a field (scrolled into view): a client-side event, no eval (CSP)."""
    return rx.set_focus(field_id)


def refuse(form, field_id: str, sentence: str):
    """A sign-in, registration or reset form refuses: ``sentence`` beside its field ("": over
    the whole form), the focus on that field, the button usable again."""
    form.busy = False
    form.error = sentence
    form.error_field = field_id
    return focus(field_id) if field_id else None


# Submitting a new password judges it with zxcvbn in the bcrypt threads: a tab gets
# policy.PASSWORD_TRIES_PER_TAB tries per policy.PASSWORD_TRIES_WINDOW.
TOO_MANY_TRIES = N_("You've tried several times in {time}. Please wait {time}, then try again.")
TRIES_PARAMS = {"time": i18n.duration(PASSWORD_TRIES_WINDOW, article=True)}


def another_try(state) -> bool:
    """Counts a submit of this tab; False once the tab has used its tries for the window."""
    now = time.time()
    window = PASSWORD_TRIES_WINDOW.total_seconds()
    recent = [t for t in state._password_tries if now - window < t <= now]
    if len(recent) >= PASSWORD_TRIES_PER_TAB:
        if recent != state._password_tries:
            state._password_tries = recent
        return False
    state._password_tries = [*recent, now]
    return True


# A link that can't be used: each reason is its own view (pages/public.py::link_problem).
LINK_VIEWS = {"expired", "used", "superseded", "locked", "no_code"}


async def signed_in_home(state: SessionState) -> Optional[tuple[str, str]]:
    """(start page, its link's words) when this tab is signed in, else None: a used-up link
    (registration, reset, email confirmation) then says "You're already signed in"."""
    tab = await state._bind_tab(touch=False)
    if not tab.signed_in:
        return None
    staff = tab.user.is_staff
    return (routes.ADMIN if staff else routes.HOME), state._tr(HOME_LINKS["staff" if staff else "person"])


async def tell_if_signed_in(state) -> None:
    """A used-up link opened in a signed-in tab: the page says so, with the way home."""
    home = await signed_in_home(state)
    if home is None:
        return
    state.view = "signed_in"
    state.link_message = state._tr(ALREADY_SIGNED_IN)
    state.home, state.home_label = home
