"""States of the portal pages. Each page's load re-resolves the session from the cookie."""
from __future__ import annotations

from typing import Optional

from .session import SessionState, Viewer


class PortalState(SessionState):
    """Base of the portal pages' states: who is signed in, which patient is shown."""

    async def _enter(self) -> Optional[Viewer]:
        """On every portal page load: None means "send them to sign in"."""
        viewer = await self._portal_viewer()
        if viewer is None:
            return None
        await self._show_identity(viewer)
        return viewer


class HomeState(PortalState):
    first_name: str = ""

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
        self.first_name = viewer.user.full_name.split(" ")[0]
