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
from playwright.sync_api import expect

ROOT = Path(__file__).resolve().parents[2]
# Playwright's expect() waits 5 s by default; two test workers, two servers and two
# Chromiums share 2 cores in CI, and a busy machine must not fail a correct test.
EXPECT_TIMEOUT_MS = 15_000
# Debian's Chromium: its headless shell (package chromium-headless-shell) where installed,
# the browser Playwright itself runs headless tests in, at about three quarters of the full
# browser's CPU (the live run: 222 s against 296 s on 2 cores); else the full `chromium`.
CHROMIUM = os.environ.get("CARESPACE_CHROMIUM") or next(
    (path for path in ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium") if Path(path).exists()),
    "/usr/bin/chromium")
SERVER_START_TIMEOUT = 600


expect.set_options(timeout=EXPECT_TIMEOUT_MS)


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

    def wait_for_count(self, to: str, count: int, timeout: float = 30.0) -> list[Mail]:
        """Every email to ``to`` once there are ``count`` of them (more are returned too)."""
        deadline = time.time() + timeout
        while len(self.all_to(to)) < count and time.time() < deadline:
            time.sleep(0.2)
        return self.all_to(to)


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


def wait_until_up(url: str, proc: subprocess.Popen, log_path: Path,
                  timeout: float = SERVER_START_TIMEOUT) -> None:
    """Until the server answers /ping and serves its first page; raises with the log's end."""
    deadline = time.time() + timeout
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
    raise RuntimeError(f"server did not start in {timeout}s:\n{log_path.read_text()[-4000:]}")


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
        "CARESPACE_BCRYPT_ROUNDS": os.environ.get("CARESPACE_E2E_BCRYPT_ROUNDS", "10"),
        "REFLEX_CHECK_LATEST_VERSION": "false",
        "REFLEX_TELEMETRY_ENABLED": "false",
        "NPM_CONFIG_REGISTRY": os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org"),
        "PYTHONUNBUFFERED": "1",
        # Staff sign in with a password alone here; tests/e2e/test_two_step.py starts its
        # own server with "required" (the default) to prove the rule.
        "CARESPACE_STAFF_MFA": "optional",
        **extra,
    }
    bun = ROOT / "tools" / "bin" / "bun"
    if bun.exists():
        env["REFLEX_BUN_PATH"] = str(bun)
        env["PATH"] = f"{bun.parent}:{env.get('PATH', '')}"
    env.pop("CARESPACE_TEST_DATABASE_URL", None)
    return env


# --- starting a server -----------------------------------------------------------------
# Each server under test runs from its own folder (the source linked, .web its own): the
# production build bakes the server's address into the frontend, so two servers (or a
# developer's `make run` and the tests) must not share one .web folder.
#
# Building is most of a start's cost (compiling the pages and Vite's build: about 17 s of
# CPU on 2 cores), and every server of a test run builds the same pages. So the first
# server of a run starts with the real `reflex run --env prod --single-port` and leaves
# its build in the run's FrontendCache; the others copy it, with their own address put
# into the one file that holds it, and serve it with tests/e2e/serve_built.py.
APP_FILES_LINKED = ("carespace_app", "assets", "alembic", "alembic.ini", "rxconfig.py", "tools")
APP_FILES_COPIED = ("reflex.lock",)
SERVE_BUILT = Path(__file__).with_name("serve_built.py")


def _ws(url: str) -> str:
    return "ws" + url[len("http"):] if url.startswith("http") else url


class FrontendCache:
    """One production build per test run, shared by the run's servers (and xdist workers)."""

    def __init__(self, folder: Path):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.web = folder / "web"
        self.base_url_file = folder / "base_url"

    @contextlib.contextmanager
    def lock(self):
        import fcntl

        with open(self.folder / "lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def ready(self) -> bool:
        return self.base_url_file.exists()

    def keep(self, web: Path, base_url: str) -> None:
        """Keep a running server's build (everything but the build tools)."""
        shutil.rmtree(self.web, ignore_errors=True)
        shutil.copytree(web, self.web, symlinks=True,
                        ignore=shutil.ignore_patterns("node_modules", ".react-router"))
        self.base_url_file.write_text(base_url)

    def copy_into(self, web: Path, base_url: str) -> None:
        """The kept build, for a server at ``base_url``: the address is in env.json and in
        the one asset made from it (and its .gz); nothing else holds it."""
        import gzip

        shutil.copytree(self.web, web, symlinks=True)
        built_for = self.base_url_file.read_text()
        swaps = [(built_for, base_url), (_ws(built_for), _ws(base_url))]
        host = built_for.split("://", 1)[1]
        changed = 0
        for path in [web / "env.json", *(web / "build").rglob("reflex-env-*.js")]:
            text = path.read_text()
            if host not in text:
                continue
            for old, new in swaps:
                text = text.replace(old, new)
            path.write_text(text)
            changed += 1
            packed = path.with_name(path.name + ".gz")
            if packed.exists():
                packed.write_bytes(gzip.compress(text.encode(), mtime=0))
        if not changed:
            raise RuntimeError(f"the kept build does not hold {built_for}: Reflex changed how "
                               "it stores the backend's address; see tests/e2e/harness.py")


_frontend_cache: list[FrontendCache] = []  # set by the frontend_cache fixture


def private_app_dir(base: Path, web_template: Path | None = None) -> Path:
    """A server's own folder: the source linked; the build tools (node_modules) of
    ``web_template`` or of a developer's .web copied, when there are any, saving a download."""
    app_dir = base / "app"
    app_dir.mkdir()
    for name in APP_FILES_LINKED:
        if (ROOT / name).exists():
            (app_dir / name).symlink_to(ROOT / name)
    for name in APP_FILES_COPIED:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, app_dir / name)
    template = web_template or ROOT / ".web"
    if (template / "node_modules").is_dir():
        # The old build's output only: packages have "build" folders of their own
        # (socket.io-client's is its code), so the names are skipped at the top alone.
        def old_output(folder, names):
            return {"build", ".react-router"} & set(names) if Path(folder) == template else set()

        shutil.copytree(template, app_dir / ".web", symlinks=True, ignore=old_output)
    return app_dir


@contextlib.contextmanager
def started(app_dir: Path, env: dict, log_path: Path, *, up_url: str | None = None,
            timeout: float = SERVER_START_TIMEOUT):
    """Start the server in ``app_dir`` (see FrontendCache) and wait until it serves;
    yields its process. Stopping it is the caller's (the process leads its own group)."""
    port = env["PORT"]
    cache = _frontend_cache[0] if _frontend_cache else None
    with cache.lock() if cache else contextlib.nullcontext():
        reuse = cache is not None and cache.ready()
        if reuse:
            shutil.rmtree(app_dir / ".web", ignore_errors=True)
            cache.copy_into(app_dir / ".web", env["CARESPACE_BASE_URL"])
            command = [sys.executable, str(SERVE_BUILT), port]
        else:
            command = [str(Path(sys.executable).parent / "reflex"), "run", "--env", "prod",
                       "--single-port", "--frontend-port", port, "--backend-port", port,
                       "--loglevel", "info"]
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen(command, cwd=app_dir, env=env, stdout=log_file,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_up(up_url or env["CARESPACE_BASE_URL"], proc, log_path, timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            raise
        if cache is not None and not reuse:
            cache.keep(app_dir / ".web", env["CARESPACE_BASE_URL"])
    yield proc


def server_workers(pid: int) -> list:
    """The Granian worker processes of the server led by ``pid``: its process tree's leaves."""
    import psutil

    tree = psutil.Process(pid).children(recursive=True)
    return [p for p in tree if not p.children()
            and any(name in " ".join(p.cmdline()) for name in ("reflex", SERVE_BUILT.name))]


@contextlib.contextmanager
def running_server(env: dict, log_dir: Path, mailbox: Mailbox, web_template: Path | None = None):
    """Migrate, start the production server and wait for it; stop its whole process group after."""
    app_dir = private_app_dir(log_dir, web_template)
    subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env, check=True,
                   capture_output=True, timeout=300)
    log_path = log_dir / "server.log"
    with started(app_dir, env, log_path) as proc:
        try:
            server = Server(base_url=env["CARESPACE_BASE_URL"], env=env, log_path=log_path,
                            mailbox=mailbox)
            server.process = proc  # type: ignore[attr-defined]
            yield server
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(timeout=20)
            except Exception:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def frontend_cache(tmp_path_factory):
    """The run's one build: pytest's temporary folder of this run is shared by its xdist
    workers (each worker's own is a folder inside it)."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's folder is popen-gwN inside the run's. A run without xdist
    # (PYTEST_XDIST_WORKER set by hand to keep its databases apart) has its own folder:
    # its parent holds every earlier run, whose build may be of other pages.
    if os.environ.get("PYTEST_XDIST_WORKER") and base.name.startswith("popen-gw"):
        base = base.parent
    _frontend_cache[:] = [FrontendCache(base / "frontend-build")]
    yield _frontend_cache[0]
    _frontend_cache.clear()


@pytest.fixture(scope="session")
def server(smtp_server, e2e_database_url, frontend_cache, tmp_path_factory):
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
