"""End-to-end harness: the real production server, a real SMTP server, real Chromium.

One server per test session (building the frontend takes a while); each test
makes its own people with the CLI or the admin page, so tests don't depend on
each other. The database is fresh: a temporary SQLite file, or a new PostgreSQL
database beside CARESPACE_TEST_DATABASE_URL's.
"""
from __future__ import annotations

import contextlib
import email
import email.policy
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CARESPACE_CHROMIUM", "/usr/bin/chromium")
SERVER_START_TIMEOUT = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the SMTP server ------------------------------------------------------------


@dataclass
class Mail:
    sender: str
    to: list[str]
    subject: str
    body: str
    raw: bytes


@dataclass
class Mailbox:
    messages: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 30.0) -> Mail:
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                for mail in reversed(self.messages):
                    if to.lower() in [a.lower() for a in mail.to] and subject_contains in mail.subject:
                        return mail
            time.sleep(0.2)
        raise AssertionError(f"no email to {to} with {subject_contains!r} within {timeout}s; "
                             f"got {[(m.to, m.subject) for m in self.messages]}")

    def all_to(self, to: str) -> list[Mail]:
        with self.lock:
            return [m for m in self.messages if to.lower() in [a.lower() for a in m.to]]


def link_in(mail: Mail, path: str) -> str:
    match = re.search(r"https?://\S+" + re.escape(path) + r"\S*", mail.body)
    assert match, f"no {path} link in: {mail.body}"
    return match.group(0).rstrip(".,)")


class _Handler:
    def __init__(self, mailbox: Mailbox):
        self.mailbox = mailbox

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body_part = msg.get_body(preferencelist=("plain",))
        body = body_part.get_content() if body_part else ""
        with self.mailbox.lock:
            self.mailbox.messages.append(Mail(
                sender=msg.get("From", ""), to=list(envelope.rcpt_tos), subject=msg.get("Subject", ""),
                body=body, raw=envelope.content,
            ))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(_Handler(mailbox), hostname="127.0.0.1", port=port)
    controller.start()
    mailbox.port = port  # type: ignore[attr-defined]
    yield mailbox
    controller.stop()


# --- the database -----------------------------------------------------------------


@pytest.fixture(scope="session")
def e2e_database_url():
    base = os.environ.get("CARESPACE_TEST_DATABASE_URL")
    if not base:
        folder = tempfile.mkdtemp(prefix="carespace-e2e-")
        yield f"sqlite:///{folder}/carespace.db"
        shutil.rmtree(folder, ignore_errors=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"carespace_e2e_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres")
    conninfo = admin.render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield url.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the server ---------------------------------------------------------------------


@dataclass
class Server:
    base_url: str
    env: dict
    log_path: Path
    mailbox: Mailbox

    def cli(self, *args: str, input: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [sys.executable, "-m", "carespace_app", *args], cwd=ROOT, env=self.env, input=input,
            capture_output=True, text=True, timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"CLI {args} failed ({result.returncode}): {result.stderr}{result.stdout}")
        return result

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def _wait_until_up(url: str, proc: subprocess.Popen, log_path: Path) -> None:
    deadline = time.time() + SERVER_START_TIMEOUT
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited ({proc.returncode}):\n{log_path.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(url + "/ping", timeout=2) as r:
                if r.status == 200:
                    with urllib.request.urlopen(url + "/", timeout=5) as page:
                        if page.status == 200:
                            return
        except Exception:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"server did not start in {SERVER_START_TIMEOUT}s:\n{log_path.read_text()[-4000:]}")


def server_env(*, port: int, database_url: str, smtp_port: int, **extra: str) -> dict:
    """The environment of a server under test: its own port, database, SMTP and key."""
    env = {
        **os.environ,
        "PORT": str(port),
        "REFLEX_DB_URL": database_url,
        "CARESPACE_BASE_URL": f"http://localhost:{port}",
        "CARESPACE_SMTP_HOST": "127.0.0.1",
        "CARESPACE_SMTP_PORT": str(smtp_port),
        "CARESPACE_SMTP_STARTTLS": "false",
        "CARESPACE_SECRET_KEY": "e2e-secret-" + uuid.uuid4().hex,
        "CARESPACE_BCRYPT_ROUNDS": os.environ.get("CARESPACE_E2E_BCRYPT_ROUNDS", "12"),
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "NPM_CONFIG_REGISTRY": os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org"),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }
    bun = ROOT / "tools" / "bin" / "bun"
    if bun.exists():
        env["REFLEX_BUN_PATH"] = str(bun)
        env["PATH"] = f"{bun.parent}:{env.get('PATH', '')}"
    env.pop("CARESPACE_TEST_DATABASE_URL", None)
    return env


# The production build bakes the backend's port into the frontend, so two servers
# (or a developer's `make run` and the tests) must not share one .web folder: each
# server under test runs from its own folder, the source linked, .web copied.
APP_FILES_LINKED = ("carespace_app", "assets", "alembic", "alembic.ini", "rxconfig.py", "tools")
APP_FILES_COPIED = ("reflex.lock",)
_built_web: list[Path] = []


def private_app_dir(base: Path) -> Path:
    app_dir = base / "app"
    app_dir.mkdir()
    for name in APP_FILES_LINKED:
        if (ROOT / name).exists():
            (app_dir / name).symlink_to(ROOT / name)
    for name in APP_FILES_COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, app_dir / name)
    template = _built_web[0] if _built_web else ROOT / ".web"
    if (template / "node_modules").is_dir():
        shutil.copytree(template, app_dir / ".web", symlinks=True)
    return app_dir


@contextlib.contextmanager
def running_server(env: dict, log_dir: Path, mailbox: Mailbox):
    """Migrate, start `reflex run --env prod` and wait for it; stop its whole process group after."""
    app_dir = private_app_dir(log_dir)
    subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    port = env["PORT"]
    log_path = log_dir / "server.log"
    log_file = open(log_path, "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "reflex"), "run", "--env", "prod", "--single-port",
         "--frontend-port", port, "--backend-port", port, "--loglevel", "info"],
        cwd=app_dir, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        _wait_until_up(env["CARESPACE_BASE_URL"], proc, log_path)
        if not _built_web:
            _built_web.append(app_dir / ".web")
        server = Server(base_url=env["CARESPACE_BASE_URL"], env=env, log_path=log_path, mailbox=mailbox)
        server.process = proc  # type: ignore[attr-defined]
        yield server
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
        except Exception:
            os.killpg(proc.pid, signal.SIGKILL)
        log_file.close()


@pytest.fixture(scope="session")
def server(smtp_server, e2e_database_url, tmp_path_factory):
    env = server_env(port=free_port(), database_url=e2e_database_url, smtp_port=smtp_server.port)
    with running_server(env, tmp_path_factory.mktemp("server"), smtp_server) as running:
        yield running


# --- the browser --------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    args = {
        **browser_type_launch_args,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
    }
    if Path(CHROMIUM).exists():
        args["executable_path"] = CHROMIUM
    return args


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args, server):
    return {**browser_context_args, "base_url": server.base_url, "locale": "en-US",
            "timezone_id": "America/Chicago"}


PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}


@pytest.fixture
def phone_page(browser, server):
    context = browser.new_context(base_url=server.base_url, **PHONE)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(autouse=True)
def _default_timeout(request):
    if "page" in request.fixturenames:
        page = request.getfixturevalue("page")
        page.set_default_timeout(20_000)
    yield
