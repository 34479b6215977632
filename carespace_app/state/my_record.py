"""Download my record: the patient's record for a date range as a PDF or a FHIR file,
downloaded or emailed (issue #16; services/records/record_download.py does the work)."""
from __future__ import annotations

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.i18n import N_
from carespace_app.services.permissions import scopes
from carespace_app.services.records import record_download
from carespace_app.state.portal import PortalState
from carespace_app.state.session import form_errors

MAX_FIELD = 400
# The form's buttons, by the value each one sends (pages/my_record.py). "enter": the
# Enter key in a field (the form's first, hidden, button): an email when an address is
# typed, else the PDF.
PDF, FHIR, EMAIL, ENTER = record_download.PDF, record_download.FHIR, "email", "enter"
BUTTONS = (PDF, FHIR, EMAIL, ENTER)
FIELDS = ("start", "end", "email", "format")
FOCUS = {"format": "format-pdf"}  # the field an error moves the focus to, by its id
DOWNLOADED = N_("Your {what} is downloading: {filename}.")
SENT = N_("We're emailing your record ({what}) to {to}. It should arrive in a few minutes.")


def blank_errors() -> dict[str, str]:
    return {name: "" for name in FIELDS}


def _text(form: dict, key: str) -> str:
    value = form.get(key, "") if isinstance(form, dict) else ""
    return value[:MAX_FIELD].strip() if isinstance(value, str) else ""


def _checked(form: dict, key: str) -> bool:
    return isinstance(form, dict) and form.get(key) in ("on", "true", True)


class MyRecordState(PortalState):
    # The range the form starts with (YYYY-MM-DD): the last 12 months, up to today.
    default_start: str = ""
    default_end: str = ""
    errors: dict[str, str] = blank_errors()
    form_error: str = ""  # over the download buttons
    email_error: str = ""  # over "Email it" (the daily limit, a file too big to send)
    download_notice: str = ""  # under the download buttons: the file on its way
    email_notice: str = ""  # under "Email it": where it went
    # Which filling-in of the form this is (a hidden field): a second tap of "Email it",
    # queued behind the first, finds it used and sends nothing.
    form_key: int = 0
    # The button at work ("pdf", "fhir", "email"): it shows so, and the others wait.
    busy: str = ""
    loaded: bool = False

    async def load(self):
        got = await self._open_page(lambda db, v: record_download.default_range(utcnow), area=scopes.AREA_RECORD,
                                    what="download my record")
        if got.left:
            return
        shown = {"errors": blank_errors(), "form_error": "" if got.ok else got.error,
                 "email_error": "", "download_notice": "", "email_notice": "", "busy": "",
                 "loaded": True}
        if got.ok:
            start, end = got.value
            shown.update(default_start=start.isoformat(), default_end=end.isoformat())
        self._set_changed(shown)

    @rx.event
    async def submit(self, form: dict, button: str):
        """One of the form's buttons: "pdf" / "fhir" download, "email" sends (the button's
        value comes from the browser and is only ever one of BUTTONS)."""
        if button not in BUTTONS or self.busy:
            return
        email = _text(form, "email")
        if button == ENTER:
            button = EMAIL if email else PDF
        if button == EMAIL and _text(form, "form_key") not in ("", str(self.form_key)):
            return  # the same form sent twice (a double tap): the first one is the one
        start, end = _text(form, "start"), _text(form, "end")
        messages = _checked(form, "messages")
        self._set_changed({"errors": blank_errors(), "form_error": "", "email_error": "",
                           "download_notice": "", "email_notice": ""})
        self.busy = button
        yield
        if button == EMAIL:
            fmt = _text(form, "format")
            got = await self._portal(lambda db, v: record_download.send_record(
                db, v.user, v.patient_id, to=email, start_text=start, end_text=end,
                include_messages=messages, fmt=fmt, clock=utcnow, client_ip=v.client_ip, lang=self.lang),
                what="email my record", writes=True)
        else:
            got = await self._portal(lambda db, v: record_download.download_record(
                db, v.user, v.patient_id, start_text=start, end_text=end,
                include_messages=messages, fmt=button, clock=utcnow, client_ip=v.client_ip,
                lang=self.lang),
                what="download my record")
        self.busy = ""
        if got.left:
            return
        if not got.ok:
            self.errors, sentence = form_errors(got, blank_errors())
            if button == EMAIL:
                self.email_error = sentence
            else:
                self.form_error = sentence
            if got.field in FIELDS:
                yield rx.set_focus(FOCUS.get(got.field, got.field))
            return
        if button == EMAIL:
            self.form_key += 1
            sent = got.value
            self.email_notice = self._tr(SENT, what=self._tr(record_download.FORMATS[sent.format].words),
                                         to=sent.to)
            return
        made = got.value
        self.download_notice = self._tr(
            DOWNLOADED, what=self._tr(record_download.FORMATS[made.format].words),
            filename=made.filename)
        yield rx.download(data=made.data, filename=made.filename, mime_type=made.content_type)
