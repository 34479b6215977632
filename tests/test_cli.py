"""The office's command line, run as the office runs it: a separate process."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import inspect
from sqlmodel import Session, SQLModel, select

from carespace_app.config import PROJECT_ROOT
from carespace_app.db import make_engine
from carespace_app.models import Invitation, Patient, User
from carespace_app.services.identity import security

PASSWORD = "Blue-Heron-Canoe-42"


@pytest.fixture
def database(tmp_path) -> str:
    """A fresh SQLite file with every table, as after `migrate`."""
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    engine.dispose()
    return url


def _env(url: str, **extra) -> dict:
    env = dict(os.environ)
    for name in ("CARESPACE_SMTP_HOST", "CARESPACE_SMTP_USER", "CARESPACE_SMTP_PASSWORD"):
        env.pop(name, None)
    env.update(REFLEX_DB_URL=url, CARESPACE_BCRYPT_ROUNDS="4", **extra)
    return env


def run(url: str, *args: str, stdin: str = "", **extra) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "carespace_app", *args], input=stdin,
                          capture_output=True, text=True, env=_env(url, **extra),
                          cwd=PROJECT_ROOT, timeout=120)


def _rows(url: str, model):
    engine = make_engine(url)
    try:
        with Session(engine) as db:
            return db.exec(select(model)).all()
    finally:
        engine.dispose()


def _one_line_error(result, code: int, text: str) -> None:
    assert result.returncode == code, result.stderr
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert text in result.stderr and "Traceback" not in result.stderr


PATIENT = ["create-patient", "--mrn", "M-77", "--first", "Maria", "--last", "Garcia",
           "--dob", "1956-03-14", "--email", "Maria@Example.com", "--phone", "(479) 555-0101"]


def test_create_staff_reads_the_password_from_stdin(database):
    result = run(database, "create-staff", "--email", "Nurse@Example.com", "--name", "Sam Nurse",
                 "--admin", stdin=PASSWORD + "\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "Created staff account for nurse@example.com (admin)"
    assert PASSWORD not in result.stdout + result.stderr
    [user] = _rows(database, User)
    assert user.is_staff and user.is_admin and user.full_name == "Sam Nurse"
    assert security.check_password(PASSWORD, user.password_hash)


def test_the_audit_log_says_the_command_line_made_the_account_and_its_role(database):
    from carespace_app.clock import utcnow
    from carespace_app.services.audit import office_log

    run(database, "create-staff", "--email", "boss@example.com", "--name", "Ada Boss", "--admin",
        stdin=PASSWORD)
    run(database, "create-staff", "--email", "nurse@example.com", "--name", "Sam Nurse",
        stdin=PASSWORD)
    engine = make_engine(database)
    try:
        with Session(engine) as db:
            boss = db.exec(select(User).where(User.email == "boss@example.com")).one()
            rows = office_log.list_events(db, boss, clock=utcnow).items
    finally:
        engine.dispose()
    made = [(r.action, r.actor_name, r.actor_role, r.detail.split(", ")[1])
            for r in reversed(rows) if r.action != "audit.viewed"]
    assert made == [("account.created", "Command line", "command line", "administrator"),
                    ("staff.created", "Command line", "command line", "administrator"),
                    ("account.created", "Command line", "command line", "staff"),
                    ("staff.created", "Command line", "command line", "staff")]


def test_a_password_keeps_its_spaces_but_not_the_line_break(database):
    spaced = "  " + PASSWORD + " "
    assert run(database, "create-staff", "--email", "a@example.com", "--name", "A",
               stdin=spaced + "\r\n").returncode == 0
    [user] = _rows(database, User)
    assert security.check_password(spaced, user.password_hash) and not user.is_admin


@pytest.mark.parametrize("args, stdin, text", [
    (["--email", "not-an-email", "--name", "X"], PASSWORD + "\n", "valid email address"),
    (["--email", "x@example.com", "--name", "X"], "Password1!\n", "common"),
    (["--email", "x@example.com", "--name", "X"], "", "no password given"),
])
def test_create_staff_refusals_are_one_line(database, args, stdin, text):
    result = run(database, "create-staff", *args, stdin=stdin)
    _one_line_error(result, 2, text)
    assert "Password1!" not in result.stderr
    assert _rows(database, User) == []


def test_an_existing_address_is_refused(database):
    run(database, "create-staff", "--email", "x@example.com", "--name", "X", stdin=PASSWORD)
    result = run(database, "create-staff", "--email", "X@example.com", "--name", "X", stdin=PASSWORD)
    _one_line_error(result, 2, "already")


@pytest.mark.parametrize("dob", ["14/03/1956", "1956-02-30", "19560314", "soon", ""])
def test_create_patient_refuses_a_bad_date(database, dob):
    args = list(PATIENT)
    args[args.index("--dob") + 1] = dob
    _one_line_error(run(database, *args), 2, "error: --dob must be a date like 1956-03-14")


def test_create_patient_then_invite(database):
    created = run(database, *PATIENT)
    assert created.returncode == 0, created.stderr
    assert "Created patient Maria Garcia (MRN M-77)" in created.stdout
    [patient] = _rows(database, Patient)
    assert patient.email == "maria@example.com"

    invited = run(database, "invite", "--mrn", "M-77")
    assert invited.returncode == 0, invited.stderr
    first_line = invited.stdout.splitlines()[0]
    assert first_line.startswith("Invitation for Maria Garcia queued to maria@example.com; "
                                 "it expires ")
    assert "No mail server is configured" in invited.stdout
    assert "token" not in invited.stdout + invited.stderr
    [invitation] = _rows(database, Invitation)
    assert invitation.created_by_user_id is None and invitation.used_at is None


def test_duplicate_mrn_and_unknown_mrn(database):
    run(database, *PATIENT)
    _one_line_error(run(database, *PATIENT), 2, "already used by Maria Garcia")
    _one_line_error(run(database, "invite", "--mrn", "NOPE"), 2, "No patient has the MRN")


def test_bad_arguments_are_one_line(database):
    _one_line_error(run(database, "create-patient", "--mrn", "M"), 2, "required")
    _one_line_error(run(database, "fly-to-the-moon"), 2, "invalid choice")


def test_an_empty_database_asks_for_migrate(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    result = run(url, "invite", "--mrn", "M-77")
    _one_line_error(result, 2, "the database is not set up; run `python -m carespace_app "
                               "migrate` (or make run) first")


def test_an_unreachable_database_is_exit_1(tmp_path):
    url = "postgresql+psycopg://nobody:secret-pw@127.0.0.1:1/none"
    result = run(url, "send-outbox")
    _one_line_error(result, 1, "error: ")
    assert "secret-pw" not in result.stderr


def test_send_outbox_without_a_mail_server(database):
    result = run(database, "send-outbox")
    assert result.returncode == 0 and "No mail server is configured" in result.stdout


def _smtp_server():
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    received = []

    class Keep(Sink):
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    with socket.socket() as probe:  # aiosmtpd needs a real port number to check it is up
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port, received


def test_invite_delivers_over_smtp_right_away(database):
    controller, port, received = _smtp_server()
    try:
        run(database, *PATIENT)
        invited = run(database, "invite", "--mrn", "M-77", CARESPACE_SMTP_HOST="127.0.0.1",
                      CARESPACE_SMTP_PORT=str(port), CARESPACE_SMTP_STARTTLS="false")
    finally:
        controller.stop()
    assert invited.returncode == 0, invited.stderr
    assert "Sent 1 email(s)" in invited.stdout
    [envelope] = received
    assert envelope.rcpt_tos == ["maria@example.com"]
    assert b"/register?token=" in envelope.content


def test_invite_with_the_mail_server_down_keeps_the_email(database):
    run(database, *PATIENT)
    invited = run(database, "invite", "--mrn", "M-77", CARESPACE_SMTP_HOST="127.0.0.1",
                  CARESPACE_SMTP_PORT="1", CARESPACE_SMTP_STARTTLS="false")
    assert invited.returncode == 0, invited.stderr
    assert "the server will retry it" in invited.stdout


def test_seed_demo_says_who_can_sign_in_and_what_the_practice_holds(database):
    from carespace_app.demo import DEMO_PASSWORD, DOMAIN

    result = run(database, "seed-demo", CARESPACE_BASE_URL="http://localhost:3000")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Added the demo practice.")
    assert "It holds 12 patients, " in out and " messages in 6 conversations." in out
    assert f"Sign in at http://localhost:3000 with any of these; every one uses the password {DEMO_PASSWORD}" in out
    assert f"  dana@{DOMAIN}  Dana Whitfield, office admin" in out
    assert f"  rosa.alvarez@{DOMAIN}  Rosa Alvarez, patient" in out
    assert f"  maria.alvarez@{DOMAIN}  Maria Alvarez, caregiver for Rosa Alvarez" in out
    assert ".test" not in out

    again = run(database, "seed-demo", CARESPACE_BASE_URL="http://localhost:3000")
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("The demo practice was already in this database; nothing was added.")
    # ...and still says what is there, the same sign-ins and counts, nothing duplicated.
    assert again.stdout.splitlines()[1:] == out.splitlines()[1:]
    assert len(_rows(database, Patient)) == 12


@pytest.mark.skipif(not any((PROJECT_ROOT / "alembic" / "versions").glob("*.py")),
                    reason="no alembic revision yet (alembic/versions is empty)")
def test_migrate_creates_every_table(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    result = run(url, "migrate")
    assert result.returncode == 0, result.stderr
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {t.name for t in SQLModel.metadata.sorted_tables} <= tables
    assert run(url, "migrate").returncode == 0  # a second run is harmless


def _at_a_terminal(url: str, args: list[str], answers: list[bytes]) -> tuple[int, str]:
    """Run the command on a pseudo-terminal, answering each prompt in turn."""
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child process
        os.chdir(PROJECT_ROOT)
        os.execve(sys.executable, [sys.executable, "-m", "carespace_app", *args], _env(url))
    seen = b""
    try:
        for answer in answers:
            while b": " not in seen.rsplit(b"\n", 1)[-1]:
                ready, _, _ = select.select([fd], [], [], 60)
                assert ready, seen
                seen += os.read(fd, 1024)
            os.write(fd, answer + b"\n")
            seen += b"\n"
        while True:
            ready, _, _ = select.select([fd], [], [], 60)
            try:
                chunk = os.read(fd, 1024) if ready else b""
            except OSError:  # the child closed the terminal
                chunk = b""
            if not chunk:
                break
            seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), seen.decode(errors="replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_at_a_terminal_the_password_is_asked_twice_without_echo(database):
    args = ["create-staff", "--email", "t@example.com", "--name", "T"]
    code, seen = _at_a_terminal(database, args, [PASSWORD.encode(), b"Something-Else-42"])
    assert code == 2 and "the two passwords don't match" in seen
    code, seen = _at_a_terminal(database, args, [PASSWORD.encode(), PASSWORD.encode()])
    assert code == 0 and "Created staff account for t@example.com" in seen
    assert "Password: " in seen and PASSWORD not in seen
