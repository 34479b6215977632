"""The live password checklist: cheap and bounded whatever anyone sends, and it agrees
with what submit decides (the email rule included).

Anyone can call the checklist handlers, signed in or not, over the event socket. zxcvbn
costs over a second of CPU for 72 look-alike characters, so the checklist never runs it:
the common-password rule shows "checked when you submit", and submit judges at most the
first 72 bytes, in the bcrypt threads, a limited number of times per tab.
"""
from __future__ import annotations

import asyncio
import inspect

import pytest
import reflex as rx
from hypothesis import given, settings
from hypothesis import strategies as st
from reflex_base.event.context import EventContext

from carespace_app.i18n import fmt
from carespace_app import policy
from carespace_app.clock import utcnow
from carespace_app.services.identity import accounts
from carespace_app.services.identity import resets
from carespace_app.services.identity import passwords
from carespace_app.services.errors import ValidationError
from carespace_app.state import auth_forms
from carespace_app.state.password_reset import ResetPasswordState
from carespace_app.state.register import RegisterState
from carespace_app.state.settings import SettingsState
from tests.test_accounts import emails_to, token_in

# The worst input measured: many distinct look-alike characters (zxcvbn's l33t table),
# 72 of them: about 1.7 s of CPU for one zxcvbn call.
WORST = ("4@8({[<369!1|7+0$5%2" * 4)[:72]
COMMON = "Password1!"


@pytest.fixture
def zxcvbn_calls(monkeypatch):
    """Every input zxcvbn is given (the library, watched: it still runs)."""
    seen: list[str] = []
    real = passwords.zxcvbn

    def watched(password, user_inputs=None):
        seen.append(password)
        return real(password, user_inputs=user_inputs)

    monkeypatch.setattr(passwords, "zxcvbn", watched)
    return seen

TOO_MANY = fmt("en", auth_forms.TOO_MANY_TRIES, **auth_forms.TRIES_PARAMS)


def _met(rules: list[dict[str, str]]) -> dict[str, str]:
    return {rule["code"]: rule["met"] for rule in rules}


def _tree_state(state_class, cookie: str = ""):
    root = rx.State(_reflex_internal_init=True)
    headers = {"origin": "http://localhost:3000", "host": "localhost:3000", "user-agent": "pytest"}
    if cookie:
        headers["cookie"] = cookie
    root.router_data = root._update_router_vars(
        {"token": "client-checklist", "sid": "sid-checklist", "ip": "203.0.113.5",
         "headers": headers, "pathname": "/register", "query": {}, "asPath": "/register"}, {})
    return root.get_substate(state_class.get_full_name().split(".")[1:])


def _drive(result):
    async def run():
        async with EventContext(token="checklist", state_manager=None, enqueue_impl=_nothing):
            if inspect.iscoroutine(result):
                return await result
            if inspect.isasyncgen(result):
                async for _ in result:
                    pass
        return None

    return asyncio.run(run())


async def _nothing(*_args, **_kwargs):
    return None


# --- the service: rule_status / checklist ---------------------------------------------


def test_the_checklist_never_runs_zxcvbn_and_leaves_the_common_rule_to_submit(zxcvbn_calls):
    for typed in (WORST, COMMON, "x", "", "Aa1!" * 250):
        rules = passwords.checklist(typed, "jane@example.org")
        assert _met(rules)["not_common"] == "later"
    assert zxcvbn_calls == []
    # What it says, in the list the patient reads.
    texts = {rule["code"]: rule["text"] for rule in passwords.checklist(COMMON)}
    assert texts["not_common"] == "Not a common or easy-to-guess password (checked when you submit)"
    assert texts["max_bytes"] == "Not too long (at most 72 letters; fewer with accents or emoji)"


def test_the_checklist_ticks_the_cheap_rules_for_the_worst_input():
    met = _met(passwords.checklist(WORST))
    assert met["min_length"] == "yes" and met["number"] == "yes" and met["special"] == "yes"
    assert met["uppercase"] == "no" and met["lowercase"] == "no"
    assert met["max_bytes"] == "yes"


def test_submit_judges_at_most_the_first_72_bytes(zxcvbn_calls):
    # Called directly (validate_password refuses over 72 bytes before this rule runs).
    passwords.NotCommonValidator().is_met("Zebra-" + "é" * 200)
    passwords.NotCommonValidator().is_met(WORST * 5)
    assert zxcvbn_calls and all(len(seen.encode()) <= 72 for seen in zxcvbn_calls)
    assert zxcvbn_calls[1] == WORST  # the first 72 bytes, not fewer


def test_submit_still_refuses_a_common_password_the_checklist_could_not_judge():
    assert _met(passwords.checklist(COMMON, "jane@example.org"))["not_common"] == "later"
    with pytest.raises(ValidationError) as refused:
        passwords.validate_password(COMMON, email="jane@example.org")
    assert str(refused.value) == passwords.NotCommonValidator.message


# Passwords built from a few pieces, so that the rules are met and missed in every mix, and
# emails whose local part the password sometimes contains.
_pieces = st.sampled_from(["Zebra", "lamp", "42", "!", "#", " ", "é", "Ｚ", "mike", "MIKE.JONES",
                           "jo", "4@8({[<3", "Correct", "horse", "q" * 30, "😀"])
_passwords = st.lists(_pieces, max_size=8).map("".join)
_emails = st.sampled_from(["mike.jones@example.com", "MIKE@example.com", "jo@example.org",
                           "ana.lopez@example.net"])


@settings(max_examples=300, deadline=None)
@given(password=_passwords, email=_emails)
def test_every_rule_the_checklist_ticks_is_a_rule_submit_passes(password, email):
    """A ticked checklist is refused at submit only by the common-password rule, and a
    rule left unticked is a refusal: the checklist and the server decide alike."""
    met = _met(passwords.checklist(password, email))
    try:
        passwords.validate_password(password, email=email)
        refusal = None
    except ValidationError as exc:
        refusal = str(exc)
    live = {code: state for code, state in met.items() if state != "later"}
    if all(state == "yes" for state in live.values()):
        assert refusal in (None, passwords.NotCommonValidator.message,
                           passwords.NotCommonValidator.weak_message), (password, email, refusal)
    else:
        first_unmet = next(r for r in passwords.RULES if live.get(r.code) == "no")
        assert refusal == fmt("en", first_unmet.message, **first_unmet.params), (password, email, refusal)


# --- the handlers ------------------------------------------------------------------------


def test_register_checklist_shows_the_email_rule_for_the_email_being_typed(zxcvbn_calls):
    """Before: the checklist ignored the email, ticked every rule, and Create Password
    still refused "Your password can't be or contain your email address"."""
    state = _tree_state(RegisterState)
    RegisterState.check_password.fn(state, {"password": "Mike.Jones-Lamp-42!",
                                            "email": "Mike.Jones@example.com"})
    met = _met(state.rules)
    assert met["not_email"] == "no"
    assert all(met[code] == "yes" for code in ("min_length", "uppercase", "lowercase", "number", "special"))
    RegisterState.check_password.fn(state, {"password": "Zebra-Lamp-Cactus-42",
                                            "email": "Mike.Jones@example.com"})
    assert _met(state.rules)["not_email"] == "yes"
    assert zxcvbn_calls == []


def test_register_checklist_takes_anything_without_failing():
    state = _tree_state(RegisterState)
    for odd in (None, 7, [], {"password": 5, "email": ["x"]}, "plain password", {"email": "a@b.c"},
                {"password": WORST * 100, "email": "x" * 100_000}):
        RegisterState.check_password.fn(state, odd)
        assert {rule["code"] for rule in state.rules} == {rule.code for rule in passwords.RULES}


def test_reset_checklist_uses_the_accounts_email_from_the_link_and_keeps_it_on_the_server(db,
                                                                                          zxcvbn_calls):
    # The state reads the link with the real clock.
    accounts.create_user(db, email="mike.jones@example.com", full_name="Mike Jones",
                         password="Orange-Kettle-Violin-97", clock=utcnow)
    resets.request_password_reset(db, "mike.jones@example.com", clock=utcnow)
    db.commit()  # the test is the unit of work: the page reads in its own
    state = _tree_state(ResetPasswordState)
    state._token = token_in(emails_to(db, "mike.jones@example.com")[-1])
    zxcvbn_calls.clear()  # (creating the account judged its password)

    _drive(ResetPasswordState.check_password.fn(state, "Mike.Jones-Lamp-42!"))
    assert _met(state.rules)["not_email"] == "no"
    # An email sent by the browser is not what the reset checks: ignored.
    _drive(ResetPasswordState.check_password.fn(state, {"password": "Zebra-Lamp-Cactus-42",
                                                        "email": "zebra@example.com"}))
    assert _met(state.rules)["not_email"] == "yes"
    assert "mike.jones@example.com" not in str(state.get_delta())  # the page never showed it
    assert "_account_email" not in ResetPasswordState.vars
    assert zxcvbn_calls == []


def test_reset_checklist_for_a_bad_link_still_answers(db):
    state = _tree_state(ResetPasswordState)
    state._token = "not-a-real-link"
    _drive(ResetPasswordState.check_password.fn(state, "Mike.Jones-Lamp-42!"))
    assert _met(state.rules)["min_length"] == "yes"


def test_settings_checklist_uses_the_signed_in_persons_email_without_zxcvbn(zxcvbn_calls):
    state = _tree_state(SettingsState)
    state.user_email = "mike.jones@example.com"  # set from the session when the page loads
    SettingsState.check_password.fn(state, "Mike.Jones-Lamp-42!")
    assert _met(state.rules)["not_email"] == "no"
    SettingsState.check_password.fn(state, WORST)
    assert _met(state.rules)["not_common"] == "later"
    assert zxcvbn_calls == []


def test_a_tab_gets_a_few_password_tries_a_minute_at_register(db, monkeypatch):
    """Each Create Password judges the password (zxcvbn, in the bcrypt threads): one tab
    cannot keep those threads busy. A person typing gets several tries."""
    state = _tree_state(RegisterState, cookie="carespace_signin=nonce-of-this-browser")
    state._token = "not-a-real-link"
    state.needs_date_of_birth = False
    now = [1_000_000.0]
    monkeypatch.setattr(auth_forms.time, "time", lambda: now[0])
    form = {"email": "mike@example.com", "password": WORST, "confirm_password": WORST, "terms": "on"}
    for _ in range(policy.PASSWORD_TRIES_PER_TAB):
        _drive(RegisterState.submit.fn(state, form))
        assert state.error != TOO_MANY  # the link is refused, as it should be
    _drive(RegisterState.submit.fn(state, form))
    assert state.error == TOO_MANY and not state.busy
    now[0] += policy.PASSWORD_TRIES_WINDOW.total_seconds() + 1
    _drive(RegisterState.submit.fn(state, form))
    assert state.error != TOO_MANY
