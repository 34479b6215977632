"""Hashing, tokens and sealing: the primitives every account feature stands on."""
from __future__ import annotations

import os
import sys

import pytest

from carespace_app import config
from carespace_app.services.identity import security
from carespace_app.services.errors import ValidationError


@pytest.fixture
def production_settings(monkeypatch):
    """Settings as production reads them, with CARESPACE_BCRYPT_ROUNDS unset."""
    monkeypatch.delenv("CARESPACE_BCRYPT_ROUNDS", raising=False)
    config.get_settings.cache_clear()
    yield config.get_settings()
    monkeypatch.undo()
    config.get_settings.cache_clear()


def test_default_bcrypt_cost_is_12(production_settings):
    assert production_settings.bcrypt_rounds == 12
    hashed = security.hash_password("Zebra-Lamp-Cactus-42")
    assert hashed.startswith("$2b$12$")
    assert security.check_password("Zebra-Lamp-Cactus-42", hashed)


def test_tests_run_with_cheap_hashes():
    # conftest sets cost 4; the fixture above must have put it back.
    assert config.get_settings().bcrypt_rounds == 4
    assert security.hash_password("Zebra-Lamp-Cactus-42").startswith("$2b$04$")


def test_hash_and_check():
    hashed = security.hash_password("Zebra-Lamp-Cactus-42")
    assert security.check_password("Zebra-Lamp-Cactus-42", hashed)
    assert not security.check_password("zebra-Lamp-Cactus-42", hashed)
    assert "Zebra" not in hashed


def test_fullwidth_and_ascii_hash_alike():
    fullwidth = "Ｐａｓｓ－Ｌａｍｐ－４２"
    ascii_form = "Pass-Lamp-42"
    assert security.check_password(ascii_form, security.hash_password(fullwidth))
    assert security.check_password(fullwidth, security.hash_password(ascii_form))


def test_72_bytes_hash_73_refused_never_truncated():
    at_72 = "Z" * 72
    hashed = security.hash_password(at_72)
    assert security.check_password(at_72, hashed)
    # bcrypt would ignore byte 73; we refuse instead of matching a longer password.
    assert not security.check_password(at_72 + "x", hashed)
    with pytest.raises(ValidationError) as caught:
        security.hash_password(at_72 + "x")
    assert caught.value.field == "password"
    assert security.password_too_long(at_72 + "x")
    assert not security.password_too_long(at_72)


@pytest.mark.parametrize("odd", [None, "", "x" * 73, "é" * 37, 12345, b"bytes"])
def test_check_password_never_raises(odd):
    hashed = security.hash_password("Zebra-Lamp-Cactus-42")
    assert security.check_password(odd, hashed) is False


@pytest.mark.parametrize("odd_hash", [None, "", "not-a-bcrypt-hash", "$2b$04$short"])
def test_check_password_against_a_broken_hash_is_false(odd_hash):
    assert security.check_password("Zebra-Lamp-Cactus-42", odd_hash) is False


def test_dummy_hash_is_a_real_hash_nothing_matches():
    dummy = security.dummy_hash()
    assert dummy.startswith("$2b$")
    assert dummy == security.dummy_hash()
    assert not security.check_password("Zebra-Lamp-Cactus-42", dummy)


def test_tokens_are_long_random_and_stored_as_sha256():
    first, second = security.new_token(), security.new_token()
    assert first != second
    assert len(first) >= 43  # 32 bytes, url-safe base64
    digest = security.token_hash(first)
    assert len(digest) == 64 and first not in digest
    assert digest == security.token_hash(first)


def test_seal_round_trip_and_wrong_key():
    sealed = security.seal("https://example.org/reset?token=abc")
    assert "token=abc" not in sealed
    assert security.unseal(sealed) == "https://example.org/reset?token=abc"
    assert security.seal("same") != security.seal("same")  # fresh nonce each time
    with pytest.raises(Exception):
        security.unseal(sealed, secret_key="another-key")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priority is a Linux feature")
def test_passwords_hash_at_a_lower_priority_than_the_event_loop():
    """A burst of sign-ins must not take the CPU from other users' clicks: the hashing
    threads run niced, the thread that serves events does not."""
    import asyncio

    def nice_here():
        return os.getpriority(os.PRIO_PROCESS, 0)  # 0: the calling thread, on Linux

    own = nice_here()
    in_pool = asyncio.run(security.run_in_bcrypt_pool(nice_here))
    assert in_pool == min(19, own + security.BCRYPT_NICE) > own
    assert nice_here() == own
    assert asyncio.run(security.run_in_bcrypt_pool(security.check_password, "x", security.dummy_hash())) is False


def test_constant_time_equals():
    assert security.constant_time_equals("abc", "abc")
    assert not security.constant_time_equals("abc", "abd")


def _https_wrapped_scope(monkeypatch, base_url: str, scope_type: str) -> dict:
    import asyncio

    from carespace_app.http import security_headers

    monkeypatch.setenv("CARESPACE_BASE_URL", base_url)
    config.get_settings.cache_clear()
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    try:
        wrapped = security_headers(app)
        asyncio.run(wrapped({"type": scope_type, "scheme": "http" if scope_type == "http" else "ws",
                             "headers": []}, None, None))
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()
    return seen


def test_behind_a_tls_proxy_the_app_builds_https_urls(monkeypatch):
    # TLS ends at the proxy: without this, the trailing-slash redirect of
    # /register?token=… sends the browser (and the token) to http://.
    assert _https_wrapped_scope(monkeypatch, "https://portal.example.org", "http")["scheme"] == "https"
    assert _https_wrapped_scope(monkeypatch, "https://portal.example.org", "websocket")["scheme"] == "wss"
    assert _https_wrapped_scope(monkeypatch, "http://localhost:3000", "http")["scheme"] == "http"


def test_the_database_wait_is_bounded_by_carespace_db_timeout(monkeypatch, tmp_path):
    from carespace_app.db import make_engine

    monkeypatch.setenv("CARESPACE_DB_TIMEOUT", "4")
    config.get_settings.cache_clear()
    try:
        engine = make_engine(f"sqlite:///{tmp_path}/t.db")
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 4000
        engine.dispose()
    finally:
        monkeypatch.undo()
        config.get_settings.cache_clear()


def test_a_silent_postgresql_host_fails_fast_instead_of_hanging(monkeypatch):
    # A host that takes the connection and never answers (a dead VM, a firewall
    # black hole): without connect_timeout every request would wait forever.
    import socket
    import time

    from sqlalchemy.exc import OperationalError

    from carespace_app.db import make_engine

    monkeypatch.setenv("CARESPACE_DB_TIMEOUT", "2")
    config.get_settings.cache_clear()
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    try:
        engine = make_engine(f"postgresql+psycopg://u@127.0.0.1:{silent.getsockname()[1]}/x")
        assert engine.pool.timeout() == 2
        started = time.monotonic()
        with pytest.raises(OperationalError):
            with engine.connect():
                pass
        assert time.monotonic() - started < 10
    finally:
        silent.close()
        monkeypatch.undo()
        config.get_settings.cache_clear()
