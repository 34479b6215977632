"""The database engine, shared by the app, the CLI and the tests."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache
from typing import Iterator

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine

from carespace_app.config import get_settings
from carespace_app.services.errors import DomainError


def normalise_url(url: str) -> str:
    # psycopg 3 is the driver we ship; a bare postgresql:// would ask for psycopg2.
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://"):]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://"):]
    return url


def make_engine(url: str, timeout: int | None = None) -> Engine:
    """hide_parameters: a failed statement's message must not carry an email, a hash or a token
    into the log.

    ``timeout`` (CARESPACE_DB_TIMEOUT, seconds) bounds every wait for the database: a
    locked SQLite file, an unreachable PostgreSQL host, a full pool. Past it the
    request fails and the user is told, instead of a spinner that never ends.
    """
    url = normalise_url(url)
    if timeout is None:
        timeout = get_settings().db_timeout
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
            from pathlib import Path

            Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": timeout},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute(f"PRAGMA busy_timeout={int(timeout * 1000)}")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                         pool_timeout=timeout, connect_args={"connect_timeout": timeout},
                         hide_parameters=True)


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    return make_engine(get_settings().database_url)


@contextmanager
def session_scope(engine: Engine | None = None) -> Iterator[Session]:
    """One unit of work: the action, its emails and its audit rows commit together.

    Commits on success, and on a ``DomainError`` whose writes stand (``keeps_writes``: a
    refusal's audit row, a failed sign-in); rolls back on any other error. Services never
    commit: composed actions are atomic.
    """
    with Session(engine or get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            if exc.keeps_writes:
                session.commit()
            else:
                session.rollback()
            raise
        except BaseException:
            session.rollback()
            raise
