"""The record to take anywhere (issue #16): who may export it, what the date range keeps,
the FHIR Bundle read back with fhir.resources, and the PDF read back with pypdf."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from fhir.resources.R4B.bundle import Bundle
from pypdf import PdfReader
from sqlmodel import select

from carespace_app.models import AuditEvent
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.records import appointments, labs, messaging, record_export
from carespace_app.services.records.labs import ResultInput
from tests.factories import (grant_caregiver, make_patient, make_practice, make_staff,
                             patient_user, revoke_caregiver)

# The clock fixture starts Mon, Jan 5, 2026, 15:00 UTC (9:00 AM in the practice's Chicago).
INSIDE = (date(2026, 1, 3), date(2026, 1, 4))
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"


@pytest.fixture
def practice(db):
    return make_practice(db)


def enter(db, staff, patient, clock, collected_at, panel, results):
    return labs.enter_report(db, staff, patient.id, panel=panel, collected_at=collected_at,
                             resulted_at=collected_at + timedelta(hours=3),
                             ordering_provider="Dr. Anjali Rao", results=results, clock=clock)


def book(db, staff, patient, clock, starts_at, provider):
    return appointments.create_appointment(
        db, staff, patient.id, starts_at=starts_at, duration_minutes=45,
        appointment_type="Infusion", provider=provider, location="Fayetteville Cancer Center",
        instructions="Bring your medication list.", past_confirmed=True, clock=clock)


@pytest.fixture
def record(db, clock, practice):
    """Alice's record around the range Jan 3–4 (practice-local): one report and one visit
    just inside each edge, one just outside each edge, and Bob's report inside."""
    staff, alice = practice.staff, practice.alice
    # Sat, Jan 3, 00:30 in Chicago (06:30 UTC): the first minutes of the range.
    enter(db, staff, alice, clock, datetime(2026, 1, 3, 6, 30), "Tumour markers", [
        ResultInput("CA-125", "35.7", "U/mL", None, 35.0),
        ResultInput("CEA", "2.9", "ng/mL", None, 5.0),
    ])
    # Sun, Jan 4, 23:30 in Chicago, already Jan 5 in UTC: the last minutes of the range.
    enter(db, staff, alice, clock, datetime(2026, 1, 5, 5, 30), "Complete Blood Count", [
        ResultInput("Hemoglobin", "9.1", "g/dL", 12.0, 15.5),
        ResultInput("Platelets", "412", "K/uL", 150, 400),
        ResultInput("Neutrophils", "0.4", "K/uL", 1.5, 8.0, critical_low=0.5),
        ResultInput("Potassium", "6.8", "mmol/L", 3.5, 5.1, critical_high=6.2),
    ])
    # Fri, Jan 2, 23:30 in Chicago although Jan 3 in UTC: outside.
    enter(db, staff, alice, clock, datetime(2026, 1, 3, 5, 30), "Lipid Panel", [
        ResultInput("Triglycerides", "188", "mg/dL", None, 150)])
    # Mon, Jan 5, 00:30 in Chicago: outside.
    enter(db, staff, alice, clock, datetime(2026, 1, 5, 6, 30), "Thyroid Panel", [
        ResultInput("TSH", "7.7", "mIU/L", 0.4, 4.0)])
    enter(db, staff, practice.bob, clock, datetime(2026, 1, 3, 18, 0), "Iron Studies", [
        ResultInput("Ferritin", "8", "ng/mL", 15, 150)])
    book(db, staff, alice, clock, datetime(2026, 1, 3, 6, 0), "Dr. Inside Early")
    book(db, staff, alice, clock, datetime(2026, 1, 5, 5, 0), "Dr. Inside Late")
    book(db, staff, alice, clock, datetime(2026, 1, 3, 5, 0), "Dr. Outside Before")
    book(db, staff, alice, clock, datetime(2026, 1, 5, 7, 0), "Dr. Outside After")
    return practice


def export_of(db, clock, practice, *, actor=None, include_messages=False, dates=INSIDE):
    return record_export.collect(db, actor or practice.alice_user, practice.alice.id,
                                 start=dates[0], end=dates[1], include_messages=include_messages,
                                 clock=clock)


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def resources(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --- who may export ---------------------------------------------------------------------------


def test_a_stranger_is_refused_and_the_refusal_is_on_the_trail(db, clock, record):
    with pytest.raises(NotAllowed):
        export_of(db, clock, record, actor=record.bob_user)
    refusals = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused")).all()
    assert [(e.actor_user_id, e.patient_id) for e in refusals] == [(record.bob_user.id, record.alice.id)]


def test_a_caregiver_and_staff_get_the_same_record_as_the_patient(db, clock, record):
    mine = export_of(db, clock, record)
    for actor in (record.carer, record.staff):
        theirs = export_of(db, clock, record, actor=actor)
        assert theirs.patient == mine.patient and theirs.reports == mine.reports
        assert theirs.made_for == actor.full_name
    assert mine.patient.full_name == "Alice Moreno"


def test_a_revoked_caregiver_is_refused(db, clock, record):
    revoke_caregiver(db, record.alice, record.carer)
    with pytest.raises(NotAllowed):
        export_of(db, clock, record, actor=record.carer)


def test_a_range_that_ends_before_it_starts_is_refused(db, clock, record):
    with pytest.raises(ValidationError) as refused:
        export_of(db, clock, record, dates=(date(2026, 1, 4), date(2026, 1, 3)))
    assert str(refused.value) == record_export.RANGE_BACKWARDS


# --- the date range ---------------------------------------------------------------------------


def test_the_range_keeps_exactly_the_practice_local_days_asked_for(db, clock, record):
    export = export_of(db, clock, record)
    assert [r.panel for r in export.reports] == ["Tumour markers", "Complete Blood Count"]
    assert [a.provider for a in export.appointments] == ["Dr. Inside Early", "Dr. Inside Late"]
    assert [r.test_name for r in export.reports[1].results] == [
        "Hemoglobin", "Platelets", "Neutrophils", "Potassium"]
    # One day wider on each side takes in the reports just outside, never Bob's.
    wider = export_of(db, clock, record, dates=(date(2026, 1, 2), date(2026, 1, 5)))
    assert [r.panel for r in wider.reports] == [
        "Lipid Panel", "Tumour markers", "Complete Blood Count", "Thyroid Panel"]
    assert len(wider.appointments) == 4


# --- FHIR ------------------------------------------------------------------------------------


def test_the_bundle_parses_back_with_its_ranges_and_interpretations(db, clock, record):
    bundle = record_export.fhir_bundle(export_of(db, clock, record))
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "collection" and bundle["timestamp"].startswith("2026-01-05T15:00:00")

    (patient,) = resources(bundle, "Patient")
    assert patient["name"][0]["family"] == "Moreno" and patient["name"][0]["given"] == ["Alice"]
    assert patient["birthDate"] == record.alice.date_of_birth.isoformat()
    assert patient["identifier"][0]["value"] == record.alice.mrn

    reports = resources(bundle, "DiagnosticReport")
    assert [r["code"]["text"] for r in reports] == ["Tumour markers", "Complete Blood Count"]
    assert all(r["status"] == "final" and r["subject"]["reference"].startswith("urn:uuid:")
               for r in reports)

    observations = {o["code"]["text"]: o for o in resources(bundle, "Observation")}
    assert set(observations) == {"CA-125", "CEA", "Hemoglobin", "Platelets", "Neutrophils", "Potassium"}
    codes = {name: [(c["system"], c["code"]) for c in o["interpretation"][0]["coding"]]
             for name, o in observations.items()}
    assert {name: c[0][1] for name, c in codes.items()} == {
        "CA-125": "H", "CEA": "N", "Hemoglobin": "L", "Platelets": "H",
        "Neutrophils": "LL", "Potassium": "HH"}
    assert all(c[0][0] == INTERPRETATION_SYSTEM for c in codes.values())

    hemoglobin = observations["Hemoglobin"]
    assert hemoglobin["valueQuantity"] == {"value": 9.1, "unit": "g/dL"}
    (reference,) = hemoglobin["referenceRange"]
    assert reference["low"] == {"value": 12.0, "unit": "g/dL"}
    assert reference["high"] == {"value": 15.5, "unit": "g/dL"}
    assert "low" not in observations["CA-125"]["referenceRange"][0]  # "< 35" has no lower limit
    assert "6.2" in observations["Potassium"]["referenceRange"][0]["text"]  # its critical limit

    # Every reference inside the bundle names an entry of it.
    urls = {e["fullUrl"] for e in bundle["entry"]}
    members = [ref["reference"] for r in reports for ref in r["result"]]
    assert len(members) == 6 and set(members) <= urls
    assert {o["subject"]["reference"] for o in observations.values()} <= urls

    visits = resources(bundle, "Appointment")
    assert [v["status"] for v in visits] == ["booked", "booked"]
    assert [(v["start"], v["end"]) for v in visits] == [
        ("2026-01-03T06:00:00Z", "2026-01-03T06:45:00Z"), ("2026-01-05T05:00:00Z", "2026-01-05T05:45:00Z")]
    assert [v["participant"][1]["actor"]["display"] for v in visits] == ["Dr. Inside Early", "Dr. Inside Late"]
    assert resources(bundle, "Communication") == []


def test_messages_become_communications_only_when_asked(db, clock, record):
    clock.now = datetime(2026, 1, 4, 16, 0)
    thread_id = messaging.start_thread(db, record.alice_user, record.alice.id, category="Billing",
                                       subject="A question about my bill",
                                       body="Was the infusion billed twice?", client_key=None,
                                       clock=clock)
    messaging.reply(db, record.carer, thread_id, body="I can bring the statement in.",
                    client_key=None, clock=clock, patient_id=record.alice.id)
    clock.now = datetime(2026, 1, 5, 16, 0)  # the day after the range
    messaging.reply(db, record.staff, thread_id, body="We refunded the second charge.",
                    client_key=None, clock=clock)

    without = record_export.fhir_bundle(export_of(db, clock, record))
    assert resources(without, "Communication") == []

    export = export_of(db, clock, record, include_messages=True)
    bundle = record_export.fhir_bundle(export)
    Bundle.model_validate(bundle)
    sent = resources(bundle, "Communication")
    assert [c["payload"][0]["contentString"] for c in sent][0] == "Was the infusion billed twice?"
    bodies = [c["payload"][0]["contentString"] for c in sent]
    assert "We refunded the second charge." not in bodies and len(bodies) == 3
    senders = [c["sender"] for c in sent]
    # The patient is the Patient entry; the automatic reply (written by nobody) and the
    # caregiver are named.
    (patient_url,) = [e["fullUrl"] for e in bundle["entry"]
                      if e["resource"]["resourceType"] == "Patient"]
    assert senders[0] == {"reference": patient_url, "display": "Alice Moreno"}
    assert senders[1] == {"display": messaging.AUTOMATIC_AUTHOR}
    assert senders[2] == {"display": "Carla Moreno"}
    assert all(c["topic"]["text"] == "A question about my bill" for c in sent)


# --- PDF -------------------------------------------------------------------------------------


def test_the_pdf_holds_every_report_in_range_and_nothing_outside(db, clock, record):
    data = record_export.pdf_bytes(export_of(db, clock, record))
    text = pdf_text(data)
    assert "Alice Moreno" in text and "Mar 14, 1958" in text
    assert "Sat, Jan 3, 2026" in text and "Sun, Jan 4, 2026" in text
    for words in ("Tumour markers", "Complete Blood Count", "CA-125", "35.7", "U/mL", "CEA", "2.9",
                  "Hemoglobin", "9.1", "12.0–15.5", "Platelets", "412", "Neutrophils", "0.4",
                  "Potassium", "6.8", "Critical low", "Critical high", "Normal", "Low", "High",
                  "Dr. Inside Early", "Dr. Inside Late"):
        assert words in text, words
    for words in ("Lipid Panel", "Triglycerides", "Thyroid Panel", "TSH", "Iron Studies",
                  "Ferritin", "Dr. Outside Before", "Dr. Outside After"):
        assert words not in text, words
    assert record_export.PDF_MESSAGES_LEFT_OUT in text
    assert record_export.PDF_PAGE.format(page=1, pages=len(PdfReader(io.BytesIO(data)).pages)) in text


def test_the_pdf_has_messages_only_when_asked(db, clock, record):
    clock.now = datetime(2026, 1, 4, 16, 0)
    messaging.start_thread(db, record.alice_user, record.alice.id, category="Billing",
                           subject="A question about my bill", body="Was the infusion billed twice?",
                           client_key=None, clock=clock)
    without = pdf_text(record_export.pdf_bytes(export_of(db, clock, record)))
    assert "billed twice" not in without and "A question about my bill" not in without
    with_them = pdf_text(record_export.pdf_bytes(export_of(db, clock, record, include_messages=True)))
    assert "A question about my bill" in with_them and "Was the infusion billed twice?" in with_them
    assert messaging.AUTOMATIC_AUTHOR in with_them


def test_a_long_record_numbers_every_page(db, clock, practice):
    for n in range(40):
        enter(db, practice.staff, practice.alice, clock, datetime(2026, 1, 3, 18, 0) + timedelta(minutes=n),
              f"Panel number {n}", [ResultInput("Glucose", f"{90 + n}", "mg/dL", 70, 99)])
    data = record_export.pdf_bytes(export_of(db, clock, practice))
    pages = PdfReader(io.BytesIO(data)).pages
    assert len(pages) > 2
    for number, page in enumerate(pages, start=1):
        assert record_export.PDF_PAGE.format(page=number, pages=len(pages)) in page.extract_text()
    text = pdf_text(data)
    assert all(f"Panel number {n}" in text for n in range(40))


def test_accents_and_degrees_survive_both_files(db, clock):
    staff = make_staff(db)
    ines = make_patient(db, first_name="Inés", last_name="Núñez-Łukasiewicz")
    grant_caregiver(db, ines, full_name="José Núñez")
    enter(db, staff, ines, clock, datetime(2026, 1, 3, 18, 0), "Vital signs", [
        ResultInput("Temperature", "101.3", "°F", 97.0, 99.5)])
    export = record_export.collect(db, patient_user(db, ines), ines.id, start=INSIDE[0],
                                   end=INSIDE[1], include_messages=False, clock=clock)
    text = pdf_text(record_export.pdf_bytes(export))
    assert "Inés Núñez-Łukasiewicz" in text
    assert "101.3" in text and "°F" in text and "97.0–99.5" in text
    bundle = record_export.fhir_bundle(export)
    Bundle.model_validate(bundle)
    assert resources(bundle, "Patient")[0]["name"][0]["given"] == ["Inés"]
    (observation,) = resources(bundle, "Observation")
    assert observation["valueQuantity"] == {"value": 101.3, "unit": "°F"}


def test_a_loinc_code_the_office_entered_codes_its_observation(db, clock, practice):
    """The lab form's optional LOINC code (issue #16) becomes the Observation's coding;
    a test entered without one keeps its name only."""
    enter(db, practice.staff, practice.alice, clock, datetime(2026, 1, 3, 18, 0), "Tumour markers", [
        ResultInput("CA-125", "35.7", "U/mL", None, 35.0, loinc="10334-1"),
        ResultInput("CEA", "2.9", "ng/mL", None, 5.0)])
    bundle = record_export.fhir_bundle(export_of(db, clock, practice))
    Bundle.model_validate(bundle)
    codes = {o["code"]["text"]: o["code"].get("coding") for o in resources(bundle, "Observation")}
    assert codes == {"CA-125": [{"system": "http://loinc.org", "code": "10334-1"}], "CEA": None}


def test_a_held_report_is_not_in_the_record_until_it_is_released(db, clock, practice):
    """A report held until reviewed (issue #16) is in neither file; once reviewed, it is."""
    from carespace_app.services.records import result_release

    held = labs.enter_report(
        db, practice.staff, practice.alice.id, panel="Tumour markers",
        collected_at=datetime(2026, 1, 3, 18, 0), resulted_at=datetime(2026, 1, 4, 18, 0),
        ordering_provider="Dr. Anjali Rao", results=[ResultInput("CA-125", "88", "U/mL", None, 35.0)],
        category="Tumour markers", clock=clock,
        hold=result_release.ClinicianHold(reason=result_release.CLINICIAN_HOLD_REASONS[0], note="",
                                          release_on=date(2026, 1, 9)))
    export = export_of(db, clock, practice)
    assert export.reports == [] and "CA-125" not in pdf_text(record_export.pdf_bytes(export))
    assert resources(record_export.fhir_bundle(export), "Observation") == []
    assert result_release.mark_reviewed(db, practice.staff, held, clock=clock)
    export = export_of(db, clock, practice)
    assert [r.id for r in export.reports] == [held]
    assert "CA-125" in pdf_text(record_export.pdf_bytes(export))
