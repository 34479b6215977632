"""Shared fixtures. The database is chosen before anything reads the settings:
SQLite in a temporary folder by default, or CARESPACE_TEST_DATABASE_URL (PostgreSQL in CI).
"""
from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="carespace-test-")
os.environ.setdefault("CARESPACE_SECRET_KEY", "test-secret-key-not-for-production")


def _worker_database(base: str) -> str:
    """Under pytest-xdist each worker gets its own PostgreSQL database beside ``base``
    (SQLite files are per process already), recreated empty at the start of the run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return base
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database}_{worker}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


_PG = os.environ.get("CARESPACE_TEST_DATABASE_URL")
os.environ["REFLEX_DB_URL"] = _worker_database(_PG) if _PG else f"sqlite:///{_TMP}/unit.db"
# Unit tests hash with cost 4 for speed; test_security checks production uses 12.
os.environ.setdefault("CARESPACE_BCRYPT_ROUNDS", "4")
# Staff made by tests/factories.py have no second step unless asked (make_staff(two_step=True)):
# the suite runs with it optional; tests/test_mfa.py proves "required" (the default).
os.environ.setdefault("CARESPACE_STAFF_MFA", "optional")
for _name in ("CARESPACE_SMTP_HOST", "CARESPACE_SMTP_USER", "CARESPACE_SMTP_PASSWORD"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from carespace_app import models  # noqa: E402,F401  (registers every table)
from carespace_app.clock import FrozenClock  # noqa: E402
from carespace_app.db import get_engine  # noqa: E402

# The running-server harness (server, SMTP, Chromium fixtures) serves tests/e2e and
# tests/security/live alike; its fixtures are lazy, so unit runs never start a server.
from tests.e2e.harness import (  # noqa: E402,F401
    _default_timeout, browser_context_args, browser_type_launch_args, e2e_database_url,
    frontend_cache, phone_page, server, smtp_server,
)


@pytest.fixture(scope="session")
def engine():
    eng = get_engine()
    SQLModel.metadata.drop_all(eng)
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _restart_ids(tables) -> str:
    """PostgreSQL: one statement that starts every table's id sequence at 1 again."""
    return "SELECT " + ", ".join(
        f"setval(pg_get_serial_sequence('\"{t.name}\"', '{t.c.id.name}'), 1, false)"
        for t in tables if "id" in t.c and t.c.id.primary_key and t.c.id.autoincrement)


def _truncate(eng) -> None:
    # DELETE, children first, rather than TRUNCATE: on PostgreSQL a TRUNCATE of every table
    # took 46 ms (it makes new files for each), the DELETEs and the sequence restart 5 ms,
    # and this runs before each of some 2,300 tests.
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with eng.begin() as conn:
        for t in tables:
            conn.execute(t.delete())
        if eng.dialect.name == "postgresql":
            conn.execute(text(_restart_ids(tables)))


@pytest.fixture
def db(engine):
    """A clean database for each test, and a session on it."""
    _truncate(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def clock():
    return FrozenClock()


# The live run spreads its tests over workers by file (`--dist loadgroup`, Makefile): a
# file's module fixtures are made once. test_https.py and test_faults.py share one more:
# the dedicated HTTPS server (tests/security/live/conftest.py), started once per worker
# that needs it, so they go to the same worker.
SHARED_WORKER = {"tests/security/live/test_https.py": "dedicated-server",
                 "tests/security/live/test_faults.py": "dedicated-server"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        path = item.nodeid.split("::", 1)[0]
        if path.startswith(("tests/e2e/", "tests/security/live/")):
            item.add_marker(pytest.mark.xdist_group(SHARED_WORKER.get(path, path)))
