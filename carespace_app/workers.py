"""Keep serving when one backend worker dies.

Reflex starts Granian without `respawn_failed_workers`, so one crashed worker
(out of memory, a killed process) stops the whole server and every patient's
tab with it. With Redis holding the state, a respawned worker can pick up any
tab, so we ask Granian to respawn. Imported from rxconfig.py, which Reflex
loads before it builds the Granian server.

A patch, because neither side offers an option for it: Reflex builds
`granian.server.Server(...)` itself with a fixed set of keywords, and Granian
reads GRANIAN_* variables only in its own command line. tests/test_workers.py
fails when either side changes so that the patch would do nothing.
"""
from __future__ import annotations

import functools

from carespace_app.config import get_settings


def enable_worker_respawn() -> None:
    if not get_settings().respawn_workers:  # CARESPACE_RESPAWN_WORKERS=false
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
