"""Without Redis, tab states live in files: expired ones are swept, at most once a minute."""
from __future__ import annotations

import inspect
import os
import time
from types import SimpleNamespace

from reflex.istate.manager.disk import StateManagerDisk

from carespace_app import disk_states

HOUR = 3600


def _file(folder, name: str, age_seconds: float):
    path = folder / name
    path.write_bytes(b"state")
    then = time.time() - age_seconds
    os.utime(path, (then, then))
    return path


def test_the_app_config_installs_the_sweep():
    import rxconfig  # noqa: F401  (what every server process loads first)

    assert getattr(StateManagerDisk._purge_expired_states, "_carespace_sweep", False)
    # ... in the method Reflex's write loop calls (a Reflex upgrade that renames it must
    # show up here, not as a slow server).
    assert "self._purge_expired_states" in inspect.getsource(StateManagerDisk._process_write_queue)


def test_expired_states_are_swept_and_live_ones_kept(tmp_path):
    old = _file(tmp_path, "a" * 32 + ".pkl", HOUR + 60)
    live = _file(tmp_path, "b" * 32 + ".pkl", 60)
    other = _file(tmp_path, "notes.txt", HOUR * 5)
    many = [_file(tmp_path, f"{i:032x}.pkl", HOUR * 2) for i in range(600)]  # several steps

    assert disk_states.sweep_expired_states(tmp_path, HOUR) == 601
    assert not old.exists() and not any(p.exists() for p in many)
    assert live.exists() and other.exists()
    assert disk_states.sweep_expired_states(tmp_path / "gone", HOUR) == 0


def test_the_server_sweeps_at_most_once_a_minute(tmp_path, monkeypatch):
    disk_states.sweep_disk_states_once_a_minute()
    manager = SimpleNamespace(states_directory=tmp_path, token_expiration=HOUR)
    clock = [1000.0]
    monkeypatch.setattr(disk_states.time, "monotonic", lambda: clock[0])

    first = _file(tmp_path, "c" * 32 + ".pkl", HOUR * 2)
    StateManagerDisk._purge_expired_states(manager)
    assert not first.exists()

    # Reflex asks again after every batch of writes: within the minute nothing is listed.
    second = _file(tmp_path, "d" * 32 + ".pkl", HOUR * 2)
    clock[0] += disk_states.SWEEP_EVERY_SECONDS - 1
    StateManagerDisk._purge_expired_states(manager)
    assert second.exists()

    clock[0] += 2
    StateManagerDisk._purge_expired_states(manager)
    assert not second.exists()
