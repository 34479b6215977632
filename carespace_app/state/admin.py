"""The staff admin page's states. Every handler checks the staff role on the server.

Each section's state subclasses AdminState and starts every handler with
``viewer = await self._staff()``; None means the person was sent away (signed
out, or not staff — that attempt is audited as admin.refused). The services
check the role again themselves: the state's check is the door, not the lock.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Optional

from sqlmodel import Session

from ..clock import utcnow
from ..db import session_scope
from ..services import access
from ..services.errors import DomainError, NotAllowed
from .session import SessionState, Viewer

log = logging.getLogger("carespace.admin")
SOMETHING_WRONG = "Something went wrong on our side. Please try again; if it keeps happening, tell the practice administrator."


@dataclass
class Outcome:
    """What a service call came to: its value, or the sentence to show and the field."""

    ok: bool
    value: Any = None
    error: str = ""
    field: str = ""
    refused: bool = False


def int_or_none(value) -> Optional[int]:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class AdminState(SessionState):
    """Who is at the admin page; the base of every section's state."""

    async def _staff(self) -> Optional[Viewer]:
        """The staff viewer, or None after sending the person away."""
        viewer = await self._viewer()
        if viewer is None:
            self._signed_out("expired")
            return None
        if not viewer.user.is_staff:
            where = type(self).__name__

            def refuse():
                with session_scope() as db:
                    try:  # the service's check audits the attempt as admin.refused
                        access.require_staff(db, viewer.user, action=f"admin page ({where})",
                                             clock=utcnow, client_ip=viewer.client_ip)
                    except NotAllowed:
                        pass

            await self._run(refuse)
            self._signed_out("revoked")
            return None
        return viewer

    async def _enter(self) -> Optional[Viewer]:
        """On a section's page load: the staff check, then the header."""
        viewer = await self._staff()
        if viewer is not None:
            await self._show_identity(viewer)
        return viewer

    async def _act(self, viewer: Viewer, work: Callable[[Session, Viewer], Any]) -> Outcome:
        """Run ``work(db, viewer)`` off the event loop and turn errors into sentences."""
        def run():
            with session_scope() as db:
                return work(db, viewer)

        try:
            return Outcome(ok=True, value=await self._run(run))
        except NotAllowed as exc:
            return Outcome(ok=False, error=str(exc), refused=True)
        except DomainError as exc:
            return Outcome(ok=False, error=str(exc), field=exc.field or "")
        except Exception:
            log.exception("admin action failed in %s", type(self).__name__)
            return Outcome(ok=False, error=SOMETHING_WRONG)

    def _page_param(self, name: str) -> str:
        return self.router.url.query_parameters.get(name, "")[:40]
