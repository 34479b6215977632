"""Shared fixtures. The database is chosen before anything reads the settings:
SQLite in a temporary folder by default, or CARESPACE_TEST_DATABASE_URL (PostgreSQL in CI).
"""
from __future__ import annotations

import os
import tempfile

_TMP = tempfile.mkdtemp(prefix="carespace-test-")
os.environ.setdefault("CARESPACE_SECRET_KEY", "test-secret-key-not-for-production")
os.environ["REFLEX_DB_URL"] = os.environ.get("CARESPACE_TEST_DATABASE_URL") or f"sqlite:///{_TMP}/unit.db"
# Unit tests hash with cost 4 for speed; test_security checks production uses 12.
os.environ.setdefault("CARESPACE_BCRYPT_ROUNDS", "4")
for _name in ("CARESPACE_SMTP_HOST", "CARESPACE_SMTP_USER", "CARESPACE_SMTP_PASSWORD"):
    os.environ.pop(_name, None)

import pytest  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from carespace_app import models  # noqa: E402,F401  (registers every table)
from carespace_app.clock import FrozenClock  # noqa: E402
from carespace_app.db import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def engine():
    eng = get_engine()
    SQLModel.metadata.drop_all(eng)
    SQLModel.metadata.create_all(eng)
    yield eng
    eng.dispose()


def _truncate(eng) -> None:
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with eng.begin() as conn:
        if eng.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                conn.execute(t.delete())


@pytest.fixture
def db(engine):
    """A clean database for each test, and a session on it."""
    _truncate(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def clock():
    return FrozenClock()
