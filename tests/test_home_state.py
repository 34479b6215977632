"""Home greets the person whose portal it is, in their words: a caregiver reads "Rosa's
next visits"; the office viewing a portal is not welcomed by its own name."""
from __future__ import annotations

from carespace_app import routes
from carespace_app.state.admin_patient import AdminPatientState
from carespace_app.state.portal import HomeState
from carespace_app.state.session import SessionState
from tests.factories import grant_caregiver, make_patient, make_staff, patient_user
from tests.tabs import Browser, sign_in_token


def _home(user, *, patient=None):
    browser = Browser("home")
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(routes.HOME)
    if patient is not None:
        tab.call(SessionState, "switch_patient", patient_id=str(patient.id))
    return tab, tab.state(HomeState)


def test_the_patient_is_welcomed_and_reads_your_next_visits(db):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez")
    _tab, home = _home(patient_user(db, rosa))
    assert (home.greeting, home.visits_title) == ("Welcome, Rosa", "Your next visits")


def test_a_caregiver_reads_whose_visits_they_are(db):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez")
    maria = grant_caregiver(db, rosa, full_name="Maria Alvarez")
    _tab, home = _home(maria)
    assert (home.greeting, home.visits_title) == ("Welcome, Maria", "Rosa's next visits")


def test_the_office_viewing_a_portal_is_not_greeted_by_its_own_name(db):
    rosa = make_patient(db, first_name="Rosa", last_name="Alvarez")
    office = make_staff(db, full_name="Sam Nurse")
    browser = Browser("office")
    browser.token = sign_in_token(office)
    tab = browser.tab()
    tab.open(f"{routes.ADMIN_PATIENT}?id={rosa.id}")
    tab.call(AdminPatientState, "view_as_patient")
    home = tab.state(HomeState)
    assert tab.path == routes.HOME
    assert (home.greeting, home.visits_title) == ("Rosa Alvarez's portal", "Rosa's next visits")
    assert "Sam" not in home.greeting
