"""The record's files are made in a separate process (services/records/render_pool.py)."""
from __future__ import annotations

import json
import threading
from datetime import date, datetime

import pytest

from carespace_app import policy
from carespace_app.services.records import labs, record_export, render_pool
from carespace_app.services.records.labs import ResultInput
from tests.factories import make_practice


@pytest.fixture
def export(db, clock):
    practice = make_practice(db)
    labs.enter_report(db, practice.staff, practice.alice.id, panel="Tumour markers",
                      collected_at=datetime(2026, 1, 3, 18, 0), resulted_at=datetime(2026, 1, 4, 18, 0),
                      ordering_provider="Dr. Anjali Rao",
                      results=[ResultInput("CA-125", "35.7", "U/mL", None, 35.0, loinc="10334-1")],
                      clock=clock)
    return record_export.collect(db, practice.alice_user, practice.alice.id, start=date(2026, 1, 1),
                                 end=date(2026, 1, 5), include_messages=True, clock=clock)


def test_the_render_process_makes_the_same_files(export):
    made = render_pool.pdf(export)
    assert made.startswith(b"%PDF-") and b"%%EOF" in made[-64:]
    assert json.loads(render_pool.fhir_json(export)) == record_export.fhir_bundle(export)


def test_one_more_than_the_queue_holds_is_refused_at_once(export, monkeypatch):
    """While every place is taken, the next file is refused with the sentence, not queued."""
    release = threading.Event()
    started = threading.Barrier(policy.RECORD_RENDER_PROCESSES + policy.RECORD_RENDER_QUEUE + 1)

    class Waiting:  # stands in for the pool: each submitted job waits until released
        def submit(self, fn, *args):
            class Job:
                def result(self_inner):
                    if not release.is_set():
                        started.wait(timeout=10)
                        release.wait(timeout=10)
                    return b"made"
            return Job()

    monkeypatch.setattr(render_pool, "_get_pool", lambda: Waiting())
    results: list = []
    workers = [threading.Thread(target=lambda: results.append(render_pool.pdf(export)))
               for _ in range(policy.RECORD_RENDER_PROCESSES + policy.RECORD_RENDER_QUEUE)]
    for w in workers:
        w.start()
    started.wait(timeout=10)  # every place is taken now
    with pytest.raises(render_pool.RenderBusy) as refused:
        render_pool.fhir_json(export)
    assert str(refused.value) == render_pool.BUSY
    release.set()
    for w in workers:
        w.join(timeout=10)
    assert results == [b"made"] * len(workers)
    assert render_pool.pdf(export) == b"made"  # the places are free again
