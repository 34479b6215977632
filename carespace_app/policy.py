"""Every duration and limit a person meets, in one place.

Services, pages and emails import these; the sentences people read are made from them
(``in_words``), so changing a rule here changes every place that states it
(tests/test_policy.py fails when one is written by hand elsewhere).
"""
from __future__ import annotations

from datetime import timedelta

# --- sessions (services/identity/sessions.py) --------------------------------------------
IDLE_TIMEOUT = timedelta(minutes=15)
IDLE_WARNING = timedelta(minutes=14)  # the page warns a minute before the idle logoff
ABSOLUTE_TIMEOUT = timedelta(hours=12)
TICKET_TTL = timedelta(seconds=60)  # a sign-in ticket: from the sign-in event to the cookie

# --- sign-in throttling (services/identity/signin.py) ------------------------------------
# A patient who mistypes a few times is slowed, never locked out: after
# ACCOUNT_BURST consecutive failures each new try waits ACCOUNT_BURST_PAUSE.
# The hourly cap bounds patient guessing by anyone; because only failures inside
# the window count (and refused tries are not recorded), a stranger can keep an
# account closed for at most ACCOUNT_WINDOW after their last batch of failures.
ACCOUNT_BURST = 5
ACCOUNT_BURST_WINDOW = timedelta(minutes=15)
ACCOUNT_BURST_PAUSE = timedelta(seconds=60)
ACCOUNT_LIMIT = 100
ACCOUNT_WINDOW = timedelta(hours=1)
# One address trying many accounts (password spraying). Generous, because a
# clinic's whole waiting room can share one public address.
CLIENT_LIMIT = 100
CLIENT_WINDOW = timedelta(minutes=15)

# --- two-step sign-in (issue #17: services/identity/mfa.py) -----------------------------
# After a right password, the code must follow within this (else: the password again).
TWO_STEP_PENDING_TTL = timedelta(minutes=5)
# RFC 6238 as authenticator apps use it: a 6-digit code per 30-second step; the step before
# and after are accepted too (a phone's clock a little off, a code typed as it changed).
TOTP_STEP = timedelta(seconds=30)
TOTP_DIGITS = 6
TOTP_DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Wrong codes count as failed sign-ins (the throttle above: per account and per client).

# --- the password-hashing queue (services/identity/security.py) ---------------------------
# Hashing is slow on purpose and runs in a few threads, so a burst of sign-ins queues. A
# sign-in that would wait longer than HASH_QUEUE_LIMIT is refused at once ("try again in a
# minute") instead of waiting with nothing on screen; one that would wait longer than
# HASH_WAIT_NOTICE says so while it waits. Registration, password resets and password
# changes share the queue and its limit. Per-address throttles above still apply.
HASH_QUEUE_LIMIT = timedelta(minutes=1)
HASH_WAIT_NOTICE = timedelta(seconds=3)

# --- one-time links -----------------------------------------------------------------------
RESET_TTL = timedelta(hours=1)
EMAIL_CHANGE_TTL = timedelta(hours=24)
INVITATION_TTL = timedelta(hours=96)
# Reset emails per account per hour: stops anyone from flooding a patient's inbox.
RESET_REQUESTS_PER_HOUR = 5
RESET_REQUEST_WINDOW = timedelta(hours=1)  # the "hour" of RESET_REQUESTS_PER_HOUR
# Settings > Email asked for an address another account has: its owner is told at most
# this often.
ADDRESS_IN_USE_NOTICE_EVERY = timedelta(hours=24)

# --- invitations (services/onboarding/invitations.py) ------------------------------------
MAX_WRONG_ANSWERS = 5
ACCESS_CODE_DIGITS = 6  # one in a million per guess, and a link locks after 5 wrong answers
# Each grant and each "Send new link" emails an address the patient typed, opening with a
# name the patient typed: unbounded, a patient account is a free way to send anyone email
# in the practice's name. A family adds one or two people, rarely more than a few a day.
# The office's own re-sends don't count (see permissions/caregivers.py).
MAX_INVITATIONS_PER_DAY = 10
INVITATION_LIMIT_WINDOW = timedelta(hours=24)

# --- caregiver access the patient shapes (services/permissions/scopes.py, caregivers.py) ---
# An end date can be at most this many years ahead (a typo such as 2062 is caught; a patient
# who wants no end leaves the date empty).
ACCESS_END_MAX_YEARS = 2
# The patient is emailed this long before a caregiver's access ends (once per end date).
ACCESS_END_NOTICE_BEFORE = timedelta(days=7)

# --- passwords (services/identity/passwords.py) ------------------------------------------
MIN_LENGTH = 8
# Submitting a new password judges it with zxcvbn (over a second of CPU for the worst 72
# bytes): a tab gets this many tries a window, plenty for a person (state/auth.py).
PASSWORD_TRIES_PER_TAB = 6
PASSWORD_TRIES_WINDOW = timedelta(seconds=60)

# --- records ------------------------------------------------------------------------------
REMINDER_BEFORE = timedelta(days=1)  # the .ics download's alarm
DRAFT_DAYS = 7  # an unsent message is kept this long
DRAFT_KEPT = timedelta(days=DRAFT_DAYS)

# --- Download my record (issue #16: services/records/record_download.py) ------------------
# The range a patient picks, at most this many years at a time. Ten years covers a whole
# course of treatment and follow-up (survivorship care runs about five years) in one file,
# while one request stays a bounded amount of work (the PDF is made in one go, in memory,
# and travels to the browser in one message). Older years: another download.
MAX_RECORD_RANGE_YEARS = 10
# The range the page starts with: the last 12 months, up to today.
DEFAULT_RECORD_RANGE_MONTHS = 12
# "Email it" sends the record to an address the patient types, in the practice's name:
# unbounded, an account is a free way to send anyone email (and a record) from the practice.
# A patient sends one to a new doctor, a relative, themself; rarely more in a day. Counted
# per patient (the patient and every caregiver together).
MAX_RECORD_EMAILS_PER_DAY = 5
RECORD_EMAIL_LIMIT_WINDOW = timedelta(hours=24)
# An emailed record bigger than this is refused ("download it instead"): most mail servers
# refuse messages over 10-25 MB, and the attachment grows by a third on the way.
MAX_EMAILED_RECORD_BYTES = 10 * 1024 * 1024
# Making the files is pure-Python work (a ten-year oncology record takes seconds): it runs
# in this many separate processes (services/records/render_pool.py), so it never holds the
# server's interpreter, and at most RECORD_RENDER_QUEUE files wait for one; beyond that the
# page says to try again in a minute instead of waiting with nothing on screen.
RECORD_RENDER_PROCESSES = 1
RECORD_RENDER_QUEUE = 4

# --- between visits (issue #15: services/records/checkins.py, urgent.py) ---------------
# Every check-in question asks about this span ("In the last 7 days, …").
CHECKIN_RECALL = timedelta(days=7)
CHECKIN_REMINDER_AFTER = timedelta(days=2)  # an unanswered check-in's one reminder email
# How often the server looks for check-ins to open and reminders to send.
CHECKIN_SWEEP_EVERY = timedelta(seconds=60)
# An urgent item nobody acknowledged is highlighted after this.
URGENT_HIGHLIGHT_AFTER = timedelta(minutes=30)
# The office's queue asks for new urgent items this often while it is on screen, so one
# appears within a minute without a reload (the only page that asks on its own).
URGENT_REFRESH_EVERY = timedelta(seconds=30)

# --- results on the patient's terms (issue #16: services/records/result_release.py) -------
# The longest a result may wait: the patient's own hold (they choose 1 to this many days)
# and a clinician's hold on one report. After it, the report is shown by itself.
RESULT_HOLD_MAX_DAYS = 14
# A clinician's hold ends on its date at this hour, the practice's time: when the office
# is open to take the call a result may bring.
HOLD_RELEASE_HOUR = 8

# --- share links (issue #16: services/records/share_links.py) ---------------------------
# The patient picks how long a link works, in whole days, at most SHARE_LINK_MAX_DAYS.
SHARE_LINK_MAX_DAYS = 7
SHARE_LINK_DAY_CHOICES = tuple(range(1, SHARE_LINK_MAX_DAYS + 1))
SHARE_LINK_DEFAULT_DAYS = 3
# The passcode the patient passes on: digits, read aloud in groups of four.
SHARE_PASSCODE_DIGITS = 8
# Wrong passcodes a link takes in its whole life; then it is locked for good (one in
# 20 million for a guesser who holds the link itself).
SHARE_LINK_MAX_WRONG = 5
# Links of one patient that still work at once: a patient shares with a few people.
SHARE_LINKS_ACTIVE_LIMIT = 20
# Links that can't be opened (unknown, expired, revoked, locked) asked for from one client
# address: after this many in the window the address is refused without a look-up.
SHARE_LINK_MISSES_PER_ADDRESS = 20
SHARE_LINK_MISS_WINDOW = timedelta(minutes=15)


# Spanish units: (one, many, the article for one).
_UNITS_ES = {"day": ("día", "días", "un"), "hour": ("hora", "horas", "una"),
             "minute": ("minuto", "minutos", "un"), "second": ("segundo", "segundos", "un")}


def in_words(span: timedelta, *, article: bool = False, lang: str = "en") -> str:
    """A duration as people say it: "1 hour", "4 days", "15 minutes", "30 seconds".

    The largest whole unit: 96 hours is "4 days", 90 minutes is "90 minutes", 60 seconds
    is "1 minute"; but days only from two on, so a day reads "24 hours" ("within 24 hours").
    With ``article``, one of a unit reads "a minute", "an hour" ("wait a minute").
    ``lang="es"``: "15 minutos", "una hora", "4 días".
    """
    if span <= timedelta(0) or span % timedelta(seconds=1):
        raise ValueError(f"not a whole, positive number of seconds: {span!r}")
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size * (2 if unit == "day" else 1) and seconds % size == 0:
            count = seconds // size
            if lang == "es":
                one, many, a = _UNITS_ES[unit]
                # Spanish says one of a unit in words either way: "una hora", "un minuto".
                return f"{a} {one}" if count == 1 else f"{count} {many}"
            if count == 1:
                return f"{'an' if unit == 'hour' else 'a'} {unit}" if article else f"1 {unit}"
            return f"{count} {unit}s"
    raise AssertionError("unreachable: a whole number of seconds has a unit")
