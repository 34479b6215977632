"""The Resources tab: links the practice recommends, in the order the office sets.

The list holds no patient data, so any signed-in person may read it; only staff
change it. Every address is checked to be a plain web link, because a
``javascript:`` or ``data:`` URL in a link patients click would run in the portal.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Optional
from urllib.parse import urlsplit

from sqlalchemy import func, text
from sqlmodel import Session, select

from carespace_app.clock import Clock, utcnow
from carespace_app.models import AuditEvent, Resource
from carespace_app.services.permissions import access
from carespace_app.services.audit import trail
from carespace_app.services.errors import NotFound, ValidationError
from carespace_app.services.text_rules import check_text

TITLE_MAX = 200
URL_MAX = 500
DESCRIPTION_MAX = 1000
BAD_URL = "Enter a web address that starts with https://"
SEEDED_ACTION = "resources.seeded"
# Any constant works: it only has to be the same in every worker that starts at once.
_SEED_LOCK_KEY = 4_723_001

DEFAULT_RESOURCES = (
    ("National Cancer Institute", "https://www.cancer.gov",
     "The U.S. government's cancer agency: plain-language information on cancer types, "
     "treatments and clinical trials."),
    ("American Cancer Society", "https://www.cancer.org",
     "Guides for patients and families, and a 24-hour helpline at 1-800-227-2345."),
    ("CancerCare", "https://www.cancercare.org",
     "Free counseling, support groups and financial help from oncology social workers."),
)


@dataclass
class ResourceView:
    id: int
    title: str
    url: str
    description: str
    position: int


def _view(r: Resource) -> ResourceView:
    return ResourceView(id=r.id, title=r.title, url=r.url, description=r.description or "",
                        position=r.position)


def _ordered(db: Session) -> list[Resource]:
    return list(db.exec(select(Resource).order_by(Resource.position, Resource.id)).all())


def list_resources(db: Session) -> list[ResourceView]:
    return [_view(r) for r in _ordered(db)]


def ensure_default_resources(db: Session, *, clock: Clock = utcnow) -> int:
    """Put the practice's three default links in place the first time the app starts.

    Idempotent, and once only: if the office later deletes them all, a restart does
    not bring them back (the seeding is remembered in the audit log). Returns how many
    were added. The caller's unit of work commits (jobs.py, demo.py).
    """
    if db.get_bind().dialect.name == "postgresql":
        # Several workers start together; this makes them seed one after the other.
        # The lock is held until the caller's transaction ends.
        db.exec(text("SELECT pg_advisory_xact_lock(:key)").bindparams(key=_SEED_LOCK_KEY))
    seeded = db.exec(select(AuditEvent.id).where(AuditEvent.action == SEEDED_ACTION).limit(1)).first()
    existing = db.exec(select(func.count(Resource.id))).one()
    if seeded is not None or existing:
        return 0
    now = clock()
    for position, (title, url, description) in enumerate(DEFAULT_RESOURCES):
        db.add(Resource(title=title, url=url, description=description, position=position,
                        updated_at=now))
    trail.record(db, SEEDED_ACTION, role="system", detail=f"{len(DEFAULT_RESOURCES)} links",
                 clock=clock)
    return len(DEFAULT_RESOURCES)


# --- the office's changes -------------------------------------------------------------


def valid_url(url) -> str:
    """An absolute http(s) address with a host, or ValidationError on the url field."""
    url = url.strip() if isinstance(url, str) else ""
    if not url or len(url) > URL_MAX or any(ch.isspace() or not ch.isprintable() for ch in url):
        raise ValidationError(BAD_URL, field="url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ValidationError(BAD_URL, field="url") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationError(BAD_URL, field="url")
    # "https://www.cancer.gov@evil.example" reads as cancer.gov but goes elsewhere.
    if parts.username is not None or parts.password is not None:
        raise ValidationError(BAD_URL, field="url")
    return url


def _fields(title, url, description) -> dict:
    title = check_text(title, field="title", label="title", single_line=True)
    description = check_text(description, field="description", label="description",
                             single_line=True)
    title = title.strip() if isinstance(title, str) else ""
    if not title:
        raise ValidationError("Enter a title for the link.", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationError(f"The title can be at most {TITLE_MAX} characters.", field="title")
    description = description.strip() if isinstance(description, str) else ""
    if len(description) > DESCRIPTION_MAX:
        raise ValidationError(f"The description can be at most {DESCRIPTION_MAX} characters.",
                              field="description")
    return dict(title=title, url=valid_url(url), description=description)


def _resource(db: Session, resource_id: int) -> Resource:
    found = db.get(Resource, resource_id) if isinstance(resource_id, int) else None
    if found is None:
        raise NotFound("That link was not found. It may have been deleted.")
    return found


def create_resource(db: Session, actor, *, title: str, url: str, description: str = "",
                    position: Optional[int] = None, clock: Clock) -> int:
    access.require_staff(db, actor, action="resource.create", clock=clock)
    fields = _fields(title, url, description)
    if position is None or isinstance(position, bool) or not isinstance(position, int):
        last = db.exec(select(func.max(Resource.position))).one()
        position = 0 if last is None else last + 1
    resource = Resource(position=position, updated_at=clock(), **fields)
    db.add(resource)
    db.flush()
    resource_id = resource.id
    trail.record(db, "resource.created", actor=actor, detail=f"link {resource_id}", clock=clock)
    return resource_id


def update_resource(db: Session, actor, resource_id: int, *, title: str, url: str,
                    description: str = "", clock: Clock) -> None:
    access.require_staff(db, actor, action="resource.update", clock=clock)
    resource = _resource(db, resource_id)
    for name, value in _fields(title, url, description).items():
        setattr(resource, name, value)
    resource.updated_at = clock()
    db.add(resource)
    trail.record(db, "resource.updated", actor=actor, detail=f"link {resource.id}", clock=clock)


def delete_resource(db: Session, actor, resource_id: int, *, clock: Clock) -> None:
    access.require_staff(db, actor, action="resource.delete", clock=clock)
    resource = _resource(db, resource_id)
    detail = f"link {resource.id} ({resource.title})"
    db.delete(resource)
    trail.record(db, "resource.deleted", actor=actor, detail=detail, clock=clock)


def move_resource(db: Session, actor, resource_id: int, direction: str, *, clock: Clock) -> None:
    """One place up or down; positions are renumbered 0..n-1 so ties never stick."""
    access.require_staff(db, actor, action="resource.move", clock=clock)
    if direction not in ("up", "down"):
        raise ValidationError("Choose up or down.", field="direction")
    _resource(db, resource_id)
    ordered = _ordered(db)  # a short list: the whole of it is a few rows
    index = next(i for i, r in enumerate(ordered) if r.id == resource_id)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ordered):
        ordered[index], ordered[other] = ordered[other], ordered[index]
    now: Optional[datetime] = None
    for position, resource in enumerate(ordered):
        if resource.position != position:
            now = now or clock()
            resource.position = position
            resource.updated_at = now
            db.add(resource)
    trail.record(db, "resource.moved", actor=actor, detail=f"link {resource_id} {direction}",
                 clock=clock)
