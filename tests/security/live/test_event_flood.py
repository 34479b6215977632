"""A signed-in account floods its socket: the excess is dropped calmly and writes nothing.

Before the budget, 900 page loads from one account in 32 s wrote 2,727 audit rows into
the patient's trail. A script with the patient's own cookie sends 200 Home loads as fast
as the socket takes them: the server answers "Please slow down", and the rows written
stay within what the budget lets through (carespace_app/event_budget.py).
"""
from __future__ import annotations

import threading
import time
import uuid

import socketio
from playwright.sync_api import Page

from carespace_app import routes
from carespace_app.event_budget import SLOW_DOWN, TAB_BURST, TAB_PER_SECOND
from carespace_app.state.portal import HomeState
from tests.e2e.people import registered_patient
from tests.security.live.attack import scalar, server_db

FLOOD = 200


def _audit_rows(engine, email: str) -> int:
    return scalar(engine, "SELECT count(*) FROM audit_events a JOIN users u ON u.id = a.actor_user_id "
                          "WHERE u.email = :email", email=email)


def test_a_flood_of_page_loads_is_dropped_with_please_slow_down(server, page: Page):
    person = registered_patient(server, page, first="Flora", last="Flood")
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in page.context.cookies())
    received: list[str] = []
    answered = threading.Event()
    client = socketio.Client(reconnection=False)

    @client.on("event", namespace="/_event")
    def _delta(data):
        received.append(str(data))
        answered.set()

    client.connect(f"{server.base_url}?token={uuid.uuid4()}", socketio_path="/_event",
                   namespaces=["/_event"], transports=["websocket"], wait_timeout=20,
                   headers={"Cookie": cookies})
    load = {"name": f"{HomeState.get_full_name()}.load", "payload": {},
            "router_data": {"pathname": routes.HOME, "asPath": routes.HOME, "query": {}}}
    try:
        with server_db(server) as engine:
            before_one = _audit_rows(engine, person.email)
            client.emit("event", load, namespace="/_event")  # one load: how many rows it writes
            assert answered.wait(20)
            time.sleep(1.0)
            before = _audit_rows(engine, person.email)
            per_load = max(1, before - before_one)
            start = time.time()
            for _ in range(FLOOD):
                client.emit("event", load, namespace="/_event")
            sent_in = time.time() - start
            deadline = time.time() + 30
            while SLOW_DOWN not in "".join(received) and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(3.0)  # what was let through finishes
            written = _audit_rows(engine, person.email) - before
    finally:
        client.disconnect()
    assert SLOW_DOWN in "".join(received), "the flood was never told to slow down"
    let_through = TAB_BURST + TAB_PER_SECOND * (sent_in + 4.0)
    # Every load that ran may write its rows; none of the dropped ones wrote anything.
    assert written <= per_load * let_through, (written, per_load, let_through)
    assert written < per_load * FLOOD / 2, f"{written} audit rows for {FLOOD} loads"
