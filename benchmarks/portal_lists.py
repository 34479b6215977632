"""How the portal's lists scale: a patient with 10 and with 10,000 conversations and
lab results, timed through the same service calls the pages make.

    python benchmarks/portal_lists.py [--runs 25] [--big 10000]

Runs on a temporary SQLite file, and also on PostgreSQL when
CARESPACE_TEST_DATABASE_URL is set (a scratch database is created beside it and
dropped afterwards). Prints the median of N runs per call and the ratio big/small:
a ratio near 1 means the page reads only what it shows.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from datetime import date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CARESPACE_SECRET_KEY", "benchmark-only")
os.environ.setdefault("CARESPACE_BCRYPT_ROUNDS", "4")

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session, SQLModel  # noqa: E402

from benchmarks import seed, serve  # noqa: E402
from carespace_app import models  # noqa: E402
from carespace_app.db import make_engine  # noqa: E402
from carespace_app.services.records import labs
from carespace_app.services.records import messaging
from carespace_app.services.identity import security

NOW = datetime(2026, 6, 1, 15, 0)


def clock() -> datetime:
    return NOW


def make_patient(db: Session, n: int, password_hash: str) -> tuple[models.User, int]:
    user = models.User(email=f"bench{n}-{uuid.uuid4().hex[:6]}@example.test", full_name=f"Bench {n}",
                       password_hash=password_hash)
    db.add(user)
    db.flush()
    patient = models.Patient(mrn=f"B-{uuid.uuid4().hex[:10]}", first_name="Bench", last_name=str(n),
                             last_name_key=str(n), date_of_birth=date(1950, 1, 1),
                             email=user.email, user_id=user.id)
    db.add(patient)
    db.flush()
    db.add(models.PatientAccess(patient_id=patient.id, user_id=user.id, relation=models.RELATION_SELF))
    db.commit()
    return user, patient.id


def fill(db: Session, user: models.User, patient_id: int, count: int) -> None:
    """``count`` conversations and lab results before the benchmark's clock (seed.py)."""
    seed.fill(db, user, patient_id, count, now=NOW)


CALLS = {
    "messaging.list_threads (page 20)":
        lambda db, u, p: messaging.list_threads(db, u, p, limit=20, clock=clock),
    "messaging.unread_count":
        lambda db, u, p: messaging.unread_count(db, u, p, clock=clock),
    "labs.list_reports (page 10)":
        lambda db, u, p: labs.list_reports(db, u, p, limit=10, clock=clock),
    "labs.test_history (latest 200)":
        lambda db, u, p: labs.test_history(db, u, p, "Potassium", clock=clock),
}


def median_ms(engine, user, patient_id, call, runs: int) -> float:
    times = []
    with Session(engine, expire_on_commit=False) as db:
        call(db, user, patient_id)  # warm caches and the connection
        for _ in range(runs):
            began = time.perf_counter()
            call(db, user, patient_id)
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def run(label: str, url: str, runs: int, big: int) -> None:
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    password_hash = security.hash_password("Bench-Mark-2026!", rounds=4)
    with Session(engine, expire_on_commit=False) as db:
        small_user, small_patient = make_patient(db, 10, password_hash)
        fill(db, small_user, small_patient, 10)
        big_user, big_patient = make_patient(db, big, password_hash)
        began = time.perf_counter()
        fill(db, big_user, big_patient, big)
        filled = time.perf_counter() - began
        if engine.dialect.name == "postgresql":
            # As autovacuum would soon after a real import: the planner needs row counts.
            db.exec(text("ANALYZE"))
            db.commit()
    print(f"\n{label}: 10 vs {big:,} threads and lab results (filled in {filled:.1f}s), "
          f"median of {runs} runs")
    print(f"{'call':<34}{'10 (ms)':>10}{f'{big:,} (ms)':>14}{'ratio':>8}")
    for name, call in CALLS.items():
        small = median_ms(engine, small_user, small_patient, call, runs)
        large = median_ms(engine, big_user, big_patient, call, runs)
        print(f"{name:<34}{small:>10.2f}{large:>14.2f}{large / small:>8.2f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25)
    parser.add_argument("--big", type=int, default=10_000)
    args = parser.parse_args()
    with serve.scratch_database("sqlite") as url:
        run("SQLite", url, args.runs, args.big)
    if not os.environ.get("CARESPACE_TEST_DATABASE_URL"):
        print("\nPostgreSQL: skipped (set CARESPACE_TEST_DATABASE_URL to include it)")
        return
    with serve.scratch_database("postgresql") as url:
        run("PostgreSQL", url, args.runs, args.big)


if __name__ == "__main__":
    main()
