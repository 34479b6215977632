"""Messages, check-ins, appointments and their emails in Spanish (issue #17): a
Spanish-speaking person reads them in Spanish, an English-speaking one in English, from the
same pages and the same emails. The pages' states are driven as Reflex drives them
(tests/tabs.py); the emails are rendered as the outbox sends them."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import select

from carespace_app import routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.policy import CHECKIN_RECALL, in_words
from carespace_app.models import OutboxEmail
from carespace_app.services.errors import ValidationError
from carespace_app.services.mail import notifications, outbox
from carespace_app.services.records import appointments, checkins, messaging, symptoms
from carespace_app.state.appointments import AppointmentsState
from carespace_app.state.checkin import CheckinState
from carespace_app.state.messages import MessagesState
from carespace_app.state.session import SessionState
from tests.factories import make_practice
from tests.tabs import Browser, sign_in_token

QUESTION = {"category": "Medical question", "subject": "Parking",
            "body": "Where do I park for my infusion?"}


@pytest.fixture
def practice(db):
    """Alice reads CareSpace in Spanish; Bob and Alice's caregiver Carla in English."""
    made = make_practice(db)
    made.alice_user.language = "es"
    db.add(made.alice_user)
    db.commit()
    return made


def _tab(user, path, name):
    browser = Browser(name)
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(path)
    return tab


def _send(tab, form):
    tab.call(MessagesState, "start_compose")
    tab.call(MessagesState, "send_message",
             form={**form, "key": tab.state(MessagesState).compose_key})
    page = tab.state(MessagesState)
    if page.thread_id and not page.compose_open:  # sent: the conversation's own address
        tab.open(f"{routes.MESSAGES}?thread={page.thread_id}")
    return tab.state(MessagesState)


def _emails(db, kind):
    rows = db.exec(select(OutboxEmail).where(OutboxEmail.kind == kind)
                   .order_by(OutboxEmail.id)).all()
    return {row.to_address: outbox.render(row) for row in rows}


# --- Messages ---------------------------------------------------------------------------


def test_the_message_list_and_a_conversation_in_the_readers_language(db, practice):
    tab = _tab(practice.alice_user, routes.MESSAGES, "alice")
    page = _send(tab, QUESTION)  # then the new conversation's own address, which says so
    assert page.notice.startswith("Su mensaje se envió.")
    [row] = page.threads
    assert row.category == "Pregunta médica" and row.subject == "Parking"
    thread = db.exec(select(messaging.MessageThread)).one()
    assert row.when == timefmt.when(thread.last_message_at, lang="es")
    assert ("a.m." in row.when or "p.m." in row.when) and "AM" not in row.when
    mine, automatic = page.thread_messages
    assert mine.author == "Usted"
    assert automatic.author == "Respuesta automática del consultorio"
    # The practice's automatic reply was written in the language of the person who wrote.
    assert automatic.body.startswith("Gracias por su mensaje.")
    assert "Horario del consultorio: lunes a viernes" in automatic.body
    assert "9-1-1" in automatic.body and "Thank you" not in automatic.body

    bobs = _tab(practice.bob_user, routes.MESSAGES, "bob")
    page = _send(bobs, QUESTION)
    assert page.notice.startswith("Your message was sent.")
    assert page.threads[0].category == "Medical question"
    mine, automatic = page.thread_messages
    assert (mine.author, automatic.author) == ("You", "Automatic reply from the office")
    assert automatic.body.startswith("Thank you for your message.")
    assert "Office hours: Monday to Friday" in automatic.body


def test_a_compose_error_and_a_red_flag_are_said_in_the_readers_language(db, practice):
    tab = _tab(practice.alice_user, routes.MESSAGES, "alice")
    page = _send(tab, {**QUESTION, "body": "   "})
    assert page.compose_error == "Escriba su mensaje antes de enviarlo."
    assert page.compose_open  # nothing lost: the form stays
    page = _send(tab, {**QUESTION, "body": "x" * (messaging.BODY_MAX + 1)})
    assert page.compose_error == ("El mensaje puede tener como máximo 5,000 caracteres; el suyo "
                                  "tiene 5,001. Acórtelo y envíelo de nuevo.")
    page = _send(tab, {**QUESTION, "category": "Symptoms or side effects",
                       "body": "My temperature is 101.5 F tonight"})
    assert page.compose_alert == ("Su mensaje menciona fiebre de 100.4 °F (38 °C) o más. Esto "
                                  "puede necesitar atención de inmediato.")
    assert db.exec(select(messaging.MessageThread)).all() == []

    bobs = _tab(practice.bob_user, routes.MESSAGES, "bob")
    page = _send(bobs, {**QUESTION, "body": "   "})
    assert page.compose_error == "Write your message before sending."
    page = _send(bobs, {**QUESTION, "category": "Symptoms or side effects",
                        "body": "My temperature is 101.5 F tonight"})
    assert page.compose_alert == ("Your message mentions fever of 100.4 °F (38 °C) or more. This "
                                  "may need care right away.")


def test_the_error_of_a_service_stays_english_in_logs_and_reads_spanish_on_the_page():
    """The red-flag refusal: English for whoever logs it, each language on the page."""
    found = messaging.RedFlagsFound(["chest pain", "fainting"])
    assert str(found).startswith("Your message mentions chest pain and fainting.")
    assert str(found).endswith(symptoms.call_now())
    assert found.found("es") == ("Su mensaje menciona chest pain y fainting. Esto puede "
                                 "necesitar atención de inmediato.")
    assert found.sentence("es").endswith(symptoms.call_now("es"))
    assert "Por favor, llame al consultorio ahora" in found.sentence("es")


# --- Check-ins --------------------------------------------------------------------------


def test_the_check_in_asks_its_questions_in_the_readers_language(db, practice):
    checkins.enrol(db, practice.staff, practice.alice.id, every_days=7,
                   starts_on=timefmt.to_local(utcnow()).date(), ends_on=None,
                   keys=symptoms.DEFAULT_KEYS, clock=utcnow)
    db.commit()
    tab = _tab(practice.alice_user, routes.CHECKIN, "alice")
    form = tab.state(CheckinState)
    assert form.mode == "form"
    first = form.questions[0]
    assert first.name == "Náuseas"
    assert first.question == ("En los últimos 7 días, ¿qué tan fuertes fueron sus náuseas (ganas "
                              "de vomitar) en su peor momento?")
    assert first.words == ["Ninguna", "Leve", "Moderada", "Grave", "Muy grave"]
    fever = next(q for q in form.questions if q.key == "fever")
    assert fever.words == ["No", "Sí"]
    assert form.due_by.startswith("Por favor, responda a más tardar el ")
    tab.call(CheckinState, "next_question")  # nothing chosen yet
    assert tab.state(CheckinState).step_error == "Elija una respuesta para continuar."

    carla = _tab(practice.carer, routes.CHECKIN, "carla")  # the caregiver reads English
    form = carla.state(CheckinState)
    assert form.questions[0].question == symptoms.BY_KEY["nausea"].question
    assert form.questions[0].question.startswith(
        f"In the last {in_words(CHECKIN_RECALL)}, how bad was your nausea")
    assert form.questions[0].words == list(symptoms.GRADE_WORDS)
    assert form.for_whom == "You are answering for Alice Moreno. Answer as they would."


def test_what_the_patient_is_told_after_a_severe_answer_is_in_their_language(db, practice):
    checkins.enrol(db, practice.staff, practice.alice.id, every_days=7,
                   starts_on=timefmt.to_local(utcnow()).date(), ends_on=None,
                   keys=("pain", "fever"), clock=utcnow)
    db.commit()
    tab = _tab(practice.alice_user, routes.CHECKIN, "alice")
    for grade in (3, 0):
        tab.call(CheckinState, "choose", value=grade)
        tab.call(CheckinState, "next_question")
    tab.call(CheckinState, "send_answers")
    done = tab.state(CheckinState)
    assert done.mode == "call"
    assert done.told == ["Dolor: Grave (3); sin respuesta anterior"]
    # The office's urgent item keeps its English.
    assert symptoms.Finding("pain", 3).describe() == "Pain: Severe (3), no earlier answer"


# --- Appointments and the calendar file --------------------------------------------------


def _book(db, practice, starts_at):
    visit = appointments.create_appointment(
        db, practice.staff, practice.alice.id, starts_at=starts_at, duration_minutes=45,
        appointment_type="Office visit", provider="Dr. Anjali Rao",
        location="Fayetteville Cancer Center, Suite 200", clock=utcnow)
    db.commit()
    return visit


def test_the_appointment_list_says_its_dates_and_words_in_the_readers_language(db, practice):
    starts = (utcnow() + timedelta(days=3)).replace(hour=15, minute=30, second=0, microsecond=0)
    _book(db, practice, starts)
    tab = _tab(practice.alice_user, routes.APPOINTMENTS, "alice")
    [row] = tab.state(AppointmentsState).upcoming
    assert row.day == timefmt.day(starts, lang="es") and " de " in row.day
    assert row.time == f"{timefmt.time_only(starts, lang='es')} – " \
                       f"{timefmt.time_only(starts + timedelta(minutes=45), lang='es')}"
    assert "a.m." in row.time or "p.m." in row.time
    assert row.type == "Consulta en el consultorio"

    carla = _tab(practice.carer, routes.APPOINTMENTS, "carla")
    [row] = carla.state(AppointmentsState).upcoming
    assert row.day == timefmt.day(starts) and row.type == "Office visit"
    assert "AM" in row.time or "PM" in row.time


def test_the_switch_on_appointments_loads_the_list_again_in_the_new_language(db, practice):
    """The list's dates are the server's words: the switch loads the page again (it holds
    nothing typed), so they follow at once; the switch back does the same."""
    starts = (utcnow() + timedelta(days=3)).replace(hour=15, minute=30, second=0, microsecond=0)
    _book(db, practice, starts)
    carla = _tab(practice.carer, routes.APPOINTMENTS, "carla")
    assert carla.state(AppointmentsState).upcoming[0].type == "Office visit"
    events = carla.call(SessionState, "set_language", lang="es")
    assert [getattr(e, "fn", None) for e in events] == [AppointmentsState.load.fn]
    carla.call(AppointmentsState, "load")
    [row] = carla.state(AppointmentsState).upcoming
    assert row.type == "Consulta en el consultorio" and row.day == timefmt.day(starts, lang="es")
    carla.call(SessionState, "set_language", lang="en")
    carla.call(AppointmentsState, "load")
    assert carla.state(AppointmentsState).upcoming[0].day == timefmt.day(starts)


def test_the_calendar_file_speaks_the_language_of_who_downloads_it(db, clock, practice):
    visit = appointments.create_appointment(
        db, practice.staff, practice.alice.id, starts_at=datetime(2026, 2, 3, 15, 30),
        duration_minutes=45, appointment_type="Lab services", provider="Dr. Anjali Rao",
        location="Fayetteville Cancer Center, Suite 200", clock=clock)
    _name, spanish = appointments.ics_for(db, practice.alice_user, visit, clock=clock)
    [event] = Calendar.from_ical(spanish).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Servicios de laboratorio con Dr. Anjali Rao"
    [alarm] = event.walk("VALARM")
    assert str(alarm["DESCRIPTION"]) == "Servicios de laboratorio con Dr. Anjali Rao"
    _name, english = appointments.ics_for(db, practice.carer, visit, clock=clock)
    [event] = Calendar.from_ical(english).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Lab services with Dr. Anjali Rao"


# --- The notice emails --------------------------------------------------------------------


def test_an_appointment_notice_goes_to_each_reader_in_their_own_language(db, clock, practice):
    appointments.create_appointment(
        db, practice.staff, practice.alice.id, starts_at=datetime(2026, 1, 13, 15, 30),
        duration_minutes=30, appointment_type="Office visit", provider="Dr. Anjali Rao",
        location="Suite 200", clock=clock)
    db.commit()
    sent = _emails(db, notifications.APPOINTMENT_KIND)
    subject, body = sent[practice.alice_user.email]
    assert subject == "Novedades sobre una cita en CareSpace"
    assert body.startswith("Hola:\n\nSe programó una nueva cita para el mar, 13 de ene en su "
                           "portal de CareSpace.")
    assert "Para verlo, inicie sesión aquí: " in body and "{link}" not in body
    assert f"llame al consultorio al {get_settings().office_phone}" in body
    assert "Hello" not in body and "Dr. Anjali Rao" not in body
    subject, body = sent[practice.carer.email]
    assert subject == "News about an appointment in CareSpace"
    assert body.startswith("Hello,\n\nA new appointment on Tue, Jan 13 was booked in Alice "
                           "Moreno's CareSpace portal.")
    assert "Hola" not in body


def test_a_reply_notice_in_each_readers_language(db, clock, practice):
    thread_id = messaging.start_thread(db, practice.alice_user, practice.alice.id,
                                       category="Billing", subject="Invoice", body="A question",
                                       client_key=None, clock=clock)
    messaging.reply(db, practice.staff, thread_id, body="Answered.", client_key=None, clock=clock)
    db.commit()
    sent = _emails(db, notifications.MESSAGE_KIND)
    subject, body = sent[practice.alice_user.email]
    assert subject == "Tiene un mensaje nuevo en CareSpace"
    assert "Tiene un mensaje nuevo de su equipo de atención en su portal de CareSpace." in body
    subject, body = sent[practice.carer.email]
    assert subject == "You have a new message in CareSpace"
    assert ("A new message from your care team is waiting in Alice Moreno's CareSpace portal."
            in body)


def test_check_in_notices_and_reminders_in_each_readers_language(db, clock, practice):
    checkins.enrol(db, practice.staff, practice.alice.id, every_days=7,
                   starts_on=timefmt.to_local(clock()).date(), ends_on=None,
                   keys=symptoms.DEFAULT_KEYS, clock=clock)
    db.commit()
    sent = _emails(db, notifications.CHECKIN_KIND)
    subject, body = sent[practice.alice_user.email]
    assert subject == "Un control de síntomas le espera en CareSpace"
    assert "Le espera un control de síntomas de su equipo de atención en su portal" in body
    subject, body = sent[practice.carer.email]
    assert subject == "A check-in is waiting in CareSpace"

    clock.advance(days=3)
    checkins.remind_due(db, clock=clock)
    db.commit()
    sent = _emails(db, notifications.CHECKIN_REMINDER_KIND)
    subject, body = sent[practice.alice_user.email]
    assert subject == "Un control de síntomas todavía le espera en CareSpace"
    assert body.startswith("Hola:\n\nUn recordatorio: todavía le espera un control de síntomas")
    assert sent[practice.carer.email][0] == "A check-in is still waiting in CareSpace"


def test_a_check_in_refusal_reads_in_the_language_it_is_shown_in(db, clock, practice):
    checkins.enrol(db, practice.staff, practice.alice.id, every_days=7,
                   starts_on=timefmt.to_local(clock()).date(), ends_on=None,
                   keys=("pain", "fever"), clock=clock)
    due = checkins.due_for(db, practice.alice_user, practice.alice.id, clock=clock)
    with pytest.raises(ValidationError) as refused:
        checkins.submit(db, practice.alice_user, practice.alice.id, due.id, {"pain": 1},
                        clock=clock)
    assert str(refused.value) == "Answer every question before sending: Fever or chills."
    assert refused.value.sentence("es") == ("Conteste todas las preguntas antes de enviar: "
                                            "Fiebre o escalofríos.")
