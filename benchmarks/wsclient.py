"""A browser tab on Reflex's event channel, without the browser.

Speaks what Chromium speaks (captured with benchmarks/capture_frames.py): a socket.io
(engine.io v4) websocket at /_event/?token=…&EIO=4&transport=websocket with the page's
cookies, an Origin equal to the base URL and the Reflex version as subprotocol; the
page's `hydrate_and_load` rides in the namespace CONNECT packet ("40/_event,{auth}");
events go out as 42/_event,["event",{name,payload,router_data}] and state deltas come
back the same way. Reflex 0.10 sends no "final" marker, so each call says which delta
ends it (the one a user would wait for: `is_hydrated` for a page, the redirect after a
send, then the new page's `is_hydrated`...).

Built on wsproto (already installed with python-socketio's simple-websocket) and
asyncio streams, so one process drives hundreds of tabs cheaply.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from wsproto import ConnectionType, WSConnection
from wsproto.events import (AcceptConnection, CloseConnection, Message, Ping, RejectConnection,
                            Request, TextMessage)

ROOT_STATE = "reflex___state____state"
HYDRATE = f"{ROOT_STATE}.hydrate_and_load"
ON_LOAD = f"{ROOT_STATE}.reflex___state____on_load_internal_state.on_load_internal"
NS = "/_event"
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "HeadlessChrome/156.0.0.0 Safari/537.36")

Delta = dict[str, dict[str, Any]]


def var(delta: Delta, name: str) -> Any:
    """The value of var ``name`` in any state of the delta (KeyError when absent)."""
    key = f"{name}_rx_state_"
    for values in delta.values():
        if key in values:
            return values[key]
    raise KeyError(name)


def has(name: str, test: Callable[[Any], bool] = lambda v: True) -> Callable[[Delta], bool]:
    def check(delta: Delta) -> bool:
        try:
            return bool(test(var(delta, name)))
        except KeyError:
            return False
    return check


HYDRATED = has("is_hydrated", lambda v: v is True)

# The events an update asks the page to run (a redirect, ...) are shown to waiters and to
# on_delta as one more "state" of the delta: var(delta, "events") is their list.
FRONTEND_EVENTS = "(frontend events)"


def redirected_to(delta: Delta) -> Optional[str]:
    """The path of a redirect (rx.redirect) the update asks for, else None."""
    for event in delta.get(FRONTEND_EVENTS, {}).get("events_rx_state_", []):
        if isinstance(event, dict) and event.get("name") == "_redirect":
            return (event.get("payload") or {}).get("path")
    return None


class Refused(Exception):
    pass


class Tab:
    def __init__(self, base_url: str, *, cookie: str = "", version: str = "0.10.1",
                 headers: Optional[list[tuple[str, str]]] = None,
                 on_delta: Optional[Callable[[Delta], None]] = None):
        self.base_url = base_url.rstrip("/")
        self.cookie = cookie
        # More headers for the websocket's handshake (an X-Forwarded-For a proxy would add).
        self.headers = list(headers or [])
        # Called with every delta the server sends, awaited or not.
        self.on_delta = on_delta
        self.version = version
        self.token = str(uuid.uuid4())
        self.path = "/"
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._reader: Optional[asyncio.StreamReader] = None
        self._writer: Optional[asyncio.StreamWriter] = None
        self._pump: Optional[asyncio.Task] = None
        self._waiter: Optional[tuple[Callable[[Delta], bool], asyncio.Future]] = None
        self._opened = asyncio.get_running_loop().create_future()
        self._auth: dict = {}
        self._early: list[str] = []
        self.bytes_in = 0
        self.bytes_out = 0
        self.closed = False

    # --- the wire ---

    def _send_text(self, text: str) -> None:
        data = self._ws.send(Message(data=text))
        self.bytes_out += len(data)
        self._writer.write(data)

    async def _run_pump(self) -> None:
        buffer = self._early
        try:
            while True:
                data = await self._reader.read(65536)
                if not data:
                    break
                self.bytes_in += len(data)
                self._ws.receive_data(data)
                for event in self._ws.events():
                    if isinstance(event, TextMessage):
                        buffer.append(event.data)
                        if event.message_finished:
                            self._packet("".join(buffer))
                            buffer.clear()
                    elif isinstance(event, Ping):
                        self._writer.write(self._ws.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        return
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self.closed = True
            self._fail(ConnectionError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        for future in (self._opened, self._waiter[1] if self._waiter else None):
            if future is not None and not future.done():
                future.set_exception(exc)
                future.exception()  # whoever waits gets it; nobody waiting is fine too

    def _packet(self, text: str) -> None:
        kind = text[:1]
        if kind == "0":  # engine.io open: connect the namespace, the hydrate in the auth
            self._send_text(f"40{NS}," + json.dumps(self._auth, separators=(",", ":")))
        elif kind == "2":  # engine.io ping
            self._send_text("3")
        elif text.startswith(f"40{NS},"):
            if not self._opened.done():
                self._opened.set_result(True)
        elif text.startswith(f"44{NS},"):
            self._fail(Refused(text))
        elif text.startswith(f"42{NS},"):
            name, *args = json.loads(text[len(NS) + 3:])
            if name == "event" and args:
                delta = args[0].get("delta") or {}
                if args[0].get("events"):
                    delta = {**delta, FRONTEND_EVENTS: {"events_rx_state_": args[0]["events"]}}
                if self.on_delta is not None:
                    self.on_delta(delta)
                if self._waiter and not self._waiter[1].done() and self._waiter[0](delta):
                    self._waiter[1].set_result(delta)

    # --- what a page does ---

    def _router(self, path: str) -> dict:
        # As the page's state.js builds it: the query apart, and in asPath.
        pathname, _, query = path.partition("?")
        router = {"pathname": pathname, "asPath": path}
        if query:
            router["query"] = dict(parse_qsl(query))
        return router

    async def open(self, path: str, hashes: list[str], schema: str, timeout: float = 60.0) -> float:
        """Load a page: connect with its hydrate; returns seconds until hydrated."""
        parts = urlsplit(self.base_url)
        self.path = path
        self._auth = {"event": {"name": HYDRATE, "payload": {"hashes": hashes} if hashes else {},
                                "router_data": self._router(path)},
                      "state_schema": schema}
        began = time.perf_counter()
        self._reader, self._writer = await asyncio.open_connection(parts.hostname, parts.port)
        headers = [(b"origin", self.base_url.encode()), (b"user-agent", USER_AGENT.encode())]
        if self.cookie:
            headers.append((b"cookie", self.cookie.encode()))
        headers += [(name.encode(), value.encode()) for name, value in self.headers]
        request = self._ws.send(Request(host=parts.netloc,
                                        target=f"{NS}/?token={self.token}&EIO=4&transport=websocket",
                                        extra_headers=headers, subprotocols=[self.version]))
        self._writer.write(request)
        while True:  # the HTTP upgrade
            data = await asyncio.wait_for(self._reader.read(65536), timeout)
            if not data:
                raise Refused("closed during the upgrade")
            self._ws.receive_data(data)
            accepted = None
            loop = asyncio.get_running_loop()
            self._waiter = (HYDRATED, loop.create_future())
            for event in self._ws.events():
                if isinstance(event, AcceptConnection):
                    accepted = True
                elif isinstance(event, RejectConnection):
                    raise Refused(f"upgrade refused: {event.status_code}")
                elif isinstance(event, TextMessage):  # the open packet came with the 101
                    self._early.append(event.data)
                    if event.message_finished:
                        self._packet("".join(self._early))
                        self._early.clear()
            if accepted:
                break
        self._pump = asyncio.create_task(self._run_pump())
        await asyncio.wait_for(self._opened, timeout)
        await asyncio.wait_for(self._waiter[1], timeout)
        return time.perf_counter() - began

    async def call(self, name: str, payload: dict, done: Callable[[Delta], bool],
                   timeout: float = 60.0) -> tuple[float, Delta]:
        """Send one event and wait for the delta ``done`` recognises; (seconds, delta)."""
        future = asyncio.get_running_loop().create_future()
        self._waiter = (done, future)
        began = time.perf_counter()
        self.emit(name, payload)
        delta = await asyncio.wait_for(future, timeout)
        return time.perf_counter() - began, delta

    def emit(self, name: str, payload: dict) -> None:
        """Send an event without waiting (a timer's tick)."""
        if self.closed:
            raise ConnectionError("connection closed")
        event = {"name": name, "payload": payload, "router_data": self._router(self.path)}
        self._send_text(f"42{NS}," + json.dumps(["event", event], separators=(",", ":")))

    async def navigate(self, path: str, timeout: float = 60.0) -> float:
        """A click on an in-app link: the router's on_load event for the new path."""
        self.path = path
        seconds, _ = await self.call(ON_LOAD, {}, HYDRATED, timeout)
        return seconds

    async def close(self) -> None:
        if self._writer is None:
            return
        try:
            if not self.closed:
                self._send_text(f"41{NS},")
                self._writer.write(self._ws.send(CloseConnection(code=1000)))
                await self._writer.drain()
        except Exception:
            pass
        if self._pump:
            self._pump.cancel()
        self._writer.close()
        self.closed = True
