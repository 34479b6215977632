"""Who viewed my record, Resources and Help: pages that mostly read."""
from __future__ import annotations

import logging

from ..clock import utcnow
from ..db import session_scope
from ..services import record_activity, resources
from ..services.errors import NotAllowed
from .portal import PortalState

log = logging.getLogger("carespace.info")
PAGE_SIZE = 20


class RecordActivityState(PortalState):
    entries: list[dict[str, str]] = []
    offset: int = 0
    has_more: bool = False
    allowed: bool = True
    loaded: bool = False

    async def _show(self, offset: int):
        viewer = await self._portal_viewer()
        if viewer is None:
            return self._signed_out("expired")

        def load():
            with session_scope() as db:
                return record_activity.patient_trail(db, viewer.user, viewer.patient_id,
                                                     offset=offset, limit=PAGE_SIZE, clock=utcnow,
                                                     client_ip=viewer.client_ip)

        try:
            page = await self._run(load)
        except NotAllowed:
            self.allowed = False
            self.entries = []
            return
        self.allowed = True
        self.loaded = True
        self.offset = page.offset
        self.has_more = page.has_more
        self.entries = [{"id": str(e.id), "who": e.who, "what": e.what, "when": e.when}
                        for e in page.items]

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
        return await self._show(0)

    async def older(self):
        return await self._show(self.offset + PAGE_SIZE)

    async def newer(self):
        return await self._show(max(0, self.offset - PAGE_SIZE))


class ResourcesState(PortalState):
    links: list[dict[str, str]] = []
    loaded: bool = False

    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")

        def load():
            with session_scope() as db:
                return resources.list_resources(db)

        self.links = [{"id": str(r.id), "title": r.title, "url": r.url, "description": r.description}
                      for r in await self._run(load)]
        self.loaded = True


class HelpState(PortalState):
    async def load(self):
        viewer = await self._enter()
        if viewer is None:
            return self._signed_out("expired")
