"""CareSpace under load, over Reflex's real event channel, next to a bare Reflex app.

    python benchmarks/load.py                      # everything (about 25 minutes)
    python benchmarks/load.py --only bare,portal   # some parts: bare portal signin big scale redis checklist
    python benchmarks/load.py --sessions 200 --duration 60 --think 5

Each simulated tab is a signed-in browser tab (benchmarks/wsclient.py speaks the
frames Chromium sends): it loads the inbox, opens a conversation, goes to the labs
tab, back to the inbox, starts a message and sends it, pausing --think seconds
(0.5x-1.5x at random) between clicks, and its idle guard ticks every 10 s as the page's
does. Every round trip is timed from the emit to the delta the user waits for.

Parts:
  bare    the framework's floor: benchmarks/bare_app (one state, one trivial event,
          one Radix page) with the same number of tabs clicking its button
  portal  CareSpace (SQLite, one worker) with --sessions signed-in tabs
  signin  the same, while --signin-rate real sign-ins per second (the sign-in page's
          event, bcrypt cost 12) arrive; everyone else's p95 with vs without
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

Prints a table per part and writes benchmarks/results/load-<time>.json.
"""
from __future__ import annotations

import argparse
import asyncio
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
from benchmarks.wsclient import HYDRATED, ON_LOAD, Tab, has, var  # noqa: E402
from carespace_app import routes  # noqa: E402
from carespace_app.event_budget import SLOW_DOWN  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
BARE_STATE = "reflex___state____state.bare_app___bare_app____bare_state"
IDLE_TICK = 10.0


def _names():
    from carespace_app.state.auth import RegisterState, SignInState
    from carespace_app.state.messages import MessagesState
    from carespace_app.state.session import SessionState

    return {"messages": MessagesState.get_full_name(), "session": SessionState.get_full_name(),
            "sign_in": SignInState.get_full_name(), "register": RegisterState.get_full_name()}


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
    print(f"  {'round trip':<22}{'n':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    for name, s in rows:
        print(f"  {name:<22}{s['n']:>7}{s['p50_ms']:>10.1f}{s['p95_ms']:>10.1f}{s['p99_ms']:>10.1f}"
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


async def _idle_ticks(tab: Tab, session_state: str, clock: Clock) -> None:
    await asyncio.sleep(random.uniform(0, IDLE_TICK))
    while not clock.over() and not tab.closed:
        tab.emit(f"{session_state}.check_idle", {})
        await asyncio.sleep(IDLE_TICK)


# The event budget's answer to a dropped event (carespace_app/event_budget.py), at most
# once every few seconds per tab; the drops in between get no answer at all.
SLOWED = has("flash", lambda v: isinstance(v, dict) and v.get("text") == SLOW_DOWN)


class Dropped(Exception):
    """The server answered a click with "Please slow down"."""


async def portal_tab(server, boot, names, person: seed.Person, clock: Clock, samples: Samples,
                     think: float, ramp: float, *, click_timeout: float = 60.0,
                     forwarded_for: str = "") -> None:
    """One signed-in tab going round inbox → conversation → labs → inbox → send.

    A click the event budget drops counts as an error: "dropped (Please slow down)", or
    the click's own kind when no answer came within ``click_timeout``."""
    await asyncio.sleep(random.uniform(0, ramp))
    tab = Tab(server.base_url, cookie=f"{routes.SESSION_COOKIE}={person.token}",
              headers=[("x-forwarded-for", forwarded_for)] if forwarded_for else None)
    messages = names["messages"]

    async def call(name, payload, done):
        seconds, delta = await tab.call(name, payload, lambda d: SLOWED(d) or done(d), click_timeout)
        if SLOWED(delta):
            raise Dropped()
        return seconds, delta

    async def navigate(path):
        tab.path = path
        seconds, _ = await call(ON_LOAD, {}, HYDRATED)
        return seconds
    ticks = None
    step = 0

    def timed(kind: str, seconds: float) -> None:
        if clock.measuring():
            samples.add(kind, seconds)

    try:
        timed("open", await tab.open(routes.MESSAGES + "/", *boot))
        ticks = asyncio.create_task(_idle_ticks(tab, names["session"], clock))
        while not clock.over():
            await _think(think)
            kind = ("thread", "labs", "inbox", "compose", "send")[step % 5]
            try:
                if kind == "thread":
                    thread = random.choice(person.thread_ids)
                    seconds, _ = await call(f"{messages}.open_thread", {"thread_id": str(thread)},
                                            has("thread_messages", bool))
                elif kind == "labs":
                    seconds = await navigate(routes.LABS + "/")
                elif kind == "inbox":
                    seconds = await navigate(routes.MESSAGES + "/")
                elif kind == "compose":
                    seconds, _ = await call(f"{messages}.start_compose", {},
                                            has("compose_open", lambda v: v is True))
                else:
                    form = {"category": "Other", "subject": f"Load test {step}",
                            "body": "A question about my results from the load test."}
                    seconds, delta = await call(f"{messages}.send_message", {"form": form},
                                                lambda d: has("flash")(d) or has("compose_error", bool)(d))
                    if has("compose_error", bool)(delta):
                        raise RuntimeError(var(delta, "compose_error"))
                timed(kind, seconds)
            except Dropped:
                if clock.measuring():
                    samples.error("dropped (Please slow down)")
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


async def sign_in_storm(server, boot, names, emails: list[str], rate: float, clock: Clock,
                        samples: Samples) -> None:
    """Open-loop arrivals: every 1/rate s someone loads the sign-in page and signs in."""
    sign_in = names["sign_in"]
    tasks = set()

    async def one(email: str) -> None:
        tab = Tab(server.base_url)
        try:
            began = time.perf_counter()
            await tab.open(routes.SIGN_IN, *boot)
            _, delta = await tab.call(f"{sign_in}.submit", {"form": {"email": email, "password": seed.PASSWORD}},
                                      lambda d: has("navigate_to", bool)(d) or has("error", bool)(d),
                                      timeout=120)
            if not has("navigate_to", lambda v: "ticket=" in v)(delta):
                raise RuntimeError(f"sign-in refused: {delta}")
            if clock.measuring():
                samples.add("sign-in", time.perf_counter() - began)
        except Exception:
            if clock.measuring():
                samples.error("sign-in")
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
        await asyncio.wait(tasks, timeout=60)


async def run_portal(server, boot, names, people, *, duration, think, warmup, ramp,
                     storm: tuple[list[str], float] | None = None) -> Samples:
    samples = Samples()
    clock = Clock(warmup, duration)
    jobs = [portal_tab(server, boot, names, p, clock, samples, think, ramp) for p in people]
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
                          patients_forwarded: bool) -> tuple[Samples, Flood, dict]:
    """The signed-in tabs for ``duration`` measured seconds; with ``variant``, the
    anonymous sockets too (they start once the tabs are open, and have spent their
    bursts before the window opens)."""
    samples, flood = Samples(), Flood()
    clock = Clock(warmup, duration)
    samples.started, samples.stopped = clock.start, clock.end
    ramp = min(3.0, warmup / 3)
    jobs = [portal_tab(server, boot, names, p, clock, samples, think, ramp, click_timeout=5.0,
                       forwarded_for=f"198.51.100.{1 + n % 250}" if patients_forwarded else "")
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
                        wait=args.checklist_wait, patients_forwarded=hops > 0))
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


def main() -> None:
    parser = argparse.ArgumentParser(description="CareSpace load benchmark (see the module docstring)")
    parser.add_argument("--only", default="bare,portal,signin,big,scale,redis,checklist")
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
    args = parser.parse_args()
    parts = set(args.only.split(","))
    ramp = min(args.warmup * 0.75, 15.0)
    out: dict = {"machine": machine(), "args": vars(args), "started": time.strftime("%Y-%m-%d %H:%M:%S")}
    print(f"machine: {out['machine']}")
    names = _names()

    with tempfile.TemporaryDirectory(prefix="carespace-load-") as tmp, ExitStack() as stack:
        tmp = Path(tmp)
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
                                                     think=args.think, warmup=args.warmup, ramp=ramp))
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
                        warmup=args.warmup, ramp=ramp, storm=([p.email for p in storm_people], args.signin_rate)))
                    out["signin"] = report(samples, f"CARESPACE + {args.signin_rate:g} sign-ins/s "
                                                    f"(bcrypt {args.signin_cost}): everyone else")
                    storm = samples.storm  # type: ignore[attr-defined]
                    signins = storm.by_kind.get("sign-in", [])
                    out["signin"]["sign_in"] = summary(signins)
                    out["signin"]["sign_ins_per_s"] = len(signins) / args.duration
                    out["signin"]["sign_in_errors"] = storm.errors
                    table("  the sign-ins themselves (page load + submit until the ticket)",
                          [("sign-in", summary(signins))])
                    print(f"  sign-ins completed/s: {len(signins) / args.duration:.1f} "
                          f"(offered {args.signin_rate:g}); errors: {storm.errors or 'none'}")
        if "checklist" in parts:
            with serve.scratch_database("sqlite") as checklist_db:
                out["checklist"] = run_checklist(args, checklist_db, mailbox, tmp, names)
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
              "(target <= 2x)")
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
    if "redis" in out:
        print(f"  Redis per 1,000 sessions: {out['redis']['bytes_per_1000_sessions'] / 2**20:.2f} MiB")
    out["load_avg_at_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"load-{time.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(out, indent=2, default=str))
    print(f"\nwritten: {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")


if __name__ == "__main__":
    main()
