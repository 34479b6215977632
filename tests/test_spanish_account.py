"""Spanish for the portal's frame, the account pages and two-step sign-in (issue #17): what
the server writes for a tab (Home's dates and greeting, the access page, Settings' errors and
notices, two-step sign-in's errors and toasts) follows the tab's language, and each account
email is written in its recipient's language — Spanish for a Spanish-speaking person,
English for an English-speaking one."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from carespace_app import i18n, routes
from carespace_app.clock import utcnow
from carespace_app.event_budget import SLOW_DOWN, slow_down_delta
from carespace_app.i18n import N_
from carespace_app.models import OutboxEmail, User
from carespace_app.services.errors import ValidationError
from carespace_app.services.identity import accounts, email_change, mfa, mfa_codes
from carespace_app.services.mail import outbox
from carespace_app.services.records import appointments
from carespace_app.services.text_rules import check_text
from carespace_app.state.access_page import AccessState
from carespace_app.state.portal import HomeState
from carespace_app.state.session import SessionState
from carespace_app.state.settings import SettingsState
from carespace_app.state.two_step import TwoStepState
from carespace_app.timefmt import day, when
from tests.factories import (
    PASSWORD, make_patient, make_staff, make_user, not_a_code, patient_user,
)
from tests.tabs import Browser, sign_in_token


def _speaking(db, user: User, lang: str) -> User:
    user.language = lang
    db.add(user)
    db.commit()
    return user


def _tab(user: User, path: str):
    browser = Browser("family")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(path)
    return tab


def _last_email(db, to: str) -> tuple[str, str]:
    mail = db.exec(select(OutboxEmail).where(OutboxEmail.to_address == to)
                   .order_by(OutboxEmail.id.desc())).first()
    return outbox.render(mail)


def _rosa(db, lang: str = "es"):
    patient = make_patient(db, first_name="Rosa", last_name="Alvarez", email="rosa@example.com")
    return patient, _speaking(db, patient_user(db, patient), lang)


# --- Home: the greeting and the list's dates ---------------------------------------------


@pytest.mark.parametrize("lang, greeting, title", [
    ("es", "Le damos la bienvenida, Rosa", "Sus próximas visitas"),
    ("en", "Welcome, Rosa", "Your next visits"),
])
def test_home_greets_and_dates_the_visits_in_the_persons_language(db, lang, greeting, title):
    patient, rosa = _rosa(db, lang)
    starts = (utcnow() + timedelta(days=9)).replace(hour=15, minute=30, second=0, microsecond=0)
    appointments.create_appointment(
        db, make_staff(db), patient.id, starts_at=starts, duration_minutes=30,
        appointment_type="Infusion", provider="Dr. Chen", location="Suite 200", clock=utcnow)
    db.commit()
    home = _tab(rosa, routes.HOME).state(HomeState)
    assert (home.greeting, home.visits_title) == (greeting, title)
    [visit] = home.visits
    assert visit.when == when(starts, lang=lang)
    assert when(starts, lang="es") != when(starts, lang="en")  # the dates really differ


def test_the_switch_on_home_loads_it_again_in_the_new_language(db):
    _patient, rosa = _rosa(db, "en")
    tab = _tab(rosa, routes.HOME)
    assert tab.state(HomeState).greeting == "Welcome, Rosa"
    events = tab.call(SessionState, "set_language", lang="es")
    assert [getattr(e, "fn", None) for e in events] == [HomeState.load.fn]
    tab.call(HomeState, "load")
    assert tab.state(HomeState).greeting == "Le damos la bienvenida, Rosa"


def test_the_switch_on_settings_keeps_the_open_form(db):
    """Settings has a form: the switch changes its words in the browser and loads nothing."""
    _patient, rosa = _rosa(db, "en")
    tab = _tab(rosa, routes.SETTINGS)
    tab.call(SettingsState, "set_dialog_open", value=True)
    assert tab.call(SessionState, "set_language", lang="es") == []
    assert tab.state(SettingsState).dialog_open
    assert tab.session_state.lang == "es"


# --- the access page -----------------------------------------------------------------------


def test_the_access_page_speaks_spanish_to_a_spanish_speaker(db):
    nobody = _speaking(db, make_user(db, full_name="Maria Alvarez", email="maria@example.com"), "es")
    tab = _tab(nobody, routes.ACCESS)
    page = tab.state(AccessState)
    assert page.title == "En este momento no tiene acceso al portal de ningún paciente"
    assert page.text.startswith("Para recuperar el acceso, pida al paciente")


# --- Settings: errors and notices ----------------------------------------------------------


def test_settings_refuses_and_confirms_in_spanish(db):
    _patient, rosa = _rosa(db)
    tab = _tab(rosa, routes.SETTINGS)
    tab.call(SettingsState, "change_email",
             form={"current_password": PASSWORD, "new_email": rosa.email})
    assert tab.state(SettingsState).email_error == "Ese ya es su correo electrónico."
    tab.call(SettingsState, "change_email",
             form={"current_password": PASSWORD, "new_email": "nueva@example.com"})
    notice = tab.state(SettingsState).notice
    assert notice.startswith("Enviamos un enlace de confirmación a nueva@example.com.")
    assert "(el enlace funciona durante 24 horas)" in notice
    assert tab.session_state.flash["text"] == (
        "Busque el enlace de confirmación en su nuevo buzón de correo.")


def test_a_hidden_character_is_named_in_the_readers_language():
    with pytest.raises(ValidationError) as caught:
        check_text("Rosa\x00", field="full_name", label=N_("full name"), single_line=True)
    assert str(caught.value).startswith("The full name contains a hidden control character.")
    assert caught.value.sentence("es").startswith(
        "El campo «nombre completo» contiene un carácter de control oculto.")


def test_the_slow_down_notice_is_said_in_the_tabs_language():
    assert slow_down_delta("es")[SessionState.get_full_name()]["flash_rx_state_"]["text"] == (
        "Por favor, vaya más despacio — inténtelo de nuevo en unos segundos.")
    assert slow_down_delta()[SessionState.get_full_name()]["flash_rx_state_"]["text"] == SLOW_DOWN


# --- two-step sign-in ----------------------------------------------------------------------


def test_two_step_set_up_in_spanish_errors_toasts_and_email(db, clock):
    _patient, rosa = _rosa(db)
    tab = _tab(rosa, routes.SETTINGS)
    tab.call(TwoStepState, "start_setup")
    secret = tab.state(TwoStepState).secret_text.replace(" ", "")
    tab.call(TwoStepState, "confirm_setup", form={"two_step_code": ""})
    assert tab.state(TwoStepState).error == (
        "Escriba el código de 6 dígitos de su aplicación de autenticación.")
    tab.call(TwoStepState, "confirm_setup", form={"two_step_code": not_a_code(secret, utcnow())})
    assert tab.state(TwoStepState).error == (
        "Ese código no es correcto. Revise su aplicación de autenticación e inténtelo de nuevo.")
    tab.call(TwoStepState, "confirm_setup", form={"two_step_code": mfa_codes.code_at(secret, utcnow())})
    assert tab.state(TwoStepState).view == "codes"
    assert tab.session_state.flash["text"] == "El inicio de sesión en dos pasos está activado."
    subject, body = _last_email(db, rosa.email)
    assert subject == "El inicio de sesión en dos pasos está activado"
    assert "Se activó el inicio de sesión en dos pasos de su cuenta de CareSpace." in body
    tab.call(TwoStepState, "saved_codes")
    db.expire_all()
    since = db.get(User, rosa.id).two_step_since
    assert tab.state(TwoStepState).since == day(since, lang="es") != day(since, lang="en")


def test_recovery_codes_left_are_counted_in_each_language():
    assert mfa.codes_left_text(1, "es") == "Le queda 1 código de recuperación."
    assert mfa.codes_left_text(9, "es") == "Le quedan 9 códigos de recuperación."
    assert mfa.codes_left_text(9) == "You have 9 recovery codes left."
    assert mfa.codes_left_text(0, "es") == (
        "No le quedan códigos de recuperación. Cree nuevos en Configuración.")


@pytest.mark.parametrize("lang, subject, says", [
    ("es", "Se usó un código de recuperación", "Le quedan 9 códigos de recuperación."),
    ("en", "A recovery code was used", "You have 9 recovery codes left."),
])
def test_a_used_recovery_code_is_told_in_the_persons_language(db, clock, lang, subject, says):
    _patient, rosa = _rosa(db, lang)
    setup = mfa.begin_setup(db, rosa, clock=clock)
    codes = mfa.confirm_setup(db, rosa, mfa_codes.code_at(setup.secret, clock()), clock=clock)
    token = mfa.password_passed(db, rosa, clock=clock)
    assert mfa.sign_in_with_recovery_code(db, token, codes[0], client_ip="203.0.113.9",
                                          clock=clock) == 9
    db.commit()
    got_subject, body = _last_email(db, rosa.email)
    assert got_subject == subject and says in body


# --- the account emails ----------------------------------------------------------------------


@pytest.mark.parametrize("lang, subject", [
    ("es", "Se cambió la contraseña de su cuenta de CareSpace"),
    ("en", "Your CareSpace password was changed"),
])
def test_the_password_change_notice_is_in_the_persons_language(db, clock, lang, subject):
    _patient, rosa = _rosa(db, lang)
    accounts.change_password(db, rosa.id, current_password=PASSWORD,
                             new_password="Blue-Heron-Canoe-42", confirm_password="Blue-Heron-Canoe-42",
                             clock=clock)
    db.commit()
    got_subject, body = _last_email(db, rosa.email)
    assert got_subject == subject
    assert body.startswith("Hola, Rosa Alvarez:" if lang == "es" else "Hello Rosa Alvarez,")


def test_the_email_change_notices_are_in_each_recipients_language(db, clock):
    _patient, rosa = _rosa(db, "es")
    other = _speaking(db, make_user(db, full_name="Ann Lee", email="ann@example.com"), "en")
    # Someone asks for Ann's address: Ann is told, in English.
    email_change.request_email_change(db, rosa.id, current_password=PASSWORD,
                                      new_email=other.email, clock=clock)
    db.commit()
    assert _last_email(db, other.email)[0] == "Someone tried to use your email address in CareSpace"
    # Rosa's own change: the old address is told, in Spanish.
    old = rosa.email
    email_change.request_email_change(db, rosa.id, current_password=PASSWORD,
                                      new_email="rosa.nueva@example.com", clock=clock)
    db.commit()
    link = db.exec(select(OutboxEmail).where(OutboxEmail.kind == "email_change")
                   .order_by(OutboxEmail.id.desc())).first()
    token = outbox.render(link)[1].split("token=")[1].split()[0]
    email_change.confirm_email_change(db, token, clock=clock)
    db.commit()
    subject, body = _last_email(db, old)
    assert subject == "Se cambió el correo electrónico de su cuenta de CareSpace"
    assert "se cambió a rosa.nueva@example.com" in body

    # And an address's Spanish-speaking owner hears about an attempt in Spanish.
    email_change.request_email_change(db, other.id, current_password=PASSWORD,
                                      new_email="rosa.nueva@example.com", clock=clock)
    db.commit()
    assert _last_email(db, "rosa.nueva@example.com")[0] == (
        "Alguien intentó usar su correo electrónico en CareSpace")


def test_the_office_reset_email_is_in_the_persons_language(db, clock):
    from carespace_app.services.identity import mfa_office
    from tests.factories import turn_on_two_step

    patient, rosa = _rosa(db, "es")
    turn_on_two_step(db, rosa)
    admin = make_staff(db, is_admin=True, email="admin@example.com")
    mfa_office.reset_for_patient_account(db, admin, patient.id, rosa.id, clock=clock)
    db.commit()
    subject, body = _last_email(db, rosa.email)
    assert subject == "Se restableció el inicio de sesión en dos pasos"
    assert "Nuestro consultorio restableció el inicio de sesión en dos pasos" in body
    assert i18n.gettext("es", mfa.EMAILS["reset_by_office"][1]) in body
