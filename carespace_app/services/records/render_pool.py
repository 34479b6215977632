"""The record's files are made in a separate process (issue #16).

fpdf2 and the FHIR models are pure Python: a ten-year oncology record is seconds of CPU
(``python benchmarks/record_export.py``, docs/PERFORMANCE.md). In a thread of the server
that time would be taken from every other tab's events (the interpreter runs one thread
at a time); in a process of its own it is not. ``policy.RECORD_RENDER_PROCESSES`` processes
make files; at most ``policy.RECORD_RENDER_QUEUE`` more wait, and one more is refused at
once with ``BUSY`` (the bcrypt queue's rule for sign-ins, services/identity/security.py).

Callers are already off the event loop (a state's unit of work runs in a thread): they
wait here for the file. Call it before the unit of work writes anything, so no database
lock is held while the file is made.
"""
from __future__ import annotations

import json
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from carespace_app import policy
from carespace_app.i18n import N_
from carespace_app.services.errors import DomainError
from carespace_app.services.records import record_export

BUSY = N_("Many records are being prepared right now. Please try again in a minute.")

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_waiting = 0  # files asked for and not made yet (being made, or queued)


class RenderBusy(DomainError):
    def __init__(self):
        super().__init__(BUSY)


def _fhir_json(export: record_export.RecordExport) -> bytes:
    return json.dumps(record_export.fhir_bundle(export), ensure_ascii=False, indent=2).encode("utf-8")


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    if _pool is None:
        # "spawn": the server has threads (and open sockets); a fork would copy them.
        _pool = ProcessPoolExecutor(max_workers=policy.RECORD_RENDER_PROCESSES,
                                    mp_context=multiprocessing.get_context("spawn"))
    return _pool


def _run(fn, export: record_export.RecordExport, *args) -> bytes:
    global _waiting, _pool
    with _lock:
        if _waiting >= policy.RECORD_RENDER_PROCESSES + policy.RECORD_RENDER_QUEUE:
            raise RenderBusy()
        _waiting += 1
        pool = _get_pool()
    try:
        return pool.submit(fn, export, *args).result()
    except BrokenProcessPool:  # the process died (killed, out of memory): a fresh one next time
        with _lock:
            if _pool is pool:
                _pool = None
        raise
    finally:
        with _lock:
            _waiting -= 1


def pdf(export: record_export.RecordExport, lang: str = "en") -> bytes:
    """The PDF a person reads (record_export.pdf_bytes) in ``lang``, made in the render process."""
    return _run(record_export.pdf_bytes, export, lang)


def fhir_json(export: record_export.RecordExport) -> bytes:
    """The FHIR Bundle as UTF-8 JSON (record_export.fhir_bundle), made in the render process."""
    return _run(_fhir_json, export)
