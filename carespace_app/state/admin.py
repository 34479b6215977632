"""The staff admin page's states. Every handler goes through the office call path.

Each section's state subclasses AdminState and runs its work with
``got = await self._office(lambda db, v: service(db, v.user, ...))``: signed-out
people are sent to sign in; a patient or caregiver stays signed in and the page
says it is for the office (audited as admin.refused). The services check the role
again themselves: the state's check is the door, not the lock.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from sqlmodel import Session

from carespace_app.state.session import LEFT, Outcome, SessionState, Viewer

__all__ = ["AdminState", "Outcome", "int_or_none"]


def int_or_none(value) -> Optional[int]:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


class AdminState(SessionState):
    """Who is at the admin page; the base of every section's state."""

    async def _open_section(self, work: Optional[Callable[[Session, Viewer], Any]] = None, *,
                            what: str = "") -> Outcome:
        """A section's page load: the staff check, the header, then the section's own work."""
        viewer = await self._staff_viewer()
        if viewer is None:
            return LEFT
        got, _ = await self._open_with_header(viewer, work, what, refusal=None)
        return got

    def _page_param(self, name: str) -> str:
        return self.router.url.query_parameters.get(name, "")[:40]
