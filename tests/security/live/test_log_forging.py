"""A stranger's socket reports "frontend errors": what reaches the server log.

Reflex lets any socket, signed in or not, report an error its page hit, and its default
handler wrote the report verbatim: four frames added 594 KB to the log and a forged
"sign-in ok for dana" line that read like ours. Each test here opens an anonymous
socket.io connection as a script would (no browser, no page) and sends the reports.
"""
from __future__ import annotations

import time
import urllib.request
import uuid
from contextlib import contextmanager
from typing import Iterator

import socketio
from reflex.state import FrontendEventExceptionState

from carespace_app.frontend_errors import LINES_PER_MINUTE

REPORT_EVENT = f"{FrontendEventExceptionState.get_full_name()}.handle_frontend_exception"
FORGED = "INFO carespace: sign-in ok for dana"
LOGGED = "browser reported an error (unverified): "


@contextmanager
def anonymous_socket(server) -> Iterator[socketio.Client]:
    """Reflex's event channel, as a script opens it: a made-up tab token, no cookie (the
    websocket client sends the server's own origin, which any script can)."""
    client = socketio.Client(reconnection=False)
    client.connect(f"{server.base_url}?token={uuid.uuid4()}", socketio_path="/_event",
                   namespaces=["/_event"], transports=["websocket"], wait_timeout=20)
    try:
        yield client
    finally:
        client.disconnect()


def report(client: socketio.Client, info: str) -> None:
    client.emit("event", {"name": REPORT_EVENT,
                          "payload": {"info": info, "component_stack": info[:1000]},
                          "router_data": {"pathname": "/", "asPath": "/"}},
                namespace="/_event")


def log_after(server, start: int, needle: str, timeout: float = 20.0) -> str:
    """What the log gained since byte ``start``, once ``needle`` is in it."""
    deadline = time.time() + timeout
    while True:
        grown = server.log_path.read_bytes()[start:].decode(errors="replace")
        if needle in grown:
            time.sleep(0.5)  # anything else the same report writes
            return server.log_path.read_bytes()[start:].decode(errors="replace")
        if time.time() > deadline:
            raise AssertionError(f"{needle!r} never reached the log; it gained: {grown[-2000:]!r}")
        time.sleep(0.1)


def forged_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.lstrip().startswith(FORGED)]


def test_a_multi_line_200_kb_report_is_one_short_line(server):
    tag = f"TAG-{uuid.uuid4().hex[:8]}"
    info = (f"TypeError: {tag} is undefined\n{FORGED}\r\n{FORGED}\n"
            + ("A" * 100 + "\n") * 2000)  # 200 KB, 2,000 lines
    assert len(info) > 200_000
    start = server.log_path.stat().st_size
    with anonymous_socket(server) as client:
        report(client, info)
        grown = log_after(server, start, tag)
    assert forged_lines(server.log_text()) == []
    assert len(grown.encode()) < 1_000, f"the log grew by {len(grown.encode()):,} bytes"
    [line] = [line for line in grown.splitlines() if tag in line]
    assert LOGGED in line and "\\n" + FORGED in line


def test_the_client_error_channel_ends_in_the_same_line(server):
    # Reflex's second way in for browser errors: a socket event of its own.
    tag = f"TAG-{uuid.uuid4().hex[:8]}"
    start = server.log_path.stat().st_size
    with anonymous_socket(server) as client:
        report(client, "warm-up")  # the socket's token is linked once an event arrived
        log_after(server, start, "warm-up")
        client.emit("client_error", {"error_type": f"TypeError {tag}",
                                     "message": f"x\n{FORGED}\n" + "B" * 100_000},
                    namespace="/_event")
        grown = log_after(server, start, tag)
    assert forged_lines(grown) == []
    assert len(grown.encode()) < 2_000
    [line] = [line for line in grown.splitlines() if tag in line]
    assert LOGGED in line


def test_a_report_built_to_make_a_pattern_backtrack_does_not_stall_the_server(server):
    # Reflex searched each report for a few browser messages first; one pattern takes
    # cubic time on this text (8 KB: 0.2 s; 24 KB: 2.7 s; these 38 KB: about 10 s of the
    # event loop, everyone's events waiting).
    tag = f"TAG-{uuid.uuid4().hex[:8]}"
    info = f"{tag} " + 'TypeError: can\'t access property "a", ' * 1000
    start = server.log_path.stat().st_size
    with anonymous_socket(server) as client:
        began = time.perf_counter()
        report(client, info)
        log_after(server, start, tag)
        handled_in = time.perf_counter() - began - 0.5  # log_after waits 0.5 s more
    with urllib.request.urlopen(server.base_url + "/ping", timeout=10) as answer:
        assert answer.status == 200
    assert handled_in < 2.0, f"the report held the server for {handled_in:.1f} s"


def test_a_flood_of_reports_writes_a_bounded_number_of_lines(server):
    tag = f"TAG-{uuid.uuid4().hex[:8]}"
    start = server.log_path.stat().st_size
    with anonymous_socket(server) as client:
        for n in range(3 * LINES_PER_MINUTE):
            report(client, f"{tag} {n}\n{FORGED}\n" + "C" * 50_000)
        report(client, f"{tag} last")
        time.sleep(3)  # 3 MB sent: give the server time to take it all in
    grown = server.log_path.read_bytes()[start:].decode(errors="replace")
    lines = [line for line in grown.splitlines() if tag in line]
    assert 0 < len(lines) <= LINES_PER_MINUTE
    assert forged_lines(grown) == []
    assert len(grown.encode()) < LINES_PER_MINUTE * 600


def test_an_event_sent_as_a_string_is_one_short_line(server):
    """Reflex logs a string event's raw text, and again in the traceback of the error it
    raises: each record is now one escaped, bounded line, and no traceback carries it."""
    tag = f"TAG-{uuid.uuid4().hex[:8]}"
    raw = f"{tag}\n{FORGED}\n" + ("B" * 100 + "\n") * 2000
    start = server.log_path.stat().st_size
    with anonymous_socket(server) as client:
        client.emit("event", raw, namespace="/_event")
        client.emit("event", raw, namespace="/_event")
        grown = log_after(server, start, tag)
        time.sleep(1.0)
        grown = server.log_path.read_bytes()[start:].decode(errors="replace")
    assert forged_lines(grown) == []
    assert len(grown.encode()) < 12_000, f"the log grew by {len(grown.encode()):,} bytes"
    assert all(len(line) < 2_300 for line in grown.splitlines())
