"""CareSpace under load, over Reflex's real event channel, next to a bare Reflex app.

    python benchmarks/load.py                      # the original parts (about 25 minutes)
    python benchmarks/load.py --only bare,portal   # some parts: bare portal signin big scale redis
                                                   # checklist floor mixed capacity
    python benchmarks/load.py --sessions 200 --duration 60 --think 5

Each simulated tab is a signed-in browser tab (benchmarks/wsclient.py speaks the
frames Chromium sends): it loads the inbox, opens a conversation, goes to the labs
tab, back to the inbox, starts a message and sends it (and lands on the new
conversation's page), pausing --think seconds (0.5x-1.5x at random) between clicks.
As the page does, a click carries a stay_signed_in at most every --activity-every
seconds (30); the page no longer polls, so no idle ticks unless --idle-poll SECONDS
(10 reproduces the old page against the old code). Every round trip is timed from the
emit to the delta the user waits for.

Parts:
  bare    the framework's floor: benchmarks/bare_app (one state, one trivial event,
          one Radix page) with the same number of tabs clicking its button
  portal  CareSpace (SQLite, one worker) with --sessions signed-in tabs
  signin  the same, while --signin-rate real sign-ins per second (the sign-in page's
          event, bcrypt cost 12) arrive; everyone else's p95 with vs without, and the
          sign-ins by outcome: completed, refused early ("... try again in a minute"),
          told to wait ("... this can take up to a minute"), errors
  big     opening the inbox and the labs tab for a patient with 10,000 conversations
          and lab results vs one with 10 (one tab, sequential, on an idle server)
  scale   PostgreSQL + Redis: event throughput with GRANIAN_WORKERS=1 vs 2
          (closed loop, no think time)
  redis   Redis memory per 1,000 sessions (state of 1,000 tabs that opened the inbox)
  checklist  --checklist-tabs signed-in tabs (think --checklist-think) alone, then while
          --checklist-sockets anonymous sockets on /register send the password checklist
          the worst input, each as fast as the server answers; the tabs' click p95 with vs
          without, the frames answered and dropped ("Please slow down"), the server's CPU.
          Variants (--checklist-variants): loopback (everyone 127.0.0.1, as served),
          one (behind a trusted proxy: the sockets share one address, the patients each
          have theirs), each (every socket its own address: only the per-tab budget holds it)

Issue #14's parts (closed loop: a client's next click goes as soon as the answer to its
last one arrives; each client takes turns over several signed-in tabs, none clicked more
than --max-tab-rate times a second, so the event budget never drops one; a dropped or
unanswered click makes the figure invalid and is printed):
  floor   at each of --floor-clients: the bare app's trivial event vs CareSpace opening
          the Labs tab (SQLite, one process; --floor-tabs tabs); then, at one client, Home,
          the inbox, a conversation, Labs and a lab history; p50/p95, events/s and the
          ratios against the targets
  mixed   the portal round, --mixed-tabs clients over --mixed-tabs x --mixed-rotate tabs,
          --duration s, on SQLite (one process) then PostgreSQL + Redis (one worker);
          events/s per process and their ratio, and per event: Redis commands, bytes and
          time, PostgreSQL commits and rows, backends waiting on locks
  capacity  tabs left open, a click every --capacity-think s (5-15, uniform), added in
          --capacity-steps, each measured --capacity-duration s; stops after the first step
          where a click kind's p95 is over --capacity-p95-ms or anything failed; on
          --capacity-backends (SQLite; PostgreSQL + Redis with --capacity-pg-workers)

Prints a table per part and writes benchmarks/results/load-<time>.json.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import random
import re
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CARESPACE_SECRET_KEY", "benchmark-only")

from benchmarks import seed, serve  # noqa: E402
from benchmarks.wsclient import HYDRATED, ON_LOAD, Tab, has, redirected_to, var  # noqa: E402
from carespace_app import routes  # noqa: E402
from carespace_app.components.idle import ACTIVITY_SECONDS  # noqa: E402
from carespace_app.event_budget import SLOW_DOWN  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BARE_STATE = "reflex___state____state.bare_app___bare_app____bare_state"


def _names():
    from carespace_app.state.auth import SignInState
    from carespace_app.state.register import RegisterState
    from carespace_app.state.labs import LabsState
    from carespace_app.state.messages import MessagesState
    from carespace_app.state.session import SessionState

    return {"messages": MessagesState.get_full_name(), "session": SessionState.get_full_name(),
            "sign_in": SignInState.get_full_name(), "register": RegisterState.get_full_name(),
            "labs": LabsState.get_full_name()}


def boot_of(web: Path) -> tuple[list[str], str]:
    """The hydrate's state hashes and the state schema the built page sends."""
    text = (web / "utils" / "context.jsx").read_text()
    hashes = json.loads(re.search(r"initialStateHashes = (\[[^\]]*\])", text).group(1))
    schema = re.search(r'stateSchema = "([^"]+)"', text).group(1)
    return hashes, schema


_T0 = time.perf_counter()


def note(text: str) -> None:
    print(f"[{time.perf_counter() - _T0:6.0f}s] {text}", flush=True)


# --- statistics -------------------------------------------------------------------


@dataclass
class Samples:
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    warmup_errors: dict[str, int] = field(default_factory=dict)  # closed-loop parts: before the window
    started: float = 0.0
    stopped: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        self.by_kind.setdefault(kind, []).append(seconds)

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1

    def all(self, exclude=("open",)) -> list[float]:
        return [s for k, v in self.by_kind.items() if k not in exclude for s in v]


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    return {"n": len(values), "p50_ms": pct(values, 50) * 1000, "p95_ms": pct(values, 95) * 1000,
            "p99_ms": pct(values, 99) * 1000, "max_ms": (max(values) if values else float("nan")) * 1000}


def table(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    print(f"  {'round trip':<28}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, s in rows:
        print(f"  {name:<28}{s['n']:>7}{s['p50_ms']:>10.1f}{s['p95_ms']:>10.1f}{s['p99_ms']:>10.1f}"
              f"{s['max_ms']:>10.1f}")


def report(samples: Samples, title: str) -> dict:
    kinds = sorted(samples.by_kind)
    rows = [(k, summary(samples.by_kind[k])) for k in kinds]
    rows.append(("ALL EVENTS (not open)", summary(samples.all())))
    table(title, rows)
    seconds = max(1e-9, samples.stopped - samples.started)
    rate = len(samples.all()) / seconds
    print(f"  events/s (measured window): {rate:.1f}   errors: {samples.errors or 'none'}")
    return {"kinds": dict(rows), "events_per_s": rate, "errors": samples.errors}


# --- tabs ---------------------------------------------------------------------------


class Clock:
    """The measured window: samples count only between warm-up and the end."""

    def __init__(self, warmup: float, duration: float):
        self.start = time.perf_counter() + warmup
        self.end = self.start + duration

    def measuring(self) -> bool:
        now = time.perf_counter()
        return self.start <= now < self.end

    def over(self) -> bool:
        return time.perf_counter() >= self.end


async def _think(think: float) -> None:
    if think > 0:
        await asyncio.sleep(think * random.uniform(0.5, 1.5))


async def _idle_ticks(tab: Tab, session_state: str, every: float, over) -> None:
    """The old page's idle guard: check_idle every ``every`` seconds (--idle-poll; the
    page no longer polls, so 0, the default, sends none). ``over()``: time to stop."""
    await asyncio.sleep(random.uniform(0, every))
    while not over() and not tab.closed:
        tab.emit(f"{session_state}.check_idle", {})
        await asyncio.sleep(every)


class Activity:
    """What the page's idle timer sends on a press (components/idle.py): stay_signed_in,
    at most once every ``every`` seconds (0: never). Sent just before the click it rides
    on, not timed; the click's answer may wait behind it, as in the browser."""

    def __init__(self, every: float):
        self.every = every
        self.last = -float("inf")

    def press(self, tab: Tab, names) -> None:
        now = time.perf_counter()
        if self.every > 0 and now - self.last >= self.every:
            self.last = now
            tab.emit(f"{names['session']}.stay_signed_in", {})


# The event budget's answer to a dropped event (carespace_app/event_budget.py), at most
# once every few seconds per tab; the drops in between get no answer at all.
SLOWED = has("flash", lambda v: isinstance(v, dict) and v.get("text") == SLOW_DOWN)
DROPPED = "dropped (Please slow down)"


class Dropped(Exception):
    """The server answered a click with "Please slow down"."""


class NoAnswer(Exception):
    """No answer within the click's timeout (a silently dropped event, or a stuck server)."""


# The portal tab's round (portal, signin, checklist, mixed, capacity) and the pages the
# issue names, one after the other (floor at one client).
PORTAL_CYCLE = ("thread", "labs", "inbox", "compose", "send")
PAGES_CYCLE = ("home", "inbox", "thread", "labs", "history")
PAGE_PATHS = {"home": routes.HOME + "/", "inbox": routes.MESSAGES + "/", "labs": routes.LABS + "/"}


async def click(tab: Tab, names, person: seed.Person, kind: str, step: int, timeout: float) -> float:
    """One click of ``kind`` in a signed-in tab; seconds until the delta the user waits for.
    Dropped when the server says "Please slow down", NoAnswer when nothing comes in time."""

    async def call(name, payload, done):
        try:
            seconds, delta = await tab.call(name, payload, lambda d: SLOWED(d) or done(d), timeout)
        except asyncio.TimeoutError:
            raise NoAnswer() from None
        if SLOWED(delta):
            raise Dropped()
        return seconds, delta

    messages = names["messages"]
    if kind in PAGE_PATHS:  # an in-app link: the router's on_load for the new path
        tab.path = PAGE_PATHS[kind]
        seconds, _ = await call(ON_LOAD, {}, HYDRATED)
    elif kind == "thread":
        thread = random.choice(person.thread_ids)
        seconds, _ = await call(f"{messages}.open_thread", {"thread_id": str(thread)},
                                has("thread_messages", bool))
    elif kind == "compose":
        seconds, _ = await call(f"{messages}.start_compose", {}, has("compose_open", lambda v: v is True))
    elif kind == "send":  # after compose: sent, the page goes to the new conversation's address
        form = {"category": "Other", "subject": f"Load test {step}",
                "body": "A question about my results from the load test."}
        seconds, delta = await call(f"{messages}.send_message", {"form": form},
                                    lambda d: bool(redirected_to(d)) or has("compose_error", bool)(d))
        if has("compose_error", bool)(delta):
            raise RuntimeError(var(delta, "compose_error"))
        tab.path = redirected_to(delta)  # the router's push: the new page's on_load, then hydrated
        landed, _ = await call(ON_LOAD, {}, HYDRATED)
        seconds += landed
    elif kind == "history":  # a lab test's history (LabsState.show_history), on the labs page
        seconds, delta = await call(f"{names['labs']}.show_history", {"test_name": seed.LAB_TEST},
                                    lambda d: has("history_open", lambda v: v is True)(d)
                                    or has("history_error", bool)(d))
        if has("history_error", bool)(delta):
            raise RuntimeError(var(delta, "history_error"))
    else:
        raise ValueError(kind)
    return seconds


def address_of(n: int) -> str:
    """A client address of its own for person ``n`` (servers started with one trusted proxy
    hop read it from X-Forwarded-For): many people, many addresses, as in production."""
    n += 1
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


async def portal_tab(server, boot, names, person: seed.Person, clock: Clock, samples: Samples,
                     think: float, ramp: float, *, click_timeout: float = 60.0,
                     forwarded_for: str = "", idle_poll: float = 0.0,
                     activity_every: float = 0.0) -> None:
    """One signed-in tab going round inbox → conversation → labs → inbox → send.

    A click the event budget drops counts as an error: "dropped (Please slow down)", or
    the click's own kind when no answer came within ``click_timeout``."""
    await asyncio.sleep(random.uniform(0, ramp))
    tab = Tab(server.base_url, cookie=f"{routes.SESSION_COOKIE}={person.token}",
              headers=[("x-forwarded-for", forwarded_for)] if forwarded_for else None)
    ticks = None
    step = 0
    activity = Activity(activity_every)

    def timed(kind: str, seconds: float) -> None:
        if clock.measuring():
            samples.add(kind, seconds)

    try:
        timed("open", await tab.open(routes.MESSAGES + "/", *boot))
        if idle_poll > 0:
            ticks = asyncio.create_task(_idle_ticks(tab, names["session"], idle_poll, clock.over))
        while not clock.over():
            await _think(think)
            kind = PORTAL_CYCLE[step % len(PORTAL_CYCLE)]
            try:
                activity.press(tab, names)
                timed(kind, await click(tab, names, person, kind, step, click_timeout))
            except Dropped:
                if clock.measuring():
                    samples.error(DROPPED)
            except Exception:
                if clock.measuring():
                    samples.error(kind)
                if tab.closed:
                    break
            step += 1
    except Exception as exc:
        samples.error(f"open ({type(exc).__name__}: {str(exc)[:60]})")
    finally:
        if ticks:
            ticks.cancel()
        await tab.close()


async def bare_tab(server, boot, clock: Clock, samples: Samples, think: float, ramp: float) -> None:
    await asyncio.sleep(random.uniform(0, ramp))
    tab = Tab(server.base_url)
    try:
        seconds = await tab.open("/", *boot)
        if clock.measuring():
            samples.add("open", seconds)
        while not clock.over():
            await _think(think)
            try:
                seconds, _ = await tab.call(f"{BARE_STATE}.bump", {}, has("count"))
                if clock.measuring():
                    samples.add("bump", seconds)
            except Exception:
                if clock.measuring():
                    samples.error("bump")
                if tab.closed:
                    break
    except Exception as exc:
        samples.error(f"open ({type(exc).__name__}: {str(exc)[:60]})")
    finally:
        await tab.close()


# What the sign-in page says while a sign-in waits its turn for password hashing, and when
# it refuses one at once because the queue is longer than a minute (issue #14). Matched as
# substrings of any var of any delta; "Something went wrong ... try again in a minute" is
# an error, not a refusal.
SIGN_IN_WAITING_WORDS = "this can take up to a minute"
SIGN_IN_REFUSED_WORDS = "try again in a minute"


def _texts(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


def says(delta, words: str) -> bool:
    """Whether any var in ``delta`` (strings inside dicts and lists too) contains ``words``."""
    return any(words in text for text in _texts(delta))


def refused_early(delta) -> bool:
    from carespace_app.state.session import SOMETHING_WRONG

    return any(SIGN_IN_REFUSED_WORDS in text and SOMETHING_WRONG not in text for text in _texts(delta))


async def sign_in_storm(server, boot, names, emails: list[str], rate: float, clock: Clock,
                        samples: Samples) -> None:
    """Open-loop arrivals: every 1/rate s someone loads the sign-in page and signs in.

    Each arrival inside the measured window counts once, by how it ended (timed from the
    page load): "completed" (the ticket's navigation), "refused early" (the page said
    "... try again in a minute" instead of waiting), or an error; and, whatever the end,
    "waited" when the page said "... this can take up to a minute" on the way. Arrivals
    start at once (the queue builds during the warm-up); those of the window are waited
    for after it."""
    from carespace_app.http import SIGN_IN_NONCE_COOKIE

    sign_in = names["sign_in"]
    tasks = set()

    def ended(d) -> bool:
        return (has("navigate_to", bool)(d) or has("error", bool)(d) or refused_early(d))

    async def one(email: str) -> None:
        waited = False

        def heard(delta) -> None:
            nonlocal waited
            waited = waited or says(delta, SIGN_IN_WAITING_WORDS)

        # The browser has the sign-in nonce cookie from the page's HTML (http.py sets it);
        # the ticket is bound to it and the submit refuses a socket without one.
        tab = Tab(server.base_url, cookie=f"{SIGN_IN_NONCE_COOKIE}={uuid.uuid4().hex}", on_delta=heard)
        began = time.perf_counter()
        counted = clock.measuring()
        try:
            await tab.open(routes.SIGN_IN, *boot)
            _, delta = await tab.call(f"{sign_in}.submit", {"form": {"email": email, "password": seed.PASSWORD}},
                                      ended, timeout=150)
            seconds = time.perf_counter() - began
            if has("navigate_to", lambda v: "ticket=" in v)(delta):
                outcome = "completed"
            elif refused_early(delta):
                outcome = "refused early"
            else:
                raise RuntimeError(f"sign-in refused: {delta}")
            if counted:
                samples.add(outcome, seconds)
                if waited:
                    samples.add("waited", seconds)
                    samples.add(f"waited, then {outcome}", seconds)
        except Exception as exc:
            if counted:
                samples.error(f"sign-in ({type(exc).__name__})")
                if waited:
                    samples.add("waited", time.perf_counter() - began)
        finally:
            await tab.close()

    n = 0
    next_at = time.perf_counter()
    while not clock.over():
        task = asyncio.create_task(one(emails[n % len(emails)]))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        n += 1
        next_at += 1.0 / rate
        await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
    if tasks:
        await asyncio.wait(tasks, timeout=180)


async def run_portal(server, boot, names, people, *, duration, think, warmup, ramp,
                     storm: tuple[list[str], float] | None = None, idle_poll: float = 0.0,
                     activity_every: float = 0.0) -> Samples:
    samples = Samples()
    clock = Clock(warmup, duration)
    jobs = [portal_tab(server, boot, names, p, clock, samples, think, ramp, idle_poll=idle_poll,
                       activity_every=activity_every) for p in people]
    storm_samples = Samples()
    if storm:
        jobs.append(sign_in_storm(server, boot, names, storm[0], storm[1], clock, storm_samples))
    samples.started, samples.stopped = clock.start, clock.end
    storm_samples.started, storm_samples.stopped = clock.start, clock.end
    await asyncio.gather(*jobs)
    samples.storm = storm_samples  # type: ignore[attr-defined]
    return samples


# --- the password checklist flood ------------------------------------------------------

# The checklist's worst input: many distinct characters of zxcvbn's look-alike table, 72
# of them (bcrypt's limit); zxcvbn took about 2 s of CPU on it here ("l1I|" * 18 took
# 0.02 s). The same string as tests/security/live/test_checklist_cost.py.
CHECKLIST_WORST = ("4@8({[<369!1|7+0$5%2" * 4)[:72]
CHECKLIST_VARIANTS = ("loopback", "one", "each")


@dataclass
class Flood:
    """What the anonymous sockets sent and got back inside the measured window."""
    sent: int = 0
    answered: int = 0   # the checklist came back (its `rules`)
    told: int = 0       # "Please slow down"
    other: int = 0      # any other delta
    open_failures: int = 0

    def dropped(self) -> int:
        return max(0, self.sent - self.answered)


async def checklist_socket(base_url: str, boot, register_state: str, clock: Clock, flood: Flood, *,
                           forwarded_for: str, wait: float, start_at: float) -> None:
    """A stranger's socket on the registration page (its own client token, any link token)
    sending the checklist the worst input, the next frame as soon as an answer comes
    back, or after ``wait`` seconds when none does (a dropped frame gets no answer)."""
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    heard = asyncio.Event()

    def on_delta(delta) -> None:
        if clock.measuring():
            if has("rules")(delta):
                flood.answered += 1
            elif SLOWED(delta):
                flood.told += 1
            else:
                flood.other += 1
        heard.set()

    name = f"{register_state}.check_password"
    payload = {"value": {"password": CHECKLIST_WORST, "email": "someone@example.com"}}
    headers = [("x-forwarded-for", forwarded_for)] if forwarded_for else None
    tab = None
    while not clock.over():  # the page load itself can be dropped: try again
        tab = Tab(base_url, headers=headers, on_delta=on_delta)
        try:
            await tab.open(f"{routes.REGISTER}/?token={uuid.uuid4().hex}", *boot, timeout=5.0)
            break
        except Exception:
            flood.open_failures += 1
            await tab.close()
            tab = None
    try:
        while tab is not None and not clock.over() and not tab.closed:
            heard.clear()
            tab.emit(name, payload)
            if clock.measuring():
                flood.sent += 1
            try:
                await asyncio.wait_for(heard.wait(), wait)
            except asyncio.TimeoutError:
                pass
        await asyncio.sleep(0.5)  # the last answers
    except Exception:
        pass
    finally:
        if tab is not None:
            await tab.close()


def checklist_flood(base_url: str, boot, register_state: str, window: tuple[float, float], start_at: float,
                    variant: str, sockets: int, wait: float, results) -> None:
    """The anonymous sockets, in a process of their own (started with multiprocessing's
    spawn): the signed-in tabs' timings in the parent then never wait behind the flood's
    frames in one event loop. Puts the Flood's counts and the process's cores busy inside
    the window (``window``: perf_counter times, the same monotonic clock in every process)."""
    import resource

    clock = Clock(0.0, 0.0)
    clock.start, clock.end = window
    flood = Flood()

    def own_cpu() -> float:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime

    async def cpu_window() -> float:
        await asyncio.sleep(max(0.0, clock.start - time.perf_counter()))
        before = own_cpu()
        await asyncio.sleep(max(0.0, clock.end - time.perf_counter()))
        return (own_cpu() - before) / max(1e-9, clock.end - clock.start)

    async def main() -> float:
        cpu = asyncio.ensure_future(cpu_window())
        addresses = {"loopback": lambda n: "", "one": lambda n: "203.0.113.7",
                     "each": lambda n: f"203.0.113.{10 + n % 240}"}[variant]
        await asyncio.gather(*[checklist_socket(base_url, boot, register_state, clock, flood,
                                                forwarded_for=addresses(n), wait=wait, start_at=start_at)
                               for n in range(sockets)])
        return await cpu

    cores = asyncio.run(main())
    results.put({**flood.__dict__, "cores": cores})


async def _cpu_window(server, clock: Clock) -> dict:
    """Cores used inside the measured window (cpu_seconds at its start and its end)."""
    await asyncio.sleep(max(0.0, clock.start - time.perf_counter()))
    before = cpu_seconds(server)
    await asyncio.sleep(max(0.0, clock.end - time.perf_counter()))
    return cores_used(before, cpu_seconds(server))


async def checklist_phase(server, boot, names, people, *, variant: str | None, sockets: int,
                          duration: float, warmup: float, think: float, wait: float,
                          patients_forwarded: bool, idle_poll: float = 0.0,
                          activity_every: float = 0.0) -> tuple[Samples, Flood, dict]:
    """The signed-in tabs for ``duration`` measured seconds; with ``variant``, the
    anonymous sockets too (they start once the tabs are open, and have spent their
    bursts before the window opens)."""
    samples, flood = Samples(), Flood()
    clock = Clock(warmup, duration)
    samples.started, samples.stopped = clock.start, clock.end
    ramp = min(3.0, warmup / 3)
    jobs = [portal_tab(server, boot, names, p, clock, samples, think, ramp, click_timeout=5.0,
                       forwarded_for=f"198.51.100.{1 + n % 250}" if patients_forwarded else "",
                       idle_poll=idle_poll, activity_every=activity_every)
            for n, p in enumerate(people)]
    flooder = None
    if variant:
        import multiprocessing

        spawn = multiprocessing.get_context("spawn")
        results = spawn.Queue()
        flooder = spawn.Process(target=checklist_flood, daemon=True, args=(
            server.base_url, boot, names["register"], (clock.start, clock.end),
            time.perf_counter() + ramp + 1.0, variant, sockets, wait, results))
        flooder.start()
    cpu = asyncio.ensure_future(_cpu_window(server, clock))
    await asyncio.gather(*jobs)
    cores = await cpu
    if flooder is not None:
        got = await asyncio.to_thread(results.get, True, 60)
        await asyncio.to_thread(flooder.join, 10)
        cores["flood"] = got.pop("cores")
        cores["rest"] -= cores["flood"]
        flood = Flood(**got)
    return samples, flood, cores


def _merge(into: Samples, more: Samples, into_flood: Flood, more_flood: Flood) -> None:
    for kind, values in more.by_kind.items():
        into.by_kind.setdefault(kind, []).extend(values)
    for kind, count in more.errors.items():
        into.errors[kind] = into.errors.get(kind, 0) + count
    into.stopped += more.stopped - more.started  # measured seconds, summed
    for name in ("sent", "answered", "told", "other", "open_failures"):
        setattr(into_flood, name, getattr(into_flood, name) + getattr(more_flood, name))


def run_checklist(args, db_url: str, mailbox, tmp: Path, names) -> dict:
    """The checklist part: per server (as served; behind one trusted proxy), the tabs
    alone and under each variant's flood, taking turns over --checklist-rounds rounds."""
    variants = [v for v in args.checklist_variants.split(",") if v]
    unknown = set(variants) - set(CHECKLIST_VARIANTS)
    if unknown:
        raise SystemExit(f"--checklist-variants: unknown {sorted(unknown)} (known: {CHECKLIST_VARIANTS})")
    note(f"seeding {args.checklist_tabs} signed-in patients")
    people = seed.make_people(db_url, args.checklist_tabs, items=10)
    segment = args.duration / args.checklist_rounds
    out: dict = {"worst_input_chars": len(CHECKLIST_WORST), "segment_s": segment}
    servers = [(0, [v for v in variants if v == "loopback"]), (1, [v for v in variants if v != "loopback"])]
    for hops, attacks in servers:
        if not attacks:
            continue
        env = {"CARESPACE_TRUSTED_PROXY_HOPS": str(hops)}
        alone_key = "alone" if hops == 0 else "alone (proxy)"
        app_source = (Path(__file__).resolve().parents[1] / "carespace_app" / "carespace_app.py").read_text()
        wired = "add_middleware(EventBudgetMiddleware" in app_source
        out[f"event_budget_wired_hops{hops}"] = wired
        note(f"starting CareSpace (SQLite, 1 worker, CARESPACE_TRUSTED_PROXY_HOPS={hops}); the event "
             f"budget is {'wired' if wired else 'NOT wired'} in carespace_app.py")
        people = seed.new_tokens(db_url, people)
        with serve.carespace(db_url, mailbox, tmp / f"checklist{hops}", **env) as server:
            boot = boot_of(tmp / f"checklist{hops}" / "app" / ".web")
            pooled: dict[str, tuple[Samples, Flood, list[dict], list[float]]] = {}
            for round_ in range(args.checklist_rounds):
                for variant in [None, *attacks]:
                    key = variant or alone_key
                    note(f"round {round_ + 1}/{args.checklist_rounds}: {key} "
                         f"(load average {os.getloadavg()[0]:.2f})")
                    samples, flood, cores = asyncio.run(checklist_phase(
                        server, boot, names, people, variant=variant, sockets=args.checklist_sockets,
                        duration=segment, warmup=args.checklist_warmup, think=args.checklist_think,
                        wait=args.checklist_wait, patients_forwarded=hops > 0, idle_poll=args.idle_poll,
                        activity_every=args.activity_every))
                    total, total_flood, all_cores, p95s = pooled.setdefault(key, (Samples(), Flood(), [], []))
                    _merge(total, samples, total_flood, flood)
                    all_cores.append(cores)
                    p95s.append(pct(samples.all(), 95) * 1000)
            for key, (samples, flood, all_cores, p95s) in pooled.items():
                seconds = segment * len(all_cores)
                title = (f"CHECKLIST PART, {key}: {args.checklist_tabs} signed-in tabs, think "
                         f"{args.checklist_think}s" + ("" if key.startswith("alone") else
                                                       f", + {args.checklist_sockets} anonymous sockets"))
                row = report(samples, title)
                cores = {k: sum(c.get(k, 0.0) for c in all_cores) / len(all_cores) for k in all_cores[0]}
                row["cores"] = cores
                row["measured_s"] = seconds
                row["rounds"] = [{"p95_ms": p, "rest_cores": c["rest"]} for p, c in zip(p95s, all_cores)]
                print("  by round: p95 " + " / ".join(f"{p:.1f}" for p in p95s) + " ms; rest of the machine "
                      + " / ".join(f"{c['rest']:.2f}" for c in all_cores) + " cores")
                flooding = f", the flood's sockets {cores['flood']:.2f}" if "flood" in cores else ""
                print(f"  cores busy: CareSpace {cores['server']:.2f}, the tabs' load generator "
                      f"{cores['load_generator']:.2f}{flooding}, rest of the machine {cores['rest']:.2f}; "
                      f"of {os.cpu_count()}")
                if not key.startswith("alone"):
                    row["flood"] = {"sent": flood.sent, "answered": flood.answered, "told": flood.told,
                                    "dropped": flood.dropped(), "other": flood.other,
                                    "open_failures": flood.open_failures,
                                    "sent_per_s": flood.sent / seconds,
                                    "answered_per_s": flood.answered / seconds}
                    print(f"  checklist frames: sent {flood.sent} ({flood.sent / seconds:.0f}/s), answered "
                          f"{flood.answered} ({flood.answered / seconds:.0f}/s), dropped {flood.dropped()} "
                          f"(\"Please slow down\" {flood.told} times); other deltas {flood.other}; "
                          f"page loads retried {flood.open_failures}")
                out[key] = row
    return out


async def run_bare(server, boot, n, *, duration, think, warmup, ramp) -> Samples:
    samples = Samples()
    clock = Clock(warmup, duration)
    samples.started, samples.stopped = clock.start, clock.end
    await asyncio.gather(*[bare_tab(server, boot, clock, samples, think, ramp) for _ in range(n)])
    return samples


async def open_pages(server, boot, people: dict[str, seed.Person], runs: int) -> dict[str, dict[str, list[float]]]:
    """One tab per person, nothing else running: the inbox and the labs tab opened ``runs``
    times each, the people taking turns, so both see the same server (a warm cache, a
    growing audit table and WAL) and the order of measuring cannot favour either."""
    tabs = {label: Tab(server.base_url, cookie=f"{routes.SESSION_COOKIE}={person.token}")
            for label, person in people.items()}
    out = {label: {"inbox": [], "labs": []} for label in people}
    try:
        for tab in tabs.values():
            await tab.open(routes.MESSAGES + "/", *boot)
            for _ in range(2):  # warm caches
                await tab.navigate(routes.LABS + "/")
                await tab.navigate(routes.MESSAGES + "/")
        for _ in range(runs):
            for label, tab in tabs.items():
                out[label]["labs"].append(await tab.navigate(routes.LABS + "/"))
                out[label]["inbox"].append(await tab.navigate(routes.MESSAGES + "/"))
    finally:
        for tab in tabs.values():
            await tab.close()
    return out


async def hydrate_many(server, boot, people, concurrency: int = 50) -> int:
    """Each person's tab opens the inbox once and closes: its state stays server-side."""
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(person):
        nonlocal done
        async with gate:
            tab = Tab(server.base_url, cookie=f"{routes.SESSION_COOKIE}={person.token}")
            try:
                await tab.open(routes.MESSAGES + "/", *boot)
                done += 1
            finally:
                await tab.close()

    await asyncio.gather(*[one(p) for p in people], return_exceptions=True)
    return done


def redis_bytes(url: str) -> tuple[int, int]:
    """(keys, bytes) of every key in the benchmark's Redis database (MEMORY USAGE)."""
    import redis

    client = redis.Redis.from_url(url)
    keys = total = 0
    for key in client.scan_iter(count=1000):
        keys += 1
        total += client.memory_usage(key, samples=0) or 0
    return keys, total


def flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


# --- issue #14: the floor, the mixed workload, capacity --------------------------------
#
# Closed loop: each client sends its next click as soon as the answer to the last one
# arrives. The event budget (carespace_app/event_budget.py: a tab 30 at once, then 10 a
# second) would drop a tab clicking that fast, so each closed-loop client takes turns over
# several signed-in tabs (each its own person, at an address of its own through one trusted
# proxy hop) and never clicks one tab more than --max-tab-rate times a second (a wait for
# that is counted as "paced"). A dropped click ("Please slow down") or one with no answer
# makes the figure invalid: it is counted and printed.

# The Redis database of the mixed and capacity parts (scale and redis use serve.REDIS_URL's),
# flushed before and after.
OWN_REDIS_URL = serve.REDIS_URL.rsplit("/", 1)[0] + "/12"


@dataclass
class Turn:
    """A tab a closed-loop client takes turns with."""
    tab: Tab
    person: seed.Person | None  # None: the bare app's tab
    step: int = 0
    last: float = -float("inf")


@dataclass
class Pacing:
    """Waits a closed-loop client made so that no tab goes over --max-tab-rate."""
    waits: int = 0
    seconds: float = 0.0


def deal(turns: list[Turn], clients: int) -> list[list[Turn]]:
    """The tabs dealt out to ``clients`` closed-loop clients, as evenly as they go."""
    return [group for group in (turns[n::clients] for n in range(clients)) if group]


async def open_tabs(server, boot, people: list, path: str, *, rate: float, timeout: float = 60.0,
                    concurrency: int = 50) -> tuple[list[Turn], list[float], int]:
    """A tab per person on ``path`` (None: a signed-out tab, the bare app's), ``rate`` a second;
    (the tabs that opened, their open times, how many failed)."""
    gate = asyncio.Semaphore(concurrency)
    began = time.perf_counter()
    times: list[float] = []
    failed = 0

    async def one(n: int, person) -> Turn | None:
        nonlocal failed
        await asyncio.sleep(max(0.0, began + n / rate - time.perf_counter()))
        async with gate:
            if person is None:
                tab = Tab(server.base_url)
            else:
                tab = Tab(server.base_url, cookie=f"{routes.SESSION_COOKIE}={person.token}",
                          headers=[("x-forwarded-for", address_of(person.user_id))])
            try:
                times.append(await tab.open(path, *boot, timeout=timeout))
                return Turn(tab, person)
            except Exception:
                failed += 1
                await tab.close()
                return None

    turns = await asyncio.gather(*[one(n, p) for n, p in enumerate(people)])
    return [t for t in turns if t is not None], times, failed


async def close_tabs(turns: list[Turn]) -> None:
    await asyncio.gather(*[t.tab.close() for t in turns], return_exceptions=True)


async def closed_phase(server, groups: list[list[Turn]], kind_of, do_click, *, warmup: float,
                       duration: float, gap: float, counters=None) -> tuple[Samples, dict, Pacing, dict]:
    """Every group is one closed-loop client taking turns over its tabs for ``warmup`` +
    ``duration`` seconds; only the answers inside the measured window count. ``counters``:
    an async function of the clock measuring something else over the same window."""
    samples, pacing = Samples(), Pacing()
    clock = Clock(warmup, duration)
    samples.started, samples.stopped = clock.start, clock.end

    async def client(turns: list[Turn]) -> None:
        turns = list(turns)
        n = 0
        while turns and not clock.over():
            turn = turns[n % len(turns)]
            n += 1
            wait = turn.last + gap - time.perf_counter()
            if wait > 0:
                if clock.measuring():
                    pacing.waits += 1
                    pacing.seconds += wait
                await asyncio.sleep(wait)
            turn.last = time.perf_counter()
            kind = kind_of(turn)
            began_in_window = clock.measuring()
            try:
                seconds = await do_click(turn, kind)
                if clock.measuring():
                    samples.add(kind, seconds)
            except Exception as exc:
                if isinstance(exc, Dropped):
                    what = DROPPED
                elif isinstance(exc, NoAnswer):
                    what = f"{kind}: no answer"
                else:
                    what = f"{kind} ({type(exc).__name__}: {str(exc)[:60]})"
                if clock.measuring() or began_in_window:
                    samples.error(what)
                elif not clock.over():
                    samples.warmup_errors[what] = samples.warmup_errors.get(what, 0) + 1
                if turn.tab.closed:
                    turns.remove(turn)
            turn.step += 1

    cpu = asyncio.ensure_future(_cpu_window(server, clock))
    measured = asyncio.ensure_future(counters(clock)) if counters else None
    await asyncio.gather(*[client(g) for g in groups])
    return samples, await cpu, pacing, (await measured if measured else {})


def not_answered(errors: dict) -> int:
    return sum(count for kind, count in errors.items() if kind == DROPPED or "no answer" in kind)


def loop_row(samples: Samples, cores: dict, pacing: Pacing, clients: int, tabs: int) -> dict:
    values = samples.all()
    seconds = max(1e-9, samples.stopped - samples.started)
    return {**summary(values), "clients": clients, "tabs": tabs, "events_per_s": len(values) / seconds,
            "kinds": {k: summary(v) for k, v in sorted(samples.by_kind.items())},
            "errors": dict(samples.errors), "warmup_errors": dict(samples.warmup_errors),
            "dropped": samples.errors.get(DROPPED, 0),
            "not_answered": not_answered(samples.errors), "cores": cores,
            "paced_waits": pacing.waits, "paced_s": pacing.seconds}


def loop_table(title: str, rows: list[tuple[str, dict]]) -> None:
    print(f"\n{title}")
    print(f"  {'':<34}{'clients':>8}{'tabs':>6}{'n':>8}{'events/s':>10}{'p50 ms':>8}{'p95 ms':>8}"
          f"{'p99 ms':>8}  {'cores srv/gen':>13}{'paced':>7}  errors")
    for name, r in rows:
        print(f"  {name:<34}{r['clients']:>8}{r['tabs']:>6}{r['n']:>8}{r['events_per_s']:>10.1f}"
              f"{r['p50_ms']:>8.2f}{r['p95_ms']:>8.2f}{r['p99_ms']:>8.2f}  "
              f"{r['cores']['server']:>6.2f}/{r['cores']['load_generator']:<6.2f}{r['paced_waits']:>7}  "
              f"{r['errors'] or 'none'}" + (f" (in the warm-up: {r['warmup_errors']})" if r["warmup_errors"] else ""))


async def bare_click(turn: Turn, kind: str, timeout: float) -> float:
    try:
        seconds, _ = await turn.tab.call(f"{BARE_STATE}.bump", {}, has("count"), timeout)
    except asyncio.TimeoutError:
        raise NoAnswer() from None
    return seconds


@dataclass
class Backend:
    """A CareSpace server of the issue #14 parts, with its database and seeded people."""
    name: str       # "sqlite" or "postgres"
    server: object
    db_url: str
    people: list
    boot: tuple
    redis_url: str | None
    workers: int

    @property
    def title(self) -> str:
        if self.name == "sqlite":
            return "SQLite, one process"
        return f"PostgreSQL + Redis, GRANIAN_WORKERS={self.workers}"


@contextlib.contextmanager
def carespace_backend(name: str, mailbox, folder: Path, people: int, *, workers: int = 1):
    """CareSpace on SQLite (one process, state in memory) or on PostgreSQL + Redis
    (``workers`` Granian workers), behind one trusted proxy hop (each person's tabs come
    from an address of their own), with ``people`` signed-in patients seeded (10
    conversations and 10 lab reports each)."""
    if name not in ("sqlite", "postgres"):
        raise SystemExit(f"unknown backend {name!r} (sqlite, postgres)")
    with serve.scratch_database("sqlite" if name == "sqlite" else "postgresql") as db_url:
        note(f"seeding {people} signed-in patients ({name})")
        began = time.perf_counter()
        seeded = seed.make_people(db_url, people, items=10)
        seed.analyze(db_url)
        note(f"seeded in {time.perf_counter() - began:.0f} s")
        env = {"CARESPACE_TRUSTED_PROXY_HOPS": "1", "GRANIAN_WORKERS": str(workers if name == "postgres" else 1)}
        redis_url = None
        if name == "postgres":
            redis_url = OWN_REDIS_URL
            flush_redis(redis_url)
            env["REFLEX_REDIS_URL"] = redis_url
        try:
            with serve.carespace(db_url, mailbox, folder, **env) as server:
                note(f"CareSpace up ({name})")
                yield Backend(name, server, db_url, seeded, boot_of(folder / "app" / ".web"), redis_url,
                              workers if name == "postgres" else 1)
        finally:
            if redis_url:
                flush_redis(redis_url)


# --- floor ---


def run_floor(args, mailbox, tmp: Path, names) -> dict:
    """Closed loop at each --floor-clients: the bare app's trivial event vs CareSpace
    opening the Labs tab; then, at one client, each page the issue names."""
    clients = sorted({int(c) for c in args.floor_clients.split(",") if c})
    gap = 1.0 / args.max_tab_rate
    out: dict = {"clients": clients, "bare": {}, "labs": {}}

    note("floor: starting the bare Reflex app")
    with serve.bare(tmp / "floor-bare") as bare_server:
        boot = boot_of(tmp / "floor-bare" / "bare" / ".web")

        async def bare_rows() -> None:
            turns, _, failed = await open_tabs(bare_server, boot, [None] * max(clients), "/", rate=args.open_rate)
            out["bare_open_failures"] = failed
            try:
                for c in clients:
                    note(f"floor: bare, {c} closed-loop client(s)")
                    samples, cores, pacing, _ = await closed_phase(
                        bare_server, deal(turns[:c], c), lambda t: "bump",
                        lambda t, k: bare_click(t, k, args.click_timeout),
                        warmup=args.floor_warmup, duration=args.floor_duration, gap=0.0)
                    out["bare"][c] = loop_row(samples, cores, pacing, c, min(c, len(turns)))
            finally:
                await close_tabs(turns)

        asyncio.run(bare_rows())

    tabs = max(args.floor_tabs, max(clients))
    with carespace_backend("sqlite", mailbox, tmp / "floor", tabs) as b:
        def do_click(turn: Turn, kind: str):
            return click(turn.tab, names, turn.person, kind, turn.step, args.click_timeout)

        async def carespace_rows() -> None:
            note(f"floor: opening {tabs} signed-in tabs on the Labs page")
            turns, _, failed = await open_tabs(b.server, b.boot, b.people, routes.LABS + "/", rate=args.open_rate)
            out["open_failures"] = failed
            try:
                for c in clients:
                    note(f"floor: CareSpace Labs tab, {c} closed-loop client(s) over {len(turns)} tabs")
                    samples, cores, pacing, _ = await closed_phase(
                        b.server, deal(turns, c), lambda t: "labs", do_click,
                        warmup=args.floor_warmup, duration=args.floor_duration, gap=gap)
                    out["labs"][c] = loop_row(samples, cores, pacing, c, len(turns))
                note("floor: each page at one client")
                for turn in turns:
                    turn.step = 0  # every tab goes home → inbox → a conversation → labs → a history
                samples, cores, pacing, _ = await closed_phase(
                    b.server, [turns], lambda t: PAGES_CYCLE[t.step % len(PAGES_CYCLE)], do_click,
                    warmup=args.floor_warmup, duration=args.floor_duration, gap=gap)
                out["pages"] = loop_row(samples, cores, pacing, 1, len(turns))
            finally:
                await close_tabs(turns)

        asyncio.run(carespace_rows())

    rows = []
    for c in clients:
        rows.append(("bare Reflex, one trivial event", out["bare"][c]))
        rows.append(("CareSpace, open the Labs tab", out["labs"][c]))
    loop_table(f"FLOOR: closed loop (next click as soon as the answer arrives), {args.floor_duration:g} s "
               f"measured per row; CareSpace on SQLite, one process; no tab over {args.max_tab_rate:g} clicks/s",
               rows)
    pages = out["pages"]
    bare_p50 = out["bare"][min(clients)]["p50_ms"]
    print(f"\n  each page at one client over {pages['tabs']} tabs (next to the bare event's p50 at "
          f"{min(clients)} client(s), {bare_p50:.2f} ms):")
    print(f"  {'page':<22}{'n':>7}{'p50 ms':>9}{'p95 ms':>9}{'p50 / bare p50':>16}")
    labels = {"home": "Home", "inbox": "Messages (inbox)", "thread": "a conversation",
              "labs": "Labs", "history": "a lab history"}
    for kind in PAGES_CYCLE:
        s = pages["kinds"].get(kind, summary([]))
        print(f"  {labels[kind]:<22}{s['n']:>7}{s['p50_ms']:>9.2f}{s['p95_ms']:>9.2f}{s['p50_ms'] / bare_p50:>15.2f}x")
    print(f"  errors: {pages['errors'] or 'none'}")
    lost = sum(r["not_answered"] for r in [*out["labs"].values(), pages]) + out["open_failures"]
    out["valid"] = lost == 0
    print(f"  dropped (\"Please slow down\") or unanswered CareSpace clicks: "
          f"{sum(r['dropped'] for r in [*out['labs'].values(), pages])} dropped, {lost} in all incl. tab opens "
          f"failed ({out['open_failures']})" + ("" if out["valid"] else "  => FIGURES INVALID"))
    if 1 in clients:
        out["ratio_open_p50"] = out["labs"][1]["p50_ms"] / out["bare"][1]["p50_ms"]
    top = max(clients)
    out["ratio_throughput"] = out["labs"][top]["events_per_s"] / out["bare"][top]["events_per_s"]
    return out


# --- mixed ---


def _postgres_conninfo(db_url: str) -> tuple[str, str]:
    """(a psycopg conninfo for the server's "postgres" database, the benchmark database's
    name): the counters are read from another database so reading them adds no commits."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    return (url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False),
            url.database)


def pg_counters(db_url: str) -> dict:
    import psycopg

    conninfo, name = _postgres_conninfo(db_url)
    fields = ("xact_commit", "xact_rollback", "tup_returned", "tup_fetched", "tup_inserted",
              "tup_updated", "tup_deleted", "numbackends")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(f"SELECT {', '.join(fields)} FROM pg_stat_database WHERE datname = %s",
                           (name,)).fetchone()
    return dict(zip(fields, row))


def pg_wait_sampler(db_url: str, stop, every: float = 0.25) -> dict:
    """Samples pg_stat_activity for the benchmark database until ``stop`` (a threading.Event):
    how often its backends were running, waiting on a lock (heavyweight) or an LWLock."""
    import psycopg

    conninfo, name = _postgres_conninfo(db_url)
    seen = {"samples": 0, "backends": 0, "active": 0, "lock": 0, "lwlock": 0, "idle_in_transaction": 0}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        while not stop.is_set():
            rows = conn.execute("SELECT state, wait_event_type FROM pg_stat_activity WHERE datname = %s",
                                (name,)).fetchall()
            seen["samples"] += 1
            seen["backends"] += len(rows)
            seen["active"] += sum(1 for state, _ in rows if state == "active")
            seen["lock"] += sum(1 for _, wait in rows if wait == "Lock")
            seen["lwlock"] += sum(1 for _, wait in rows if wait == "LWLock")
            seen["idle_in_transaction"] += sum(1 for state, _ in rows if state == "idle in transaction")
            stop.wait(every)
    return seen


def redis_counters(url: str) -> dict:
    """Server-wide Redis counters: bytes in and out, calls and microseconds per command, memory;
    and how many clients on other databases are connected (whose traffic would be counted too)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats, commands = client.info("stats"), client.info("commandstats")
        memory = client.info("memory")["used_memory"]
        own_db = client.connection_pool.connection_kwargs.get("db", 0)
        others = sum(1 for c in client.client_list() if int(c.get("db", 0)) != own_db)
    finally:
        client.close()
    return {"in": stats["total_net_input_bytes"], "out": stats["total_net_output_bytes"],
            "calls": {k.removeprefix("cmdstat_"): v["calls"] for k, v in commands.items()},
            "usec": {k.removeprefix("cmdstat_"): v["usec"] for k, v in commands.items()},
            "used_memory": memory, "other_clients": others}


def backend_counters(b: Backend):
    """An async function of a Clock: PostgreSQL's and Redis's counters over its window."""
    async def measure(clock: Clock) -> dict:
        import threading

        if b.name != "postgres":
            return {}
        await asyncio.sleep(max(0.0, clock.start - time.perf_counter()))
        pg0, redis0 = await asyncio.to_thread(pg_counters, b.db_url), await asyncio.to_thread(redis_counters, b.redis_url)
        stop = threading.Event()
        waits = asyncio.ensure_future(asyncio.to_thread(pg_wait_sampler, b.db_url, stop))
        await asyncio.sleep(max(0.0, clock.end - time.perf_counter()))
        pg1, redis1 = await asyncio.to_thread(pg_counters, b.db_url), await asyncio.to_thread(redis_counters, b.redis_url)
        stop.set()
        ignored = {"info", "client|list", "client", "select"}  # our own reading
        calls = {k: redis1["calls"][k] - redis0["calls"].get(k, 0) for k in redis1["calls"] if k not in ignored}
        usec = {k: redis1["usec"][k] - redis0["usec"].get(k, 0) for k in redis1["usec"] if k not in ignored}
        return {"pg": {k: pg1[k] - pg0[k] for k in pg1 if k != "numbackends"} | {"backends": pg1["numbackends"]},
                "pg_waits": await waits,
                "redis": {"in_bytes": redis1["in"] - redis0["in"], "out_bytes": redis1["out"] - redis0["out"],
                          "calls": {k: v for k, v in calls.items() if v}, "usec": {k: v for k, v in usec.items() if v},
                          "used_memory": redis1["used_memory"], "other_clients": redis1["other_clients"]}}
    return measure


def run_mixed(args, mailbox, tmp: Path, names) -> dict:
    """The portal round closed loop, on SQLite (one process) then PostgreSQL + Redis (one worker)."""
    gap = 1.0 / args.max_tab_rate
    tabs = args.mixed_tabs * args.mixed_rotate
    out: dict = {}
    for name in ("sqlite", "postgres"):
        with carespace_backend(name, mailbox, tmp / f"mixed-{name}", tabs, workers=1) as b:
            def do_click(turn: Turn, kind: str):
                return click(turn.tab, names, turn.person, kind, turn.step, args.click_timeout)

            async def phase():
                turns, _, failed = await open_tabs(b.server, b.boot, b.people, routes.MESSAGES + "/",
                                                   rate=args.open_rate)
                try:
                    note(f"mixed ({b.title}): {args.mixed_tabs} closed-loop clients over {len(turns)} tabs")
                    got = await closed_phase(b.server, deal(turns, args.mixed_tabs),
                                             lambda t: PORTAL_CYCLE[t.step % len(PORTAL_CYCLE)], do_click,
                                             warmup=args.mixed_warmup, duration=args.duration, gap=gap,
                                             counters=backend_counters(b))
                    return got, failed, len(turns)
                finally:
                    await close_tabs(turns)

            (samples, cores, pacing, counters), failed, opened = asyncio.run(phase())
            row = loop_row(samples, cores, pacing, args.mixed_tabs, opened)
            row["open_failures"] = failed
            row["workers"] = b.workers
            row["events_per_s_per_process"] = row["events_per_s"] / b.workers
            row["counters"] = counters
            row["load_avg"] = os.getloadavg()[0]
            out[name] = row
            report(samples, f"MIXED ({b.title}): {args.mixed_tabs} closed-loop clients taking turns over "
                            f"{opened} tabs, thread → labs → inbox → compose → send")
            print(f"  events/s per process: {row['events_per_s_per_process']:.1f}; cores busy: CareSpace "
                  f"{cores['server']:.2f}, load generator {cores['load_generator']:.2f}, rest (PostgreSQL, Redis, "
                  f"...) {cores['rest']:.2f}; paced waits {pacing.waits}; tab opens failed {failed}; "
                  f"not answered {row['not_answered']}; load average {row['load_avg']:.2f}"
                  + ("  => FIGURE INVALID" if row["not_answered"] or failed else ""))
            if counters:
                events = max(1, row["n"])
                redis_c, pg = counters["redis"], counters["pg"]
                total_calls = sum(redis_c["calls"].values())
                top = sorted(redis_c["calls"].items(), key=lambda kv: -kv[1])[:8]
                print(f"  per event: Redis {total_calls / events:.1f} commands ("
                      + ", ".join(f"{k} {v / events:.2f}" for k, v in top)
                      + f"), {sum(redis_c['usec'].values()) / events:.0f} µs inside Redis, "
                        f"{redis_c['in_bytes'] / events / 1024:.1f} KiB in / {redis_c['out_bytes'] / events / 1024:.1f} KiB out")
                print(f"  per event: PostgreSQL {pg['xact_commit'] / events:.2f} commits, {pg['xact_rollback'] / events:.2f} "
                      f"rollbacks, {pg['tup_inserted'] / events:.2f} rows inserted, {pg['tup_updated'] / events:.2f} updated, "
                      f"{pg['tup_fetched'] / events:.1f} fetched; backends connected {pg['backends']}")
                w = counters["pg_waits"]
                n = max(1, w["samples"])
                print(f"  PostgreSQL backends, mean over {w['samples']} samples: {w['backends'] / n:.1f} connected, "
                      f"{w['active'] / n:.2f} running, {w['lock'] / n:.2f} waiting on a lock, {w['lwlock'] / n:.2f} on "
                      f"an LWLock, {w['idle_in_transaction'] / n:.2f} idle in a transaction")
                if redis_c["other_clients"]:
                    print(f"  note: {redis_c['other_clients']} Redis clients on other databases were connected "
                          "(INFO counters are server-wide)")
    out["ratio"] = out["postgres"]["events_per_s_per_process"] / out["sqlite"]["events_per_s_per_process"]
    print(f"\n  PostgreSQL + Redis per worker / SQLite per process: {out['ratio']:.2f}x "
          f"({out['postgres']['events_per_s_per_process']:.1f} / {out['sqlite']['events_per_s_per_process']:.1f} "
          "events/s; target >= 0.8x)")
    return out


# --- capacity ---


class CapacityRun:
    """The tabs of the capacity part: they click until ``stopping``; a click's answer counts
    in ``window`` when one is open."""

    def __init__(self):
        self.window: Samples | None = None
        self.stopping = False
        self.alive = 0
        self.lost = 0          # tabs whose connection closed under them
        self.opened: list[float] = []
        self.open_failures = 0


async def capacity_tab(b: Backend, names, person: seed.Person, token: str, start_at: float, args,
                       run: CapacityRun) -> None:
    """A signed-in tab left open: a click every --capacity-think seconds (uniform), round
    thread → labs → inbox → compose → send; check_idle every --idle-poll s if set."""
    await asyncio.sleep(max(0.0, start_at - time.perf_counter()))
    tab = Tab(b.server.base_url, cookie=f"{routes.SESSION_COOKIE}={token}",
              headers=[("x-forwarded-for", address_of(person.user_id))])
    try:
        run.opened.append(await tab.open(routes.MESSAGES + "/", *b.boot, timeout=max(30.0, args.click_timeout)))
    except Exception:
        run.open_failures += 1
        await tab.close()
        return
    run.alive += 1
    low, high = args.think_range
    ticks = (asyncio.create_task(_idle_ticks(tab, names["session"], args.idle_poll, lambda: run.stopping))
             if args.idle_poll > 0 else None)
    activity = Activity(args.activity_every)
    # Tabs start anywhere in the round but "send" (it needs "compose" before it), so the
    # kinds are mixed from a step's first minute on.
    step = random.randrange(len(PORTAL_CYCLE) - 1)
    try:
        while not run.stopping:
            await asyncio.sleep(random.uniform(low, high))
            kind = PORTAL_CYCLE[step % len(PORTAL_CYCLE)]
            started_in = run.window
            try:
                activity.press(tab, names)
                seconds = await click(tab, names, person, kind, step, args.click_timeout)
                if run.window is not None:
                    run.window.add(kind, seconds)
            except Dropped:
                if run.window or started_in:
                    (run.window or started_in).error(DROPPED)
            except NoAnswer:
                if run.window or started_in:
                    (run.window or started_in).error(f"{kind}: no answer")
            except Exception as exc:
                if run.window or started_in:
                    (run.window or started_in).error(f"{kind} ({type(exc).__name__}: {str(exc)[:40]})")
                if tab.closed:
                    run.lost += 1
                    break
            step += 1
    finally:
        run.alive -= 1
        if ticks:
            ticks.cancel()
        await tab.close()


def server_rss(server) -> int:
    """Resident memory of the server's whole process tree (the reflex command, Granian, its workers)."""
    import psutil

    leader = psutil.Process(server.process.pid)
    total = 0
    for proc in [leader, *leader.children(recursive=True)]:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def capacity_plan(tabs: int) -> tuple[int, list[int]]:
    """(people, the person of each tab): every other person has two tabs, the rest one."""
    plan: list[int] = []
    person = 0
    while len(plan) < tabs:
        plan.extend([person] * (2 if person % 2 == 0 else 1))
        person += 1
    return person, plan[:tabs]


async def capacity_steps(b: Backend, names, plan: list[int], steps: list[int], args) -> list[dict]:
    run = CapacityRun()
    tasks: list[asyncio.Task] = []
    tokens: dict[int, str] = {}
    rows: list[dict] = []
    opened = 0
    try:
        for target in steps:
            new = plan[opened:target]
            # Fresh sessions just before the tabs open (the seeded ones may have idled out).
            fresh = [b.people[i] for i in dict.fromkeys(new) if b.people[i].user_id not in tokens]
            if fresh:
                minted = await asyncio.to_thread(seed.new_tokens, b.db_url, fresh)
                tokens.update({p.user_id: p.token for p in minted})
            note(f"capacity ({b.title}): opening {len(new)} tabs ({target} in all), {args.open_rate:g}/s")
            run.opened, failures_before, lost_before = [], run.open_failures, run.lost
            began = time.perf_counter()
            for k, i in enumerate(new):
                person = b.people[i]
                tasks.append(asyncio.create_task(capacity_tab(b, names, person, tokens[person.user_id],
                                                              began + k / args.open_rate, args, run)))
            deadline = began + len(new) / args.open_rate + 60
            while (len(run.opened) + run.open_failures - failures_before < len(new)
                   and time.perf_counter() < deadline):
                await asyncio.sleep(0.2)
            opens = list(run.opened)
            await asyncio.sleep(args.capacity_settle)
            window = Samples()
            before = cpu_seconds(b.server)
            window.started = time.perf_counter()
            run.window = window
            await asyncio.sleep(args.capacity_duration)
            run.window = None
            window.stopped = time.perf_counter()
            cores = cores_used(before, cpu_seconds(b.server))
            rss = server_rss(b.server)
            redis_memory = (await asyncio.to_thread(redis_counters, b.redis_url))["used_memory"] if b.redis_url else None
            kinds = {k: summary(v) for k, v in sorted(window.by_kind.items())}
            clicks = len(window.all())
            errors = dict(window.errors)
            if run.open_failures > failures_before:
                errors["tab opens failed"] = run.open_failures - failures_before
            if run.lost > lost_before:
                errors["tabs lost"] = run.lost - lost_before
            slow = [k for k, s in kinds.items() if s["p95_ms"] > args.capacity_p95_ms]
            row = {"tabs": target, "alive": run.alive, "clicks_per_s": clicks / args.capacity_duration,
                   "kinds": kinds, "all": summary(window.all()), "open": summary(opens), "errors": errors,
                   "server_rss_bytes": rss, "redis_used_memory": redis_memory, "cores": cores,
                   "slow_kinds": slow, "passed": not slow and not errors, "load_avg": os.getloadavg()[0]}
            rows.append(row)
            print(f"  step {target:>5} tabs ({run.alive} open): {row['clicks_per_s']:.1f} clicks/s, p95 "
                  + ", ".join(f"{k} {s['p95_ms']:.0f}" for k, s in kinds.items())
                  + f" ms; open p95 {row['open']['p95_ms']:.0f} ms; RSS {rss / 2**20:.0f} MiB; cores CareSpace "
                    f"{cores['server']:.2f}, generator {cores['load_generator']:.2f}, rest {cores['rest']:.2f}; "
                    f"errors {errors or 'none'}; load average {row['load_avg']:.2f} "
                    f"=> {'pass' if row['passed'] else 'FAIL'}", flush=True)
            opened = target
            if not row["passed"]:
                break
    finally:
        run.stopping = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return rows


def run_capacity(args, mailbox, tmp: Path, names) -> dict:
    steps = sorted({int(s) for s in args.capacity_steps.split(",") if s})
    people, plan = capacity_plan(steps[-1])
    out: dict = {}
    for name in [n for n in args.capacity_backends.split(",") if n]:
        workers = args.capacity_pg_workers if name == "postgres" else 1
        with carespace_backend(name, mailbox, tmp / f"capacity-{name}", people, workers=workers) as b:
            print(f"\nCAPACITY ({b.title}): a click every {args.think_range[0]:g}–{args.think_range[1]:g} s "
                  f"per tab, tabs left open, idle poll {args.idle_poll or 'none'}; a step passes when every "
                  f"click kind's p95 <= {args.capacity_p95_ms:g} ms and nothing failed", flush=True)
            rows = asyncio.run(capacity_steps(b, names, plan, steps, args))
        passed = [r["tabs"] for r in rows if r["passed"]]
        out[name] = {"workers": workers, "steps": rows, "capacity_tabs": max(passed) if passed else 0}
        kinds = PORTAL_CYCLE
        print(f"\n  {'tabs':>6}{'open':>6}{'clicks/s':>10}" + "".join(f"{k + ' p95':>13}" for k in kinds)
              + f"{'RSS MiB':>9}{'cores srv/gen/rest':>20}  result")
        for r in rows:
            print(f"  {r['tabs']:>6}{r['alive']:>6}{r['clicks_per_s']:>10.1f}"
                  + "".join(f"{r['kinds'].get(k, summary([]))['p95_ms']:>13.1f}" for k in kinds)
                  + f"{r['server_rss_bytes'] / 2**20:>9.0f}"
                  + f"{r['cores']['server']:>8.2f}/{r['cores']['load_generator']:.2f}/{r['cores']['rest']:.2f}"
                  + f"  {'pass' if r['passed'] else 'FAIL ' + str(r['errors'] or r['slow_kinds'])}")
        print(f"  => capacity ({b.title}): {out[name]['capacity_tabs']} tabs (target >= 2,000)")
    return out


# --- the parts ------------------------------------------------------------------------


def machine() -> dict:
    import psutil

    return {"cpus": os.cpu_count(), "cpu": platform.processor() or platform.machine(),
            "python": platform.python_version(), "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "load_avg_at_start": os.getloadavg()}


def cpu_seconds(server) -> dict:
    """CPU seconds so far: this load generator, the server's process tree, the whole machine."""
    import resource

    import psutil

    own = resource.getrusage(resource.RUSAGE_SELF)
    leader = psutil.Process(server.process.pid)
    served = 0.0
    for proc in [leader, *leader.children(recursive=True)]:
        try:
            times = proc.cpu_times()
            served += times.user + times.system
        except psutil.Error:  # gone meanwhile
            pass
    total = psutil.cpu_times()
    busy = sum(getattr(total, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq", "steal"))
    return {"wall": time.perf_counter(), "load_generator": own.ru_utime + own.ru_stime,
            "server": served, "machine": busy}


def cores_used(before: dict, after: dict) -> dict:
    wall = after["wall"] - before["wall"]
    used = {k: (after[k] - before[k]) / wall for k in ("load_generator", "server", "machine")}
    used["rest"] = used["machine"] - used["load_generator"] - used["server"]
    return used


PARTS = ("bare", "portal", "signin", "big", "scale", "redis", "checklist", "floor", "mixed", "capacity")


def raise_fd_limit() -> None:
    """Thousands of tabs are thousands of sockets, here and in the server (which inherits it)."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main() -> None:
    parser = argparse.ArgumentParser(description="CareSpace load benchmark (see the module docstring)")
    parser.add_argument("--only", default="bare,portal,signin,big,scale,redis,checklist",
                        help=f"parts, comma-separated: {' '.join(PARTS)} (default: all but floor, mixed, capacity)")
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds per run")
    parser.add_argument("--warmup", type=float, default=20.0, help="seconds before measuring (tabs open)")
    parser.add_argument("--think", type=float, default=5.0, help="mean seconds between a tab's clicks")
    parser.add_argument("--signin-rate", type=float, default=10.0)
    parser.add_argument("--signin-cost", type=int, default=12,
                        help="bcrypt cost of the storm's accounts (4 isolates the sign-in page's own events)")
    parser.add_argument("--big", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30, help="opens per page in the big part")
    parser.add_argument("--scale-tabs", type=int, default=40)
    parser.add_argument("--scale-duration", type=float, default=30.0)
    parser.add_argument("--redis-sessions", type=int, default=1000)
    parser.add_argument("--checklist-tabs", type=int, default=20, help="signed-in tabs in the checklist part")
    parser.add_argument("--checklist-think", type=float, default=1.0)
    parser.add_argument("--checklist-sockets", type=int, default=20, help="anonymous sockets flooding the checklist")
    parser.add_argument("--checklist-wait", type=float, default=0.1,
                        help="seconds a socket waits for an answer before its next frame (a dropped frame "
                             "gets none; 0.1 s is one token of a tab's budget)")
    parser.add_argument("--checklist-warmup", type=float, default=10.0)
    parser.add_argument("--checklist-rounds", type=int, default=3,
                        help="alone and flooded take turns this often (--duration split between them)")
    parser.add_argument("--checklist-variants", default=",".join(CHECKLIST_VARIANTS))
    # issue #14
    parser.add_argument("--idle-poll", type=float, default=0.0,
                        help="seconds between a tab's check_idle (the old page's 10 s; 0: none, as the page "
                             "is now); portal, signin, checklist and capacity tabs")
    parser.add_argument("--activity-every", type=float, default=float(ACTIVITY_SECONDS),
                        help="a tab's stay_signed_in rides on a click at most this often, as the page's "
                             "press handler sends it (0: never); portal, signin, checklist and capacity tabs")
    parser.add_argument("--floor-clients", default="1,50,200", help="closed-loop clients, one row each")
    parser.add_argument("--floor-duration", type=float, default=30.0, help="measured seconds per floor row")
    parser.add_argument("--floor-warmup", type=float, default=5.0)
    parser.add_argument("--floor-tabs", type=int, default=400,
                        help="signed-in tabs (each its own patient) the floor's clients take turns over")
    parser.add_argument("--max-tab-rate", type=float, default=8.0,
                        help="closed-loop clients never click one tab more often than this per second "
                             "(the event budget allows a tab 10)")
    parser.add_argument("--open-rate", type=float, default=50.0, help="tabs opened per second (floor, mixed, capacity)")
    parser.add_argument("--click-timeout", type=float, default=10.0,
                        help="seconds without an answer before a click counts as not answered (floor, mixed, capacity)")
    parser.add_argument("--mixed-tabs", type=int, default=40, help="closed-loop clients in the mixed part")
    parser.add_argument("--mixed-rotate", type=int, default=4,
                        help="signed-in tabs each mixed client takes turns over")
    parser.add_argument("--mixed-warmup", type=float, default=10.0)
    parser.add_argument("--capacity-steps", default="500,1000,1500,2000,2500,3000")
    parser.add_argument("--capacity-duration", type=float, default=60.0, help="measured seconds per step")
    parser.add_argument("--capacity-settle", type=float, default=10.0,
                        help="seconds between a step's last tab opening and its measurement")
    parser.add_argument("--capacity-backends", default="sqlite,postgres")
    parser.add_argument("--capacity-pg-workers", type=int, default=2,
                        help="GRANIAN_WORKERS for capacity on PostgreSQL + Redis (one per core)")
    parser.add_argument("--capacity-think", default="5,15", help="seconds between a tab's clicks: uniform LOW,HIGH")
    parser.add_argument("--capacity-p95-ms", type=float, default=100.0, help="a step passes when every click "
                                                                              "kind's p95 is at most this")
    args = parser.parse_args()
    args.think_range = tuple(float(x) for x in args.capacity_think.split(","))
    parts = set(args.only.split(","))
    unknown = parts - set(PARTS)
    if unknown:
        raise SystemExit(f"--only: unknown parts {sorted(unknown)} (known: {' '.join(PARTS)})")
    raise_fd_limit()
    ramp = min(args.warmup * 0.75, 15.0)
    out: dict = {"machine": machine(), "args": vars(args), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"machine: {out['machine']}")
    names = _names()

    with tempfile.TemporaryDirectory(prefix="carespace-load-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
        stack.enter_context(serve.one_build(tmp / "frontend-build"))
        mailbox = stack.enter_context(serve.smtp())
        if "bare" in parts:
            note("starting the bare Reflex app")
            with serve.bare(tmp / "bare") as bare:
                note(f"running {args.sessions} bare tabs")
                boot = boot_of(Path(tmp / "bare" / "bare" / ".web"))
                samples = asyncio.run(run_bare(bare, boot, args.sessions, duration=args.duration,
                                               think=args.think, warmup=args.warmup, ramp=ramp))
                out["bare"] = report(samples, f"BARE REFLEX: {args.sessions} tabs, think {args.think}s")

        if parts & {"portal", "signin", "big"}:
            db_url = stack.enter_context(serve.scratch_database("sqlite"))
            note(f"seeding {args.sessions} signed-in patients")
            people = seed.make_people(db_url, args.sessions, items=10)
            note("starting CareSpace (SQLite, 1 worker)")
            with serve.carespace(db_url, mailbox, tmp / "portal") as server:
                note("running")
                boot = boot_of(tmp / "portal" / "app" / ".web")
                if "portal" in parts or "signin" in parts:
                    samples = asyncio.run(run_portal(server, boot, names, people, duration=args.duration,
                                                     think=args.think, warmup=args.warmup, ramp=ramp,
                                                     idle_poll=args.idle_poll, activity_every=args.activity_every))
                    out["portal"] = report(samples, f"CARESPACE (SQLite, 1 worker): {args.sessions} "
                                                    f"signed-in tabs, think {args.think}s")
                if "big" in parts:
                    note(f"seeding a patient with {args.big:,} conversations and lab results")
                    small = seed.make_people(db_url, 1, items=10, label="small")[0]
                    big = seed.make_people(db_url, 1, items=args.big, label="big")[0]
                    big_out = asyncio.run(open_pages(server, boot, {"10": small, f"{args.big}": big},
                                                     args.runs))
                    print(f"\nOPENING PAGES: 10 vs {args.big:,} conversations and lab results "
                          f"(one tab, {args.runs} opens each, idle server)")
                    print(f"  {'page':<10}{'10 p50':>10}{'10 p95':>10}{'big p50':>10}{'big p95':>10}"
                          f"{'ratio p50':>11}{'ratio p95':>11}")
                    out["big"] = {}
                    for page in ("inbox", "labs"):
                        s, b = big_out["10"][page], big_out[f"{args.big}"][page]
                        row = {"small": summary(s), "big": summary(b),
                               "ratio_p50": pct(b, 50) / pct(s, 50), "ratio_p95": pct(b, 95) / pct(s, 95)}
                        out["big"][page] = row
                        print(f"  {page:<10}{row['small']['p50_ms']:>10.1f}{row['small']['p95_ms']:>10.1f}"
                              f"{row['big']['p50_ms']:>10.1f}{row['big']['p95_ms']:>10.1f}"
                              f"{row['ratio_p50']:>11.2f}{row['ratio_p95']:>11.2f}")

                if "signin" in parts:
                    from carespace_app.services.identity import security

                    storm_hash = security.hash_password(seed.PASSWORD, rounds=args.signin_cost)
                    storm_people = seed.make_people(db_url, 20, items=0, label="s", password_hash=storm_hash)
                    people = seed.new_tokens(db_url, people)
                    samples = asyncio.run(run_portal(
                        server, boot, names, people, duration=args.duration, think=args.think,
                        warmup=args.warmup, ramp=ramp, storm=([p.email for p in storm_people], args.signin_rate),
                        idle_poll=args.idle_poll, activity_every=args.activity_every))
                    out["signin"] = report(samples, f"CARESPACE + {args.signin_rate:g} sign-ins/s "
                                                    f"(bcrypt {args.signin_cost}): everyone else")
                    storm = samples.storm  # type: ignore[attr-defined]
                    outcomes = ("completed", "refused early", "waited", "waited, then completed",
                                "waited, then refused early")
                    got = {k: summary(storm.by_kind.get(k, [])) for k in outcomes}
                    arrived = (len(storm.by_kind.get("completed", [])) + len(storm.by_kind.get("refused early", []))
                               + sum(storm.errors.values()))
                    out["signin"]["sign_ins"] = got
                    out["signin"]["sign_ins_arrived"] = arrived
                    out["signin"]["sign_ins_per_s"] = got["completed"]["n"] / args.duration
                    out["signin"]["sign_in_errors"] = storm.errors
                    table(f"  the {arrived} sign-ins that arrived in the window (page load + submit until the "
                          "ticket, or until the page refused)", [(k, v) for k, v in got.items()])
                    print(f"  completed {got['completed']['n']}, refused early (\"... try again in a minute\") "
                          f"{got['refused early']['n']}, saw \"... this can take up to a minute\" "
                          f"{got['waited']['n']}, errors {sum(storm.errors.values())} ({storm.errors or 'none'}); "
                          f"completed/s {out['signin']['sign_ins_per_s']:.1f} (offered {args.signin_rate:g})")
        if "checklist" in parts:
            with serve.scratch_database("sqlite") as checklist_db:
                out["checklist"] = run_checklist(args, checklist_db, mailbox, tmp, names)
        if "floor" in parts:
            out["floor"] = run_floor(args, mailbox, tmp, names)
        if "mixed" in parts:
            out["mixed"] = run_mixed(args, mailbox, tmp, names)
        if "capacity" in parts:
            out["capacity"] = run_capacity(args, mailbox, tmp, names)
        if parts & {"scale", "redis"}:
            redis_url = serve.REDIS_URL
            throughput = {}
            for workers in ((1, 2) if "scale" in parts else (1,)):
                flush_redis(redis_url)
                with serve.scratch_database("postgresql") as pg_url:
                    n = max(args.scale_tabs, args.redis_sessions if "redis" in parts and workers == 1 else 0)
                    note(f"seeding PostgreSQL ({n} patients)")
                    people = seed.make_people(pg_url, n, items=10)
                    seed.analyze(pg_url)
                    with serve.carespace(pg_url, mailbox, tmp / f"pg{workers}", REFLEX_REDIS_URL=redis_url,
                                         GRANIAN_WORKERS=str(workers)) as server:
                        note(f"CareSpace up: PostgreSQL + Redis, {workers} worker(s)")
                        boot = boot_of(tmp / f"pg{workers}" / "app" / ".web")
                        if "redis" in parts and workers == 1:
                            flush_redis(redis_url)
                            keys0, bytes0 = redis_bytes(redis_url)
                            began = time.perf_counter()
                            opened = asyncio.run(hydrate_many(server, boot, people[:args.redis_sessions]))
                            keys1, bytes1 = redis_bytes(redis_url)
                            per_1000 = (bytes1 - bytes0) / max(1, opened) * 1000
                            out["redis"] = {"sessions": opened, "keys": keys1 - keys0,
                                            "bytes": bytes1 - bytes0, "bytes_per_1000_sessions": per_1000,
                                            "seconds": time.perf_counter() - began}
                            print(f"\nREDIS: {opened} tabs opened the inbox: {keys1 - keys0} keys, "
                                  f"{(bytes1 - bytes0) / 2**20:.2f} MiB => {per_1000 / 2**20:.2f} MiB "
                                  f"per 1,000 sessions ({(bytes1 - bytes0) / max(1, opened) / 1024:.1f} KiB each)")
                            people = seed.new_tokens(pg_url, people[:args.scale_tabs])
                        if "scale" in parts:
                            before = cpu_seconds(server)
                            samples = asyncio.run(run_portal(
                                server, boot, names, people[:args.scale_tabs], duration=args.scale_duration,
                                think=0.0, warmup=10.0, ramp=5.0))
                            cores = cores_used(before, cpu_seconds(server))
                            throughput[workers] = report(
                                samples, f"THROUGHPUT: PostgreSQL + Redis, GRANIAN_WORKERS={workers}, "
                                         f"{args.scale_tabs} tabs, no think time")
                            throughput[workers]["cores"] = cores
                            print(f"  cores busy during the run: CareSpace {cores['server']:.2f}, "
                                  f"load generator {cores['load_generator']:.2f}, rest (PostgreSQL, "
                                  f"Redis, ...) {cores['rest']:.2f}; of {os.cpu_count()}")
            if "scale" in parts:
                out["scale"] = throughput
                one, two = throughput[1]["events_per_s"], throughput[2]["events_per_s"]
                print(f"\n  2 workers / 1 worker throughput: {two / one:.2f}x ({one:.1f} -> {two:.1f} events/s)")
            flush_redis(redis_url)

    print("\nSUMMARY (targets in docs/PERFORMANCE.md)")
    if "bare" in out and "portal" in out:
        b = out["bare"]["kinds"]["ALL EVENTS (not open)"]["p95_ms"]
        c = out["portal"]["kinds"]["ALL EVENTS (not open)"]["p95_ms"]
        out["ratio_portal_to_bare_p95"] = c / b
        print(f"  event p95, {args.sessions} tabs: CareSpace {c:.1f} ms / bare {b:.1f} ms = {c / b:.2f}x "
              "(target <= 1.5x)")
    if "portal" in out and "signin" in out:
        a = out["portal"]["kinds"]["ALL EVENTS (not open)"]["p95_ms"]
        s = out["signin"]["kinds"]["ALL EVENTS (not open)"]["p95_ms"]
        out["ratio_signin_storm_p95"] = s / a
        print(f"  others' p95 with {args.signin_rate:g} sign-ins/s: {s:.1f} ms / {a:.1f} ms = {s / a:.2f}x "
              "(target <= 1.5x)")
        sign_ins = out["signin"]["sign_ins"]
        print(f"  sign-ins arrived {out['signin']['sign_ins_arrived']}: completed {sign_ins['completed']['n']} "
              f"(p50/p95 {sign_ins['completed']['p50_ms'] / 1000:.1f}/{sign_ins['completed']['p95_ms'] / 1000:.1f} s), "
              f"refused early {sign_ins['refused early']['n']} (p50/p95 {sign_ins['refused early']['p50_ms'] / 1000:.1f}/"
              f"{sign_ins['refused early']['p95_ms'] / 1000:.1f} s), told to wait {sign_ins['waited']['n']}, errors "
              f"{sum(out['signin']['sign_in_errors'].values())}")
    if "big" in out:
        for page in ("inbox", "labs"):
            print(f"  open {page}, {args.big:,} vs 10: p50 {out['big'][page]['ratio_p50']:.2f}x, "
                  f"p95 {out['big'][page]['ratio_p95']:.2f}x (target <= 1.2x)")
    if "scale" in out:
        print(f"  throughput 2 workers / 1: {out['scale'][2]['events_per_s'] / out['scale'][1]['events_per_s']:.2f}x "
              "(target >= 1.7x)")
    if "checklist" in out:
        for key in [k for k in out["checklist"] if isinstance(out["checklist"][k], dict) and "flood" in out["checklist"][k]]:
            alone = out["checklist"]["alone" if key == "loopback" else "alone (proxy)"]
            a, f = alone["kinds"]["ALL EVENTS (not open)"], out["checklist"][key]["kinds"]["ALL EVENTS (not open)"]
            ratio = {"p50": f["p50_ms"] / a["p50_ms"], "p95": f["p95_ms"] / a["p95_ms"]}
            out["checklist"][key]["ratio"] = ratio
            flood = out["checklist"][key]["flood"]
            lost = sum(out["checklist"][key]["errors"].values())
            print(f"  checklist flood ({key}): click p95 {f['p95_ms']:.1f} / {a['p95_ms']:.1f} ms = "
                  f"{ratio['p95']:.2f}x (target <= 1.2x), p50 {ratio['p50']:.2f}x; clicks answered {f['n']} "
                  f"(alone {a['n']}), not answered {lost}; checklist frames answered "
                  f"{flood['answered_per_s']:.0f}/s of {flood['sent_per_s']:.0f}/s sent")
    if "floor" in out:
        floor = out["floor"]
        top = max(floor["clients"])
        if "ratio_open_p50" in floor:
            print(f"  open the Labs tab at 1 client: p50 {floor['labs'][1]['p50_ms']:.2f} ms / bare event "
                  f"{floor['bare'][1]['p50_ms']:.2f} ms = {floor['ratio_open_p50']:.2f}x (target <= 2x)")
        print(f"  throughput at {top} closed-loop clients: CareSpace {floor['labs'][top]['events_per_s']:.0f} / bare "
              f"{floor['bare'][top]['events_per_s']:.0f} events/s = {floor['ratio_throughput']:.2f}x (target >= 0.5x)"
              + ("" if floor["valid"] else "  [INVALID: clicks dropped or unanswered]"))
    if "mixed" in out:
        print(f"  mixed, PostgreSQL + Redis per worker / SQLite per process: {out['mixed']['ratio']:.2f}x "
              "(target >= 0.8x)")
    if "capacity" in out:
        for name, got in out["capacity"].items():
            print(f"  capacity ({name}, {got['workers']} worker(s)): {got['capacity_tabs']} signed-in tabs with every "
                  "click kind's p95 <= 100 ms (target >= 2,000)")
    if "redis" in out:
        print(f"  Redis per 1,000 sessions: {out['redis']['bytes_per_1000_sessions'] / 2**20:.2f} MiB")
    out["load_avg_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nwritten: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
