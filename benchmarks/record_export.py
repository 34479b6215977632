"""How long the record download takes for the largest record a patient can ask for (issue #16).

The longest range is policy.MAX_RECORD_RANGE_YEARS. An oncology patient with a blood count
and a chemistry panel every week for those years (10 results a week) and a message thread a
week is the heavy case; this times collect (the database read), the PDF and the FHIR
Bundle, each in one thread, as the download, the email and a share link's viewer run them.

    python benchmarks/record_export.py [--weeks 520] [--runs 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("CARESPACE_SECRET_KEY", "benchmark-only")

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, SQLModel, select  # noqa: E402

from carespace_app import models, policy  # noqa: E402
from carespace_app.db import make_engine  # noqa: E402
from carespace_app.services.records import record_export  # noqa: E402
from tests.factories import make_practice  # noqa: E402

TESTS = [("WBC", "K/uL", 4.0, 11.0), ("Hemoglobin", "g/dL", 12.0, 15.5), ("Platelets", "K/uL", 150, 450),
         ("Neutrophils", "K/uL", 1.5, 8.0), ("Glucose", "mg/dL", 70, 99), ("Creatinine", "mg/dL", 0.6, 1.2),
         ("Potassium", "mmol/L", 3.5, 5.1), ("Sodium", "mmol/L", 135, 145), ("ALT", "U/L", 7, 56),
         ("CA-125", "U/mL", None, 35)]


def seed(db: Session, weeks: int, now: datetime):
    practice = make_practice(db)
    patient, staff = practice.alice, practice.staff
    start = now - timedelta(weeks=weeks)
    db.execute(insert(models.LabReport), [
        dict(patient_id=patient.id, panel=f"Weekly panel {n}", collected_at=start + timedelta(weeks=n),
             resulted_at=start + timedelta(weeks=n, hours=3), ordering_provider="Dr. Rao",
             created_by_user_id=staff.id, created_at=start, released_at=start, category="Other labs")
        for n in range(weeks)])
    reports = db.exec(select(models.LabReport.id, models.LabReport.collected_at)
                      .where(models.LabReport.patient_id == patient.id)).all()
    db.execute(insert(models.LabResult), [
        dict(report_id=rid, patient_id=patient.id, test_name=name, value=(lo or 1) * 1.1,
             value_text=f"{(lo or 1) * 1.1:.1f}", unit=unit, ref_low=lo, ref_high=hi,
             collected_at=at, flag="normal", loinc="")
        for rid, at in reports for name, unit, lo, hi in TESTS])
    db.execute(insert(models.MessageThread), [
        dict(patient_id=patient.id, category="Medical question", subject=f"Week {n} question",
             status="open", created_by_user_id=practice.alice_user.id, created_at=start + timedelta(weeks=n),
             last_message_at=start + timedelta(weeks=n, hours=2), message_count=2)
        for n in range(weeks)])
    threads = db.exec(select(models.MessageThread.id, models.MessageThread.created_at)
                      .where(models.MessageThread.patient_id == patient.id)).all()
    db.execute(insert(models.Message), [
        dict(thread_id=tid, author_user_id=author, from_staff=staff_side,
             body="How are my counts this week? I have been more tired than usual." * 2,
             created_at=at + timedelta(hours=h))
        for tid, at in threads
        for author, staff_side, h in ((practice.alice_user.id, False, 0), (staff.id, True, 2))])
    db.commit()
    return practice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=policy.MAX_RECORD_RANGE_YEARS * 52)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    now = datetime.utcnow().replace(microsecond=0)
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{tmp}/export.db")
        SQLModel.metadata.create_all(engine)
        with Session(engine, expire_on_commit=False) as db:
            practice = seed(db, args.weeks, now)
        start, end = (now - timedelta(weeks=args.weeks + 1)).date(), date.today()
        timings: dict[str, list[float]] = {"collect": [], "pdf": [], "fhir": []}
        for _ in range(args.runs):
            with Session(engine, expire_on_commit=False) as db:
                t = time.perf_counter()
                record = record_export.collect(db, practice.alice_user, practice.alice.id, start=start,
                                               end=end, include_messages=True, clock=lambda: now)
                timings["collect"].append(time.perf_counter() - t)
                db.rollback()
            t = time.perf_counter()
            pdf = record_export.pdf_bytes(record)
            timings["pdf"].append(time.perf_counter() - t)
            t = time.perf_counter()
            bundle = record_export.fhir_bundle(record)
            timings["fhir"].append(time.perf_counter() - t)
        results = sum(len(r.results) for r in record.reports)
        messages = sum(len(c.messages) for c in record.conversations)
        print(f"record: {len(record.reports)} reports, {results} results, {messages} messages "
              f"({args.weeks} weeks)")
        print(f"PDF {len(pdf) / 1e6:.1f} MB, FHIR {len(bundle['entry'])} entries")
        for step, values in timings.items():
            print(f"{step:8s} median {statistics.median(values):6.2f} s  (runs: "
                  + ", ".join(f"{v:.2f}" for v in values) + ")")


if __name__ == "__main__":
    main()
