"""Admin › Resources: the links patients see on their Resources tab."""
from __future__ import annotations

import dataclasses
from typing import Optional

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.services.records import resources
from carespace_app.state.admin import AdminState, int_or_none
from carespace_app.state.session import form_errors

FIELDS = ("title", "url", "description")


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


def _values(form: dict) -> dict:
    return {name: str(form.get(name, "")) for name in FIELDS}


def _links(db, v):
    # No patient data, and only staff reach it (the office call path checks the role).
    return resources.list_resources(db)


@dataclasses.dataclass
class LinkRow:
    id: str = ""
    title: str = ""
    url: str = ""
    description: str = ""
    # The list's ends: no "Move up" for the first, no "Move down" for the last.
    first: bool = False
    last: bool = False


class AdminResourcesState(AdminState):
    links: list[LinkRow] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    # The link the edit form shows; None while no form is open.
    editing: Optional[LinkRow] = None
    form_version: int = 0
    busy: bool = False

    def _show(self, got) -> None:
        if got.ok:
            last = len(got.value) - 1
            self.links = [LinkRow(id=str(r.id), title=r.title, url=r.url, description=r.description,
                                  first=i == 0, last=i == last) for i, r in enumerate(got.value)]

    async def _refresh(self) -> None:
        self._show(await self._office(_links, what="resources"))

    async def load(self):
        got = await self._open_section(_links, what="resources")
        if got.left:
            return
        self.errors, self.form_error, self.editing = _blank(), "", None
        self.busy = False
        self._show(got)

    def _show_error(self, outcome) -> None:
        self.errors, self.form_error = form_errors(outcome, _blank())

    @rx.event
    async def add_link(self, form: dict):
        if self.busy:
            return
        self.busy = True
        yield
        made = await self._office(lambda db, v: resources.create_resource(
            db, v.user, **_values(form), clock=utcnow), what="add link")
        self.busy = False
        if made.left:
            return
        if not made.ok:
            self._show_error(made)
            return
        self.errors, self.form_error = _blank(), ""
        self.form_version += 1
        await self._refresh()
        self._flash("success", "Link added. Patients see it on their Resources tab.")

    async def start_edit(self, resource_id: str):
        got = await self._office()
        if got.left:
            return
        found = next((r for r in self.links if r.id == str(resource_id)), None)
        self.editing = dataclasses.replace(found) if found else None
        self.errors, self.form_error = _blank(), ""
        self.form_version += 1

    async def stop_edit(self):
        got = await self._office()
        if got.left:
            return
        self.editing = None
        self.form_version += 1

    @rx.event
    async def save_link(self, form: dict):
        if self.busy:
            return
        wanted = int_or_none(self.editing.id if self.editing else "")
        self.busy = True
        yield
        saved = await self._office(lambda db, v: resources.update_resource(
            db, v.user, wanted, **_values(form), clock=utcnow), what="save link")
        self.busy = False
        if saved.left:
            return
        if not saved.ok:
            self._show_error(saved)
            return
        self.editing, self.errors, self.form_error = None, _blank(), ""
        self.form_version += 1
        await self._refresh()
        self._flash("success", "Link saved.")

    async def delete_link(self, resource_id: str):
        wanted = int_or_none(resource_id)
        done = await self._office(lambda db, v: resources.delete_resource(
            db, v.user, wanted, clock=utcnow), what="delete link")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
        return self._flash("success", "Link deleted.")

    async def move_link(self, resource_id: str, direction: str):
        wanted = int_or_none(resource_id)
        done = await self._office(lambda db, v: resources.move_resource(
            db, v.user, wanted, str(direction), clock=utcnow), what="move link")
        if done.left:
            return
        if not done.ok:
            return self._flash("error", done.error)
        await self._refresh()
