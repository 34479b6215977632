"""Browsers and tabs in-process: real State trees driven the way Reflex drives them.

Each step is one event in its own task (as Reflex runs events): CareSpace's TabGuard
middleware runs first (state/tab_guard.py), then the handler. Opening a page is a
hydration (what the browser receives in full is recorded) followed by the page's
on_load handler; a navigation the handler asks for is followed like the browser would,
including the backend routes (/auth/sign-out ends the session and drops the cookie).
"""
from __future__ import annotations

import asyncio
import copy
import inspect
import json
import uuid
from dataclasses import dataclass, field
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

from reflex.state import BaseState, State
from reflex_base.constants import RouteVar
from reflex_base.event import Event, get_hydrate_event
from reflex_base.event.context import EventContext

from carespace_app import routes
from carespace_app.carespace_app import app
from carespace_app.clock import utcnow
from carespace_app.db import session_scope
from carespace_app.http import SIGN_IN_NONCE_COOKIE
from carespace_app.services.identity import sessions
from carespace_app.state.session import SessionState
from carespace_app.state.tab_guard import TabGuard

CLIENT_IP = "198.51.100.7"
_GUARD = TabGuard()


async def _nothing(*_args, **_kwargs):
    return None


async def drive(result) -> list:
    """Run a handler's result to the end; the events it returned or yielded, flattened."""
    events = []
    if inspect.iscoroutine(result):
        result = await result
    if inspect.isasyncgen(result):
        async for item in result:
            events.append(item)
    elif inspect.isgenerator(result):
        events.extend(result)
    elif result is not None:
        events.append(result)
    flat = []
    for item in events:
        flat.extend(item if isinstance(item, (list, tuple)) else [item])
    return [e for e in flat if e is not None]


def sign_in_token(user) -> str:
    """What the sign-in form and /auth/session leave in the browser: a live session's cookie."""
    with session_scope() as db:
        ticket = sessions.start_session(db, user, clock=utcnow, client_ip=CLIENT_IP,
                                        user_agent="pytest")
        return sessions.redeem_ticket(db, ticket, clock=utcnow)


@dataclass
class Browser:
    """One browser: its cookie jar (the session cookie) is shared by all its tabs."""

    name: str
    token: Optional[str] = None
    tabs: list["Tab"] = field(default_factory=list)
    nonce: str = field(default_factory=lambda: f"nonce-{uuid.uuid4().hex}")
    accept_language: str = ""  # the browser's Accept-Language header
    lang_cookie: str = ""  # carespace_lang, as components/i18n.py writes it in the browser

    def tab(self) -> "Tab":
        tab = Tab(self, f"{self.name}-{len(self.tabs)}")
        self.tabs.append(tab)
        return tab


class Tab:
    def __init__(self, browser: Browser, name: str):
        self.browser = browser
        self.name = name
        self.client_token = f"client-{name}-{uuid.uuid4().hex[:8]}"
        self.root = State(_reflex_internal_init=True)
        self.path = routes.SIGN_IN
        self.query: dict[str, str] = {}
        self.hydrations: list[dict] = []  # what each page load sent in full

    # --- Reflex's view of the tab ---

    def _router_data(self) -> dict:
        headers = {"origin": "http://localhost:3000", "user-agent": "pytest", "host": "localhost:3000"}
        # Every page sets the sign-in nonce cookie (http.py); the sign-in ticket is bound to it.
        cookies = ["theme=light", f"{SIGN_IN_NONCE_COOKIE}={self.browser.nonce}"]
        if self.browser.token:
            cookies.append(f"{routes.SESSION_COOKIE}={self.browser.token}")
        if self.browser.lang_cookie:
            cookies.append(f"carespace_lang={self.browser.lang_cookie}")
        headers["cookie"] = "; ".join(cookies)
        if self.browser.accept_language:
            headers["accept-language"] = self.browser.accept_language
        query = "&".join(f"{k}={v}" for k, v in self.query.items())
        return {"token": self.client_token, "sid": f"sid-{self.name}", "ip": CLIENT_IP,
                "headers": headers, "pathname": self.path, "query": self.query,
                "asPath": self.path + (f"?{query}" if query else "")}

    def _update_router(self) -> None:
        data = self._router_data()
        merged = self.root._update_router_vars(data, self.root.router_data or {})
        self.root.router_data = merged

    def state(self, cls: type[BaseState]) -> BaseState:
        return self.root.get_substate(cls.get_full_name().split(".")[1:])

    @property
    def session_state(self) -> SessionState:
        return self.state(SessionState)

    def _event(self, name: str, run, clicked: bool = False) -> Any:
        """One event; ``clicked``: sent by the browser (a click, a keystroke), which carries
        the tab's client token; a page load's on_load is chained by the server, without."""
        router_data = {RouteVar.CLIENT_TOKEN: self.client_token} if clicked else {}

        async def step():
            async with EventContext(token=self.client_token, state_manager=None,
                                    enqueue_impl=_nothing):
                await _GUARD.preprocess(app, self.root, Event(name=name, payload={},
                                                              router_data=router_data))
                return await run()

        return asyncio.run(step())

    # --- what a person does ---

    def call(self, cls: type[BaseState], handler: str, **kwargs) -> list:
        """One event of this tab's page; navigations it asks for are followed."""
        self._update_router()
        before = self.session_state.navigate_to
        fn = cls.event_handlers[handler].fn
        state = self.state(cls)
        events = self._event(f"{cls.get_full_name()}.{handler}",
                             lambda: drive(fn(state, **kwargs)), clicked=True)
        self._follow(before)
        return events

    def open(self, url: str, _hops: int = 0) -> None:
        """Load a page: hydration (recorded), then its on_load handlers."""
        parts = urlsplit(url)
        self.path = parts.path or "/"
        self.query = {k: v for k, v in parse_qsl(parts.query) if k != "n"}
        if self.path == routes.AUTH_SIGN_OUT:
            self._sign_out_route()
            return
        if self.path == routes.AUTH_SESSION:
            self._session_route()
            return
        self._update_router()
        before = self.session_state.navigate_to

        async def hydrate():
            snapshot = self.root.dict()
            self.root._clean()
            return snapshot

        self.hydrations.append(self._event(get_hydrate_event(self.root), hydrate))
        for spec in app.get_load_events(self.path) or []:
            handler = getattr(spec, "handler", spec)
            cls = handler.state
            name = handler.fn.__name__
            fn = cls.event_handlers[name].fn
            state = self.state(cls)
            self._event(f"{cls.get_full_name()}.{name}", lambda: drive(fn(state)))
        if _hops < 5:
            self._follow(before, _hops + 1)

    def _follow(self, before: str, hops: int = 0) -> None:
        after = self.session_state.navigate_to
        if after and after != before:
            self.open(after, hops)

    def _sign_out_route(self) -> None:
        """/auth/sign-out: ends the cookie's session and drops the cookie, then sign-in."""
        reason = self.query.get("reason", "")
        if self.browser.token:
            with session_scope() as db:
                sessions.end_session(db, self.browser.token, clock=utcnow)
        self.browser.token = None
        self.open(routes.SIGN_IN + (f"?reason={reason}" if reason else ""))

    def _session_route(self) -> None:
        """/auth/session?ticket=…: this browser's ticket becomes the session cookie, then the
        person's start page (or ?next=); a refused ticket goes back to sign in."""
        with session_scope() as db:
            token = sessions.redeem_ticket(db, self.query.get("ticket", ""), clock=utcnow,
                                           browser_nonce=self.browser.nonce)
            found = sessions.resolve(db, token, clock=utcnow, touch=False) if token else None
        if not found:
            self.open(routes.SIGN_IN)
            return
        self.browser.token = token
        self.open(routes.after_sign_in(self.query.get("next", ""), staff=found[1].is_staff))

    def clone(self) -> "Tab":
        """A copy of this tab (same browser, a copy of its server-side state) to try a reload
        on without changing the tab itself."""
        twin = Tab(self.browser, self.name + "-probe")
        twin.client_token, twin.path, twin.query = self.client_token, self.path, dict(self.query)

        def copy_into(src, dst):
            for name, value in vars(src).items():
                if name in type(src).__fields__:
                    vars(dst)[name] = copy.deepcopy(value)
            for key, sub in src.substates.items():
                copy_into(sub, dst.substates[key])

        copy_into(self.root, twin.root)
        return twin

    def reload_snapshot(self) -> dict:
        """What a page load of this tab would be sent now (its guard runs first, as Reflex's)."""
        self._update_router()

        async def snapshot():
            return self.root.dict()

        return self._event(get_hydrate_event(self.root), snapshot)

    # --- what the tab holds ---

    def serialised(self) -> str:
        """The whole tree as it would be sent to the browser (a hydration now), as text."""
        return json.dumps(self.root.dict(), default=str)

    def at_rest(self) -> str:
        """Every var of every state, the server-only ones included: what the state manager
        keeps between events (memory, or Redis)."""
        values = []
        todo = [self.root]
        while todo:
            state = todo.pop()
            cls = type(state)
            for name, f in cls.__fields__.items():
                if f._owner is cls and name != "router_data" and not name.startswith("rx_router"):
                    values.append(f"{name}={getattr(state, name, '')!r}")
            todo.extend(state.substates.values())
        return "\n".join(values)


def signed_out_state(state_class: type[BaseState], cookie: str, *, token: str = "client-signed-out",
                     ip: str = "203.0.113.5") -> BaseState:
    """A signed-out page's state (sign-in, registration, reset) with the browser's cookies,
    for calling its handlers directly; no tab guard, no database session."""
    root = State(_reflex_internal_init=True)
    headers = {"origin": "http://localhost:3000", "host": "localhost:3000", "user-agent": "pytest",
               "cookie": cookie}
    root.router_data = root._update_router_vars(
        {"token": token, "sid": f"sid-{token}", "ip": ip, "headers": headers,
         "pathname": "/", "query": {}, "asPath": "/"}, {})
    return root.get_substate(state_class.get_full_name().split(".")[1:])
