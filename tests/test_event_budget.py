"""A flood of events from one tab or one address is dropped calmly; people never notice.

The buckets are driven with a fake clock; the middleware with a real Reflex state tree
and Reflex's own middleware chain (what runs before every handler).
"""
from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from reflex.app_mixins.middleware import MiddlewareMixin
from reflex.middleware import Middleware
from reflex.state import State, StateUpdate
from reflex_base.event import Event

from carespace_app.event_budget import (ADDRESS_BURST, NOTICE_EVERY_SECONDS, SLOW_DOWN, TAB_BURST,
                                        EventBudget, EventBudgetMiddleware, TokenBuckets, Verdict,
                                        address_key)
from carespace_app.state.messages import MessagesState
from carespace_app.state.session import SessionState

ALLOWED, DROPPED, TELL = Verdict.ALLOWED, Verdict.DROPPED, Verdict.DROPPED_TELL
SEND = f"{MessagesState.get_full_name()}.send_message"


class FakeClock:
    def __init__(self):
        self.now = 5_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock():  # overrides the database clock: these buckets count seconds
    return FakeClock()


# --- the bucket maths ------------------------------------------------------------------


def test_a_tab_sends_its_burst_then_ten_a_second(clock):
    budget = EventBudget(clock=clock)
    assert [budget.spend("tab", "203.0.113.5") for _ in range(TAB_BURST)] == [ALLOWED] * TAB_BURST
    assert budget.spend("tab", "203.0.113.5") is TELL  # told once...
    assert budget.spend("tab", "203.0.113.5") is DROPPED  # ...then dropped quietly
    clock.advance(0.1)  # a tenth of a second: one more event
    assert budget.spend("tab", "203.0.113.5") is ALLOWED
    assert budget.spend("tab", "203.0.113.5") is DROPPED
    clock.advance(1.0)  # ten more, still inside the few seconds: no second notice
    assert [budget.spend("tab", "203.0.113.5") for _ in range(11)] == [ALLOWED] * 10 + [DROPPED]
    clock.advance(NOTICE_EVERY_SECONDS)  # refilled to the burst, never beyond
    assert budget.tabs.tokens("tab") == TAB_BURST
    assert [budget.spend("tab", "203.0.113.5") for _ in range(TAB_BURST)] == [ALLOWED] * TAB_BURST
    assert budget.spend("tab", "203.0.113.5") is TELL  # the few seconds are over: told again


def test_a_steady_ten_a_second_never_runs_out(clock):
    # A fast typist in a checked field, for a minute.
    budget = EventBudget(clock=clock)
    for _ in range(600):
        assert budget.spend("typist", "203.0.113.5") is ALLOWED
        clock.advance(0.1)


def test_an_address_is_held_across_new_tabs(clock):
    budget = EventBudget(clock=clock)
    verdicts = [budget.spend(f"new-tab-{n}", "198.51.100.9") for n in range(ADDRESS_BURST + 1)]
    assert verdicts == [ALLOWED] * ADDRESS_BURST + [TELL]
    assert budget.spend("someone-elsewhere", "192.0.2.1") is ALLOWED


def test_a_tab_refused_spends_nothing_of_its_address(clock):
    # One flooding tab behind the office's NAT must not use up what its colleagues may send.
    budget = EventBudget(clock=clock)
    flood = [budget.spend("flooding-tab", "203.0.113.5") for _ in range(500)]
    assert flood.count(ALLOWED) == TAB_BURST
    colleague = [budget.spend("colleague", "203.0.113.5") for _ in range(TAB_BURST)]
    assert colleague == [ALLOWED] * TAB_BURST
    assert budget.addresses.tokens("203.0.113.5") == ADDRESS_BURST - 2 * TAB_BURST


def test_ipv6_addresses_count_by_their_64_bit_prefix():
    assert address_key("2001:db8:1:2::1") == address_key("2001:db8:1:2:ffff::9")
    assert address_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert address_key("2001:db8:1:3::1") != address_key("2001:db8:1:2::1")
    assert address_key("::ffff:203.0.113.5") == address_key("203.0.113.5") == "203.0.113.5"
    assert address_key("") == "unknown"


# --- memory stays bounded ----------------------------------------------------------------


def test_a_flood_of_new_keys_keeps_at_most_the_cap(clock):
    buckets = TokenBuckets(burst=30, per_second=10, max_keys=100, clock=clock)
    for n in range(10_000):
        buckets.spend(f"token-{n}")
    assert len(buckets) == 100
    # The most recent are the ones kept: a key still flooding keeps its empty bucket.
    assert buckets.tokens("token-9999") == 29


def test_an_idle_bucket_is_forgotten_once_it_would_be_full_again(clock):
    buckets = TokenBuckets(burst=30, per_second=10, clock=clock)
    for n in range(50):
        for _ in range(30):
            buckets.spend(f"tab-{n}")
    clock.advance(2.9)  # not yet full again: kept, and still short
    assert buckets.tokens("tab-0") == pytest.approx(29.0)
    assert len(buckets) == 50
    clock.advance(2.0)
    buckets.spend("late-comer")
    assert len(buckets) == 2  # tab-0 was touched 2 s ago; the other 49 forgotten (4.9 s)
    clock.advance(3.0)
    buckets.spend("late-comer")
    assert len(buckets) == 1


def test_forgetting_a_bucket_changes_nothing(clock):
    budget = EventBudget(clock=clock)
    for _ in range(TAB_BURST + 1):
        budget.spend("tab", "203.0.113.5")
    clock.advance(NOTICE_EVERY_SECONDS)
    budget.spend("other", "192.0.2.1")  # the sweep forgets the idle ones
    assert "tab" not in budget.tabs._buckets
    assert [budget.spend("tab", "203.0.113.5") for _ in range(TAB_BURST)] == [ALLOWED] * TAB_BURST


# --- the middleware, with a real state tree ------------------------------------------------


def _tab(token: str, ip: str = "203.0.113.5") -> State:
    root = State(_reflex_internal_init=True)
    data = {"token": token, "ip": ip, "sid": f"sid-{token}", "pathname": "/messages",
            "asPath": "/messages", "headers": {"host": "localhost:3000"}}
    root.router_data = root._update_router_vars(data, {})
    return root


def _browser_event(root: State, name: str = SEND) -> Event:
    # What Reflex's socket handler makes of a browser's frame: the token and address
    # are the server's, never the browser's.
    return Event(name=name, payload={"form": {}}, router_data=dict(root.router_data))


def _preprocess(middleware, root, event):
    return asyncio.run(middleware.preprocess(app=None, state=root, event=event))


def test_the_middleware_lets_a_person_through_and_drops_a_flood(clock):
    middleware = EventBudgetMiddleware(EventBudget(clock=clock))
    root = _tab("tab-a")
    results = [_preprocess(middleware, root, _browser_event(root)) for _ in range(TAB_BURST + 3)]
    assert results[:TAB_BURST] == [None] * TAB_BURST
    told, *quiet = results[TAB_BURST:]
    assert isinstance(told, StateUpdate)
    [(state_name, values)] = told.delta.items()
    assert state_name == SessionState.get_full_name()
    assert values["flash_rx_state_"]["text"] == SLOW_DOWN
    assert all(isinstance(q, StateUpdate) and q.delta == {} and q.events == [] for q in quiet)
    # The tab's state is untouched: the notice is only sent, the flash var keeps its value.
    assert root.get_substate(SessionState.get_full_name().split(".")[1:]).flash == {}

    other = _tab("tab-b")  # another person at another address is not affected
    assert _preprocess(middleware, other, _browser_event(other)) is None
    clock.advance(0.1)
    assert _preprocess(middleware, root, _browser_event(root)) is None


def test_the_notice_is_what_the_flash_toast_shows(clock):
    """The delta has the shape Reflex itself sends when a handler calls _flash."""
    root = _tab("tab-a")
    session = root.get_substate(SessionState.get_full_name().split(".")[1:])
    root._clean()
    session._flash("info", SLOW_DOWN)
    reflex_delta = asyncio.run(root._get_resolved_delta())

    middleware = EventBudgetMiddleware(EventBudget(clock=clock, tab_burst=1))
    fresh = _tab("tab-c")
    _preprocess(middleware, fresh, _browser_event(fresh))
    ours = _preprocess(middleware, fresh, _browser_event(fresh)).delta

    def shape(delta):
        return {name: {var: {k: v for k, v in value.items() if k not in ("id", "path")}
                       for var, value in values.items()} for name, values in delta.items()}

    assert shape(ours) == shape(reflex_delta)
    [values] = ours.values()
    [flash] = values.values()
    assert len(flash["id"]) == 8  # a fresh id: a second notice shows again


def test_events_chained_on_the_server_are_not_counted(clock):
    middleware = EventBudgetMiddleware(EventBudget(clock=clock, tab_burst=1, address_burst=1))
    root = _tab("tab-a")
    chained = Event(name=SEND, payload={})  # a handler's follow-up: no router data of its own
    assert all(_preprocess(middleware, root, chained) is None for _ in range(100))
    assert _preprocess(middleware, root, _browser_event(root)) is None


class Probe(Middleware):
    """Stands where the tab guard (and then the handler) would: records what reaches it."""

    def __init__(self):
        self.reached = 0

    async def preprocess(self, app, state, event):
        self.reached += 1
        return None


def test_a_dropped_event_goes_no_further_than_the_budget(clock):
    # Registered first, the budget stops a dropped event before the tab guard's session
    # lookup and before the handler: Reflex runs neither once a middleware answers.
    probe = Probe()
    app = SimpleNamespace(_middlewares=[EventBudgetMiddleware(EventBudget(clock=clock)), probe])
    root = _tab("tab-a")
    answers = [asyncio.run(MiddlewareMixin._preprocess(app, root, _browser_event(root)))
               for _ in range(TAB_BURST + 20)]
    assert probe.reached == TAB_BURST
    assert answers[:TAB_BURST] == [None] * TAB_BURST
    assert all(isinstance(a, StateUpdate) for a in answers[TAB_BURST:])


def test_a_signed_in_tab_is_not_held_by_a_flood_from_its_own_address(clock):
    """A script at a clinic's (or a family's) address uses up the address's budget: the
    signed-in patients there spend from their own session's budget and are not refused."""
    middleware = EventBudgetMiddleware(EventBudget(clock=clock))
    for n in range(ADDRESS_BURST // TAB_BURST + 1):  # anonymous tabs, one address, drained
        stranger = _tab(f"stranger-{n}", ip="198.51.100.20")
        for _ in range(TAB_BURST):
            _preprocess(middleware, stranger, _browser_event(stranger))
    newcomer = _tab("stranger-new", ip="198.51.100.20")
    assert isinstance(_preprocess(middleware, newcomer, _browser_event(newcomer)), StateUpdate)

    patient = _tab("patient-tab", ip="198.51.100.20")
    # What the tab guard leaves once it has checked the tab's cookie against the database.
    patient.get_substate(SessionState.get_full_name().split(".")[1:])._tab_session_id = 41
    assert [_preprocess(middleware, patient, _browser_event(patient)) for _ in range(10)] == [None] * 10


def test_a_persons_tabs_share_one_budget(clock):
    budget = EventBudget(clock=clock, session_burst=40)
    allowed = [budget.spend(f"tab-{n % 4}", "203.0.113.9", session_id=7) for n in range(60)]
    assert allowed.count(ALLOWED) == 40  # four tabs, one person: 40 at once, not 4 x 30


def test_an_event_that_loads_no_state_of_ours_spends_from_the_tabs_person(clock):
    """Reflex's own router event (an in-app link) loads only the root state with Redis: the
    budget takes the session the tab's last checked event had, never an address's bucket
    the person's own address shares with a flood, and never fetches our state for it."""
    middleware = EventBudgetMiddleware(EventBudget(clock=clock))
    patient = _tab("patient-tab", ip="198.51.100.21")
    patient.get_substate(SessionState.get_full_name().split(".")[1:])._tab_session_id = 42
    assert _preprocess(middleware, patient, _browser_event(patient)) is None  # a click of ours

    router_only = State(_reflex_internal_init=True)  # as Redis loads it for the router event
    router_only.router_data = dict(patient.router_data)
    router_only.substates = {}
    for n in range(ADDRESS_BURST // TAB_BURST + 1):  # the address's bucket, drained
        stranger = _tab(f"stranger-{n}", ip="198.51.100.21")
        for _ in range(TAB_BURST):
            _preprocess(middleware, stranger, _browser_event(stranger))
    answers = [_preprocess(middleware, router_only, _browser_event(router_only, name="reflex___state____state.on_load_internal"))
               for _ in range(10)]
    assert answers == [None] * 10
