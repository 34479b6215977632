"""The check-in page through its real handlers (tests/tabs.py): a session that ends in the
middle of a check-in loses nothing; what one person chose is not shown to another."""
from __future__ import annotations

from carespace_app import routes, timefmt
from carespace_app.clock import utcnow
from carespace_app.services.records import checkins, symptoms
from carespace_app.state.checkin import CheckinState
from carespace_app.state.session import SessionState
from tests.factories import make_practice
from tests.tabs import Browser, sign_in_token


def _tab(user, name):
    browser = Browser(name)
    browser.token = sign_in_token(user)
    tab = browser.tab()
    tab.open(routes.CHECKIN)
    return browser, tab


def test_signed_out_in_the_middle_the_answers_come_back_for_that_person_only(db):
    practice = make_practice(db)
    checkins.enrol(db, practice.staff, practice.alice.id, every_days=7,
                   starts_on=timefmt.to_local(utcnow()).date(), ends_on=None,
                   keys=symptoms.DEFAULT_KEYS, clock=utcnow)
    db.commit()
    browser, tab = _tab(practice.alice_user, "alice")
    form = tab.state(CheckinState)
    assert form.mode == "form" and form.step == 0
    for grade in (2, 3):
        tab.call(CheckinState, "choose", value=grade)
        tab.call(CheckinState, "next_question")
    assert form.step == 2

    tab.call(SessionState, "sign_out")  # or the idle sign-out: the tab keeps nothing
    assert tab.state(CheckinState).answers == []
    browser.token = sign_in_token(practice.alice_user)
    tab.open(routes.CHECKIN)
    form = tab.state(CheckinState)
    assert form.answers[:3] == [2, 3, -1] and form.step == 2  # on at the third question

    _, carer_tab = _tab(practice.carer, "carla")  # the caregiver starts afresh
    carers = carer_tab.state(CheckinState)
    assert carers.mode == "form" and set(carers.answers) == {-1} and carers.step == 0
