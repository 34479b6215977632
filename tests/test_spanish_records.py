"""Labs, records, sharing and caregivers in Spanish (issue #17): what the server writes into
these pages (dates, flags, held results, errors, notices, list lines), the PDF a person
downloads and the emails — in Spanish for a Spanish speaker, in English for everyone else.

The pages' own words are compiled into the page in both languages (components/i18n.py,
tests/test_catalogue.py); these tests drive the real states and services (tests/tabs.py)."""
from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from pypdf import PdfReader
from sqlmodel import select

from carespace_app import i18n, routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.models import SCOPE_APPOINTMENTS, SCOPE_FULL, CaregiverGrant, OutboxEmail
from carespace_app.services.permissions import access_ends, scopes
from carespace_app.services.records import labs, record_download, result_release, share_links
from carespace_app.services.records.labs import ResultInput
from carespace_app.state.info import RecordActivityState
from carespace_app.state.labs import LabsState
from carespace_app.state.manage_users import ManageUsersState
from carespace_app.state.my_record import MyRecordState
from carespace_app.state.share_links import ShareLinksState
from carespace_app.state.shared_record import SharedRecordState
from tests.factories import grant_caregiver, make_patient, make_practice, patient_user
from tests.tabs import Browser, Tab, sign_in_token

PANEL = "Tumour markers"


def _speaks(db, user, lang: str):
    user.language = lang
    db.add(user)
    db.commit()
    return user


def _tab(user, page: str) -> Tab:
    browser = Browser(f"es-records-{user.id}")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(page)
    return tab


@pytest.fixture
def practice(db):
    """Alice reads Spanish, Bob English; each has a report with a high CA-125."""
    p = make_practice(db)
    _speaks(db, p.alice_user, "es")
    now = utcnow()
    for patient in (p.alice, p.bob):
        labs.enter_report(db, p.staff, patient.id, panel=PANEL, collected_at=now - timedelta(days=3),
                          resulted_at=now - timedelta(days=2), ordering_provider="Dr. Anjali Rao",
                          results=[ResultInput("CA-125", "35.7", "U/mL", None, 35.0)], clock=utcnow)
    db.commit()
    return p


# --- Labs ------------------------------------------------------------------------------------


def test_the_labs_page_says_its_dates_and_flags_in_the_readers_language(practice):
    spanish = _tab(practice.alice_user, routes.LABS)
    assert spanish.session_state.lang == "es"
    (report,) = spanish.state(LabsState).reports
    assert report.results[0].flag_label == "Alto"
    assert report.collected == timefmt.when(_collected_at(practice.alice.id), lang="es")
    assert report.collected != timefmt.when(_collected_at(practice.alice.id), lang="en")

    english = _tab(practice.bob_user, routes.LABS)
    (report,) = english.state(LabsState).reports
    assert report.results[0].flag_label == "High"
    assert report.collected == timefmt.when(_collected_at(practice.bob.id), lang="en")

    spanish.call(LabsState, "show_history", test_name="CA-125")
    history = spanish.state(LabsState).history_rows
    assert [h.flag_label for h in history] == ["Alto"]


def _collected_at(patient_id: int) -> datetime:
    from carespace_app.db import session_scope
    from carespace_app.models import LabReport

    with session_scope() as fresh:
        return fresh.exec(select(LabReport.collected_at).where(LabReport.patient_id == patient_id)).one()


def test_a_report_link_that_finds_nothing_says_so_in_spanish(practice):
    tab = _tab(practice.alice_user, routes.LABS + "?report=999999")
    assert tab.state(LabsState).error == (
        "No se encontró ese informe de laboratorio. Todos sus informes de laboratorio aparecen abajo.")
    english = _tab(practice.bob_user, routes.LABS + "?report=999999")
    assert english.state(LabsState).error == (
        "That lab report was not found. All your lab reports are listed below.")


def test_a_held_result_is_announced_in_the_patients_language(db, practice):
    now = utcnow()
    for person in (practice.alice, practice.bob):
        user = practice.alice_user if person is practice.alice else practice.bob_user
        result_release.set_choices(db, user, person.id, {"Pathology": 3}, clock=utcnow)
        labs.enter_report(db, practice.staff, person.id, panel="Biopsy", collected_at=now - timedelta(days=1),
                          resulted_at=now, ordering_provider="Dr. Anjali Rao", category="Pathology",
                          results=[ResultInput("Margin", "1.0", "mm", None, None)], clock=utcnow)
    db.commit()
    (spanish,) = _tab(practice.alice_user, routes.LABS).state(LabsState).held_notes
    assert spanish.startswith("1 resultado aparecerá después de que su equipo de atención lo revise")
    assert "Biopsy" not in spanish and "Margin" not in spanish
    (english,) = _tab(practice.bob_user, routes.LABS).state(LabsState).held_notes
    assert english.startswith("1 result will appear after your care team reviews it, by ")


def test_the_hold_choices_and_their_refusal_in_spanish():
    assert result_release.choice_words(0, "es") == "Mostrarme los resultados nuevos de inmediato"
    assert result_release.choice_words(7, "es") == (
        "Retenerlos hasta que mi equipo de atención los haya revisado, como máximo 7 días")
    assert result_release.choice_words(1, "en") == (
        "Hold them until my care team has reviewed them, at most "
        + result_release.days_words(1, "en"))
    with pytest.raises(Exception) as refused:
        result_release.checked_days("99")
    assert refused.value.sentence("es").startswith("Elija de 1 a ")
    assert str(refused.value).startswith("Choose from 1 to ")


# --- Download my record ----------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _download_bytes(events) -> bytes:
    import base64

    found = [e for e in events if getattr(getattr(e, "handler", None), "fn", None) is not None
             and e.handler.fn.__qualname__.endswith("_download")]
    assert len(found) == 1, events
    args = {str(name): str(getattr(value, "_var_value", value)) for name, value in found[0].args}
    return base64.b64decode(args["url"].strip('"').partition(",")[2])


def _record_form(tab: Tab) -> dict:
    state = tab.state(MyRecordState)
    return {"start": state.default_start, "end": state.default_end}


def test_the_pdf_is_written_in_the_downloaders_language(practice):
    tab = _tab(practice.alice_user, routes.RECORD)
    spanish = _pdf_text(_download_bytes(tab.call(MyRecordState, "submit", form=_record_form(tab),
                                                 button="pdf")))
    for heading in ("Expediente médico", "Paciente: Alice Moreno", "Citas", "Resultados de laboratorio",
                    "Mensajes", "Rango de referencia", "Alto"):
        assert heading in spanish, heading
    assert "Health record" not in spanish and "Lab results" not in spanish
    assert tab.state(MyRecordState).download_notice.startswith("Se está descargando su PDF: ")

    english_tab = _tab(practice.bob_user, routes.RECORD)
    english = _pdf_text(_download_bytes(english_tab.call(MyRecordState, "submit",
                                                         form=_record_form(english_tab), button="pdf")))
    assert "Health record" in english and "Lab results" in english and "High" in english
    assert "Expediente" not in english


def test_a_record_form_error_and_the_emailed_copy_speak_spanish(db, practice):
    tab = _tab(practice.alice_user, routes.RECORD)
    tab.call(MyRecordState, "submit", form={"start": "", "end": ""}, button="pdf")
    assert tab.state(MyRecordState).errors["start"].startswith("Escriba el primer día, como ")

    tab.call(MyRecordState, "submit", form={**_record_form(tab), "email": "dr.patel@example.org",
                                            "format": "pdf"}, button="email")
    assert tab.state(MyRecordState).email_notice.startswith("Estamos enviando su expediente (PDF)")
    db.expire_all()
    (sent,) = db.exec(select(OutboxEmail).where(OutboxEmail.kind == record_download.EMAIL_KIND)).all()
    assert sent.language == "es"
    assert sent.subject.startswith("Una copia de un expediente médico de ")
    assert "El archivo es un PDF que puede abrir e imprimir." in sent.body_template


# --- Share links -----------------------------------------------------------------------------


def _stranger_tab(fragment: str, accept_language: str) -> Tab:
    class SharedTab(Tab):
        def _router_data(self) -> dict:
            data = super()._router_data()
            data["asPath"] += f"#{fragment}"
            return data

    browser = Browser(f"stranger-{accept_language[:2]}", accept_language=accept_language)
    tab = SharedTab(browser, f"stranger-{accept_language[:2]}-0")
    browser.tabs.append(tab)
    return tab


def _link(db, practice) -> tuple[str, str]:
    url, passcode = share_links.create(db, practice.alice_user, practice.alice.id, label="Dr. Patel",
                                       days=1, start=date(2020, 1, 1), end=utcnow().date(),
                                       include_messages=False, clock=utcnow)
    db.commit()
    return url.rpartition("#")[2], passcode


def test_the_shared_record_speaks_the_strangers_browser_language(db, practice):
    token, passcode = _link(db, practice)
    tab = _stranger_tab(token, "es-MX,es;q=0.9")
    tab.open(routes.SHARED)
    shared = tab.state(SharedRecordState)
    assert tab.session_state.lang == "es" and shared.view == "passcode"
    tab.call(SharedRecordState, "open_record", form={"passcode": "1"})
    assert shared.error_field == "passcode" and shared.error.startswith("Esa clave no es correcta.")
    tab.call(SharedRecordState, "open_record", form={"passcode": passcode})
    assert shared.view == "record"
    assert shared.covers.startswith("Abarca del ")
    assert shared.shared_note.startswith("Compartido con Dr. Patel. Este enlace funciona hasta")
    assert shared.reports[0].dates.startswith("Muestra: ")
    assert shared.reports[0].results[0].flag == "Alto"
    pdf = _pdf_text(_download_bytes(tab.call(SharedRecordState, "download_pdf")))
    assert "Expediente médico" in pdf and "Dr. Patel (enlace compartido)" in pdf

    english = _stranger_tab(token, "en-US")
    english.open(routes.SHARED)
    english.call(SharedRecordState, "open_record", form={"passcode": passcode})
    assert english.state(SharedRecordState).covers.startswith("Covers ")

    gone = _stranger_tab("x" * 43, "es")
    gone.open(routes.SHARED)
    assert gone.state(SharedRecordState).message == (
        "Este enlace compartido no se puede abrir. Puede haber vencido o haber sido desactivado. "
        "Pida un enlace nuevo a la persona que se lo envió.")


def test_the_patients_share_link_list_and_its_refusals_in_spanish(db, practice):
    _link(db, practice)
    tab = _tab(practice.alice_user, routes.RECORD)
    (row,) = tab.state(ShareLinksState).links
    assert (row.badge, row.viewed) == ("Activo", "Todavía no se ha abierto")
    assert row.status_text.startswith("Activo hasta: ")
    assert row.what.startswith("Del ")
    tab.call(ShareLinksState, "create_link", form={"share-label": "", "share-days": "1",
                                                   "share-start": "2026-01-01", "share-end": "2026-02-01"})
    assert tab.state(ShareLinksState).errors["label"] == 'Diga para quién es el enlace, por ejemplo "Dr. Patel".'

    english = _tab(practice.bob_user, routes.RECORD)
    english.call(ShareLinksState, "create_link", form={"share-label": "", "share-days": "1",
                                                       "share-start": "2026-01-01", "share-end": "2026-02-01"})
    assert english.state(ShareLinksState).errors["label"] == share_links.NO_LABEL


# --- Manage Users, scopes and the access-ends email -----------------------------------------


def test_the_scope_choices_and_the_outside_scope_notice_in_spanish():
    assert i18n.gettext("es", scopes.SCOPE_CHOICES[SCOPE_FULL]) == "Acceso completo"
    assert i18n.gettext("es", scopes.SCOPE_CHOICES[SCOPE_APPOINTMENTS]) == (
        "Acceso limitado: citas y recursos")
    assert scopes.outside_scope_text("Rosa Alvarez", scopes.AREA_MESSAGES, "es") == (
        "Su acceso al portal de Rosa Alvarez no incluye los mensajes.")
    assert scopes.outside_scope_text("Rosa Alvarez", scopes.AREA_MESSAGES) == (
        "Your access to Rosa Alvarez's portal doesn't include messages.")


def test_a_spanish_speaking_caregiver_reads_the_outside_scope_notice_in_spanish(db):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez")
    patient_user(db, rosa)
    maria = _speaks(db, grant_caregiver(db, rosa, full_name="Maria Alvarez", scope=SCOPE_APPOINTMENTS), "es")
    tab = _tab(maria, routes.LABS)
    assert tab.session_state.blocked_notice == (
        "Su acceso al portal de Rosa Alvarez no incluye los resultados de laboratorio.")


def test_manage_users_rows_and_errors_in_the_patients_language(db, practice):
    spanish = _tab(practice.alice_user, routes.MANAGE_USERS)
    (carla,) = spanish.state(ManageUsersState).users
    assert (carla.status_label, carla.scope_label, carla.ends_note) == (
        "Tiene acceso", "Acceso completo", "Sin fecha de fin.")
    assert carla.note.startswith("Tiene acceso desde el ")
    spanish.call(ManageUsersState, "grant", form={"name": "", "email": "lucia@example.org",
                                                  "scope": SCOPE_FULL, "ends_on": ""})
    assert spanish.state(ManageUsersState).grant_error == "Escriba el nombre de la persona."
    spanish.call(ManageUsersState, "grant", form={"name": "Lucía Moreno", "email": "lucia@example.org",
                                                  "scope": SCOPE_APPOINTMENTS, "ends_on": "2001-01-01"})
    assert spanish.state(ManageUsersState).grant_error == "Elija una fecha de fin posterior a hoy."
    spanish.call(ManageUsersState, "grant", form={"name": "Lucía Moreno", "email": "lucia@example.org",
                                                  "scope": SCOPE_APPOINTMENTS, "ends_on": ""})
    state = spanish.state(ManageUsersState)
    assert state.grant_error == ""
    assert state.grant_notice.startswith("Enviamos una invitación por correo a lucia@example.org.")
    lucia = next(u for u in state.users if u.name == "Lucía Moreno")
    assert (lucia.status_label, lucia.scope_label) == ("Invitado", "Citas y recursos")
    assert lucia.code_note.startswith("Código de acceso que debe decirle: ")

    bob = _tab(practice.bob_user, routes.MANAGE_USERS)
    bob.call(ManageUsersState, "grant", form={"name": "", "email": "lucia@example.org",
                                              "scope": SCOPE_FULL, "ends_on": ""})
    assert bob.state(ManageUsersState).grant_error == "Enter the person's name."


@pytest.mark.parametrize("lang, subject, line", [
    ("es", "Pronto termina el acceso de alguien a su portal de CareSpace",
     "El acceso de Maria Alvarez a su portal termina el "),
    ("en", "Someone's access to your CareSpace portal ends soon",
     "Maria Alvarez's access to your portal ends on "),
])
def test_the_week_before_email_is_in_the_patients_language(db, clock, lang, subject, line):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez")
    _speaks(db, patient_user(db, rosa), lang)
    grant_caregiver(db, rosa, full_name="Maria Alvarez", scope=SCOPE_FULL, ends_on=date(2026, 1, 20))
    clock.now = timefmt.to_utc_naive(datetime(2026, 1, 15, 9, 0))
    assert access_ends.sweep(db, clock=clock) == (0, 1)
    (notice,) = db.exec(select(OutboxEmail).where(OutboxEmail.kind == access_ends.END_NOTICE_KIND)).all()
    assert (notice.subject, notice.language) == (subject, lang)
    assert line in notice.body_template
    assert routes.item_link(routes.MANAGE_USERS) in notice.body_template
    assert db.exec(select(CaregiverGrant)).one().end_notice_sent_at is not None


# --- Who viewed my record --------------------------------------------------------------------


def test_who_viewed_my_record_reads_in_the_patients_language(practice):
    _tab(practice.alice_user, routes.LABS)  # Alice's own look at her labs
    tab = _tab(practice.alice_user, routes.RECORD_ACTIVITY)
    entries = tab.state(RecordActivityState).entries
    mine = [e for e in entries if e.mine]
    assert mine and all(e.who == "Usted" for e in mine)
    assert any(e.what == "Vio los resultados de laboratorio" for e in mine)
    office = [e for e in entries if not e.mine]
    assert any(e.who == "El consultorio (Nora Quinn)" and e.what == "Agregó un informe de laboratorio"
               for e in office)

    _tab(practice.bob_user, routes.LABS)
    english = _tab(practice.bob_user, routes.RECORD_ACTIVITY).state(RecordActivityState).entries
    assert any(e.who == "You" and e.what == "Viewed lab results" and e.mine for e in english)
    assert any(e.who == "The office (Nora Quinn)" and not e.mine for e in english)
