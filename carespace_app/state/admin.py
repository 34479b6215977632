"""The staff admin page's states. Every handler checks the staff role on the server."""
from __future__ import annotations

from .session import SessionState


class AdminState(SessionState):
    async def load(self):
        viewer = await self._viewer()
        if viewer is None:
            return self._signed_out("expired")
        if not viewer.user.is_staff:
            return self._signed_out("revoked")
        await self._show_identity(viewer)
