"""Servers for the benchmarks: CareSpace the way the e2e harness starts it, and the bare
Reflex app of benchmarks/bare_app, both `reflex run --env prod --single-port`.

The built frontend (.web with node_modules) is kept in benchmarks/.cache so a second
run does not install the JavaScript packages again.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import harness  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
BARE_APP = ROOT / "benchmarks" / "bare_app"
REDIS_URL = os.environ.get("CARESPACE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def free_port() -> int:
    return harness.free_port()


@contextlib.contextmanager
def smtp() -> Iterator[harness.Mailbox]:
    from aiosmtpd.controller import Controller

    mailbox = harness.Mailbox()
    port = free_port()
    controller = Controller(harness._Handler(mailbox), hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port  # type: ignore[attr-defined]
    try:
        yield mailbox
    finally:
        controller.stop()


@contextlib.contextmanager
def scratch_database(kind: str) -> Iterator[str]:
    """A fresh database: "sqlite" (a temporary file) or "postgresql" (created beside
    CARESPACE_TEST_DATABASE_URL's, or postgres@127.0.0.1:5432, and dropped after)."""
    if kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="carespace-bench-")
        try:
            yield f"sqlite:///{folder}/carespace.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    base = os.environ.get("CARESPACE_TEST_DATABASE_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"carespace_bench_{uuid.uuid4().hex[:8]}"
    conninfo = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrate(database_url: str) -> None:
    """The schema, as `make run` creates it (before seeding; the server's own migrate is then a no-op)."""
    env = {**os.environ, "REFLEX_DB_URL": database_url}
    env.setdefault("CARESPACE_SECRET_KEY", "benchmark-only")
    subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)


def _remember_web(name: str, web: Path) -> None:
    target = CACHE / name
    if target.exists() or not (web / "node_modules").is_dir():
        return
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = CACHE / f".{name}-{uuid.uuid4().hex[:6]}"
    shutil.copytree(web, partial, symlinks=True)
    partial.rename(target)


@contextlib.contextmanager
def one_build(folder: Path) -> Iterator[None]:
    """CareSpace servers started inside share one production build (the e2e harness's
    FrontendCache): the first compiles and builds the pages, the others serve a copy of
    its build, saving about 17 s of CPU per server. Never kept across runs (the pages change)."""
    cache = harness.FrontendCache(folder)
    harness._frontend_cache[:] = [cache]
    try:
        yield
    finally:
        harness._frontend_cache.clear()


@contextlib.contextmanager
def carespace(database_url: str, mailbox: harness.Mailbox, log_dir: Path, **extra: str):
    """CareSpace serving on a free port: `reflex run --env prod` as the e2e harness runs it."""
    cached = CACHE / "carespace-web"
    env = harness.server_env(port=free_port(), database_url=database_url, smtp_port=mailbox.port,
                             CARESPACE_BCRYPT_ROUNDS=extra.pop("CARESPACE_BCRYPT_ROUNDS", "12"),
                             **extra)
    log_dir.mkdir(parents=True, exist_ok=True)
    with harness.running_server(env, log_dir, mailbox, cached if cached.is_dir() else None) as server:
        _remember_web("carespace-web", log_dir / "app" / ".web")
        yield server


@contextlib.contextmanager
def bare(log_dir: Path, **extra: str):
    """benchmarks/bare_app (one state, one trivial event, one Radix page) on a free port."""
    port = free_port()
    base_url = f"http://localhost:{port}"
    app_dir = log_dir / "bare"
    app_dir.mkdir(parents=True)
    for name in ("bare_app", "rxconfig.py"):
        (app_dir / name).symlink_to(BARE_APP / name)
    shutil.copy(ROOT / "reflex.lock", app_dir / "reflex.lock") if (ROOT / "reflex.lock").is_file() else None
    cached = CACHE / "bare-web"
    if cached.is_dir():
        shutil.copytree(cached, app_dir / ".web", symlinks=True)
    env = {**harness.server_env(port=port, database_url="sqlite:///" + str(log_dir / "bare.db"),
                                smtp_port=1), "BARE_BASE_URL": base_url, **extra}
    log_path = log_dir / "bare.log"
    with open(log_path, "w") as log_file:
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "reflex"), "run", "--env", "prod", "--single-port",
             "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "info"],
            cwd=app_dir, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            harness.wait_until_up(base_url, proc, log_path)
            _remember_web("bare-web", app_dir / ".web")
            server = harness.Server(base_url=base_url, env=env, log_path=log_path,
                                    mailbox=harness.Mailbox())
            server.process = proc  # type: ignore[attr-defined]
            yield server
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except Exception:
        with contextlib.suppress(Exception):
            os.killpg(proc.pid, signal.SIGKILL)
