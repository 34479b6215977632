"""A budget of events per browser tab, and per person or client address: a flood is
dropped calmly.

Every event a browser sends runs a handler, and most handlers read the database, many
write to it (activity, audit rows): 900 page loads from one account in 32 s wrote 2,727
audit rows. So each event a browser sends spends a token from two buckets, its tab's
(the client token Reflex keys the tab's state by) and, for a signed-in tab, its
session's, else its address's; an event finding
either bucket empty is dropped before anything else runs (the tab guard's session
lookup, the handler, any database work), and the tab is told "Please slow down" at most
once every few seconds.

Events a handler chains on the server (a page load's on_load after its hydration) carry
no client token of their own: they belong to the browser event that was counted.

Budgets are per server process: with several workers, a tab's socket stays on one
worker (its tab budget is exact) and an address's budget is per worker.

Registered by the app first, before the tab guard, so a dropped event costs no query:
``app.add_middleware(EventBudgetMiddleware(), index=0)``.
"""
from __future__ import annotations

import ipaddress
import secrets
import time
from collections import OrderedDict
from enum import Enum
from typing import Callable, Optional

from reflex.middleware import Middleware
from reflex.state import StateUpdate
from reflex_base.constants import RouteVar
from reflex_base.constants.state import FIELD_MARKER

from carespace_app import i18n
from carespace_app.i18n import N_
from carespace_app.state.session import SessionState

# A tab: a page load is about three events (hydration, Reflex's on_load, ours) and a
# click one or two; typing in a checked field sends one per keystroke. 30 at once covers
# a burst of quick clicks or ten page loads; 10 a second is more than a fast typist or
# a person clicking sends for long, and far below what a script sends (28 a second).
TAB_BURST = 30
TAB_PER_SECOND = 10.0
# An address: several people behind one office's NAT share it, each with tabs (an idle
# tab asks the server only at its idle warning). Four busy tabs' worth, so an office never notices,
# while one machine opening tab after tab (new client tokens) is still held.
ADDRESS_BURST = 120
ADDRESS_PER_SECOND = 40.0
# A signed-in person: their tabs share one budget (a person has a few tabs open, never
# many busy ones) instead of their address's, so a script at the same address (a clinic's
# or a family's NAT) cannot use up what the patients there may send. A tab counts as
# signed in only once the tab guard has checked its session against the database.
SESSION_BURST = 60
SESSION_PER_SECOND = 20.0
# Memory stays bounded whatever a flood of new tokens or addresses does: a bucket idle
# long enough to be full again is forgotten (a full bucket and no bucket are the same),
# and past this many the least recently used go first.
MAX_TRACKED = 20_000
# "Please slow down" at most this often per tab; the drops in between are silent.
NOTICE_EVERY_SECONDS = 5.0
SLOW_DOWN = N_("Please slow down — try again in a few seconds.")


class Verdict(Enum):
    ALLOWED = "allowed"
    DROPPED = "dropped"
    DROPPED_TELL = "dropped_tell"  # and tell the tab


class TokenBuckets:
    """Token buckets by key: each holds up to ``burst`` tokens and refills ``per_second``."""

    def __init__(self, *, burst: float, per_second: float, max_keys: int = MAX_TRACKED,
                 clock: Callable[[], float] = time.monotonic, keep_seconds: float = 0.0):
        self.burst = float(burst)
        self.per_second = float(per_second)
        self.max_keys = max_keys
        self.clock = clock
        # A bucket is forgotten once it is full again and ``keep_seconds`` have passed.
        self.forget_after = max(self.burst / self.per_second, keep_seconds)
        # key -> [tokens, when last refilled, when last told to slow down]; oldest first.
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def _bucket(self, key: str, now: float) -> list[float]:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = [self.burst, now, -float("inf")]
        else:
            self._buckets.move_to_end(key)
            bucket[0] = min(self.burst, bucket[0] + (now - bucket[1]) * self.per_second)
            bucket[1] = now
        self._forget_idle(now)
        return bucket

    def _forget_idle(self, now: float) -> None:
        while self._buckets:
            key, (_tokens, last, _told) = next(iter(self._buckets.items()))
            if len(self._buckets) > self.max_keys or now - last >= self.forget_after:
                del self._buckets[key]
            else:
                break

    def tokens(self, key: str) -> float:
        """Tokens ``key`` has now (a key never seen has a full bucket)."""
        return self._bucket(key, self.clock())[0]

    def has(self, key: str) -> bool:
        return self.tokens(key) >= 1.0

    def spend(self, key: str) -> None:
        self._bucket(key, self.clock())[0] -= 1.0

    def tell_now(self, key: str, every: float) -> bool:
        """True at most once per ``every`` seconds for ``key``: time to tell the tab."""
        now = self.clock()
        bucket = self._bucket(key, now)
        if now - bucket[2] < every:
            return False
        bucket[2] = now
        return True


class EventBudget:
    """Both budgets: an event is allowed when its tab and its address each have a token.

    An event refused by one bucket spends from neither: a tab flooding on its own does
    not use up what the other people behind its address may send."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic,
                 tab_burst: float = TAB_BURST, tab_per_second: float = TAB_PER_SECOND,
                 address_burst: float = ADDRESS_BURST,
                 address_per_second: float = ADDRESS_PER_SECOND,
                 session_burst: float = SESSION_BURST,
                 session_per_second: float = SESSION_PER_SECOND,
                 max_tracked: int = MAX_TRACKED, notice_every: float = NOTICE_EVERY_SECONDS):
        self.tabs = TokenBuckets(burst=tab_burst, per_second=tab_per_second,
                                 max_keys=max_tracked, clock=clock, keep_seconds=notice_every)
        self.addresses = TokenBuckets(burst=address_burst, per_second=address_per_second,
                                      max_keys=max_tracked, clock=clock)
        self.sessions = TokenBuckets(burst=session_burst, per_second=session_per_second,
                                     max_keys=max_tracked, clock=clock)
        self.notice_every = notice_every

    def spend(self, tab: str, address: str, session_id: int = 0) -> Verdict:
        """``session_id``: the checked session of a signed-in tab (0: not signed in), whose
        budget the tab spends from instead of its address's."""
        group, key = (self.sessions, f"s{session_id}") if session_id else (self.addresses, address)
        if self.tabs.has(tab) and group.has(key):
            self.tabs.spend(tab)
            group.spend(key)
            return Verdict.ALLOWED
        if self.tabs.tell_now(tab, self.notice_every):
            return Verdict.DROPPED_TELL
        return Verdict.DROPPED


def address_key(ip: str) -> str:
    """The budget's key for a client address: IPv6 by its /64 (one home or host gets a
    whole /64, so counting single addresses would let it send without limit)."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return ip or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def flash_delta(kind: str, text: str) -> dict:
    """A toast sent without running any handler (SessionState._flash's shape)."""
    flash = {"kind": kind, "text": text, "id": secrets.token_hex(4), "path": ""}  # any page
    return {SessionState.get_full_name(): {"flash" + FIELD_MARKER: flash}}


def slow_down_delta(lang: str = "en") -> dict:
    """The state update that shows "Please slow down" as a toast: what SessionState._flash
    ("info", SLOW_DOWN) would send, built here so a dropped event changes no state.

    Shape: {"<SessionState's full name>": {"flash_rx_state_": {"kind", "text", "id"}}}.
    components/flash.py shows a toast whenever the flash's id changes.
    """
    return flash_delta("info", i18n.gettext(lang, SLOW_DOWN))


def browser_token(event) -> str:
    """The client token of an event a browser sent (a click, a keystroke, a page's own
    load); "" for one Reflex chained on the server (a page load's on_load after its
    hydration or after an in-app link), which belongs to the browser event that caused it."""
    return str((event.router_data or {}).get(RouteVar.CLIENT_TOKEN) or "")


class EventBudgetMiddleware(Middleware):
    """Drops a browser's event when its tab or its address has used up its budget."""

    def __init__(self, budget: Optional[EventBudget] = None, max_tracked: int = MAX_TRACKED):
        self.budget = budget or EventBudget()
        # tab -> the session its tab guard last checked. An event of Reflex's own (the
        # router's on_load for an in-app link) does not load our states: with Redis,
        # reading SessionState there would fetch and unpickle it on every such event just
        # to choose a bucket (docs/PERFORMANCE.md, the profile of #14). A tab's socket
        # stays on one worker, so this worker has seen the tab's own events.
        self._sessions: OrderedDict[str, int] = OrderedDict()
        # tab -> its language, when not English (the "slow down" notice is said in it).
        self._langs: OrderedDict[str, str] = OrderedDict()
        self._max_tracked = max_tracked

    def _session_of(self, state, tab: str) -> int:
        loaded = state.substates.get(SessionState.get_name())
        if loaded is None:
            return self._sessions.get(tab, 0)
        session_id = loaded._tab_session_id
        if loaded.lang != i18n.DEFAULT:
            self._langs[tab] = loaded.lang
            self._langs.move_to_end(tab)
            while len(self._langs) > self._max_tracked:
                self._langs.popitem(last=False)
        else:
            self._langs.pop(tab, None)
        if session_id:
            self._sessions[tab] = session_id
            self._sessions.move_to_end(tab)
            while len(self._sessions) > self._max_tracked:
                self._sessions.popitem(last=False)
        else:
            self._sessions.pop(tab, None)
        return session_id

    async def preprocess(self, app, state, event) -> Optional[StateUpdate]:
        tab = browser_token(event)
        if not tab:
            return None  # chained on the server: its browser event was counted
        address = address_key(str((event.router_data or {}).get(RouteVar.CLIENT_IP) or ""))
        # Set only by the tab guard, after it checked the tab's cookie in the database.
        session_id = self._session_of(state, tab)
        verdict = self.budget.spend(tab, address, session_id)
        if verdict is Verdict.ALLOWED:
            return None
        # An update stops Reflex here: no later middleware, no handler, no database.
        told = verdict is Verdict.DROPPED_TELL
        return StateUpdate(delta=slow_down_delta(self._langs.get(tab, "en")) if told else {})
