"""The migrations in alembic/ build exactly the schema models.py describes."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from carespace_app import models  # noqa: F401
from carespace_app.db import make_engine

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def empty_database_url():
    base = os.environ.get("CARESPACE_TEST_DATABASE_URL")
    if not base:
        folder = tempfile.mkdtemp(prefix="carespace-mig-")
        yield f"sqlite:///{folder}/migrated.db"
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"carespace_mig_{uuid.uuid4().hex[:8]}"
    conninfo = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrate_command_builds_the_schema_the_models_describe(empty_database_url):
    env = {**os.environ, "REFLEX_DB_URL": empty_database_url}
    result = subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = compare_metadata(context, SQLModel.metadata)
        assert differences == [], f"models.py and alembic/ disagree: {differences}"
        tables = set(inspect(engine).get_table_names())
        assert set(SQLModel.metadata.tables) <= tables
    finally:
        engine.dispose()


def test_migrate_twice_is_harmless(empty_database_url):
    env = {**os.environ, "REFLEX_DB_URL": empty_database_url}
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
