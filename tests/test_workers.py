"""Canary for carespace_app/workers.py: the patch that makes Granian respawn a dead worker.

Neither Reflex nor Granian offers a supported way to ask for it here: `reflex run --env prod`
builds `granian.server.Server(...)` itself (reflex/utils/exec.py run_granian_backend_prod)
with a fixed set of keyword arguments, and Granian reads GRANIAN_* environment variables
only in its own command line, not in Server. So the patch stays, and these tests fail as
soon as either side changes in a way that would make it silently do nothing.
No PostgreSQL, Redis or server: the real Reflex start-up path builds the real Granian
Server, and only `serve()` is stopped.
"""
from __future__ import annotations

import ast
import inspect
import textwrap

import pytest
from granian.server import Server
from reflex.utils import exec as reflex_exec
from reflex_base.constants.base import LogLevel

from carespace_app.config import get_settings
from carespace_app.workers import enable_worker_respawn


@pytest.fixture
def respawn_setting(monkeypatch):
    """Sets CARESPACE_RESPAWN_WORKERS (None: unset) and has the settings read again."""
    def set_to(value):
        if value is None:
            monkeypatch.delenv("CARESPACE_RESPAWN_WORKERS", raising=False)
        else:
            monkeypatch.setenv("CARESPACE_RESPAWN_WORKERS", value)
        get_settings.cache_clear()

    yield set_to
    get_settings.cache_clear()  # the next test reads its own environment


@pytest.fixture
def unpatched_server(monkeypatch):
    """Granian's Server as it ships; whatever the test patches is undone afterwards."""
    init = Server.__init__
    while getattr(init, "_carespace_respawn", False):  # rxconfig.py already ran here
        init = init.__wrapped__
    monkeypatch.setattr(Server, "__init__", init)
    return Server


@pytest.fixture
def reflex_prod_start(monkeypatch):
    """Run Reflex's own production start of Granian up to (not including) serving."""
    built: list[Server] = []

    def serve(self, *args, **kwargs):
        built.append(self)

    monkeypatch.setattr(Server, "serve", serve)
    # Keep this process's multiprocessing start method and skip the app preload for fork.
    monkeypatch.setattr(reflex_exec, "_backend_start_method", lambda: None)
    # The worker count asks Redis when it is configured; the count does not matter here.
    monkeypatch.setattr(reflex_exec, "_get_backend_workers", lambda: 2)

    def start() -> Server:
        built.clear()
        reflex_exec.run_granian_backend_prod(
            "127.0.0.1", 0, LogLevel.INFO, app_target="carespace_app.carespace_app:app")
        assert len(built) == 1, "Reflex's production start no longer builds one Granian Server"
        return built[0]

    return start


def test_granian_server_still_takes_respawn_failed_workers():
    params = inspect.signature(inspect.unwrap(Server.__init__)).parameters
    assert "respawn_failed_workers" in params, (
        "Granian's Server no longer has respawn_failed_workers: revisit carespace_app/workers.py")
    assert params["respawn_failed_workers"].default is False


def test_reflex_builds_granian_server_with_keywords_and_without_respawn():
    """The patch adds a keyword to Reflex's call: the call must still be Server(**keywords)
    and must not set respawn_failed_workers itself (setdefault would keep Reflex's value)."""
    source = textwrap.dedent(inspect.getsource(reflex_exec.run_granian_backend_prod))
    tree = ast.parse(source)
    imported = [alias.asname or alias.name for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module == "granian.server"
                for alias in node.names if alias.name == "Server"]
    assert len(imported) == 1, "Reflex no longer imports granian.server.Server to start"
    calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and isinstance(node.func, ast.Name) and node.func.id == imported[0]]
    assert len(calls) == 1, "Reflex no longer calls Granian's Server(...) once"
    assert not calls[0].args, "Reflex now passes positional arguments to Server"
    keywords = {kw.arg for kw in calls[0].keywords}
    assert None not in keywords, "Reflex now passes **kwargs to Server"
    assert "respawn_failed_workers" not in keywords


def test_reflex_prod_start_gets_a_respawning_server(unpatched_server, reflex_prod_start,
                                                    respawn_setting):
    respawn_setting(None)
    assert reflex_prod_start().respawn_failed_workers is False  # what Reflex asks for alone

    enable_worker_respawn()
    enable_worker_respawn()  # rxconfig.py may be loaded twice: the patch applies once

    server = reflex_prod_start()
    assert server.respawn_failed_workers is True
    assert server.workers == 2 and server.target == "carespace_app.carespace_app:app"
    assert not getattr(Server.__init__.__wrapped__, "_carespace_respawn", False)


@pytest.mark.parametrize("value", ["false", "0", "no", "FALSE"])
def test_respawn_can_be_turned_off(unpatched_server, reflex_prod_start, respawn_setting, value):
    respawn_setting(value)
    enable_worker_respawn()
    assert reflex_prod_start().respawn_failed_workers is False


def test_reflex_runs_granian_in_production():
    """The patch only matters while Reflex's production backend is Granian."""
    assert reflex_exec.should_use_granian()
