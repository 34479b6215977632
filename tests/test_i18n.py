"""CareSpace in English and Spanish (issue #17): the browser's language on a first visit, the
switch, the person's saved choice, sentences with values, durations and dates, and the
emails a person receives in their language."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from carespace_app import i18n, policy, routes
from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, CaregiverGrant, OutboxEmail, User
from carespace_app.policy import in_words
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import email_change, passwords, resets
from carespace_app.services.mail import outbox
from carespace_app.services.onboarding import invitations
from carespace_app.services.records import patients
from carespace_app.state.auth import SignInState
from carespace_app.state.register import RegisterState
from carespace_app.state.session import SessionState
from carespace_app.timefmt import day, long_day, time_only, when
from tests.factories import PASSWORD, make_patient, make_staff, patient_user
from tests.tabs import Browser, sign_in_token

GOOD = "Blue-Heron-Canoe-42"


# --- choosing the language ---------------------------------------------------------------


@pytest.mark.parametrize("header, expected", [
    ("es-MX,es;q=0.9,en;q=0.8", "es"),
    ("es-419", "es"),
    ("ES", "es"),
    ("en-US,en;q=0.9,es;q=0.5", "en"),
    ("fr-FR,fr;q=0.9,es;q=0.8,en;q=0.7", "es"),  # the first language we speak, by weight
    ("en;q=0.3,es;q=0.6", "es"),                  # weights, not order
    ("es;q=0,en;q=0.1", "en"),                    # q=0: "not this one"
    ("de-DE,fr", "en"),                           # nothing we speak: English
    ("", "en"),
    (None, "en"),
    ("es;q=abc", "en"),                           # a malformed weight is no preference
])
def test_the_browsers_language_picks_english_or_spanish(header, expected):
    assert i18n.pick_language(header) == expected


def test_gettext_finds_the_spanish_and_falls_back_to_english():
    assert i18n.gettext("es", "Sign in") == "Iniciar sesión"
    assert i18n.gettext("en", "Sign in") == "Sign in"
    assert i18n.gettext("fr", "Sign in") == "Sign in"  # an unknown language reads English
    assert i18n.gettext("es", "A sentence nobody translated") == "A sentence nobody translated"
    assert i18n.N_("Sign in") == "Sign in"


def test_ngettext_chooses_the_form_by_number():
    assert i18n.ngettext("en", "{n} day", "{n} days", 1) == "{n} day"
    assert i18n.ngettext("es", "{n} day", "{n} days", 3) == "{n} days"  # not in the catalogue


def test_tries_left_is_said_in_the_readers_language():
    assert invitations.tries_left_text(1, "es") == "Le queda 1 intento antes de que este enlace se bloquee."
    assert invitations.tries_left_text(2, "es") == "Le quedan 2 intentos antes de que este enlace se bloquee."
    assert invitations.tries_left_text(2) == "2 tries left before this link locks."


# (English durations are tested where in_words lives: tests/test_policy.py.)
@pytest.mark.parametrize("span, article, spanish", [
    (timedelta(minutes=15), False, "15 minutos"),
    (timedelta(hours=1), False, "una hora"),
    (timedelta(hours=1), True, "una hora"),
    (timedelta(minutes=1), True, "un minuto"),
    (timedelta(days=4), False, "4 días"),
    (timedelta(hours=24), False, "24 horas"),
    (timedelta(seconds=30), False, "30 segundos"),
])
def test_durations_in_spanish(span, article, spanish):
    assert in_words(span, article=article, lang="es") == spanish
    assert i18n.duration(span, article=article)("es") == spanish
    assert i18n.duration(span, article=article)("en") == in_words(span, article=article)


def test_dates_and_times_in_each_language():
    now = datetime(2026, 3, 1, 15, 0)
    visit = datetime(2026, 3, 3, 15, 30)  # 9:30 AM in Chicago (CST)
    assert when(visit, now=now) == "Tue, Mar 3, 9:30 AM"
    assert when(visit, now=now, lang="es") == "mar, 3 de mar, 9:30 a.m."
    assert long_day(date(2026, 3, 3)) == "Tuesday, March 3"
    assert long_day(date(2026, 3, 3), "es") == "martes, 3 de marzo"
    assert day(date(2027, 1, 8), now=now, lang="es") == "vie, 8 de ene de 2027"
    assert time_only(datetime(2026, 3, 3, 21, 5), "es") == "3:05 p.m."


def test_a_refusal_is_raised_in_english_and_shown_in_the_readers_language():
    with pytest.raises(ValidationError) as caught:
        passwords.validate_password("Sh0rt!")
    err = caught.value
    assert str(err) == f"Your password is too short: use at least {policy.MIN_LENGTH} characters."
    assert err.sentence("es") == (f"Su contraseña es demasiado corta: use al menos "
                                  f"{policy.MIN_LENGTH} caracteres.")
    assert err.field == "password"


def test_tr_fills_values_in_the_tabs_language():
    state = Browser("tr").tab().session_state
    state.lang = "es"
    assert state._tr("You were signed out after {time} without activity. Please sign in again.",
                     time=i18n.duration(policy.IDLE_TIMEOUT)) == (
        "Se cerró su sesión después de 15 minutos sin actividad. Vuelva a iniciar sesión.")
    state.lang = "en"
    assert state._tr("Welcome, {name}. Create a password and confirm your date of birth.",
                     name="Rosa").startswith("Welcome, Rosa.")


# --- the tab's language ------------------------------------------------------------------


def test_a_first_visit_speaks_the_browsers_language(db):
    browser = Browser("mx", accept_language="es-MX,es;q=0.9,en;q=0.8")
    tab = browser.tab()
    tab.open(routes.SIGN_IN + "?reason=signed-out")
    assert tab.session_state.lang == "es"
    assert tab.state(SignInState).notice == "Cerró su sesión."
    tab.call(SignInState, "submit", form={"email": "", "password": ""})
    assert tab.state(SignInState).error == "Escriba su correo electrónico."

    english = Browser("us", accept_language="en-US,en;q=0.9").tab()
    english.open(routes.SIGN_IN)
    assert english.session_state.lang == "en"


def test_the_switch_changes_the_tab_at_once_and_the_cookie_wins_over_the_header(db):
    browser = Browser("switch", accept_language="es-MX")
    tab = browser.tab()
    tab.open(routes.SIGN_IN)
    tab.call(SessionState, "set_language", lang="en")
    assert tab.session_state.lang == "en"
    tab.call(SessionState, "set_language", lang="klingon")  # anything else is ignored
    assert tab.session_state.lang == "en"
    browser.lang_cookie = "en"  # what the page wrote (components/i18n.py)
    fresh = browser.tab()
    fresh.open(routes.SIGN_IN)
    assert fresh.session_state.lang == "en"


def test_the_language_follows_the_person_through_sign_in_and_sign_out(db):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez")
    user = patient_user(db, patient)
    user.language = "es"
    db.add(user)
    db.commit()
    browser = Browser("family", accept_language="en-US")
    tab = browser.tab()
    tab.open(routes.SIGN_IN)
    assert tab.session_state.lang == "en"

    browser.token = sign_in_token(user)  # signs in (the cookie the sign-in route sets)
    tab.open(routes.HOME)
    assert tab.session_state.signed_in and tab.session_state.lang == "es"

    # Signed out, with the cookie the page kept in step: still Spanish on the sign-in page.
    browser.lang_cookie = "es"
    tab.call(SessionState, "sign_out")
    assert browser.token is None and tab.path == routes.SIGN_IN
    assert tab.session_state.lang == "es"

    # Another person signs in on the same tab: their own language, not the last one's.
    other = patient_user(db, make_patient(db, first_name="Dan", last_name="Smith"))
    browser.token = sign_in_token(other)
    tab.open(routes.HOME)
    assert tab.session_state.lang == "en"


def test_an_account_that_never_chose_takes_its_browsers_language_at_sign_in_and_keeps_it(db):
    """An account made before languages (or by the office) has not chosen: signing in from
    a Spanish browser it is Spanish from then on, as a first visit would be, and an English
    browser later does not undo it; an account that chose is never changed by a browser."""
    rosa = patient_user(db, make_patient(db, first_name="Rosa", last_name="Alvarez"))
    chose = patient_user(db, make_patient(db, first_name="Dan", last_name="Smith"))
    chose.language_chosen = True
    db.add(chose)
    db.commit()
    assert (rosa.language, rosa.language_chosen) == ("en", False)

    def sign_in(user, accept_language):
        tab = Browser(f"b-{user.id}-{accept_language}", accept_language=accept_language).tab()
        tab.open(routes.SIGN_IN)
        tab.call(SignInState, "submit", form={"email": user.email, "password": PASSWORD})
        assert tab.session_state.signed_in, tab.state(SignInState).error
        return tab

    tab = sign_in(rosa, "es-MX,es;q=0.9")
    assert tab.path == routes.HOME and tab.session_state.lang == "es"
    db.expire_all()
    assert (db.get(User, rosa.id).language, db.get(User, rosa.id).language_chosen) == ("es", True)
    (row,) = db.exec(select(AuditEvent).where(AuditEvent.action == "settings.language")).all()
    assert (row.actor_user_id, row.detail) == (rosa.id, "es (the browser's, at sign-in)")

    assert sign_in(rosa, "en-US").session_state.lang == "es"  # remembered for the person
    assert sign_in(chose, "es-MX").session_state.lang == "en"  # their choice stands
    db.expire_all()
    assert db.get(User, chose.id).language == "en"
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "settings.language")).all()) == 1


def test_a_switch_or_a_registration_is_a_choice(db):
    rosa = patient_user(db, make_patient(db, first_name="Rosa", last_name="Alvarez"))
    browser = Browser("chooser")
    browser.token = sign_in_token(rosa)
    tab = browser.tab()
    tab.open(routes.HOME)
    tab.call(SessionState, "set_language", lang="en")  # the language it had: a choice still
    db.expire_all()
    assert db.get(User, rosa.id).language_chosen


def test_the_switch_saves_to_the_person_and_is_audited_as_a_settings_change(db):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez")
    user = patient_user(db, patient)
    browser = Browser("saver")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(routes.HOME)
    tab.call(SessionState, "set_language", lang="es")
    tab.call(SessionState, "set_language", lang="es")  # the same again writes nothing
    db.expire_all()
    assert db.get(User, user.id).language == "es"
    rows = db.exec(select(AuditEvent).where(AuditEvent.action == "settings.language")).all()
    assert [(r.actor_user_id, r.detail, r.patient_id) for r in rows] == [(user.id, "es", None)]

    # A new tab of the person (another computer: no cookie) opens in Spanish.
    elsewhere = Browser("elsewhere", accept_language="en-US")
    elsewhere.token = sign_in_token(user)
    again = elsewhere.tab()
    again.open(routes.HOME)
    assert again.session_state.lang == "es"


def test_a_signed_out_switch_saves_nothing(db):
    tab = Browser("anon").tab()
    tab.open(routes.SIGN_IN)
    tab.call(SessionState, "set_language", lang="es")
    assert tab.session_state.lang == "es" and tab.session_state.navigate_to == ""
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "settings.language")).all() == []


def test_registration_in_spanish_keeps_spanish_for_the_new_account(db):
    clock = utcnow  # the tab below checks the link against the real clock
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez", with_account=False,
                           email="rosa@example.com")
    patient.language = "es"
    db.add(patient)
    db.commit()
    invitation = invitations.send_patient_invitation(db, patient.id, sent_by=make_staff(db), clock=clock)
    db.commit()
    subject, body = outbox.render(db.get(OutboxEmail, invitation.outbox_id))
    token = re.search(r"/register\?token=([A-Za-z0-9_\-]+)", body).group(1)

    tab = Browser("reg", accept_language="es-MX").tab()
    tab.open(f"{routes.REGISTER}?token={token}")
    form = tab.state(RegisterState)
    assert form.view == "form"
    assert [r["text"] for r in form.rules][0] == f"Al menos {policy.MIN_LENGTH} caracteres"
    user = invitations.redeem(db, token, email="rosa@example.com", password=GOOD,
                              confirm_password=GOOD, date_of_birth=patient.date_of_birth,
                              accepted_terms=True, clock=clock, language=tab.session_state.lang)
    db.commit()
    assert (db.get(User, user.id).language, db.get(User, user.id).language_chosen) == ("es", True)


# --- emails in the person's language -------------------------------------------------------


def test_the_invitation_is_written_in_the_patients_preferred_language(db, clock):
    staff = make_staff(db)
    spanish = make_patient(db, first_name="Rosa", last_name="Alvarez", with_account=False)
    spanish.language = "es"
    english = make_patient(db, first_name="Dan", last_name="Smith", with_account=False)
    db.add(spanish)
    db.commit()
    sent = invitations.send_patient_invitation(db, spanish.id, sent_by=staff, clock=clock)
    plain = invitations.send_patient_invitation(db, english.id, sent_by=staff, clock=clock)
    db.commit()
    subject, body = outbox.render(db.get(OutboxEmail, sent.outbox_id))
    assert subject == "Su invitación a CareSpace"
    assert body.startswith("Hola, Rosa:")
    assert "Este enlace vence en 4 días (el vie, 9 de ene, 9:00 a.m. CST)." in body
    assert "/register?token=" in body and "{link}" not in body
    assert f"llame al consultorio al {get_settings().office_phone}" in body  # the footer too
    assert "Do not" not in body and "Hello" not in body
    subject, body = outbox.render(db.get(OutboxEmail, plain.outbox_id))
    assert subject == "Your invitation to CareSpace" and body.startswith("Hello Dan,")


def test_reset_and_confirmation_emails_use_the_persons_language(db, clock):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez")
    user = patient_user(db, patient)
    user.language = "es"
    db.add(user)
    db.commit()
    resets.request_password_reset(db, user.email, clock=clock)
    email_change.request_email_change(db, user.id, current_password=PASSWORD,
                                      new_email="nueva@example.com", clock=clock)
    db.commit()
    mail = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "password_reset")).one()
    subject, body = outbox.render(mail)
    assert subject == "Restablezca su contraseña de CareSpace"
    assert "abra este enlace en un plazo de una hora" in body and "/reset-password?token=" in body
    assert "Someone" not in body
    confirm = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "email_change")).one()
    subject, body = outbox.render(confirm)
    assert subject == "Confirme su nuevo correo electrónico de CareSpace"
    assert body.startswith("Hola, Rosa Alvarez:") and "Until you do" not in body

    user.language = "en"
    db.add(user)
    db.commit()
    resets.request_password_reset(db, user.email, clock=clock)
    db.commit()
    latest = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "password_reset")
                     .order_by(OutboxEmail.id.desc())).first()
    assert outbox.render(latest)[0] == "Reset your CareSpace password"


def test_a_caregivers_invitation_speaks_the_inviting_patients_language(db, clock):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez")
    rosa = patient_user(db, patient)
    rosa.language = "es"  # what her switch saved
    grant = CaregiverGrant(patient_id=patient.id, name="Maria Alvarez", email="maria@example.com",
                           granted_by_user_id=rosa.id)
    db.add_all([rosa, grant])
    db.commit()
    invitation, _token = invitations.issue(db, patient=patient, grant=grant, sent_by=rosa, clock=clock)
    db.commit()
    subject, body = outbox.render(db.get(OutboxEmail, invitation.outbox_id))
    assert subject == "Su invitación al portal CareSpace de Rosa Alvarez"
    assert body.startswith("Hola, Maria Alvarez:")
    assert "Rosa Alvarez le dará un código de acceso corto" in body
    assert "Se le pedirá este correo electrónico y un código de acceso." in body


def test_the_office_records_a_preferred_language_and_refuses_others(db, clock):
    staff = make_staff(db)
    made = patients.create_patient(db, staff, mrn="L-1", first_name="Rosa", last_name="Alvarez",
                                   date_of_birth=date(1961, 5, 2), email="rosa.l@example.com",
                                   clock=clock, language="es")
    db.commit()
    assert made.language == "es"
    kept = patients.update_patient(db, staff, made.id, mrn="L-1", first_name="Rosa",
                                   last_name="Alvarez", date_of_birth=date(1961, 5, 2),
                                   email="rosa.l@example.com", phone=None, clock=clock)
    assert kept.language == "es"  # a form without the field keeps it
    with pytest.raises(ValidationError) as caught:
        patients.update_patient(db, staff, made.id, mrn="L-1", first_name="Rosa",
                                last_name="Alvarez", date_of_birth=date(1961, 5, 2),
                                email="rosa.l@example.com", phone=None, clock=clock, language="fr")
    assert caught.value.field == "language"
