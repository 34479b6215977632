"""Settings › Email is not an address book.

Asking to move one's account to an address another account has used to answer "That
email address is already used by another account": any signed-in patient could learn
who else has a CareSpace account (and so, likely, is treated at the practice). Now the
answer is the same as for a free address; no link goes out, and the owner of the
address is told by email, without a word about who tried.
"""
from __future__ import annotations

import pytest
from sqlmodel import select

from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, EmailChange, OutboxEmail, User
from carespace_app.services.identity import accounts
from carespace_app.services.identity import email_change
from carespace_app.services.identity import signin
from carespace_app.services.mail import outbox
from carespace_app.services.errors import AuthenticationFailed, LinkError
from tests.test_accounts import PASSWORD, emails_to, register, token_in

TAKEN = "sam.owner@example.org"
FREE = "jane.new@example.org"


@pytest.fixture
def jane(db, clock):
    return register(db, clock)  # Jane Doe, jane@example.org


@pytest.fixture
def sam(db, clock):
    return accounts.create_user(db, email=TAKEN, full_name="Sam Owner", password=PASSWORD,
                                clock=clock)


def ask(db, clock, user, address, password=PASSWORD):
    """What Settings › Email gets back: nothing, or the sentence of an error."""
    try:
        email_change.request_email_change(db, user.id, current_password=password, new_email=address,
                                      clock=clock)
    except Exception as exc:  # noqa: BLE001 - the answer is what we compare
        return type(exc).__name__, str(exc)
    return None


def test_an_address_another_account_has_gets_the_same_answer_as_a_free_one(db, clock, jane, sam):
    assert ask(db, clock, jane, FREE) is None
    assert ask(db, clock, jane, "Sam.Owner@Example.org") is None  # any spelling of it

    # The free address got its link; the taken one got no link and nothing changed.
    assert emails_to(db, FREE)[-1].subject == "Confirm your new CareSpace email address"
    assert [e.new_email for e in db.exec(select(EmailChange)).all()] == [FREE]
    assert db.get(User, jane.id).email == "jane@example.org"
    assert db.get(User, sam.id).email == TAKEN


def test_the_owner_is_told_without_a_word_about_who_tried(db, clock, jane, sam):
    ask(db, clock, jane, TAKEN)

    (notice,) = emails_to(db, TAKEN)
    subject, body = outbox.render(notice)
    assert subject == "Someone tried to use your email address in CareSpace"
    assert "Someone tried to use this address for another CareSpace account" in body
    assert get_settings().office_phone in body
    assert notice.sealed_link is None and "http" not in notice.body_template
    for clue in ("Jane", "Doe", "jane@example.org", "Sam"):
        assert clue not in subject and clue not in body
    assert notice.patient_id is None


def test_the_owner_is_told_at_most_once_a_day(db, clock, jane, sam):
    for _ in range(5):
        ask(db, clock, jane, TAKEN)
        clock.advance(hours=1)
    assert len(emails_to(db, TAKEN)) == 1
    clock.advance(hours=20)  # 24 hours after the first notice
    ask(db, clock, jane, TAKEN)
    assert len(emails_to(db, TAKEN)) == 2


def test_an_earlier_link_stops_working_either_way(db, clock, jane, sam):
    # Otherwise Jane could tell the two apart with a link she already holds.
    for second in (TAKEN, "someone.free@example.org"):
        ask(db, clock, jane, FREE)
        link = token_in(emails_to(db, FREE)[-1])
        ask(db, clock, jane, second)
        with pytest.raises(LinkError) as caught:
            email_change.confirm_email_change(db, link, clock=clock)
        assert caught.value.reason == "superseded", second


def test_the_current_password_comes_first_whatever_the_address(db, clock, jane, sam):
    for address in (TAKEN, FREE):
        assert ask(db, clock, jane, address, password="Wrong-Guess-11!") == (
            AuthenticationFailed.__name__, signin.WRONG_CURRENT_PASSWORD)
    assert emails_to(db, TAKEN) == [] and emails_to(db, FREE) == []


def test_the_office_sees_what_happened(db, clock, jane, sam):
    ask(db, clock, jane, TAKEN)
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "email.change_requested")).one()
    assert event.actor_user_id == jane.id
    assert TAKEN in event.detail and "another account" in event.detail


def test_no_other_account_is_told_when_the_address_is_free(db, clock, jane, sam):
    ask(db, clock, jane, FREE)
    assert emails_to(db, TAKEN) == []
    kinds = {e.kind for e in db.exec(select(OutboxEmail)).all()}
    assert kinds == {"email_change"}
