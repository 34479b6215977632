"""A signed-in patient's script against another patient's trail, on the running server.

Patient A's own page is used as the attacker's tool: its event socket is routed through
the test, which sends A's crafted events on it (A's cookie, A's tab, A's origin), the
way a script in A's browser would. What was reproduced before the fix: every refused
attempt was one more line in B's "Who viewed my record" (10 calls took 11 of the first
20 lines), and an id that names nothing answered differently from B's (a conversation
"was not found"; a patient id broke the audit insert and answered "Something went wrong").
"""
from __future__ import annotations

import json
import re
import time

from playwright.sync_api import Browser, Page, WebSocketRoute, expect
from sqlalchemy import text

from carespace_app.state.messages import MessagesState
from carespace_app.state.session import SessionState
from tests.e2e.harness import Server
from tests.e2e.people import make_patient, register_from_email, registered_patient
from tests.e2e.portal_people import new_page

from .attack import scalar, server_db

NS = "/_event"
SWITCH_PATIENT = f"{SessionState.get_full_name()}.switch_patient"
OPEN_THREAD = f"{MessagesState.get_full_name()}.open_thread"
REFUSED = "Tried to open your record and was refused"
NO_PORTAL = "You don't have access to that patient's portal."


class Wire:
    """A page's event socket, routed through the test: both directions pass unchanged,
    the server's answers are kept, and ``send`` puts a crafted event on the socket."""

    def __init__(self, page: Page):
        self.page = page
        self.upstream = None
        self.router_data = None
        self.answers: list[dict] = []
        page.route_web_socket(re.compile(r"/_event"), self._route)

    def _route(self, ws: WebSocketRoute) -> None:
        upstream = ws.connect_to_server()
        self.upstream, self.router_data = upstream, None

        def outgoing(message):
            if isinstance(message, str):
                self._learn(message)
            upstream.send(message)

        def incoming(message):
            if isinstance(message, str) and message.startswith(f"42{NS},"):
                name, *args = json.loads(message[len(NS) + 3:])
                if name == "event" and args:
                    self.answers.append(args[0].get("delta") or {})
            ws.send(message)

        ws.on_message(outgoing)
        upstream.on_message(incoming)

    def _learn(self, message: str) -> None:
        # The page's own events say what its router data looks like (its path, its query).
        for prefix in (f"40{NS},", f"42{NS},"):
            if message.startswith(prefix):
                body = json.loads(message[len(prefix):])
                event = body.get("event") if isinstance(body, dict) else (body[1] if len(body) > 1 else None)
                if isinstance(event, dict) and event.get("router_data"):
                    self.router_data = event["router_data"]

    def open(self, path: str) -> None:
        """Load a page and wait until its load has run: its socket is open, and the answer
        that says the page is hydrated has come. (The hydration's first answer re-sends the
        tab's state as it was, an earlier alert included: an event sent before the load ran
        could take that old alert for its answer.)"""
        self.router_data, seen = None, len(self.answers)
        self.page.goto(path)
        deadline = time.time() + 30
        while not (self.router_data is not None and self._hydrated(seen)) and time.time() < deadline:
            self.page.wait_for_timeout(100)
        assert self.router_data is not None, f"{path}: the page's event socket never opened"
        assert self._hydrated(seen), f"{path}: the page's load never finished"

    def _hydrated(self, seen: int) -> bool:
        return any(values.get("is_hydrated_rx_state_") is True
                   for delta in self.answers[seen:] for values in delta.values())

    def send(self, name: str, payload: dict, *, answered_by: str):
        """Send one event and return the value of var ``answered_by`` in the answer, the
        way a browser waits for its event's delta before sending the next."""
        page = self.page
        seen = len(self.answers)
        frame = ["event", {"name": name, "payload": payload, "router_data": self.router_data}]
        self.upstream.send(f"42{NS}," + json.dumps(frame, separators=(",", ":")))
        key = f"{answered_by}_rx_state_"
        deadline = time.time() + 20
        while time.time() < deadline:
            for delta in self.answers[seen:]:
                for values in delta.values():
                    if values.get(key):
                        return values[key]
            page.wait_for_timeout(50)
        raise AssertionError(f"no {answered_by} in the answer to {name}({payload})")


def _flash_text(answer) -> str:
    return answer["text"] if isinstance(answer, dict) else str(answer)


def _refused_on(server: Server, patient_id: int, actor_email: str) -> list[tuple[int, int]]:
    with server_db(server) as engine:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(
                "SELECT a.id, a.repeat_count FROM audit_events a JOIN users u ON u.id = a.actor_user_id "
                "WHERE a.action = 'access.refused' AND a.patient_id = :p AND u.email = :e "
                "ORDER BY a.id"), {"p": patient_id, "e": actor_email}).all()]


def test_ten_attempts_are_one_counted_line_and_a_missing_id_answers_like_someone_elses(
        server: Server, page: Page, browser: Browser):
    # Bea is a patient with a conversation; the page is her browser.
    bea = registered_patient(server, page, first="Bea", last="Lundgren")
    page.goto("/messages")
    page.get_by_role("button", name="New message").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Category").select_option("Billing")
    dialog.get_by_label("Subject").fill("Question about my bill")
    dialog.get_by_label("Message").fill("Was my last visit billed twice?")
    dialog.get_by_role("button", name="Send message").click()
    expect(page.get_by_text("Your message was sent.")).to_be_visible()
    # Bea looks around her own record: with Messages, three looks in a row.
    for path, loaded in (("/labs", "No lab results yet"), ("/appointments", "No upcoming appointments")):
        page.goto(path)
        expect(page.get_by_text(loaded)).to_be_visible()

    with server_db(server) as engine:
        bea_id = scalar(engine, "SELECT id FROM patients WHERE mrn = :m", m=bea.mrn)
        bea_thread = scalar(engine, "SELECT id FROM message_threads WHERE patient_id = :p", p=bea_id)
        nowhere_patient = scalar(engine, "SELECT max(id) FROM patients") + 1000
        nowhere_thread = scalar(engine, "SELECT max(id) FROM message_threads") + 1000

    # Arne is another patient, in his own browser, with his event socket in the test's hands.
    arne = make_patient(server, first="Arne", last="Probst")
    attacker = new_page(browser, server)
    try:
        wire = Wire(attacker)
        register_from_email(server, attacker, arne)
        wire.open("/messages")
        expect(attacker.get_by_role("heading", name="Messages", exact=True)).to_be_visible()

        # Ten times "open Bea's portal", each sent when the last one was answered.
        answers = [wire.send(SWITCH_PATIENT, {"patient_id": str(bea_id)}, answered_by="flash")
                   for _ in range(10)]
        assert {_flash_text(a) for a in answers} == {NO_PORTAL}
        assert [count for _id, count in _refused_on(server, bea_id, arne.email)] == [10]

        # A patient id that names nobody: the same sentence (it used to break the audit).
        missing = wire.send(SWITCH_PATIENT, {"patient_id": str(nowhere_patient)}, answered_by="flash")
        assert _flash_text(missing) == NO_PORTAL

        # Bea's conversation and one that does not exist: the same words on Arne's page.
        theirs = wire.send(OPEN_THREAD, {"thread_id": str(bea_thread)}, answered_by="error")
        said = attacker.get_by_role("alert").filter(has_text=theirs)
        expect(said).to_have_count(1)
        wire.open("/messages")  # a fresh page: the alert is gone
        expect(said).to_have_count(0)
        nothing = wire.send(OPEN_THREAD, {"thread_id": str(nowhere_thread)}, answered_by="error")
        assert nothing == theirs
        expect(said).to_have_count(1)
        for secret in ("Question about my bill", "billed twice"):
            assert secret not in attacker.content()
    finally:
        attacker.context.close()

    # Both attempts on ids that name nothing are in the trail the office reads.
    with server_db(server) as engine:
        for what in (f"patient {nowhere_patient}", f"conversation {nowhere_thread}"):
            assert scalar(engine, "SELECT count(*) FROM audit_events WHERE action = 'access.refused' "
                                  "AND patient_id IS NULL AND detail LIKE :d", d=f"%{what}%") == 1, what

    # Bea's "Who viewed my record": one line for all of Arne's attempts, with its count.
    page.goto("/record-activity")
    expect(page.get_by_role("heading", name="Who viewed my record", level=1)).to_be_visible()
    refused = page.get_by_role("row").filter(has_text=REFUSED)
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text(re.compile(rf"{REFUSED} 1\d times"))
    expect(refused).to_contain_text("Someone without access to your record")
    expect(refused).not_to_contain_text("Arne")
    # Her own looks in a row are one line too, so what others did stands out: her three
    # looks are one line, and no two lines of her own looks are ever next to each other.
    own = page.get_by_role("row").filter(has_text=re.compile(r"You\s*Viewed your record [3-9] times"))
    expect(own.first).to_be_visible()
    lines = [row.get_by_role("cell").all_inner_texts() for row in page.get_by_role("row").all()[1:]]
    own_views = [who == "You" and what.startswith("View") for _when, who, what in lines]
    assert not any(a and b for a, b in zip(own_views, own_views[1:])), lines
