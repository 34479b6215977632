"""Plain HTTP routes beside Reflex's event channel, and the security headers.

The session cookie is set here because a cookie written by JavaScript (rx.Cookie)
cannot be HttpOnly: the sign-in handler hands the browser a one-minute, one-time
ticket, and /auth/session swaps it for the cookie.
"""
from __future__ import annotations

import asyncio
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from . import routes
from .clock import utcnow
from .config import get_settings
from .db import session_scope
from .services import sessions
from .services.errors import DomainError

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


def _clear_session_cookie(response: Response) -> None:
    response.delete_cookie(
        routes.SESSION_COOKIE, path="/", httponly=True, samesite="lax",
        secure=get_settings().cookie_secure,
    )


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _swap_ticket(ticket: str):
    with session_scope() as db:
        token = sessions.redeem_ticket(db, ticket, clock=utcnow)
        if token is None:
            return None, None
        found = sessions.resolve(db, token, clock=utcnow, touch=False)
        if found is None:
            return None, None
        _session, user = found
        return token, user.is_staff


async def session_route(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    token, is_staff = await asyncio.to_thread(_swap_ticket, ticket) if ticket else (None, None)
    if token is None:
        return _no_store(RedirectResponse(f"{routes.SIGN_IN}?reason=expired", status_code=303))
    target = request.query_params.get("next", "")
    # Only our own paths: an open redirect would let a phishing link bounce through us.
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        target = routes.ADMIN if is_staff else routes.HOME
    response = RedirectResponse(target, status_code=303)
    _set_session_cookie(response, token)
    return _no_store(response)


def _end(token: str) -> None:
    with session_scope() as db:
        sessions.end_session(db, token, clock=utcnow)


# Sec-Fetch-Site of a navigation the user or our own pages started: a link, an address
# typed or bookmarked. Another site's link says "cross-site" (or "same-site" from a
# sibling domain) and must not sign anyone out. A browser too old to send the header
# (none that CareSpace supports) is let through: its sign-out still works.
OWN_NAVIGATION = {"same-origin", "none"}


async def sign_out_route(request: Request) -> Response:
    token = request.cookies.get(routes.SESSION_COOKIE)
    fetched_from = request.headers.get("sec-fetch-site")
    if fetched_from is not None and fetched_from not in OWN_NAVIGATION:
        # Someone else's page linked here: nothing ends, the user is back where they were.
        return _no_store(RedirectResponse(routes.SIGN_IN, status_code=303))
    if token:
        await asyncio.to_thread(_end, token)
    reason = request.query_params.get("reason", "signed-out")
    if reason not in {"signed-out", "idle", "expired", "revoked", "password-changed"}:
        reason = "signed-out"
    response = RedirectResponse(f"{routes.SIGN_IN}?reason={reason}", status_code=303)
    _clear_session_cookie(response)
    return _no_store(response)


def _calendar(token: str | None, appointment_id: int):
    from .services import appointments

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
                message = {**message, "headers": headers}
            await send(message)

        return await app(scope, receive, send_with_headers)

    return wrapped
