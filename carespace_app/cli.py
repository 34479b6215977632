"""The office's command line: ``python -m carespace_app <command>``.

For the first staff account, adding a patient and sending an invitation before the
admin page is open, and for set-up (migrate, seed-demo). Errors are one line on
stderr: exit 2 for input the user can fix, 1 for anything else. Passwords are read
without echo and never printed; invitation links only ever travel inside emails.
"""
from __future__ import annotations

import argparse
import re
import sys
from datetime import date
from getpass import getpass
from typing import Callable, Optional, Sequence

from carespace_app.clock import utcnow
from carespace_app.config import PROJECT_ROOT, get_settings
from carespace_app.services.errors import DomainError

DOB_FORMAT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NOT_SET_UP = ("the database is not set up; run `python -m carespace_app migrate` "
              "(or make run) first")


class InputError(Exception):
    """Bad input on the command line: exit 2, like a DomainError."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not usage + message
        self.exit(2, f"error: {message} (see `python -m carespace_app --help`)\n")


# --- helpers ------------------------------------------------------------------------


def _database_label(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # an unparseable URL: say nothing that could hold a password
        return "the configured database"


def _engine():
    """The engine of a migrated database, or InputError telling how to set it up."""
    from sqlalchemy import inspect

    from carespace_app.db import get_engine

    engine = get_engine()
    if not inspect(engine).has_table("users"):
        raise InputError(NOT_SET_UP)
    return engine


def _session():
    from carespace_app.db import session_scope

    return session_scope(_engine())


def _read_password() -> str:
    """Twice, without echo, at a terminal; otherwise exactly one line from stdin."""
    if sys.stdin.isatty():
        first = getpass("Password: ")
        if getpass("Password again: ") != first:
            raise InputError("the two passwords don't match")
        return first
    line = sys.stdin.readline()
    if line.endswith("\n"):
        line = line[:-1]  # only the line break: spaces may be part of the password
        if line.endswith("\r"):
            line = line[:-1]
    if not line:
        raise InputError("no password given: type it when asked, or pipe it on one line")
    return line


def _date_of_birth(text: str) -> date:
    try:
        if DOB_FORMAT.match(text or ""):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise InputError("--dob must be a date like 1956-03-14")


def _expiry(expires_at) -> str:
    from carespace_app.timefmt import to_local, when

    return f"{when(expires_at)} {to_local(expires_at):%Z}".strip()


def _deliver_now(out=print) -> None:
    """Send what is due once, so an invitation leaves even with the server stopped."""
    from carespace_app.db import get_engine
    from carespace_app.services.mail import outbox

    settings = get_settings()
    if not settings.smtp_enabled:
        out("No mail server is configured (CARESPACE_SMTP_HOST), so the email waits in the "
            "outbox: the server shows it in its log and on the admin Outbox page.")
        return
    try:
        delivered = outbox.deliver_due(get_engine(), settings, clock=utcnow)
    except Exception as exc:  # the email is safe in the outbox; the server retries it
        out(f"Could not reach the mail server now ({type(exc).__name__}); the email is queued "
            "and the server will retry it.")
        return
    out(f"Sent {delivered} email(s) to the mail server." if delivered else
        "The email is queued; the mail server did not take it yet and the server will retry it.")


# --- commands -------------------------------------------------------------------------


def migrate(args) -> None:
    from alembic import command
    from alembic.config import Config

    from carespace_app.db import normalise_url

    url = normalise_url(get_settings().database_url)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        (PROJECT_ROOT / "data").mkdir(exist_ok=True)
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    # ConfigParser would read a "%" in a password as interpolation.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, "head")
    print(f"The database is up to date ({_database_label(url)}).")


def create_staff(args) -> None:
    from carespace_app.services.onboarding import staff

    password = _read_password()
    with _session() as db:
        user = staff.create_staff_from_command_line(
            db, email=args.email, full_name=args.name, password=password, is_admin=args.admin,
            clock=utcnow)
        email = user.email
    print(f"Created staff account for {email}" + (" (admin)" if args.admin else ""))


def create_patient(args) -> None:
    from carespace_app.services.records import patients

    born = _date_of_birth(args.dob)
    with _session() as db:
        patient = patients.create_patient(
            db, None, system=True, mrn=args.mrn, first_name=args.first, last_name=args.last,
            date_of_birth=born, email=args.email, phone=args.phone, clock=utcnow,
            language=args.language)
        name, mrn = patient.full_name, patient.mrn
    print(f"Created patient {name} (MRN {mrn}). Send the invitation with: "
          f"python -m carespace_app invite --mrn {mrn}")


def invite(args) -> None:
    from carespace_app.services.onboarding import invitations
    from carespace_app.services.records import patients

    with _session() as db:
        patient = patients.find_by_mrn(db, None, args.mrn, system=True, clock=utcnow)
        invitation = invitations.send_patient_invitation(db, patient.id, sent_by=None,
                                                         system=True, clock=utcnow)
        name, email, expires_at = patient.full_name, invitation.email, invitation.expires_at
    print(f"Invitation for {name} queued to {email}; it expires {_expiry(expires_at)}")
    _deliver_now()


def seed_demo(args) -> None:
    from carespace_app import demo

    with _session() as db:
        added = demo.seed_demo(db, clock=utcnow)
        summary = demo.demo_summary(db)
    if not added.get("skipped"):
        print("Added the demo practice.")
    else:
        print("The demo practice was already in this database; nothing was added.")
        if added.get("moved_addresses"):
            print(f"Its {added['moved_addresses']} sign-in address(es) now end in "
                  f"@{demo.DOMAIN}, which every form accepts.")
    print(f"It holds {summary['patients']} patients, {summary['appointments']} appointments, "
          f"{summary['lab_results']} lab results in {summary['lab_reports']} reports, and "
          f"{summary['messages']} messages in {summary['conversations']} conversations.")
    print(f"Sign in at {get_settings().base_url} with any of these; "
          f"every one uses the password {summary['password']}")
    for person in summary["sign_ins"]:
        print(f"  {person['email']}  {person['name']}, {person['role']}")


def send_outbox(args) -> None:
    _engine()
    _deliver_now()


# --- wiring -----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m carespace_app", description="CareSpace office commands.")
    commands = parser.add_subparsers(dest="command", metavar="command", required=True,
                                     parser_class=_Parser)

    def add(name: str, run: Callable, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(run=run)
        return sub

    add("migrate", migrate, "Create or update the database tables.")
    staff = add("create-staff", create_staff,
                "Create a staff account (the password is asked for, or read as one line "
                "from stdin).")
    staff.add_argument("--email", required=True)
    staff.add_argument("--name", required=True, help="full name")
    staff.add_argument("--admin", action="store_true", help="may also manage staff accounts")
    patient = add("create-patient", create_patient, "Create a patient record.")
    patient.add_argument("--mrn", required=True, help="medical record number")
    patient.add_argument("--first", required=True, help="first name")
    patient.add_argument("--last", required=True, help="last name")
    patient.add_argument("--dob", required=True, help="date of birth, like 1956-03-14")
    patient.add_argument("--email", required=True, help="the email on file")
    patient.add_argument("--phone")
    patient.add_argument("--language", choices=("en", "es"), default="en",
                         help="preferred language (the invitation's): en or es")
    add("invite", invite, "Email a patient their registration link.").add_argument(
        "--mrn", required=True)
    add("seed-demo", seed_demo, "Fill an empty database with a demo practice.")
    add("send-outbox", send_outbox, "Deliver the emails that are due, once.")
    return parser


def _describe(exc: BaseException) -> str:
    from sqlalchemy.exc import DBAPIError

    if isinstance(exc, DBAPIError):
        first_line = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else ""
        return (f"the database ({_database_label(get_settings().database_url)}) refused: "
                f"{first_line[:200]}")
    return f"{type(exc).__name__}: {str(exc)[:300]}"


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (DomainError, InputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one line, not a traceback; the office can read this out
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 1
    return 0
