"""Share links (issue #16): a URL plus a passcode that opens one patient's record for a while.

What a recipient, a guesser and the patient would notice: the token is long and stored only
hashed; the link works for the days chosen, until revoked, and locks after too many wrong
passcodes; it shows exactly the patient's record for the chosen dates; every step is on the
patient's trail and reads plainly in "Who viewed my record".
"""
from __future__ import annotations

import base64
from datetime import date, datetime, timedelta

import pytest
from sqlmodel import select

from carespace_app import policy, routes
from carespace_app.config import get_settings
from carespace_app.models import AuditEvent, ShareLink
from carespace_app.services.audit import patient_activity
from carespace_app.services.errors import NotAllowed, ValidationError
from carespace_app.services.identity import security
from carespace_app.services.records import labs, messaging, share_links
from carespace_app.services.records.labs import ResultInput
from carespace_app.services.records.share_links import LinkUnavailable, WrongPasscode
from tests.factories import make_practice, make_staff, revoke_caregiver

# The clock fixture starts Mon, Jan 5, 2026, 15:00 UTC (9:00 AM in Chicago).
RANGE = dict(start=date(2025, 12, 1), end=date(2026, 1, 5))
IP = "198.51.100.7"


@pytest.fixture(autouse=True)
def _fresh_misses():
    share_links.misses.clear()
    yield
    share_links.misses.clear()


@pytest.fixture
def practice(db, clock):
    p = make_practice(db)
    labs.enter_report(db, p.staff, p.alice.id, panel="Tumour markers",
                      collected_at=datetime(2026, 1, 2, 15), resulted_at=datetime(2026, 1, 2, 20),
                      ordering_provider="Dr. Anjali Rao",
                      results=[ResultInput("CA-125", "41.2", "U/mL", None, 35.0)], clock=clock)
    labs.enter_report(db, p.staff, p.bob.id, panel="Iron Studies",
                      collected_at=datetime(2026, 1, 2, 15), resulted_at=datetime(2026, 1, 2, 20),
                      ordering_provider="Dr. Bob's Doctor",
                      results=[ResultInput("Ferritin", "8", "ng/mL", 15, 150)], clock=clock)
    messaging.start_thread(db, p.alice_user, p.alice.id, category="Medical question",
                           subject="Nausea after infusion", body="Is ginger tea fine?",
                           client_key=None, clock=clock)
    db.commit()
    return p


def make_link(db, clock, practice, *, actor=None, days=3, include_messages=False, label="Dr. Patel"):
    url, passcode = share_links.create(db, actor or practice.alice_user, practice.alice.id,
                                       label=label, days=days, include_messages=include_messages,
                                       clock=clock, client_ip=IP, **RANGE)
    db.commit()
    return url, passcode


def token_of(url: str) -> str:
    assert url.startswith(f"{get_settings().base_url}{routes.SHARED}#")
    return url.split("#", 1)[1]


def actions(db, patient_id) -> list[str]:
    return [e.action for e in db.exec(select(AuditEvent).where(AuditEvent.patient_id == patient_id)
                                      .order_by(AuditEvent.id)).all()]


def test_the_token_is_256_bits_in_the_fragment_and_only_its_hash_is_stored(db, clock, practice):
    url, passcode = make_link(db, clock, practice)
    token = token_of(url)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert passcode.isdigit() and len(passcode) == policy.SHARE_PASSCODE_DIGITS
    link = db.exec(select(ShareLink)).one()
    assert link.token_hash == security.token_hash(token)
    stored = " ".join(str(v) for v in link.model_dump().values())
    assert token not in stored and passcode not in stored
    # The passcode's hash is keyed with the token: the table alone cannot test guesses.
    assert link.passcode_hash == share_links.passcode_hash(token, passcode)
    assert link.passcode_hash != security.token_hash(passcode)
    # A second link: another token, another passcode.
    other_url, _ = make_link(db, clock, practice)
    assert token_of(other_url) != token


def test_the_right_passcode_opens_exactly_this_patients_record_for_the_dates(db, clock, practice):
    url, passcode = make_link(db, clock, practice)
    shared = share_links.open_link(db, token_of(url), share_links.shown_passcode(passcode),
                                   client_ip=IP, clock=clock)
    db.commit()
    record = shared.record
    assert record.patient.id == practice.alice.id
    assert [r.panel for r in record.reports] == ["Tumour markers"]
    assert record.reports[0].results[0].test_name == "CA-125"
    assert record.conversations == []  # messages were not chosen
    assert record.made_for == "Dr. Patel (shared link)"
    assert shared.label == "Dr. Patel"
    # Dates outside the link's range are not in it.
    url2, code2 = share_links.create(db, practice.alice_user, practice.alice.id, label="Lab",
                                     days=1, start=date(2026, 1, 3), end=date(2026, 1, 5),
                                     include_messages=True, clock=clock)
    shared2 = share_links.open_link(db, token_of(url2), code2, client_ip=IP, clock=clock)
    assert shared2.record.reports == []
    assert [c.subject for c in shared2.record.conversations] == ["Nausea after infusion"]


def test_the_link_works_for_the_days_chosen_and_then_is_refused(db, clock, practice):
    url, passcode = make_link(db, clock, practice, days=2)
    clock.advance(days=2, seconds=-1)
    share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    clock.advance(seconds=1)
    with pytest.raises(LinkUnavailable) as refused:
        share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    assert str(refused.value) == share_links.NOT_AVAILABLE


@pytest.mark.parametrize("days", [0, policy.SHARE_LINK_MAX_DAYS + 1, "x", None, -1])
def test_expiry_is_one_to_the_maximum_days(db, clock, practice, days):
    with pytest.raises(ValidationError) as refused:
        make_link(db, clock, practice, days=days)
    assert refused.value.field == "days"
    assert db.exec(select(ShareLink)).all() == []


def test_a_label_and_a_forward_date_range_are_needed(db, clock, practice):
    with pytest.raises(ValidationError) as no_label:
        make_link(db, clock, practice, label="   ")
    assert no_label.value.field == "label"
    with pytest.raises(ValidationError) as backwards:
        share_links.create(db, practice.alice_user, practice.alice.id, label="Dr. Patel", days=1,
                           start=date(2026, 1, 5), end=date(2026, 1, 1), include_messages=False,
                           clock=clock)
    assert backwards.value.field == "start"


def test_revoked_is_refused_at_once_with_the_same_sentence(db, clock, practice):
    url, passcode = make_link(db, clock, practice)
    opened = share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    share_links.revoke(db, practice.alice_user, practice.alice.id, opened.link_id, clock=clock)
    db.commit()
    for attempt in (lambda: share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock),
                    # a page already open: its next download is refused too
                    lambda: share_links.download(db, token_of(url), opened.link_id, what="PDF",
                                                 client_ip=IP, clock=clock)):
        with pytest.raises(LinkUnavailable) as refused:
            attempt()
        assert str(refused.value) == share_links.NOT_AVAILABLE
    # Unknown and malformed tokens read the same.
    for token in (security.new_token(), "short", None, "x" * 43 + "!"):
        with pytest.raises(LinkUnavailable) as unknown:
            share_links.open_link(db, token, passcode, client_ip="198.51.100.99", clock=clock)
        assert str(unknown.value) == share_links.NOT_AVAILABLE
    listed = share_links.list_links(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [link.status for link in listed.items] == ["revoked"]


def test_wrong_passcodes_lock_the_link_and_the_patient_sees_it_locked(db, clock, practice):
    url, passcode = make_link(db, clock, practice)
    wrong = str((int(passcode) + 1) % 10 ** policy.SHARE_PASSCODE_DIGITS).zfill(policy.SHARE_PASSCODE_DIGITS)
    for attempt in range(policy.SHARE_LINK_MAX_WRONG):
        with pytest.raises(WrongPasscode) as refused:
            share_links.open_link(db, token_of(url), wrong, client_ip=IP, clock=clock)
        db.commit()  # the service's unit of work keeps the count (keeps_writes)
        assert refused.value.field == "passcode"
    link = db.exec(select(ShareLink)).one()
    db.refresh(link)
    assert link.wrong_passcodes == policy.SHARE_LINK_MAX_WRONG
    # Now even the right passcode is refused, with the sentence that tells a guesser nothing.
    with pytest.raises(LinkUnavailable):
        share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    listed = share_links.list_links(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [v.status for v in listed.items] == ["locked"]
    assert actions(db, practice.alice.id).count("share_link.locked") == 1


def test_an_address_that_keeps_missing_is_refused_without_a_look_up(db, clock, practice):
    url, passcode = make_link(db, clock, practice)
    for _ in range(policy.SHARE_LINK_MISSES_PER_ADDRESS):
        with pytest.raises(LinkUnavailable):
            share_links.open_link(db, security.new_token(), "12345678", client_ip=IP, clock=clock)
    with pytest.raises(LinkUnavailable) as slowed:
        share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    assert str(slowed.value) == share_links.TOO_MANY_MISSES
    # Another address is not held back; the first one may try again after the window.
    share_links.open_link(db, token_of(url), passcode, client_ip="198.51.100.8", clock=clock)
    clock.advance(seconds=policy.SHARE_LINK_MISS_WINDOW.total_seconds())
    share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    # The misses are one refusal row with a count, not one row each.
    rows = db.exec(select(AuditEvent).where(AuditEvent.action == "share_link.refused")).all()
    assert len(rows) == 1 and rows[0].repeat_count == policy.SHARE_LINK_MISSES_PER_ADDRESS
    assert rows[0].patient_id is None


def test_who_may_make_list_and_revoke_links(db, clock, practice):
    # A caregiver may make one for the patient; the record says who did.
    url, _ = make_link(db, clock, practice, actor=practice.carer, label="Second opinion")
    listed = share_links.list_links(db, practice.alice_user, practice.alice.id, clock=clock)
    assert [(v.label, v.created_by) for v in listed.items] == [("Second opinion", "Carla Moreno")]
    # Another patient and the office may not make one.
    for actor in (practice.bob_user, practice.staff):
        with pytest.raises(NotAllowed):
            share_links.create(db, actor, practice.alice.id, label="x", days=1, include_messages=False,
                               clock=clock, **RANGE)
    # Another patient's link id, from Bob's tab: refused and audited, the link untouched.
    link_id = listed.items[0].id
    with pytest.raises(NotAllowed):
        share_links.revoke(db, practice.bob_user, practice.bob.id, link_id, clock=clock)
    db.commit()
    with pytest.raises(NotAllowed):
        share_links.revoke(db, practice.bob_user, practice.bob.id, 987654, clock=clock)
    db.commit()
    assert db.get(ShareLink, link_id).revoked_at is None
    refusals = db.exec(select(AuditEvent).where(AuditEvent.action == "access.refused",
                                                AuditEvent.actor_user_id == practice.bob_user.id)).all()
    assert refusals
    with pytest.raises(NotAllowed):
        share_links.list_links(db, practice.bob_user, practice.alice.id, clock=clock)


def test_a_caregivers_link_dies_with_their_access(db, clock, practice):
    url, passcode = make_link(db, clock, practice, actor=practice.carer)
    revoke_caregiver(db, practice.alice, practice.carer)
    with pytest.raises(LinkUnavailable):
        share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)


def test_every_step_is_audited_and_reads_plainly_in_who_viewed_my_record(db, clock, practice):
    url, passcode = make_link(db, clock, practice, label="Dr. Patel")
    clock.advance(minutes=1)
    opened = share_links.open_link(db, token_of(url), passcode, client_ip=IP, clock=clock)
    db.commit()
    clock.advance(minutes=1)
    share_links.download(db, token_of(url), opened.link_id, what="PDF", client_ip=IP, clock=clock)
    db.commit()
    clock.advance(minutes=1)
    share_links.revoke(db, practice.alice_user, practice.alice.id, opened.link_id, clock=clock)
    db.commit()
    assert actions(db, practice.alice.id)[-4:] == ["share_link.created", "record.share_viewed",
                                                   "record.share_downloaded", "share_link.revoked"]
    viewed = db.exec(select(AuditEvent).where(AuditEvent.action == "record.share_viewed")).one()
    assert viewed.client_ip == IP and viewed.actor_user_id is None
    assert f"share link {opened.link_id}" in viewed.detail
    trail = patient_activity.patient_trail(db, practice.alice_user, practice.alice.id, clock=clock)
    lines = [(e.who, e.what) for e in trail.items]
    someone = "Someone with your share link (Dr. Patel)"
    assert ("You", "Turned off a share link") in lines
    assert (someone, "Downloaded your record through a share link") in lines
    assert (someone, "Opened your record through a share link") in lines
    assert ("You", "Made a share link to your record") in lines
    # Bob's trail has none of it.
    bobs = patient_activity.patient_trail(db, practice.bob_user, practice.bob.id, clock=clock)
    assert not [e for e in bobs.items if "share link" in e.what]


def test_the_list_is_newest_first_and_paged_in_the_database(db, clock, practice):
    for n in range(3):
        make_link(db, clock, practice, label=f"Person {n}")
        clock.advance(minutes=1)
    first = share_links.list_links(db, practice.alice_user, practice.alice.id, limit=2, clock=clock)
    assert [v.label for v in first.items] == ["Person 2", "Person 1"] and first.has_more
    rest = share_links.list_links(db, practice.alice_user, practice.alice.id, offset=2, limit=2,
                                  clock=clock)
    assert [v.label for v in rest.items] == ["Person 0"] and not rest.has_more
    clock.advance(days=policy.SHARE_LINK_DEFAULT_DAYS)
    assert {v.status for v in share_links.list_links(db, practice.alice_user, practice.alice.id,
                                                      clock=clock).items} == {"expired"}


def test_a_patient_can_have_only_so_many_working_links(db, clock, practice):
    for n in range(policy.SHARE_LINKS_ACTIVE_LIMIT):
        share_links.create(db, practice.alice_user, practice.alice.id, label=f"P{n}", days=1,
                           include_messages=False, clock=clock, **RANGE)
    with pytest.raises(ValidationError):
        share_links.create(db, practice.alice_user, practice.alice.id, label="One more", days=1,
                           include_messages=False, clock=clock, **RANGE)


def test_the_office_does_not_manage_a_patients_links(db, clock, practice):
    make_link(db, clock, practice)
    link = db.exec(select(ShareLink)).one()
    staff = make_staff(db, full_name="Other Staff")
    with pytest.raises(NotAllowed):
        share_links.revoke(db, staff, practice.alice.id, link.id, clock=clock)
    db.commit()
    db.refresh(link)
    assert link.revoked_at is None


# --- the /shared page's state: nothing of the record outlives the link ------------------------


def _shared_tab(fragment: str):
    from tests.tabs import Browser, Tab

    class SharedTab(Tab):
        def _router_data(self) -> dict:
            data = super()._router_data()
            data["asPath"] += f"#{fragment}"
            return data

    browser = Browser("recipient")
    tab = SharedTab(browser, "recipient-0")
    browser.tabs.append(tab)
    return tab


def _year_link(db, practice, label: str, *, include_messages: bool) -> tuple[str, str]:
    """Alice's link for a day to her record from Dec 2025 through 2026, committed: the page's
    events read in their own units of work."""
    from carespace_app.clock import utcnow

    made = share_links.create(db, practice.alice_user, practice.alice.id, label=label, days=1,
                              start=date(2025, 12, 1), end=date(2026, 12, 31),
                              include_messages=include_messages, clock=utcnow)
    db.commit()
    return made


def test_the_page_shows_the_record_only_while_the_link_works(db, practice):
    from carespace_app.clock import utcnow
    from carespace_app.state.shared_record import SharedRecordState

    url, passcode = _year_link(db, practice, "Dr. Patel", include_messages=True)
    tab = _shared_tab(token_of(url))
    tab.open(routes.SHARED)
    shared = tab.state(SharedRecordState)
    assert shared.view == "passcode" and "Moreno" not in tab.serialised()

    tab.call(SharedRecordState, "open_record", form={"passcode": "00000000" if passcode != "00000000"
                                                     else "11111111"})
    assert shared.error_field == "passcode" and "Moreno" not in tab.serialised()
    tab.call(SharedRecordState, "open_record", form={"passcode": passcode})
    assert shared.view == "record"
    assert shared.patient_name == "Alice Moreno"
    assert [r.panel for r in shared.reports] == ["Tumour markers"]
    assert [c.title for c in shared.conversations] == ["Nausea after infusion (Medical question)"]
    assert "Lindqvist" not in tab.serialised() and "Ferritin" not in tab.serialised()

    share_links.revoke(db, practice.alice_user, practice.alice.id, shared._link_id, clock=utcnow)
    db.commit()
    tab.call(SharedRecordState, "download_pdf")
    assert shared.view == "unavailable" and shared.message == share_links.NOT_AVAILABLE
    for held in (tab.serialised(), tab.at_rest()):
        assert "Moreno" not in held and "CA-125" not in held and "ginger" not in held

    # Leaving the page clears what an open page held.
    url2, code2 = _year_link(db, practice, "Sam", include_messages=False)
    other = _shared_tab(token_of(url2))
    other.open(routes.SHARED)
    other.call(SharedRecordState, "open_record", form={"passcode": code2})
    assert "Moreno" in other.serialised()
    other.call(SharedRecordState, "leave")
    assert "Moreno" not in other.serialised() and "CA-125" not in other.at_rest()


def test_a_page_load_never_re_sends_a_shared_record(db, practice):
    """A page load sends the tab's saved state before the page's own load runs: a reload of
    /shared (its link revoked meanwhile, or not) or the tab's next page carries no record;
    the passcode is asked again. (The isolation model found this: a revoked link's record
    came back on a reload.)"""
    import json

    from carespace_app.clock import utcnow
    from carespace_app.state.shared_record import SharedRecordState

    url, passcode = _year_link(db, practice, "Dr. Patel", include_messages=True)
    tab = _shared_tab(token_of(url))
    tab.open(routes.SHARED)
    tab.call(SharedRecordState, "open_record", form={"passcode": passcode})
    assert "Moreno" in tab.serialised()
    link_id = tab.state(SharedRecordState)._link_id
    assert "Moreno" not in json.dumps(tab.reload_snapshot(), default=str)

    share_links.revoke(db, practice.alice_user, practice.alice.id, link_id, clock=utcnow)
    db.commit()
    tab.open(routes.SHARED)
    sent = json.dumps(tab.hydrations[-1], default=str)
    assert "Moreno" not in sent and "CA-125" not in sent
    assert tab.state(SharedRecordState).view == "unavailable"
