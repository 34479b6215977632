"""Download my record (issue #16): the page's handlers through the real services and the tab
guard (tests/tabs.py) — what a patient, a caregiver, the office viewing and a stranger get,
the audit rows, the range limit, the daily send limit and the emailed file in the outbox."""
from __future__ import annotations

import base64
import io
import logging
import re
from datetime import date, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader
from sqlmodel import Session, select

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, OutboxEmail
from carespace_app.policy import MAX_RECORD_EMAILS_PER_DAY, MAX_RECORD_RANGE_YEARS
from carespace_app.services.audit import patient_activity
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.mail import outbox
from carespace_app.services.records import labs, messaging, record_download, record_export
from carespace_app.services.records.labs import ResultInput
from carespace_app.state.admin_patient import AdminPatientState
from carespace_app.state.my_record import MyRecordState
from carespace_app.state.session import READ_ONLY
from tests.factories import make_practice, revoke_caregiver
from tests.tabs import Browser, Tab, sign_in_token

ALICE_PANEL = "Tumour markers"
BOB_PANEL = "Bob's private panel"


@pytest.fixture
def practice(db):
    p = make_practice(db)
    now = utcnow()
    for patient, panel, test in ((p.alice, ALICE_PANEL, "CA-125"), (p.bob, BOB_PANEL, "Bobtest")):
        labs.enter_report(db, p.staff, patient.id, panel=panel, collected_at=now - timedelta(days=3),
                          resulted_at=now - timedelta(days=2), ordering_provider="Dr. Anjali Rao",
                          results=[ResultInput(test, "35.7", "U/mL", None, 35.0)], clock=utcnow)
    messaging.start_thread(db, p.alice_user, p.alice.id, category="Billing", subject="Alice's bill",
                           body="A question about my bill", client_key=None, clock=utcnow)
    db.commit()  # the test's unit of work ends here: the page reads in its own
    return p


def _tab(user, page: str = routes.RECORD) -> Tab:
    browser = Browser("record")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(page)
    return tab


def _form(tab: Tab, **more) -> dict:
    state = tab.state(MyRecordState)
    return {"start": state.default_start, "end": state.default_end, **more}


def _download(events) -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of the rx.download a handler returned."""
    found = [e for e in events if getattr(getattr(e, "handler", None), "fn", None) is not None
             and e.handler.fn.__qualname__.endswith("_download")]
    assert len(found) == 1, events
    args = {str(name): str(getattr(value, "_var_value", value)) for name, value in found[0].args}
    url, filename = args["url"].strip('"'), args["filename"].strip('"')
    head, _, data = url.partition(",")
    return filename, head[len("data:"):].split(";")[0], base64.b64decode(data)


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _audit(db, action_prefix: str = "record.") -> list[AuditEvent]:
    db.expire_all()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action.startswith(action_prefix))
                        .order_by(AuditEvent.id)).all())


def _outbox(db) -> list[OutboxEmail]:
    db.expire_all()
    return list(db.exec(select(OutboxEmail).where(OutboxEmail.kind == record_download.EMAIL_KIND)
                        .order_by(OutboxEmail.id)).all())


# --- the page -----------------------------------------------------------------------------


def test_the_page_starts_with_the_last_twelve_months(practice):
    tab = _tab(practice.alice_user)
    state = tab.state(MyRecordState)
    end = date.fromisoformat(state.default_end)
    start = date.fromisoformat(state.default_start)
    assert end == record_download.today(utcnow)
    assert (start.year, start.month) == (end.year - 1, end.month)
    assert state.loaded and state.form_error == ""


def test_a_patient_downloads_a_pdf_of_their_own_record_and_it_is_audited(db, practice):
    tab = _tab(practice.alice_user)
    events = tab.call(MyRecordState, "submit", form=_form(tab), button="pdf")
    filename, kind, data = _download(events)
    day = record_download.today(utcnow).isoformat()
    assert (filename, kind) == (f"carespace-record-{day}.pdf", "application/pdf")
    text = _pdf_text(data)
    assert "Alice Moreno" in text and ALICE_PANEL in text and "CA-125" in text
    assert BOB_PANEL not in text and "Lindqvist" not in text
    assert record_export.PDF_MESSAGES_LEFT_OUT in text  # messages are off by default
    state = tab.state(MyRecordState)
    assert filename in state.download_notice and state.busy == ""
    [row] = _audit(db)
    assert (row.action, row.actor_user_id, row.actor_role, row.patient_id) == (
        "record.downloaded.pdf", practice.alice_user.id, "patient", practice.alice.id)
    assert row.detail == (f"format pdf, {_form(tab)['start']} to {_form(tab)['end']}, messages no")
    # "Who viewed my record" says which file was made.
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=utcnow)
    assert "Downloaded your record (PDF)" in [e.what for e in trail.items]


def test_the_fhir_file_is_a_valid_bundle_of_this_patient_only_with_messages_when_asked(db, practice):
    tab = _tab(practice.alice_user)
    events = tab.call(MyRecordState, "submit", form=_form(tab, messages=True), button="fhir")
    filename, kind, data = _download(events)
    assert filename.endswith(".json") and kind == "application/fhir+json"
    bundle = Bundle.model_validate_json(data)
    kinds = [e.resource.get_resource_type() for e in bundle.entry]
    assert kinds.count("Patient") == 1 and "DiagnosticReport" in kinds and "Communication" in kinds
    text = data.decode("utf-8")
    assert "Moreno" in text and "A question about my bill" in text
    assert "Lindqvist" not in text and BOB_PANEL not in text
    [row] = _audit(db)
    assert row.action == "record.downloaded.fhir" and row.detail.endswith("messages yes")
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=utcnow)
    assert "Downloaded your record (FHIR file)" in [e.what for e in trail.items]


def test_a_caregiver_downloads_for_the_patient_and_the_trail_says_who(db, practice):
    tab = _tab(practice.carer)
    _filename, _kind, data = _download(tab.call(MyRecordState, "submit", form=_form(tab),
                                                button="pdf"))
    assert "Alice Moreno" in _pdf_text(data)
    [row] = _audit(db)
    assert (row.actor_user_id, row.actor_role, row.patient_id) == (
        practice.carer.id, "caregiver", practice.alice.id)
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=utcnow)
    line = next(e for e in trail.items if e.what == "Downloaded your record (PDF)")
    assert line.who == "Carla Moreno"


def test_a_revoked_caregivers_open_tab_gets_no_file(db, practice):
    tab = _tab(practice.carer)
    revoke_caregiver(db, practice.alice, practice.carer)
    db.commit()
    events = tab.call(MyRecordState, "submit", form=_form(tab), button="pdf")
    assert not [e for e in events if "_download" in repr(e)]
    assert _audit(db) == []
    assert tab.path == routes.ACCESS


def test_another_patients_record_is_refused_by_the_service_and_audited(db, practice):
    start, end = record_download.default_range(utcnow)
    for call in (
        lambda: record_download.download_record(
            db, practice.bob_user, practice.alice.id, start_text=start.isoformat(),
            end_text=end.isoformat(), include_messages=True, fmt="pdf", clock=utcnow),
        lambda: record_download.send_record(
            db, practice.bob_user, practice.alice.id, to="bob@example.net",
            start_text=start.isoformat(), end_text=end.isoformat(), include_messages=False,
            fmt="pdf", clock=utcnow),
        lambda: record_download.print_at_desk(
            db, practice.bob_user, practice.alice.id, start_text=start.isoformat(),
            end_text=end.isoformat(), include_messages=False, clock=utcnow),
    ):
        with pytest.raises(NotAllowed):
            call()
    refusals = db.exec(select(AuditEvent.action, AuditEvent.repeat_count).where(
        AuditEvent.actor_user_id == practice.bob_user.id)).all()
    # Two on Alice's record (one row, counted twice: services/audit/trail.py), one at the desk.
    assert sorted(refusals) == [("access.refused", 2), ("admin.refused", 1)]
    assert _audit(db) == [] and _outbox(db) == []


# --- the range ------------------------------------------------------------------------------


@pytest.mark.parametrize("start, end, field, sentence", [
    ("", "2026-01-01", "start", "Enter the first day"),
    ("2025-01-01", "", "end", "Enter the last day"),
    ("2025-02-30", "2026-01-01", "start", "Enter a real date"),
    ("0001-01-01", "0001-12-31", "start", "Enter a real date"),
    ("2026-01-02", "2026-01-01", "start", record_export.RANGE_BACKWARDS),
    ("2010-01-01", "2026-01-01", "start", record_download.RANGE_TOO_LONG),
])
def test_a_bad_range_is_said_beside_its_field_and_nothing_is_made(db, practice, start, end, field,
                                                                   sentence):
    tab = _tab(practice.alice_user)
    events = tab.call(MyRecordState, "submit", form={"start": start, "end": end}, button="pdf")
    state = tab.state(MyRecordState)
    assert state.errors[field].startswith(sentence)
    assert not [e for e in events if "_download" in repr(e)]
    assert _audit(db) == []


def test_the_range_limit_is_the_policys_and_its_edge_is_allowed():
    start = date(2016, 2, 29)
    edge = date(2026, 2, 28)
    assert MAX_RECORD_RANGE_YEARS == 10
    assert record_download.parse_range(start.isoformat(), edge.isoformat(), clock=utcnow) == (start, edge)
    with pytest.raises(ValidationError) as refused:
        record_download.parse_range(start.isoformat(), (edge + timedelta(days=1)).isoformat(),
                                    clock=utcnow)
    assert refused.value.field == "start"
    assert f"{MAX_RECORD_RANGE_YEARS} years" in str(refused.value)


def test_a_button_the_page_does_not_have_does_nothing(db, practice):
    tab = _tab(practice.alice_user)
    assert tab.call(MyRecordState, "submit", form=_form(tab), button="xml") == []
    assert _audit(db) == []


# --- Email it -------------------------------------------------------------------------------


def test_emailing_the_record_queues_it_attached_sealed_and_plain_in_the_body(db, practice):
    tab = _tab(practice.alice_user)
    tab.call(MyRecordState, "submit",
             form=_form(tab, email="Dr.New@Clinic.example", format="fhir"), button="email")
    state = tab.state(MyRecordState)
    assert state.email_error == "" and "dr.new@clinic.example" in state.email_notice
    [row] = _outbox(db)
    assert row.to_address == "dr.new@clinic.example" and row.patient_id == practice.alice.id
    assert row.attachment_type == "application/fhir+json"
    assert re.fullmatch(r"carespace-record-\d{4}-\d{2}-\d{2}\.json", row.attachment_name)
    # Nothing of the record in clear: not in the row, not in the email's words.
    for column in (row.sealed_attachment, row.body_template, row.subject):
        assert "Moreno" not in column and "CA-125" not in column and "Tumour" not in column
    assert get_settings().practice_name in row.body_template
    attached = outbox.attachment_of(row)
    assert Bundle.model_validate_json(attached.data).entry[0].resource.name[0].family == "Moreno"
    [audit] = _audit(db)
    assert (audit.action, audit.actor_user_id) == ("record.sent.fhir", practice.alice_user.id)
    assert "clinic.example" in audit.detail and "dr.new" not in audit.detail
    assert f"email {row.id}" in audit.detail
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=utcnow)
    assert "Emailed your record (FHIR file)" in [e.what for e in trail.items]


def test_a_bad_address_is_said_beside_the_field_and_nothing_is_sent(db, practice):
    tab = _tab(practice.alice_user)
    tab.call(MyRecordState, "submit", form=_form(tab, email="not an address", format="pdf"),
             button="email")
    assert tab.state(MyRecordState).errors["email"].startswith("Enter a valid email address")
    assert _outbox(db) == [] and _audit(db) == []


def test_enter_in_the_address_field_emails_and_elsewhere_downloads(db, practice):
    tab = _tab(practice.alice_user)
    tab.call(MyRecordState, "submit", form=_form(tab, email="me@example.net", format="pdf"),
             button="enter")
    assert len(_outbox(db)) == 1
    events = tab.call(MyRecordState, "submit", form=_form(tab, email="", format="pdf"),
                      button="enter")
    assert _download(events)[1] == "application/pdf"


def test_a_double_tap_on_email_it_sends_once(db, practice):
    tab = _tab(practice.alice_user)
    form = _form(tab, email="me@example.net", format="pdf",
                 form_key=str(tab.state(MyRecordState).form_key))
    tab.call(MyRecordState, "submit", form=form, button="email")
    tab.call(MyRecordState, "submit", form=form, button="email")
    assert len(_outbox(db)) == 1


def test_sends_are_limited_per_patient_whoever_sends(db, practice):
    patient_tab, carer_tab = _tab(practice.alice_user), _tab(practice.carer)
    for n in range(MAX_RECORD_EMAILS_PER_DAY):
        tab = patient_tab if n % 2 else carer_tab
        tab.call(MyRecordState, "submit", form=_form(tab, email=f"doc{n}@example.net", format="pdf"),
                 button="email")
        assert tab.state(MyRecordState).email_error == ""
    patient_tab.call(MyRecordState, "submit",
                     form=_form(patient_tab, email="one.more@example.net", format="pdf"),
                     button="email")
    error = patient_tab.state(MyRecordState).email_error
    assert error.startswith(f"This record was emailed {MAX_RECORD_EMAILS_PER_DAY} times today")
    assert get_settings().office_phone in error
    assert len(_outbox(db)) == MAX_RECORD_EMAILS_PER_DAY
    # Downloading is not limited by it.
    events = patient_tab.call(MyRecordState, "submit", form=_form(patient_tab), button="pdf")
    assert _download(events)[1] == "application/pdf"


def test_the_office_viewing_as_the_patient_may_download_but_not_send(db, practice):
    tab = _tab(practice.staff, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    tab.call(AdminPatientState, "view_as_patient")
    tab.open(routes.RECORD)
    _filename, _kind, data = _download(tab.call(MyRecordState, "submit", form=_form(tab),
                                                button="pdf"))
    assert "Alice Moreno" in _pdf_text(data)
    tab.call(MyRecordState, "submit", form=_form(tab, email="someone@example.net", format="pdf"),
             button="email")
    assert tab.state(MyRecordState).email_error == READ_ONLY
    assert _outbox(db) == []
    [row] = _audit(db)
    assert (row.action, row.actor_user_id, row.actor_role) == (
        "record.downloaded.pdf", practice.staff.id, "staff")


def test_the_service_refuses_the_office_a_send_even_without_the_state(db, practice):
    start, end = record_download.default_range(utcnow)
    with pytest.raises(ValidationError) as refused:
        record_download.send_record(db, practice.staff, practice.alice.id, to="x@example.net",
                                    start_text=start.isoformat(), end_text=end.isoformat(),
                                    include_messages=False, fmt="pdf", clock=utcnow)
    assert str(refused.value) == record_download.OFFICE_CANNOT_SEND
    assert _outbox(db) == []


# --- the outbox's attachment ----------------------------------------------------------------


def _queued_with_file(engine, clock) -> int:
    with Session(engine, expire_on_commit=False) as db:
        row = outbox.enqueue(db, to="doc@example.net", subject="A copy", body="Attached.",
                             kind=record_download.EMAIL_KIND, clock=clock,
                             attachment=outbox.Attachment("carespace-record-2026-01-05.pdf",
                                                          "application/pdf",
                                                          b"%PDF-1.4 SECRET-BYTES"))
        db.commit()
        return row.id


def test_the_log_names_the_attachment_never_its_content_and_the_file_is_dropped(engine, db, clock,
                                                                                caplog):
    email_id = _queued_with_file(engine, clock)
    settings = get_settings()
    assert not settings.smtp_enabled
    with caplog.at_level(logging.INFO, logger="carespace.mail"):
        assert outbox.deliver_due(engine, settings, clock=clock) == 1
    logged = caplog.text
    assert "carespace-record-2026-01-05.pdf" in logged and "application/pdf" in logged
    assert "SECRET-BYTES" not in logged
    assert base64.b64encode(b"%PDF-1.4 SECRET-BYTES").decode() not in logged
    db.expire_all()
    row = db.get(OutboxEmail, email_id)
    assert row.sealed_attachment is None and row.attachment_name.endswith(".pdf")


def test_smtp_delivery_carries_the_attachment(engine, db, clock):
    from tests.test_outbox import SmtpServer, free_port, smtp_settings

    email_id = _queued_with_file(engine, clock)
    port = free_port()
    with SmtpServer(port) as capture:
        assert outbox.deliver_due(engine, smtp_settings(port), clock=clock) == 1
    [message] = capture.messages
    parts = [p for p in message.walk() if p.get_filename()]
    assert [(p.get_filename(), p.get_content_type()) for p in parts] == [
        ("carespace-record-2026-01-05.pdf", "application/pdf")]
    assert parts[0].get_payload(decode=True) == b"%PDF-1.4 SECRET-BYTES"
    db.expire_all()
    assert db.get(OutboxEmail, email_id).sealed_attachment is None


# --- the desk ---------------------------------------------------------------------------------


def test_staff_print_a_patients_record_at_the_desk(db, practice):
    tab = _tab(practice.staff, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    state = tab.state(AdminPatientState)
    form = {"start": state.desk_start, "end": state.desk_end}
    filename, kind, data = _download(tab.call(AdminPatientState, "print_record", form=form))
    assert kind == "application/pdf" and filename.endswith(".pdf")
    text = _pdf_text(data)
    assert "Alice Moreno" in text and "Made" in text and "Nora Quinn" in text
    [row] = _audit(db)
    assert (row.action, row.actor_user_id, row.patient_id) == (
        "record.printed_at_desk", practice.staff.id, practice.alice.id)
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=utcnow)
    line = next(e for e in trail.items if e.what == "The office printed your record")
    assert line.who == "The office (Nora Quinn)"


def test_a_bad_desk_range_is_said_beside_the_field(db, practice):
    tab = _tab(practice.staff, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    events = tab.call(AdminPatientState, "print_record", form={"start": "2026-01-02",
                                                              "end": "2026-01-01"})
    assert tab.state(AdminPatientState).desk_errors["start"] == record_export.RANGE_BACKWARDS
    assert not [e for e in events if "_download" in repr(e)] and _audit(db) == []


def test_a_patient_cannot_print_at_the_desk(db, practice):
    tab = _tab(practice.alice_user, f"{routes.ADMIN_PATIENT}?id={practice.alice.id}")
    events = tab.call(AdminPatientState, "print_record",
                      form={"start": "2026-01-01", "end": "2026-01-02"})
    assert not [e for e in events if "_download" in repr(e)]
    assert tab.session_state.office_only and _audit(db) == []


# --- the form's buttons ---------------------------------------------------------------------


def test_the_compiled_form_tells_the_handler_which_button_was_pressed():
    """The page reads the pressed button from the submit event Reflex names ``ev``
    (pages/my_record.py SUBMITTER): a Reflex upgrade that renames it fails here."""
    import carespace_app.carespace_app  # noqa: F401
    from carespace_app.pages.my_record import my_record_page

    # The page's own form reads the button; the share-link form beside it has one button.
    hooks = [h for h in my_record_page()._get_all_hooks()
             if "handleSubmit" in h and "submitter" in h]
    assert len(hooks) == 1
    assert "useCallback((ev) =>" in hooks[0]
    assert '["button"] : (ev?.nativeEvent?.submitter?.value ?? "")' in hooks[0]
