"""Plain HTTP routes beside Reflex's event channel, and the security headers.

The session cookie is set here because a cookie written by JavaScript (rx.Cookie)
cannot be HttpOnly: the sign-in handler hands the browser a one-minute, one-time
ticket, and /auth/session swaps it for the cookie.

Login CSRF: a ticket is bound to the browser that signed in. Every page is served with
a random nonce cookie (HttpOnly, SameSite=Lax) if the browser has none yet; the sign-in
handler reads it from the event socket's Cookie header and stores its hash with the
ticket; /auth/session swaps a ticket only for the browser holding that nonce, and only
for the app's own navigation. Another site's page cannot sign a visitor into its
author's account (where what the visitor then writes would be the author's to read).
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from typing import Optional
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request, cookie_parser
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.db import session_scope
from carespace_app.services.identity import sessions
from carespace_app.services.errors import DomainError

log = logging.getLogger("carespace.http")

SESSION_MAX_AGE = int(sessions.ABSOLUTE_TIMEOUT.total_seconds())


def _set_session_cookie(response: Response, token: str) -> None:
    response.set_cookie(
        routes.SESSION_COOKIE,
        token,
        max_age=SESSION_MAX_AGE,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().cookie_secure,
    )
    response.set_cookie(routes.SIGNED_IN_COOKIE, secrets.token_hex(8), max_age=SESSION_MAX_AGE,
                        path="/", httponly=False, samesite="lax",
                        secure=get_settings().cookie_secure)


def _clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        routes.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
        secure=get_settings().cookie_secure,
    )
    response.delete_cookie(routes.SIGNED_IN_COOKIE, path="/", samesite="lax",
                           secure=get_settings().cookie_secure)


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


# --- the sign-in nonce: which browser a sign-in ticket belongs to ---

SIGN_IN_NONCE_COOKIE = "carespace_signin"


def nonce_cookie_name() -> str:
    """Over https the name carries the __Host- prefix: the browser then refuses the cookie
    from anywhere but this host over https, so a sibling subdomain cannot plant its own."""
    return ("__Host-" if get_settings().cookie_secure else "") + SIGN_IN_NONCE_COOKIE


def cookie_value(cookie_header: str, name: str) -> Optional[str]:
    """One cookie of a raw Cookie header (the event socket's, or a request's); None if absent.

    Starlette's lenient parser: another app's odd cookie on the same host must not hide ours.
    """
    try:
        return cookie_parser(cookie_header or "").get(name) or None
    except Exception:  # a malformed header is just "no cookie"
        return None


def _nonce_set_cookie() -> bytes:
    parts = [f"{nonce_cookie_name()}={secrets.token_urlsafe(32)}", "Path=/", "HttpOnly", "SameSite=Lax"]
    if get_settings().cookie_secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")


# Why a ticket was not swapped -> the sign-in page's notice (state/auth.py SIGN_IN_NOTICES).
TICKET_EXPIRED = "expired"  # unknown, used or older than a minute
TICKET_REFUSED = "sign-in-refused"  # another browser's ticket, or another site's navigation


# Sec-Fetch-Site of a navigation the user or our own pages started: a link, an address
# typed or bookmarked. Another site's link says "cross-site" (or "same-site" from a
# sibling domain) and must not sign anyone out, nor in. A browser too old to send the
# header (none that CareSpace supports) is let through: its sign-out still works.
OWN_NAVIGATION = {"same-origin", "none"}


def own_navigation(request: Request) -> bool:
    """True for a navigation our own pages started or the user typed, False from another site.

    Sec-Fetch-Site says so in every browser CareSpace supports. Without it, an Origin or
    a Referer, when sent, must be our base URL (ours send none: Referrer-Policy no-referrer).
    """
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None:
        return fetched_from in OWN_NAVIGATION
    base = get_settings().base_url.lower()
    origin = request.headers.get("origin")
    if origin is not None and origin.lower().rstrip("/") != base:
        return False
    referer = request.headers.get("referer")
    if referer is not None:
        referer = referer.lower()
        if referer != base and not referer.startswith(base + "/"):
            return False
    return True


def _swap_ticket(ticket: str, browser_nonce: str) -> tuple[Optional[str], bool, str]:
    """(session token, is staff, "") or (None, False, why: a key of the sign-in page's notices)."""
    with session_scope() as db:
        try:
            token = sessions.redeem_ticket(db, ticket, clock=utcnow, browser_nonce=browser_nonce)
        except sessions.TicketForAnotherBrowser:
            return None, False, TICKET_REFUSED
        found = sessions.resolve(db, token, clock=utcnow, touch=False) if token else None
        if found is None:
            return None, False, TICKET_EXPIRED
        _session, user = found
        return token, user.is_staff, ""


def _refused(reason: str) -> Response:
    # No session cookie: whoever sent the browser here, it stays signed in as before, or not at all.
    return _no_store(RedirectResponse(f"{routes.SIGN_IN}?reason={reason}", status_code=303))


async def session_route(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    if not ticket:
        return _refused(TICKET_EXPIRED)
    if not own_navigation(request):
        log.warning("sign-in ticket refused: the navigation came from another site")
        return _refused(TICKET_REFUSED)
    nonce = request.cookies.get(nonce_cookie_name(), "")
    token, is_staff, refusal = await asyncio.to_thread(_swap_ticket, ticket, nonce)
    if token is None:
        if refusal == TICKET_REFUSED:
            log.warning("sign-in ticket refused: it was started in another browser")
        return _refused(refusal)
    # The page the person asked for before signing in (a bookmark, an emailed link), when
    # it is one of theirs: only our own page paths, or a phishing link could bounce through us.
    target = routes.after_sign_in(request.query_params.get("next", ""), staff=is_staff)
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, token)
    return _no_store(response)


def sign_in_url(reason: str, next_page: Optional[str] = None) -> str:
    """The sign-in page with its notice and, when it is one of our pages, where to go after."""
    params = {"reason": reason}
    back = routes.return_path(next_page)
    if back is not None:
        params["next"] = back
    return f"{routes.SIGN_IN}?{urlencode(params)}"


def _end(token: str) -> None:
    with session_scope() as db:
        sessions.end_session(db, token, clock=utcnow)


async def sign_out_route(request: Request) -> Response:
    token = request.cookies.get(routes.SESSION_COOKIE)
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None and fetched_from not in OWN_NAVIGATION:
        # Someone else's page linked here: nothing ends, the user is back where they were.
        return _no_store(RedirectResponse(routes.SIGN_IN, status_code=303))
    if token:
        await asyncio.to_thread(_end, token)
    reason = request.query_params.get("reason", "signed-out")
    if reason not in {"signed-out", "idle", "expired", "password-changed"}:
        reason = "signed-out"
    response = RedirectResponse(sign_in_url(reason, request.query_params.get("next")),
                                status_code=303)
    _clear_session_cookie(response)
    return _no_store(response)


def _calendar(token: str | None, appointment_id: int):
    from carespace_app.services.records import appointments

    with session_scope() as db:
        found = sessions.resolve(db, token, clock=utcnow) if token else None
        if found is None:
            return None
        _session, user = found
        return appointments.ics_for(db, user, appointment_id, clock=utcnow)


async def calendar_route(request: Request) -> Response:
    try:
        appointment_id = int(request.path_params["appointment_id"])
    except (KeyError, ValueError):
        return PlainTextResponse("Not found", status_code=404)
    try:
        result = await asyncio.to_thread(_calendar, request.cookies.get(routes.SESSION_COOKIE), appointment_id)
    except DomainError:
        return PlainTextResponse("Not found", status_code=404)
    if result is None:
        return RedirectResponse(routes.SIGN_IN, status_code=303)
    filename, body = result
    return _no_store(Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    ))


def backend_routes() -> Starlette:
    return Starlette(routes=[
        Route(routes.AUTH_SESSION, session_route, methods=["GET"]),
        Route(routes.AUTH_SIGN_OUT, sign_out_route, methods=["GET", "POST"]),
        Route(routes.CALENDAR + "/{appointment_id}.ics", calendar_route, methods=["GET"]),
    ])


# --- security headers on every response: pages, assets, /ping and the routes above ---

CSP = "; ".join([
    "default-src 'self'",
    # Reflex's built pages carry inline bootstrapping scripts and styles.
    "script-src 'self' 'unsafe-inline'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
])


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def _is_html(headers) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)


def security_headers(app):
    """ASGI wrapper adding the headers a health-records site needs on every response."""
    https = get_settings().base_url.startswith("https://")

    async def wrapped(scope, receive, send):
        if https and scope["type"] in ("http", "websocket"):
            # TLS ends at the reverse proxy, so the request arrives as plain http; the
            # absolute URLs built from it (the trailing-slash redirect of /register?token=…)
            # must still say https, or the browser follows them to http:// with the token.
            scope = {**scope, "scheme": "https" if scope["type"] == "http" else "wss"}
        if scope["type"] != "http":
            return await app(scope, receive, send)
        # A page load without the sign-in nonce gets one (see the module's docstring). Pages
        # only (a navigation, or HTML): the page's own requests follow, with the cookie.
        give_nonce = scope.get("method") == "GET" and not cookie_value(
            _header(scope, b"cookie"), nonce_cookie_name())
        navigation = _header(scope, b"sec-fetch-dest") == "document"

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {b"x-frame-options", b"referrer-policy"}]
                headers += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    # Registration and reset pages carry a token in the URL: never leak it.
                    (b"referrer-policy", b"no-referrer"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if https:
                    headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
                if give_nonce and (navigation or _is_html(headers)):
                    headers.append((b"set-cookie", _nonce_set_cookie()))
                message = {**message, "headers": headers}
            await send(message)

        return await app(scope, receive, send_with_headers)

    return wrapped
