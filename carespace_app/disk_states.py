"""Sweep expired tab states from disk once a minute, in small steps.

Without Redis, Reflex keeps each tab's state as one pickle file per state class
(``.states/``). Its write loop wakes whenever a queued write comes of age (every
few milliseconds under load), and each time its sweep lists that folder and stats
every file to delete the expired ones. With a few hundred open tabs that is
thousands of files, many times a second, in Python that holds the GIL the event
loop needs: in a profile of 200 tabs plus 10 sign-ins a second it was a quarter of
the server's samples (docs/PERFORMANCE.md). Files expire after an hour
(``token_expiration``), so a sweep a minute is just as tidy; it steps aside for
the event loop every few hundred files. Imported from rxconfig.py, like workers.py.
"""
from __future__ import annotations

import os
import threading
import time

SWEEP_EVERY_SECONDS = 60.0
_FILES_PER_STEP = 256


def sweep_expired_states(folder: str | os.PathLike, older_than_seconds: float) -> int:
    """Delete the state files not written for ``older_than_seconds``; how many went."""
    cutoff = time.time() - older_than_seconds
    removed = 0
    try:
        with os.scandir(folder) as entries:
            for seen, entry in enumerate(entries, 1):
                if seen % _FILES_PER_STEP == 0:
                    time.sleep(0.001)  # let the event loop's thread have the GIL
                if not entry.name.endswith(".pkl"):
                    continue
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except FileNotFoundError:  # written anew or swept by another worker
                    pass
    except FileNotFoundError:
        pass
    return removed


def sweep_disk_states_once_a_minute() -> None:
    try:
        from reflex.istate.manager.disk import StateManagerDisk
    except ImportError:  # another Reflex layout: leave its own behaviour
        return
    if getattr(StateManagerDisk._purge_expired_states, "_carespace_sweep", False):
        return
    last_sweep: dict[int, float] = {}
    lock = threading.Lock()  # Reflex runs the sweep in a worker thread

    def _purge_expired_states(self) -> None:
        now = time.monotonic()
        with lock:
            if id(self) in last_sweep and now - last_sweep[id(self)] < SWEEP_EVERY_SECONDS:
                return
            last_sweep[id(self)] = now
        sweep_expired_states(self.states_directory, self.token_expiration)

    _purge_expired_states._carespace_sweep = True  # type: ignore[attr-defined]
    StateManagerDisk._purge_expired_states = _purge_expired_states
