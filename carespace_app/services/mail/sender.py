"""The background sender: delivers the outbox every couple of seconds, or at once when woken.

Every worker process may run one; ``outbox.claim_due`` makes each email go to
exactly one of them. The loop must outlive any error (a database restart, an
SMTP outage): it logs and tries again on the next round. It hears of new mail
through ``outbox.on_queued`` (the outbox does not know the sender).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from typing import Optional

from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.db import get_engine
from carespace_app.services.mail import outbox

log = logging.getLogger("carespace.mail")

_lock = threading.Lock()
_loop: Optional[asyncio.AbstractEventLoop] = None
_wake_event: Optional[asyncio.Event] = None


def wake() -> None:
    """Ask the sender of this process to run now. Safe from any thread; a no-op without a sender."""
    with _lock:
        loop, wake_event = _loop, _wake_event
    if loop is None or wake_event is None or loop.is_closed():
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop:
        wake_event.set()
        return
    try:
        loop.call_soon_threadsafe(wake_event.set)
    except RuntimeError:  # the loop closed between the check and the call
        pass


def _describe(exc: BaseException) -> str:
    # Only the kind of error: SQLAlchemy messages carry statement parameters,
    # which can include an address or a sealed link.
    orig = getattr(exc, "orig", None)
    return type(exc).__name__ + (f" ({type(orig).__name__})" if orig is not None else "")


async def run_sender(stop: Optional[asyncio.Event] = None, interval: float = 2.0) -> None:
    """Deliver due emails every ``interval`` seconds until ``stop`` is set."""
    global _loop, _wake_event
    stop = stop or asyncio.Event()
    wake_event = asyncio.Event()
    with _lock:
        _loop, _wake_event = asyncio.get_running_loop(), wake_event
    outbox.on_queued(wake)  # a commit that queued an email wakes this loop
    stopper = asyncio.ensure_future(_set_when(stop, wake_event))
    try:
        while not stop.is_set():
            wake_event.clear()
            try:
                await asyncio.to_thread(
                    outbox.deliver_due, get_engine(), get_settings(), clock=utcnow
                )
            except Exception as exc:  # never die: the next round may succeed
                log.error("Outbox sender round failed: %s", _describe(exc))
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(wake_event.wait(), timeout=interval)
            except asyncio.TimeoutError:
                pass
    finally:
        stopper.cancel()
        with _lock:
            if _wake_event is wake_event:
                _loop, _wake_event = None, None


async def _set_when(stop: asyncio.Event, wake_event: asyncio.Event) -> None:
    # Stopping wakes the loop so it ends at once rather than after the interval.
    await stop.wait()
    wake_event.set()
