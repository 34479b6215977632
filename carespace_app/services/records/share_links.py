"""Share links (issue #16): a SMART Health Link-style URL plus a passcode the patient passes on.

The URL is ``<base>/shared#<token>``: the token rides in the fragment, which a browser never
sends in a request line or a Referer, so no access log or proxy sees it (the page's events
carry it to the server over the socket, which logs nothing of it). The token is 256 random
bits, stored only as its SHA-256. The passcode (``policy.SHARE_PASSCODE_DIGITS`` digits) is
stored only as an HMAC keyed with the token, so the table alone cannot be used to try
passcodes offline; it is compared in constant time.

A link works until the day the patient chose (at most ``policy.SHARE_LINK_MAX_DAYS``), until
it is revoked, until ``policy.SHARE_LINK_MAX_WRONG`` wrong passcodes (counted on the row by
one UPDATE, so parallel guesses cannot slip past the limit), and only while the person who
made it may still read the record. Every refusal says the same thing whether the link never
existed, expired, was revoked or locked. Nothing anonymous is expensive: one indexed look-up
by hash, no password hashing (the token is unguessable; the lock bounds the passcode), and
an address that keeps asking for links that can't be opened is refused without a look-up
(``policy.SHARE_LINK_MISSES_PER_ADDRESS``, per server process).

Each view and download is audited on the patient's trail ("record.share_viewed",
"record.share_downloaded"), the client address in the audit row's column, and shows in
"Who viewed my record" as "Someone with your share link (label)".
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Optional

from sqlalchemy import func, update
from sqlmodel import Session, select

from carespace_app import i18n, routes
from carespace_app.clock import Clock
from carespace_app.i18n import N_, OFFICE_
from carespace_app.config import get_settings
from carespace_app.models import RELATION_CAREGIVER, RELATION_SELF, ShareLink, User
from carespace_app.policy import (
    SHARE_LINK_DAY_CHOICES,
    SHARE_LINK_MAX_WRONG,
    SHARE_LINK_MISS_WINDOW,
    SHARE_LINK_MISSES_PER_ADDRESS,
    SHARE_LINKS_ACTIVE_LIMIT,
    SHARE_PASSCODE_DIGITS,
)
from carespace_app.services.audit import trail
from carespace_app.services.errors import DomainError, NotAllowed, ValidationError
from carespace_app.services.identity import security
from carespace_app.services.paging import Page, clamp, page_of
from carespace_app.services.permissions import access, scopes
from carespace_app.services.records import record_export
from carespace_app.services.records.record_export import RecordExport
from carespace_app.services.text_rules import check_text

# --- what people read ------------------------------------------------------------------------

# Every link that can't be opened, for whatever reason: a guesser learns nothing.
NOT_AVAILABLE = N_("This share link can't be opened. It may have expired or been turned off. "
                   "Ask the person who sent it to you for a new link.")
WRONG_PASSCODE_TEMPLATE = N_("That passcode is not right. Check the {digits} digits with the "
                             "person who gave it to you. After a few wrong tries the link stops working.")
NO_PASSCODE_TEMPLATE = N_("Enter the {digits}-digit passcode you were given.")
PASSCODE_PARAMS = {"digits": SHARE_PASSCODE_DIGITS}
WRONG_PASSCODE = i18n.fmt("en", WRONG_PASSCODE_TEMPLATE, **PASSCODE_PARAMS)
NO_PASSCODE = i18n.fmt("en", NO_PASSCODE_TEMPLATE, **PASSCODE_PARAMS)
TOO_MANY_MISSES = N_("Too many links from your network could not be opened. Please try again later.")
NO_LABEL = N_("Say who the link is for, for example \"Dr. Patel\".")
LABEL_TOO_LONG = N_("Keep who it is for short (at most {limit} characters).")
BAD_DAYS = N_("Choose how long the link works: {first} to {last} days.")
BAD_RANGE = N_("Choose the dates to share: a start date on or before the end date.")
TOO_MANY_ACTIVE = N_("You have {count} share links that still work. Revoke one "
                     "you no longer need, then make a new one.")
SHARED_FOR = N_("{label} (shared link)")  # the PDF's "Made … for …"

LABEL_LIMIT = 120  # ShareLink.label
CREATED_BY_YOU = "you"  # LinkView.created_by for the viewer's own links (a code, not shown)
STATUS_ACTIVE, STATUS_EXPIRED, STATUS_REVOKED, STATUS_LOCKED = "active", "expired", "revoked", "locked"

ACTION_CREATE = "share_link.create"
ACTION_LIST = "share_link.list"
ACTION_REVOKE = "share_link.revoke"

# token_urlsafe(32): 43 characters of the URL-safe alphabet. Anything else is not a token
# of ours and is refused without a look-up.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


class WrongPasscode(DomainError):
    """The passcode did not match: counted on the link (the count stands)."""

    keeps_writes = True

    def __init__(self, message: str = WRONG_PASSCODE_TEMPLATE):
        super().__init__(message, field="passcode", params=PASSCODE_PARAMS)


class LinkUnavailable(DomainError):
    """Unknown, expired, revoked, locked: one sentence for all. Its refusal row stands."""

    keeps_writes = True

    def __init__(self, message: str = NOT_AVAILABLE):
        super().__init__(message)


# --- tokens and passcodes ---------------------------------------------------------------------


def new_passcode() -> str:
    return "".join(secrets.choice("0123456789") for _ in range(SHARE_PASSCODE_DIGITS))


def shown_passcode(passcode: str) -> str:
    """"4821 7730": groups of four, easy to read aloud."""
    return " ".join(passcode[i:i + 4] for i in range(0, len(passcode), 4))


def _typed_passcode(value) -> str:
    """The digits of what was typed (spaces and dashes as people write them are dropped)."""
    if not isinstance(value, str):
        return ""
    return re.sub(r"[\s-]", "", value[:64])


def passcode_hash(token: str, passcode: str) -> str:
    """HMAC-SHA256 of the passcode keyed with the link's own token (never stored)."""
    return hmac.new(token.encode("utf-8"), passcode.encode("utf-8"), hashlib.sha256).hexdigest()


def link_url(token: str) -> str:
    return f"{get_settings().base_url}{routes.SHARED}#{token}"


# --- per-address misses (unknown, expired, revoked or locked links) ----------------------------


class _Misses:
    """Recent refused look-ups per client address, in this process; bounded in memory."""

    MAX_TRACKED = 20_000

    def __init__(self):
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, deque] = OrderedDict()

    def _recent(self, address: str, now: datetime) -> deque:
        times = self._seen.get(address)
        if times is None:
            return deque()
        while times and times[0] <= now - SHARE_LINK_MISS_WINDOW:
            times.popleft()
        return times

    def blocked(self, address: str, now: datetime) -> bool:
        with self._lock:
            return len(self._recent(address, now)) >= SHARE_LINK_MISSES_PER_ADDRESS

    def add(self, address: str, now: datetime) -> None:
        with self._lock:
            times = self._recent(address, now)
            times.append(now)
            self._seen[address] = times
            self._seen.move_to_end(address)
            while len(self._seen) > self.MAX_TRACKED:
                self._seen.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


misses = _Misses()


# --- who may make and manage links -------------------------------------------------------------


def _may_share(db: Session, actor: Optional[User], patient_id: int, *, action: str, clock: Clock,
               client_ip: Optional[str]) -> str:
    """The patient or their caregiver (not the office: its "view as" is read-only). Returns
    the audit role; anyone else is refused and audited."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_SHARE_LINKS, action=action, clock=clock,
                                     client_ip=client_ip)
    if relation not in (RELATION_SELF, RELATION_CAREGIVER):
        trail.record_refusal(db, "access.refused", actor=actor, patient_id=patient_id,
                             detail=f"{action}: only the patient or their caregiver",
                             client_ip=client_ip, clock=clock)
        raise NotAllowed()
    return trail.role_in(actor, relation)


def _status(link: ShareLink, now: datetime) -> str:
    if link.revoked_at is not None:
        return STATUS_REVOKED
    if link.wrong_passcodes >= SHARE_LINK_MAX_WRONG:
        return STATUS_LOCKED
    if link.expires_at <= now:
        return STATUS_EXPIRED
    return STATUS_ACTIVE


def _as_day(value) -> Optional[date]:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


def create(db: Session, actor: User, patient_id: int, *, label: str, days, start, end,
           include_messages: bool, clock: Clock, client_ip: Optional[str] = None) -> tuple[str, str]:
    """A new link to the record from ``start`` to ``end`` (practice-local days), working for
    ``days`` days: (its URL, its passcode). Both are shown once; neither is stored."""
    role = _may_share(db, actor, patient_id, action=ACTION_CREATE, clock=clock, client_ip=client_ip)
    label = check_text(label if isinstance(label, str) else "", field="label",
                       label=N_("name of who it is for"), single_line=True).strip()
    if not label:
        raise ValidationError(NO_LABEL, field="label")
    if len(label) > LABEL_LIMIT:
        raise ValidationError(LABEL_TOO_LONG, params={"limit": LABEL_LIMIT}, field="label")
    try:
        days = int(days)
    except (TypeError, ValueError):
        days = 0
    if days not in SHARE_LINK_DAY_CHOICES:
        raise ValidationError(BAD_DAYS, params={"first": SHARE_LINK_DAY_CHOICES[0],
                                                "last": SHARE_LINK_DAY_CHOICES[-1]}, field="days")
    start, end = _as_day(start), _as_day(end)
    if start is None or end is None or start > end:
        raise ValidationError(BAD_RANGE, field="start")
    now = clock()
    active = db.exec(select(func.count()).select_from(ShareLink).where(
        ShareLink.patient_id == patient_id, ShareLink.revoked_at.is_(None),
        ShareLink.expires_at > now, ShareLink.wrong_passcodes < SHARE_LINK_MAX_WRONG)).one()
    if active >= SHARE_LINKS_ACTIVE_LIMIT:
        raise ValidationError(TOO_MANY_ACTIVE, params={"count": SHARE_LINKS_ACTIVE_LIMIT})
    token, passcode = security.new_token(), new_passcode()
    link = ShareLink(patient_id=patient_id, created_by_user_id=actor.id,
                     token_hash=security.token_hash(token), passcode_hash=passcode_hash(token, passcode),
                     label=label, from_day=start, to_day=end, include_messages=bool(include_messages),
                     created_at=now, expires_at=now + timedelta(days=days))
    db.add(link)
    db.flush()
    trail.record(db, "share_link.created", actor=actor, role=role, patient_id=patient_id,
                 detail=_detail(link) + f", {start.isoformat()} to {end.isoformat()}"
                 + (", with messages" if link.include_messages else "") + f", {days} days",
                 client_ip=client_ip, clock=clock)
    return link_url(token), passcode


def _detail(link: ShareLink) -> str:
    """The audit row's detail; patient_activity.share_label reads the label back from it."""
    return OFFICE_(f"share link {link.id}: {link.label}")


# --- the patient's list -----------------------------------------------------------------------


@dataclass
class LinkView:
    id: int
    label: str
    status: str  # STATUS_*
    created_at: datetime
    expires_at: datetime
    revoked_at: Optional[datetime]
    last_viewed_at: Optional[datetime]
    from_day: Optional[date]
    to_day: Optional[date]
    include_messages: bool
    created_by: str  # CREATED_BY_YOU or the caregiver's name


def list_links(db: Session, actor: User, patient_id: int, *, offset: int = 0, limit: int = 20,
               clock: Clock, client_ip: Optional[str] = None) -> Page[LinkView]:
    """Newest first, one page at a time (ix_share_links_patient)."""
    relation = access.require_access(db, actor, patient_id, area=scopes.AREA_SHARE_LINKS, action=ACTION_LIST, clock=clock,
                                     client_ip=client_ip)
    offset, limit = clamp(offset, limit)
    rows = db.exec(select(ShareLink, User.full_name)
                   .outerjoin(User, User.id == ShareLink.created_by_user_id)
                   .where(ShareLink.patient_id == patient_id)
                   .order_by(ShareLink.created_at.desc(), ShareLink.id.desc())
                   .offset(offset).limit(limit + 1)).all()
    now = clock()
    trail.record(db, "share_links.viewed", actor=actor, role=trail.role_in(actor, relation),
                 patient_id=patient_id, client_ip=client_ip, clock=clock)
    return page_of([LinkView(id=link.id, label=link.label, status=_status(link, now),
                             created_at=link.created_at, expires_at=link.expires_at,
                             revoked_at=link.revoked_at, last_viewed_at=link.last_viewed_at,
                             from_day=link.from_day, to_day=link.to_day,
                             include_messages=link.include_messages,
                             created_by=CREATED_BY_YOU if link.created_by_user_id == actor.id
                             else (name or ""))
                    for link, name in rows], offset, limit)


def revoke(db: Session, actor: User, patient_id: int, link_id, *, clock: Clock,
           client_ip: Optional[str] = None) -> None:
    """Turns the link off for good: the next look-up refuses it, an open page's next event too.

    ``patient_id``: the patient the acting tab shows; a link of another patient is refused
    (audited) like an unknown one."""
    link = db.get(ShareLink, link_id) if access.row_id(link_id) else None
    if link is None:
        raise access.refuse_unknown(db, actor, action=ACTION_REVOKE, what=f"share link {link_id!r}",
                                    clock=clock, client_ip=client_ip)
    role = _may_share(db, actor, link.patient_id, action=ACTION_REVOKE, clock=clock,
                      client_ip=client_ip)
    if link.patient_id != patient_id:
        raise access.refuse_other_portal(db, actor, link.patient_id, action=ACTION_REVOKE,
                                         what=f"share link {link_id}", clock=clock,
                                         client_ip=client_ip)
    if link.revoked_at is not None:
        return  # a second tap on Revoke: already done
    link.revoked_at = clock()
    db.add(link)
    trail.record(db, "share_link.revoked", actor=actor, role=role, patient_id=link.patient_id,
                 detail=_detail(link), client_ip=client_ip, clock=clock)


# --- opening a link (anyone with the URL) -------------------------------------------------------


@dataclass
class SharedRecord:
    link_id: int
    label: str
    expires_at: datetime
    record: RecordExport


def _refused(db: Session, link: Optional[ShareLink], why: str, *, client_ip: str,
             clock: Clock) -> LinkUnavailable:
    """Counted for the address, audited (one row per window with a count), one sentence."""
    misses.add(client_ip, clock())
    trail.record_refusal(db, "share_link.refused", patient_id=link.patient_id if link else None,
                         detail=(f"{_detail(link)} ({why})" if link else why),
                         client_ip=client_ip or None, clock=clock)
    return LinkUnavailable()


def _live_link(db: Session, token, *, client_ip: str, clock: Clock) -> ShareLink:
    """The link the token names, if it can still be opened; else LinkUnavailable."""
    client_ip = client_ip or ""
    now = clock()
    if misses.blocked(client_ip, now):
        raise LinkUnavailable(TOO_MANY_MISSES)
    if not isinstance(token, str) or not _TOKEN_SHAPE.fullmatch(token):
        misses.add(client_ip, now)  # not a token of ours: no look-up, no audit row
        raise LinkUnavailable()
    link = db.exec(select(ShareLink).where(ShareLink.token_hash == security.token_hash(token))).first()
    if link is None:
        raise _refused(db, None, OFFICE_("unknown share link"), client_ip=client_ip, clock=clock)
    status = _status(link, now)
    if status != STATUS_ACTIVE:
        raise _refused(db, link, status, client_ip=client_ip, clock=clock)
    maker = db.get(User, link.created_by_user_id)
    made_by = access.access_to(db, maker, link.patient_id, now=now)
    if made_by is None or made_by.relation not in (RELATION_SELF, RELATION_CAREGIVER) \
            or not made_by.reaches(scopes.AREA_SHARE_LINKS):
        # The caregiver who made it lost access, or their access no longer reaches share
        # links (or the account was closed): so does the link.
        raise _refused(db, link, OFFICE_("its maker no longer has access"), client_ip=client_ip,
                       clock=clock)
    return link


def _shared_record(db: Session, link: ShareLink, *, clock: Clock, lang: str = "en") -> SharedRecord:
    maker = db.get(User, link.created_by_user_id)
    record = record_export.collect(db, maker, link.patient_id, start=link.from_day, end=link.to_day,
                                   include_messages=link.include_messages, clock=clock)
    record.made_for = i18n.fmt(lang, SHARED_FOR, label=link.label)
    return SharedRecord(link_id=link.id, label=link.label, expires_at=link.expires_at, record=record)


def check(db: Session, token, *, client_ip: str = "", clock: Clock) -> None:
    """Whether a link can still be opened, before the passcode is asked (LinkUnavailable if
    not). Reads nothing of the record; a refusal is audited like any other."""
    _live_link(db, token, client_ip=client_ip, clock=clock)


def open_link(db: Session, token, passcode, *, client_ip: str = "", clock: Clock,
              lang: str = "en") -> SharedRecord:
    """The record behind a link, for the right passcode; audited as "record.share_viewed"."""
    link = _live_link(db, token, client_ip=client_ip, clock=clock)
    typed = _typed_passcode(passcode)
    if not typed:
        raise ValidationError(NO_PASSCODE_TEMPLATE, params=PASSCODE_PARAMS, field="passcode")
    if not security.constant_time_equals(passcode_hash(token, typed), link.passcode_hash):
        _count_wrong(db, link, client_ip=client_ip, clock=clock)
        raise WrongPasscode()
    link.last_viewed_at = clock()
    db.add(link)
    trail.record(db, "record.share_viewed", patient_id=link.patient_id, detail=_detail(link),
                 client_ip=client_ip or None, clock=clock)
    return _shared_record(db, link, clock=clock, lang=lang)



def _count_wrong(db: Session, link: ShareLink, *, client_ip: str, clock: Clock) -> None:
    """One more wrong passcode, in the statement itself (parallel guesses all count, and
    none counts past the limit); the one that reaches the limit locks the link."""
    counted = db.execute(update(ShareLink).where(ShareLink.id == link.id,
                                                 ShareLink.wrong_passcodes < SHARE_LINK_MAX_WRONG)
                         .values(wrong_passcodes=ShareLink.wrong_passcodes + 1)).rowcount
    db.refresh(link)
    trail.record_refusal(db, "share_link.refused", patient_id=link.patient_id,
                         detail=f"{_detail(link)} (wrong passcode)", client_ip=client_ip or None,
                         clock=clock)
    if counted == 1 and link.wrong_passcodes >= SHARE_LINK_MAX_WRONG:
        trail.record(db, "share_link.locked", patient_id=link.patient_id, detail=_detail(link),
                     client_ip=client_ip or None, clock=clock)


def download(db: Session, token, link_id: int, *, what: str, client_ip: str = "",
             clock: Clock, lang: str = "en") -> SharedRecord:
    """The record again for a page that was opened with the passcode (``link_id``), if the link
    still works: re-read, never cached. Audited as "record.share_downloaded" (``what``:
    "PDF" or "FHIR file")."""
    link = _live_link(db, token, client_ip=client_ip, clock=clock)
    if link.id != link_id:
        raise LinkUnavailable()
    trail.record(db, "record.share_downloaded", patient_id=link.patient_id,
                 detail=f"{_detail(link)} ({what})", client_ip=client_ip or None, clock=clock)
    return _shared_record(db, link, clock=clock, lang=lang)
