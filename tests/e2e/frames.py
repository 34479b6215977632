"""What reaches a browser tab: every websocket frame it receives, and the words to look for.

Reflex keeps a tab's state on the server and sends it over the event socket: a whole
tree on every page load, each handler's changes as it runs. What a person could read
in the browser's developer tools is what these frames carry, whether the page shows
it or not. A recorder is attached to a page before it opens its first socket (every
page load opens a new one) and keeps the frames received while it is recording.

The records helpers put distinctive words into a patient's record, the way the office
and the patient would (the same service functions, against the running server's
database; tests/e2e/records_office.py does the same for the other stories).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from playwright.sync_api import Page, WebSocket
from sqlmodel import select

from carespace_app.clock import utcnow
from carespace_app.models import Patient, User
from carespace_app.services.records import appointments
from carespace_app.services.records import labs
from carespace_app.services.records import messaging

from .harness import Server
from .people import Person
from .records_office import office

EXCERPT = 120  # characters either side of a marker found in a frame


class FrameRecorder:
    """The frames a page (and each page load's new socket) receives while recording."""

    def __init__(self, page: Page):
        self.page = page
        self.frames: list[str] = []
        self.sources: list[str] = []  # for each frame: which socket, opened on which page
        self.sockets = 0
        self.recording = False
        self.last_frame_at = time.monotonic()
        page.on("websocket", self._socket)

    def _socket(self, socket: WebSocket) -> None:
        self.sockets += 1
        source = f"socket {self.sockets}, opened at {self.page.url}"
        socket.on("framereceived", lambda payload: self._frame(payload, source))

    def _frame(self, payload, source: str) -> None:
        self.last_frame_at = time.monotonic()
        if self.recording:
            self.frames.append(payload if isinstance(payload, str)
                               else payload.decode("utf-8", errors="replace"))
            self.sources.append(source)

    def start(self) -> None:
        """From now on. The page must have settled first (quiet()): an answer to the
        person still signed in, arriving late, is theirs to receive."""
        self.recording = True

    def quiet(self, ms: int = 1000, timeout: float = 15.0) -> None:
        """Until no frame has arrived for ``ms``: the page's own events are all answered."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last_frame_at < ms / 1000:
            if time.monotonic() > deadline:
                raise AssertionError(f"the page kept receiving frames for {timeout}s")
            self.page.wait_for_timeout(100)

    def stop(self) -> None:
        self.recording = False

    def settle(self, ms: int = 600) -> None:
        """Playwright hands events over while it waits: let the last frames arrive."""
        self.page.wait_for_timeout(ms)

    def text(self) -> str:
        return "\n".join(self.frames)

    def leaks(self, markers: list[str]) -> list[str]:
        """Each marker found in a frame, with the frame's text around it."""
        found = []
        for n, (frame, source) in enumerate(zip(self.frames, self.sources)):
            for marker in markers:
                at = frame.find(marker)
                if at >= 0:
                    found.append(f"{marker!r} in frame {n + 1} of {len(self.frames)} ({source}): "
                                 f"…{frame[max(0, at - EXCERPT):at + len(marker) + EXCERPT]}…")
        return found


def page_leaks(page: Page, markers: list[str]) -> list[str]:
    """Markers anywhere in the page's HTML (hidden elements and attributes included)."""
    html = page.content()
    return [m for m in markers if m in html]


def client_token(page: Page) -> str:
    """Reflex's key for this tab's server-side state (kept in the tab's sessionStorage)."""
    return page.evaluate("() => window.sessionStorage.getItem('token') || ''")


def tag() -> str:
    """A word no other test (and no page text) contains."""
    return "Zq" + uuid.uuid4().hex[:8]


# --- records with distinctive words -----------------------------------------------------


@dataclass
class Record:
    """What was put into a patient's record: every word here is theirs alone."""

    markers: list[str] = field(default_factory=list)
    panel: str = ""
    test_name: str = ""
    subject: str = ""
    location: str = ""


def _user(db, person: Person) -> User:
    return db.exec(select(User).where(User.email == person.email)).one()


def _patient_id(db, patient: Person) -> int:
    return db.exec(select(Patient.id).where(Patient.mrn == patient.mrn)).one()


def fill_record(server: Server, staff: Person, patient: Person, *, reports: int = 1,
                conversation: bool = True, visit: bool = True) -> Record:
    """Lab reports (the newest first), a conversation the patient started with the care
    team's answer, and a visit: each with words found nowhere else."""
    word = tag()
    record = Record(panel=f"Tumor markers {word}", test_name=f"Ferritin {word}",
                    subject=f"Nausea after infusion {word}", location=f"Pavilion {word} suite 4")
    now = utcnow()
    with office(server) as db:
        office_user, patient_id = _user(db, staff), _patient_id(db, patient)
        for n in range(reports):
            collected = now - timedelta(days=3 + n)
            labs.enter_report(
                db, office_user, patient_id, panel=record.panel if n == 0 else f"{record.panel} {n:02d}",
                collected_at=collected, resulted_at=collected + timedelta(hours=6),
                ordering_provider=f"Dr. Ines {word}",
                results=[labs.ResultInput(test_name=record.test_name, value=61.5 + n, unit=f"ng/{word}",
                                          ref_low=15.0, ref_high=150.0)],
                clock=utcnow)
        if conversation:
            thread_id = messaging.start_thread(
                db, _user(db, patient), patient_id, category="Medical question",
                subject=record.subject, body=f"I felt sick for two days {word} body", client_key=None,
                clock=utcnow)
            messaging.reply(db, office_user, thread_id, body=f"Try the ginger tea {word} reply",
                            client_key=None, clock=utcnow)
        if visit:
            appointments.create_appointment(
                db, office_user, patient_id, starts_at=(now + timedelta(days=4)).replace(second=0, microsecond=0),
                duration_minutes=45, appointment_type="Infusion", provider=f"Dr. Omar {word}",
                location=record.location, clock=utcnow)
    record.markers = [word, patient.name, patient.email, patient.mrn]
    return record
