"""A server of its own for the fault and https tests, shared by both modules.

It is served over real TLS: a small TLS-terminating reverse proxy in front of it
(a self-signed certificate for localhost) passes HTTP and the websocket upgrade
through, and the server's base URL is https://localhost:<proxy port>, the way a
practice deploys it. Its SMTP port has nothing listening until a test starts a
mail server there, and on PostgreSQL it reaches the database through a TCP relay
a test can cut. The server can be killed with SIGKILL and started again on the
same port and database.
"""
from __future__ import annotations

import asyncio
import datetime
import ipaddress
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from tests.e2e.harness import (ROOT, Mailbox, Server, free_port, private_app_dir, server_env,
                               server_workers, started, wait_until_up)

START_TIMEOUT = 300


# --- the TLS proxy -----------------------------------------------------------------------


def self_signed_cert(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


class TlsProxy:
    """https://localhost:<port> → http://127.0.0.1:<backend port>, bytes passed as they are
    (requests, responses and the upgraded websocket alike)."""

    def __init__(self, port: int, backend_port: int, folder: Path):
        self.port, self.backend_port = port, backend_port
        cert, key = self_signed_cert(folder)
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(cert, key)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    async def _handle(self, client_reader, client_writer):
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backend_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(_pipe(client_reader, up_writer), _pipe(up_reader, client_writer))

    def start(self) -> "TlsProxy":
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._handle, "127.0.0.1", self.port, ssl=self.context),
            self.loop).result(10)
        return self

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


# --- a TCP relay to PostgreSQL that a test can cut ---------------------------------------------


class TcpRelay:
    """127.0.0.1:<port> → the database. cut() closes every connection and refuses new
    ones (what the app sees when the database host goes away); restore() undoes it."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self.cut_off = False
        self.connections: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: Optional[socket.socket] = None
        self._listen()

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if self.cut_off:
                client.close()
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.connections += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._copy, args=(a, b), daemon=True).start()

    @staticmethod
    def _copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self.cut_off = True
        if self.listener is not None:
            try:  # wakes the thread blocked in accept(); close() alone would not
                self.listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            for s in self.connections:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.connections.clear()

    def restore(self) -> None:
        self.cut_off = False
        self._listen()


# --- the server ----------------------------------------------------------------------------


@dataclass
class Dedicated:
    """The dedicated server: `server` (a harness Server, base URL https), its process, and
    the knobs the fault tests turn."""

    server: Server
    app_dir: Path
    log_dir: Path
    port: int
    smtp_port: int
    database_url: str
    relay: Optional[TcpRelay]
    proc: Optional[subprocess.Popen] = None
    starts: int = 0

    @property
    def on_postgresql(self) -> bool:
        return self.database_url.startswith("postgresql")

    def start(self) -> None:
        """Start (or start again, after kill) on the same port and database."""
        self.starts += 1
        log_path = self.log_dir / f"server-{self.starts}.log"
        self.server.log_path = log_path
        with started(self.app_dir, self.server.env, log_path, up_url=f"http://127.0.0.1:{self.port}",
                     timeout=START_TIMEOUT) as proc:
            self.proc = proc

    def kill(self) -> None:
        """SIGKILL to the whole process group: no shutdown handler runs, nothing is flushed."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=20)
        self.proc = None

    def workers(self) -> list:
        """The Granian worker processes (the leaves of the server's process tree)."""
        return server_workers(self.proc.pid)

    def kill_worker(self) -> None:
        """SIGKILL the worker processes only; Granian respawns them (workers.py)."""
        victims = self.workers()
        assert victims, "no worker process found"
        for victim in victims:
            victim.send_signal(signal.SIGKILL)
        for victim in victims:
            victim.wait(timeout=10)

    def wait_for_workers(self) -> None:
        deadline = time.time() + START_TIMEOUT
        while time.time() < deadline and not self.workers():
            time.sleep(0.2)
        wait_until_up(f"http://127.0.0.1:{self.port}", self.proc, self.server.log_path, START_TIMEOUT)

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)
        except Exception:
            self.kill()
        self.proc = None

    def all_logs(self) -> str:
        return "".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("server-*.log")))


def _new_database(tmp: Path) -> tuple[str, Optional[str], Optional[TcpRelay]]:
    """(url the server uses, url to drop afterwards, relay)."""
    base = os.environ.get("CARESPACE_TEST_DATABASE_URL")
    if not base:
        return f"sqlite:///{tmp}/faults.db", None, None
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"carespace_faults_{uuid.uuid4().hex[:8]}"
    admin = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    relay = TcpRelay((url.host or "127.0.0.1", url.port or 5432))
    via_relay = url.set(database=name, host="127.0.0.1", port=relay.port)
    return via_relay.render_as_string(hide_password=False), admin + "|" + name, relay


def _drop_database(dropper: Optional[str]) -> None:
    if not dropper:
        return
    import psycopg

    admin, name = dropper.split("|")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def dedicated_server(tmp: Path):
    """Generator for the session fixture: yields a started Dedicated, stops everything after."""
    port, proxy_port, smtp_port = free_port(), free_port(), free_port()
    database_url, dropper, relay = _new_database(tmp)
    # Not "localhost": for an https page on localhost, Reflex's client assumes the event
    # channel is on port 443 (getBackendURL), which only a real deployment satisfies.
    base_url = f"https://127.0.0.1:{proxy_port}"
    env = server_env(port=port, database_url=database_url, smtp_port=smtp_port,
                     CARESPACE_BASE_URL=base_url,
                     # A request waits this long for an unavailable database, then says so.
                     CARESPACE_DB_TIMEOUT="5")
    proxy = TlsProxy(proxy_port, port, tmp).start()
    app_dir = private_app_dir(tmp)
    dedicated = Dedicated(server=Server(base_url=base_url, env=env, log_path=tmp / "server-1.log",
                                        mailbox=Mailbox()),
                          app_dir=app_dir, log_dir=tmp, port=port, smtp_port=smtp_port,
                          database_url=database_url, relay=relay)
    try:
        subprocess.run([sys.executable, "-m", "carespace_app", "migrate"], cwd=ROOT, env=env,
                       check=True, capture_output=True, timeout=300)
        dedicated.start()
        yield dedicated
    finally:
        dedicated.stop()
        proxy.stop()
        if relay is not None:
            relay.cut()
        _drop_database(dropper)


def unverified_https() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context

