"""Who viewed my record, Resources and Help: pages that mostly read."""
from __future__ import annotations

import dataclasses

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.services.audit import patient_activity
from carespace_app.services.permissions import scopes
from carespace_app.services.records import resources
from carespace_app.state.portal import PortalState
from carespace_app.state.session import RELOAD_ON_LANGUAGE

PAGE_SIZE = 20


def _trail(state, offset: int):
    """The work for a tab: its language is read when the work runs (after the tab is bound)."""
    return lambda db, viewer: patient_activity.patient_trail(
        db, viewer.user, viewer.patient_id, offset=offset, limit=PAGE_SIZE, clock=utcnow,
        client_ip=viewer.client_ip, lang=state.lang)


@dataclasses.dataclass
class ActivityRow:
    id: str = ""
    who: str = ""
    what: str = ""
    when: str = ""
    mine: bool = False  # the patient's own line: plain; anyone else's in bold


@dataclasses.dataclass
class ResourceRow:
    id: str = ""
    title: str = ""
    url: str = ""
    description: str = ""


class RecordActivityState(PortalState):
    entries: list[ActivityRow] = []
    offset: int = 0
    has_more: bool = False
    allowed: bool = True
    loaded: bool = False

    def _show(self, got) -> None:
        if got.left:
            return
        self.allowed = not got.refused
        self.loaded = True
        if not got.ok:
            self.entries = []
            return
        page = got.value
        self.offset = page.offset
        self.has_more = page.has_more
        self.entries = [ActivityRow(id=str(e.id), who=e.who, what=e.what, when=e.when, mine=e.mine)
                        for e in page.items]

    async def load(self):
        self._show(await self._open_page(_trail(self, 0), area=None, what="who viewed my record"))

    async def older(self):
        self._show(await self._portal(_trail(self, self.offset + PAGE_SIZE)))

    async def newer(self):
        self._show(await self._portal(_trail(self, max(0, self.offset - PAGE_SIZE))))


class ResourcesState(PortalState):
    links: list[ResourceRow] = []
    loaded: bool = False

    async def load(self):
        got = await self._open_page(lambda db, v: resources.list_resources(db), area=scopes.AREA_RESOURCES,
                                    what="resources")
        if got.left:
            return
        self.links = [ResourceRow(id=str(r.id), title=r.title, url=r.url, description=r.description)
                      for r in (got.value if got.ok else [])]
        self.loaded = True


class HelpState(PortalState):
    async def load(self):
        await self._open_page(area=None)


# No form: after the language switch the lines load again (from the first page), in the new
# language.
RELOAD_ON_LANGUAGE[routes.RECORD_ACTIVITY] = RecordActivityState.load
