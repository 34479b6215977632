"""A burst of sign-ins meets a bounded queue, not a long silence (issue #14).

Password hashing runs in a few threads (services/identity/security.py). These tests fill
the real pool with other people's jobs, held on an event until the test lets them go, and
drive the real handlers: a sign-in that would wait past policy.HASH_QUEUE_LIMIT is refused
at once and calmly (nothing looked up, checked or written; the password stays typed), and
one that would wait past policy.HASH_WAIT_NOTICE says so while it waits, then signs in.
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import math
import threading
import time

import pytest
from reflex_base.event.context import EventContext
from sqlmodel import select

from carespace_app.i18n import fmt
from carespace_app import policy, routes
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.http import SIGN_IN_NONCE_COOKIE
from carespace_app.models import AuditEvent, SignInFailure, SignInTicket, UserSession
from carespace_app.services.errors import BUSY, Busy
from carespace_app.services.identity import accounts, resets, security
from carespace_app.state import auth
from carespace_app.state.auth import SignInState
from carespace_app.state.password_reset import ResetPasswordState
from carespace_app.state.register import RegisterState
from carespace_app.state.session import SOMETHING_WRONG
from carespace_app.state.settings import SettingsState
from tests.factories import PASSWORD, make_patient, make_user, patient_user
from tests.tabs import Browser, sign_in_token, signed_out_state
from tests.test_accounts import emails_to, token_in

THREADS = get_settings().bcrypt_threads
LIMIT = policy.HASH_QUEUE_LIMIT.total_seconds()
NOTICE = policy.HASH_WAIT_NOTICE.total_seconds()
HOLD_AT_MOST = 30  # a held job lets go by itself after this long, should a test break


class Crowd:
    """Other people's hash jobs: queued through the real run_in_bcrypt_pool from their own
    event loop (as the server's other events are), each held until release()."""

    def __init__(self):
        self._go = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._tasks: list[asyncio.Task] = []

    def _hold(self):
        self._go.wait(HOLD_AT_MOST)

    def join(self, count: int) -> int:
        """``count`` more jobs; how many of them the pool refused (Busy)."""
        async def submit():
            tasks = [asyncio.ensure_future(security.run_in_bcrypt_pool(self._hold))
                     for _ in range(count)]
            await asyncio.sleep(0)  # each has been queued, or refused, by now
            return tasks

        tasks = asyncio.run_coroutine_threadsafe(submit(), self._loop).result(10)
        self._tasks.extend(tasks)
        return sum(1 for t in tasks if t.done() and isinstance(t.exception(), Busy))

    def fill_past_the_limit(self) -> None:
        """Queue jobs until the pool refuses one: a sign-in now would wait too long."""
        step = THREADS * max(1, math.ceil(LIMIT / security.bcrypt_queue()[1]))
        for _ in range(20):
            if self.join(step):
                return
        raise AssertionError("the pool never refused a job")

    def fill_to(self, seconds: float) -> None:
        """Queue jobs until one submitted now would take about ``seconds`` to finish."""
        rounds = math.ceil(seconds / security.bcrypt_queue()[1])
        assert self.join(rounds * THREADS - 1) == 0

    def release(self) -> None:
        self._go.set()

    def finish(self) -> None:
        """Let every job go and wait for them all to end (again: nothing more to do)."""
        self.release()
        if self._loop.is_closed():
            return

        async def settle():
            await asyncio.gather(*self._tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(settle(), self._loop).result(HOLD_AT_MOST + 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
            self._loop.close()


def teach(seconds: float = 0.25, jobs: int = 4) -> None:
    """Time a few real jobs of about ``seconds``, so the moving average is near it (tests
    hash at cost 4, which leaves it near zero: filling the queue would take thousands)."""
    for _ in range(jobs):
        asyncio.run(security.run_in_bcrypt_pool(time.sleep, seconds))


@pytest.fixture
def crowd():
    assert security.bcrypt_queue()[0] == 0, "a job of an earlier test is still counted"
    teach()
    people = Crowd()
    try:
        yield people
    finally:
        people.finish()


async def _nothing(*_args, **_kwargs):
    return None


def _tab(state_class, cookie: str = f"{SIGN_IN_NONCE_COOKIE}=nonce-of-this-browser"):
    return signed_out_state(state_class, cookie, token="client-queue", ip="203.0.113.21")


def _run(result, after_first_yield=None) -> list:
    """Drive a handler; the events it yielded. ``after_first_yield(state_seen)`` runs when
    the first yield has gone to the browser (what the page shows while the work waits)."""
    events = []

    async def run():
        async with EventContext(token="queue", state_manager=None, enqueue_impl=_nothing):
            if inspect.iscoroutine(result):
                item = await result
                if item is not None:
                    events.append(item)
                return
            first = True
            async for item in result:
                if item is not None:
                    events.append(item)
                if first and after_first_yield is not None:
                    after_first_yield()
                first = False

    asyncio.run(run())
    return events


def _names(events) -> list[str]:
    return [repr(getattr(e, "handler", e)) for e in events]


# --- (a) the estimate -------------------------------------------------------------------


def test_the_estimate_follows_the_jobs_queued_and_the_time_one_takes(crowd):
    before = security.bcrypt_queue()[1]
    started = time.monotonic()
    asyncio.run(security.run_in_bcrypt_pool(time.sleep, 0.2))
    took = time.monotonic() - started
    after = security.bcrypt_queue()[1]
    weight = security.JOB_SECONDS_WEIGHT
    # The job's own wall time is at least its sleep and at most what the caller waited.
    assert before + weight * (0.2 - before) <= after <= before + weight * (took - before)
    assert security.bcrypt_wait_estimate() == pytest.approx(after)  # an empty pool: one job

    held = 2 * THREADS + 1
    assert crowd.join(held) == 0
    assert security.bcrypt_queue() == (held, after)
    # Three threads' worth of jobs ahead (two full rounds and one more): the third round.
    assert security.bcrypt_wait_estimate() == pytest.approx(math.ceil((held + 1) / THREADS) * after)
    assert crowd.join(THREADS) == 0
    assert security.bcrypt_wait_estimate() == pytest.approx(
        math.ceil((held + THREADS + 1) / THREADS) * after)


def test_past_the_limit_a_job_is_refused_before_it_is_queued(crowd):
    crowd.fill_past_the_limit()
    assert security.bcrypt_wait_estimate() > LIMIT
    queued = security.bcrypt_queue()[0]
    ran = []
    with pytest.raises(Busy) as refused:
        asyncio.run(security.run_in_bcrypt_pool(ran.append, "checked"))
    assert str(refused.value) == BUSY
    assert security.bcrypt_queue()[0] == queued  # nothing was queued
    crowd.finish()
    assert ran == []
    # The queue drained: the next job is taken again.
    asyncio.run(security.run_in_bcrypt_pool(ran.append, "checked"))
    assert ran == ["checked"]


def test_the_sentences_say_the_policy_durations():
    limit = policy.in_words(policy.HASH_QUEUE_LIMIT, article=True)
    assert BUSY.endswith(f"Please try again in {limit}.")
    assert fmt("en", auth.SIGN_IN_WAITING, **auth.WAITING_PARAMS).endswith(
        f"this can take up to {limit}.")
    assert NOTICE < LIMIT


# --- (b) a sign-in past the limit -----------------------------------------------------


def test_a_sign_in_past_the_limit_is_refused_at_once_and_writes_nothing(db, crowd):
    user = make_user(db, email="jane@example.org")
    crowd.fill_past_the_limit()
    state = _tab(SignInState)
    started = time.monotonic()
    # The right password: it was never checked, so it can't be let in (or counted as wrong).
    events = _run(SignInState.submit.fn(state, {"email": user.email, "password": PASSWORD}))
    assert time.monotonic() - started < 5  # not queued behind the crowd (held for 30 s)
    assert (state.error, state.error_field) == (BUSY, "")  # over the form
    assert not state.busy and state.waiting == "" and state.pause_seconds == 0
    assert state.navigate_to == ""
    assert not any("_set_value" in name for name in _names(events))  # the password stays typed
    db.expire_all()
    assert db.exec(select(UserSession)).all() == []
    assert db.exec(select(SignInTicket)).all() == []
    assert db.exec(select(SignInFailure)).all() == []  # not a failed guess
    assert db.exec(select(AuditEvent)).all() == []  # not even looked up


def test_a_refused_sign_in_is_not_logged_as_a_crash(db, crowd, caplog):
    crowd.fill_past_the_limit()
    state = _tab(SignInState)
    with caplog.at_level(logging.ERROR):
        _run(SignInState.submit.fn(state, {"email": "nobody@example.org", "password": "Anything-11!"}))
    assert state.error == BUSY and state.error != SOMETHING_WRONG
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# --- (c) a sign-in that waits -----------------------------------------------------------


def test_a_long_wait_is_said_while_it_waits_and_the_sign_in_then_completes(db, crowd):
    user = make_user(db, email="jane@example.org")
    crowd.fill_to(NOTICE + 5)
    assert NOTICE < security.bcrypt_wait_estimate() <= LIMIT
    state = _tab(SignInState)
    seen = {}

    def while_waiting():
        seen.update(waiting=state.waiting, busy=state.busy, delta=str(state.get_delta()))
        crowd.release()  # the people ahead are served; then this sign-in's turn comes

    _run(SignInState.submit.fn(state, {"email": user.email, "password": PASSWORD}),
         after_first_yield=while_waiting)
    waiting = fmt("en", auth.SIGN_IN_WAITING, **auth.WAITING_PARAMS)
    assert seen["waiting"] == waiting and seen["busy"]
    assert waiting in seen["delta"]  # sent with the first yield
    assert state.waiting == "" and state.error == ""
    assert state.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")
    db.expire_all()
    assert len(db.exec(select(UserSession).where(UserSession.user_id == user.id)).all()) == 1


def test_a_short_queue_says_nothing_extra(db):
    user = make_user(db, email="jane@example.org")
    assert security.bcrypt_wait_estimate() <= NOTICE
    state = _tab(SignInState)
    seen = {}
    _run(SignInState.submit.fn(state, {"email": user.email, "password": PASSWORD}),
         after_first_yield=lambda: seen.update(waiting=state.waiting))
    assert seen == {"waiting": ""}
    assert state.navigate_to.startswith(routes.AUTH_SESSION + "?ticket=")


# --- (d) the count comes back to zero ----------------------------------------------------


def test_the_count_returns_to_zero_after_jobs_end_raise_or_are_cancelled(crowd):
    def broken():
        raise ValueError("a hash that failed")

    with pytest.raises(ValueError):
        asyncio.run(security.run_in_bcrypt_pool(broken))
    assert security.bcrypt_queue()[0] == 0

    assert crowd.join(THREADS) == 0  # every thread busy
    ran = []

    async def leave_while_queued():
        job = asyncio.ensure_future(security.run_in_bcrypt_pool(ran.append, "hashed"))
        await asyncio.sleep(0)
        assert security.bcrypt_queue()[0] == THREADS + 1
        job.cancel()  # the tab closed while its sign-in waited
        with pytest.raises(asyncio.CancelledError):
            await job

    asyncio.run(leave_while_queued())
    assert security.bcrypt_queue()[0] == THREADS
    crowd.finish()
    assert security.bcrypt_queue()[0] == 0
    assert ran == []  # the cancelled job never ran


# --- the other forms that hash ---------------------------------------------------------------


def test_registration_past_the_limit_refuses_calmly_before_the_link_is_looked_at(db, crowd):
    crowd.fill_past_the_limit()
    state = _tab(RegisterState)
    state._token = "not-a-real-link"  # never looked up: refused first
    state.view = "form"
    _run(RegisterState.submit.fn(state, {"email": "mike@example.com", "password": PASSWORD,
                                         "confirm_password": PASSWORD, "terms": "on"}))
    assert (state.error, state.error_field, state.view) == (BUSY, "", "form")
    assert not state.busy


def test_a_password_reset_past_the_limit_refuses_calmly_and_keeps_the_link(db, crowd):
    accounts.create_user(db, email="mike.jones@example.com", full_name="Mike Jones",
                         password="Orange-Kettle-Violin-97", clock=utcnow)
    resets.request_password_reset(db, "mike.jones@example.com", clock=utcnow)
    db.commit()
    token = token_in(emails_to(db, "mike.jones@example.com")[-1])
    crowd.fill_past_the_limit()
    state = _tab(ResetPasswordState)
    state._token = token
    state.view = "form"
    _run(ResetPasswordState.submit.fn(state, {"password": "Zebra-Lamp-Cactus-42",
                                              "confirm_password": "Zebra-Lamp-Cactus-42"}))
    assert (state.error, state.error_field, state.view) == (BUSY, "", "form")
    crowd.finish()
    db.expire_all()
    assert resets.inspect_reset(db, token, clock=utcnow).used_at is None  # still usable


def test_a_password_change_past_the_limit_refuses_calmly(db, crowd):
    user = patient_user(db, make_patient(db))
    browser = Browser("queue")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(routes.SETTINGS)
    crowd.fill_past_the_limit()
    tab.call(SettingsState, "change_password", form={
        "current_password": PASSWORD, "new_password": "Zebra-Lamp-Cactus-42",
        "confirm_new_password": "Zebra-Lamp-Cactus-42"})
    page = tab.state(SettingsState)
    assert page.password_error == BUSY and not page.busy
    assert browser.token and tab.session_state.signed_in  # still signed in, nothing changed
    db.expire_all()
    assert db.exec(select(SignInFailure)).all() == []
