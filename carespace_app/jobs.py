"""Background work in the server process: the outbox sender, and the sweep (open the
check-ins that are due, expire the ones that closed, send reminders; release the lab
reports whose hold has ended; record caregivers' access whose end date came, and email the
patient a week before one ends)."""
from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("carespace.jobs")


async def start_background_jobs():
    from carespace_app.services.mail import sender
    from carespace_app.services.records import resources
    from carespace_app.db import session_scope

    try:
        def seed_resources():
            with session_scope() as db:
                resources.ensure_default_resources(db)

        await asyncio.to_thread(seed_resources)
    except Exception:  # the tables may not exist yet on a half-set-up laptop
        log.exception("could not check the default resources")
    await asyncio.gather(sender.run_sender(), run_checkin_sweep())


async def run_checkin_sweep(stop: "asyncio.Event | None" = None) -> None:
    """Every policy.CHECKIN_SWEEP_EVERY: open due check-ins (with their emails), expire
    closed ones, send reminders; release held lab reports whose date has come (with their
    emails). Each worker may run it: the sweep is idempotent, and a report is released
    once (result_release)."""
    from carespace_app import policy
    from carespace_app.clock import utcnow
    from carespace_app.db import session_scope
    from carespace_app.services.permissions import access_ends
    from carespace_app.services.records import checkins, result_release

    def once():
        with session_scope() as db:
            checkins.sweep(db, clock=utcnow)
        with session_scope() as db:
            result_release.release_due(db, clock=utcnow)
        with session_scope() as db:
            access_ends.sweep(db, clock=utcnow)

    stop = stop or asyncio.Event()
    while not stop.is_set():
        try:
            await asyncio.to_thread(once)
        except Exception:
            log.exception("the check-in sweep failed; it runs again shortly")
        try:
            await asyncio.wait_for(stop.wait(), policy.CHECKIN_SWEEP_EVERY.total_seconds())
        except asyncio.TimeoutError:
            pass
