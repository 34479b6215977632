"""Passwords, tokens and sealed secrets: the only place that touches bcrypt and keys."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import math
import os
import secrets
import sys
import threading
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import bcrypt

from carespace_app import policy
from carespace_app.i18n import N_
from carespace_app.config import get_settings
from carespace_app.services.errors import Busy, ValidationError

BCRYPT_MAX_BYTES = 72
TOKEN_BYTES = 32  # 256 bits, well over the 128 the product asks for

# bcrypt runs in these threads so sign-ins never stall other users' events: one core
# fewer than the machine has (at least one), so a burst of sign-ins (a cost-12 hash is
# a quarter to a whole second of CPU) queues here and leaves a core for the event loop
# and everyone else's clicks. The threads also run at a lower scheduling priority
# (Linux: per-thread nice), so when the cores are short a click preempts a hash instead
# of waiting behind it: sign-ins slow down in a burst, everyone else does not
# (benchmarks/load.py --only portal,signin; docs/PERFORMANCE.md).
_BCRYPT_THREADS = get_settings().bcrypt_threads  # CARESPACE_BCRYPT_THREADS
BCRYPT_NICE = 10


def _lower_priority() -> None:
    """Runs in each new bcrypt thread. On Linux a thread is its own scheduling entity, so
    this lowers only the hashing thread, never the event loop's. Elsewhere a thread id
    given as a process id could name another process: left alone there."""
    if not sys.platform.startswith("linux"):
        return
    try:
        me = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, me, min(19, os.getpriority(os.PRIO_PROCESS, me) + BCRYPT_NICE))
    except OSError:  # not allowed: hashing still works
        pass


_bcrypt_pool = ThreadPoolExecutor(max_workers=_BCRYPT_THREADS, thread_name_prefix="bcrypt",
                                  initializer=_lower_priority)


def normalise_password(password: str) -> bytes:
    """NFKC so the same password typed on any keyboard hashes alike."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def password_too_long(password: str) -> bool:
    return len(normalise_password(password)) > BCRYPT_MAX_BYTES


TOO_LONG = N_("Your password is too long: it can be at most 72 bytes "
              "(about 72 letters, fewer with accents or emoji).")


def hash_password(password: str, rounds: int | None = None) -> str:
    data = normalise_password(password)
    if len(data) > BCRYPT_MAX_BYTES:
        # Never truncate silently: bcrypt would ignore everything past byte 72.
        raise ValidationError(TOO_LONG, field="password")
    rounds = rounds or get_settings().bcrypt_rounds
    return bcrypt.hashpw(data, bcrypt.gensalt(rounds=rounds)).decode("ascii")


_DUMMY_HASH: str | None = None


def dummy_hash() -> str:
    """A real hash to check against when no account exists, so timing tells nothing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def check_password(password: str | None, hashed: str | None) -> bool:
    """True only for the right password; never raises on odd input."""
    if not isinstance(password, str) or not password or not hashed:
        if hashed:
            _burn(hashed)
        return False
    data = normalise_password(password)
    if len(data) > BCRYPT_MAX_BYTES:
        _burn(hashed)
        return False
    try:
        return bcrypt.checkpw(data, hashed.encode("ascii"))
    except (ValueError, TypeError):
        return False


def _burn(hashed: str) -> None:
    # Spend the same time as a real check so a refusal's speed reveals nothing.
    try:
        bcrypt.checkpw(b"x", hashed.encode("ascii"))
    except (ValueError, TypeError):
        pass


# --- the pool's queue: bounded by how long a job submitted now would wait -----------------
# A burst of sign-ins queues here (issue #14: at 10 a second on 2 cores, most waited ~30 s
# with nothing on screen). So the pool counts its jobs (waiting + running) and keeps a moving
# average of one job's wall time; a job that would finish later than policy.HASH_QUEUE_LIMIT
# is refused (errors.Busy) before it is queued, and the sign-in page says when a wait is long.
# Where the moving average starts (no hash at import: the CLI would pay for it): a cost-12
# hash takes about 0.3 s of CPU here, and each round fewer halves it.
FIRST_JOB_SECONDS_AT_COST_12 = 0.3
# The moving average's weight for each new job: recent enough to follow a burst within a
# few jobs, steady enough that one odd job doesn't swing it.
JOB_SECONDS_WEIGHT = 0.2


class _HashQueue:
    """Jobs in the bcrypt pool (waiting + running) and a moving average of one job's wall
    time. Touched from the event loop (admit, a cancelled job) and the pool's threads (a
    job's end), so every read and change holds the lock."""

    def __init__(self, threads: int, first_job_seconds: float):
        self._lock = threading.Lock()
        self._threads = max(1, threads)
        self._in_flight = 0
        self._job_seconds = first_job_seconds

    def _wait(self, in_flight: int) -> float:
        return math.ceil((in_flight + 1) / self._threads) * self._job_seconds

    def wait_estimate(self) -> float:
        with self._lock:
            return self._wait(self._in_flight)

    def admit(self, limit_seconds: float) -> bool:
        """Count a new job in, unless it would finish later than ``limit_seconds`` from now:
        the check and the count are one step, so two submits can't both slip under."""
        with self._lock:
            if self._wait(self._in_flight) > limit_seconds:
                return False
            self._in_flight += 1
            return True

    def leave(self) -> None:
        """A job counted in has ended: done, raised, or cancelled before it ran."""
        with self._lock:
            self._in_flight -= 1

    def timed(self, seconds: float) -> None:
        with self._lock:
            self._job_seconds += JOB_SECONDS_WEIGHT * (seconds - self._job_seconds)

    def snapshot(self) -> tuple[int, float]:
        with self._lock:
            return self._in_flight, self._job_seconds


_queue = _HashQueue(_BCRYPT_THREADS,
                    FIRST_JOB_SECONDS_AT_COST_12 * 2.0 ** (get_settings().bcrypt_rounds - 12))


def bcrypt_wait_estimate() -> float:
    """Seconds a job submitted now would take to finish: the jobs ahead of it, a thread's
    worth at a time, at the moving average of one job's wall time."""
    return _queue.wait_estimate()


def bcrypt_queue() -> tuple[int, float]:
    """(jobs waiting or running in the pool, the moving average of one job's seconds)."""
    return _queue.snapshot()


def _timed(fn, args, kwargs):
    started = time.monotonic()
    try:
        return fn(*args, **kwargs)
    finally:
        _queue.timed(time.monotonic() - started)


async def run_in_bcrypt_pool(fn, *args, **kwargs):
    """Run a function that hashes or checks passwords off the event loop; errors.Busy,
    before anything is queued, when it would finish later than policy.HASH_QUEUE_LIMIT."""
    loop = asyncio.get_running_loop()
    if not _queue.admit(policy.HASH_QUEUE_LIMIT.total_seconds()):
        raise Busy()
    try:
        job = _bcrypt_pool.submit(_timed, fn, args, kwargs)
    except BaseException:
        _queue.leave()
        raise
    # Runs once whatever the job comes to, a cancel before it started included (a tab that
    # closed while waiting: its coroutine is cancelled, and so is the queued job).
    job.add_done_callback(lambda _job: _queue.leave())
    return await asyncio.wrap_future(job, loop=loop)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """SHA-256 of a token: what the database keeps. Tokens have 256 bits, so no salt is needed."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- sealing: secrets that must be recoverable (the link inside a queued email) ---


@lru_cache(maxsize=4)
def _aead(secret_key: str):
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    key = hashlib.sha256(("carespace-seal:" + secret_key).encode()).digest()
    return AESGCM(key)


def seal(plaintext: str, secret_key: str | None = None) -> str:
    aead = _aead(secret_key or get_settings().secret_key)
    nonce = os.urandom(12)
    ct = aead.encrypt(nonce, plaintext.encode("utf-8"), b"carespace")
    return base64.urlsafe_b64encode(nonce + ct).decode("ascii")


def unseal(sealed: str, secret_key: str | None = None) -> str:
    aead = _aead(secret_key or get_settings().secret_key)
    raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
    return aead.decrypt(raw[:12], raw[12:], b"carespace").decode("utf-8")
