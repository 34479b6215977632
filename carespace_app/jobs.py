"""Background work in the server process: the outbox sender."""
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
    await sender.run_sender()
