"""/shared#<token>: someone the patient gave a share link (and its passcode) reads the record.

No sign-in. The token comes from the page's URL fragment on every event (the browser sends it
with each one; it never travels in a request line or a Referer). The passcode is asked on
every page load and is never kept. Each event re-checks the link in the database and re-reads
the record (services/records/share_links.py), so a revoked or expired link is refused on the
next tap even on a page already open, and then nothing of the record stays in the tab's state;
leaving the page (``leave``, on unmount) clears it too.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import reflex as rx

from carespace_app import i18n, timefmt
from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.records import record_export, render_pool, share_links
from carespace_app.services.records.labs import reference_text
from carespace_app.state.session import SOMETHING_WRONG_TEMPLATE, SessionState

MAX_TOKEN = 100  # a token of ours is 43 characters; anything longer is not one
MAX_PASSCODE = 64

COVERS = N_("Covers {start} to {end}")
SHARED_BY = N_("Shared with {label}. This link works until {until}.")
VISIT_WHAT = N_("{kind} with {provider}")
PDF_FILE = "health-record.pdf"
FHIR_FILE = "health-record.fhir.json"
FHIR_MIME = "application/fhir+json"
NO_VISITS = N_("No appointments in these dates.")
NO_REPORTS = N_("No lab results in these dates.")
NO_MESSAGES = N_("No messages in these dates.")
MESSAGES_LEFT_OUT = N_("Messages are not included in this link.")


@dataclasses.dataclass
class SharedVisit:
    id: str = ""
    when: str = ""
    what: str = ""  # "Infusion with Dr. Rao"
    location: str = ""
    instructions: str = ""
    cancelled: bool = False


@dataclasses.dataclass
class SharedResult:
    id: str = ""
    test: str = ""
    value: str = ""
    unit: str = ""
    reference: str = ""
    flag: str = ""  # "" when normal; "High", "Critical low"…
    corrected: bool = False


@dataclasses.dataclass
class SharedReport:
    id: str = ""
    panel: str = ""
    dates: str = ""
    results: list[SharedResult] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SharedMessage:
    id: str = ""
    byline: str = ""
    body: str = ""


@dataclasses.dataclass
class SharedConversation:
    id: str = ""
    title: str = ""
    messages: list[SharedMessage] = dataclasses.field(default_factory=list)


def _visits(record, lang: str) -> list[SharedVisit]:
    return [SharedVisit(id=str(a.id), when=timefmt.when(a.starts_at, lang=lang),
                        what=i18n.fmt(lang, VISIT_WHAT, kind=a.appointment_type, provider=a.provider),
                        location=a.location, instructions=a.instructions,
                        cancelled=a.status == record_export.APPOINTMENT_CANCELLED)
            for a in record.appointments]


def _reports(record, lang: str) -> list[SharedReport]:
    return [SharedReport(
        id=str(r.id), panel=r.panel,
        dates=i18n.fmt(lang, record_export.PDF_REPORT_DATES,
                       collected=timefmt.when(r.collected_at, lang=lang),
                       resulted=timefmt.when(r.resulted_at, lang=lang),
                       provider=r.ordering_provider),
        results=[SharedResult(id=str(x.id), test=x.test_name, value=x.value_text, unit=x.unit,
                              reference=reference_text(x.ref_low, x.ref_high),
                              flag="" if x.flag == record_export.FLAG_NORMAL else i18n.gettext(lang, x.flag_words),
                              corrected=x.corrected)
                 for x in r.results])
        for r in record.reports]


def _conversations(record, lang: str) -> list[SharedConversation]:
    return [SharedConversation(
        id=str(c.id),
        title=record_export.PDF_THREAD_HEADING.format(subject=c.subject, category=c.category),
        messages=[SharedMessage(id=str(m.id), body=m.body,
                                byline=i18n.fmt(lang, record_export.PDF_MESSAGE_BYLINE,
                                                author=_author(m.author_name, lang),
                                                when=timefmt.when(m.created_at, lang=lang)))
                  for m in c.messages])
        for c in record.conversations]


def _author(name: str, lang: str) -> str:
    return i18n.gettext(lang, record_export.UNKNOWN_AUTHOR) if name == record_export.UNKNOWN_AUTHOR else name


class SharedRecordState(SessionState):
    # loading | passcode | record | unavailable
    view: str = "loading"
    message: str = ""  # why the link can't be opened
    error: str = ""
    error_field: str = ""
    busy: bool = False
    # The record, while the link works and the page is open.
    patient_name: str = ""
    born: str = ""
    covers: str = ""
    shared_note: str = ""
    include_messages: bool = False
    visits: list[SharedVisit] = []
    reports: list[SharedReport] = []
    conversations: list[SharedConversation] = []
    # The link this page opened with the passcode (0: none yet).
    _link_id: int = 0

    def _token(self) -> str:
        return (self.router.url.fragment or "")[:MAX_TOKEN]

    def _forget(self) -> None:
        """Nothing of the record stays (only vars that hold something are set)."""
        self._set_changed({"patient_name": "", "born": "", "covers": "", "shared_note": "",
                           "include_messages": False, "visits": [], "reports": [],
                           "conversations": [], "busy": False, "error": "", "error_field": ""})
        if self._link_id:  # every page load of every tab comes here: set only what changes
            self._link_id = 0

    def _forget_on_page_load(self) -> None:
        """Before a page load sends the tab's state (state/tab_guard.py): no record in it."""
        self._forget()
        if self.view != "loading":
            self.view = "loading"

    def _unavailable(self, sentence: str) -> None:
        self._forget()
        self.view = "unavailable"
        self.message = sentence

    def _show(self, shared: share_links.SharedRecord) -> None:
        record = shared.record
        self._link_id = shared.link_id
        self._set_changed({
            "view": "record", "message": "", "error": "", "error_field": "", "busy": False,
            "patient_name": record.patient.full_name,
            "born": timefmt.day(record.patient.date_of_birth, lang=self.lang),
            "covers": self._tr(COVERS, start=timefmt.day(record.start, lang=self.lang),
                               end=timefmt.day(record.end, lang=self.lang)),
            "shared_note": self._tr(SHARED_BY, label=shared.label,
                                    until=timefmt.when(shared.expires_at, lang=self.lang)),
            "include_messages": record.include_messages,
            "visits": _visits(record, self.lang), "reports": _reports(record, self.lang),
            "conversations": _conversations(record, self.lang),
        })

    def _refused(self, got) -> None:
        """A refusal: beside the passcode, over the form (our side failed), or the link is gone."""
        if got.field:
            self._set_changed({"busy": False, "error": got.error, "error_field": got.field})
        elif got.msgid == SOMETHING_WRONG_TEMPLATE:
            self._set_changed({"busy": False, "error": got.error, "error_field": ""})
        else:
            self._unavailable(got.error)

    async def load(self):
        self._forget()
        self.message = ""
        token = self._token()
        if not token:
            self._unavailable(self._tr(share_links.NOT_AVAILABLE))
            return
        client_ip = self._client_ip()
        got = await self._public(lambda db: share_links.check(db, token, client_ip=client_ip,
                                                              clock=utcnow), what="share link")
        if not got.ok:
            self._refused(got)
            if self.view != "unavailable":
                self.view = "passcode"
            return
        self.view = "passcode"

    @rx.event
    async def open_record(self, form: dict):
        passcode = form.get("passcode", "") if isinstance(form, dict) else ""
        passcode = passcode[:MAX_PASSCODE] if isinstance(passcode, str) else ""
        token = self._token()
        self._set_changed({"busy": True, "error": "", "error_field": ""})
        yield
        client_ip = self._client_ip()
        got = await self._public(lambda db: share_links.open_link(
            db, token, passcode, client_ip=client_ip, clock=utcnow, lang=self.lang),
            what="open share link")
        if not got.ok:
            self._refused(got)
            if got.field:
                yield rx.set_focus(got.field)
            return
        self._show(got.value)

    async def _download(self, render, *, what: str) -> Optional[rx.event.EventSpec]:
        """``what``: the file as the trail names it ("PDF" or "FHIR file")."""
        token, link_id, client_ip = self._token(), self._link_id, self._client_ip()
        if not link_id:
            self._unavailable(self._tr(share_links.NOT_AVAILABLE))
            return None

        got = await self._public(lambda db: share_links.download(
            db, token, link_id, what=what, client_ip=client_ip, clock=utcnow, lang=self.lang),
            what=f"share link {what}")
        if not got.ok:
            self._refused(got)
            return None
        shared = got.value
        # The file is made after the unit of work (its audit row) has committed: no database
        # lock is held while it is made, in the render process (render_pool).
        made = await self._no_db(lambda: render(shared.record), what=f"share link {what}")
        if not made.ok:  # busy, or our side failed: the record stays, the sentence says why
            self._set_changed({"busy": False, "error": made.error, "error_field": ""})
            return None
        self._show(shared)  # the page shows the record as it is now
        return made.value

    @rx.event
    async def download_pdf(self):
        lang = self.lang  # the PDF's headings in the tab's language
        body = await self._download(lambda record: render_pool.pdf(record, lang), what="PDF")
        if body is not None:
            return rx.download(data=body, filename=PDF_FILE, mime_type="application/pdf")

    @rx.event
    async def download_fhir(self):
        body = await self._download(render_pool.fhir_json, what="FHIR file")
        if body is not None:
            return rx.download(data=body, filename=FHIR_FILE, mime_type=FHIR_MIME)

    @rx.event
    def leave(self):
        """The page is left: nothing of the record stays in the tab."""
        self._forget()
        if self.view != "loading":
            self.view = "loading"
