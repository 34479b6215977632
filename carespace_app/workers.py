"""Keep serving when one backend worker dies.

Reflex starts Granian without `respawn_failed_workers`, so one crashed worker
(out of memory, a killed process) stops the whole server and every patient's
tab with it. With Redis holding the state, a respawned worker can pick up any
tab, so we ask Granian to respawn. Imported from rxconfig.py, which Reflex
loads before it builds the Granian server.
"""
from __future__ import annotations

import functools
import os


def enable_worker_respawn() -> None:
    if os.environ.get("CARESPACE_RESPAWN_WORKERS", "true").lower() in {"0", "false", "no"}:
        return
    try:
        from granian.server import Server
    except ImportError:  # Granian not installed: nothing to configure
        return
    original = Server.__init__
    if getattr(original, "_carespace_respawn", False):
        return

    @functools.wraps(original)
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("respawn_failed_workers", True)
        original(self, *args, **kwargs)

    __init__._carespace_respawn = True  # type: ignore[attr-defined]
    Server.__init__ = __init__
