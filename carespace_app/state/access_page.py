"""/access: whose portal this tab can show, after access ended or when there is none.

A tab never falls through to another patient: when a caregiver's access to the
patient a tab showed ends, the tab is cleared and sent here; the person chooses.
"""
from __future__ import annotations

import dataclasses

from carespace_app import routes
from carespace_app.config import get_settings
from carespace_app.services.permissions import tab_access
from carespace_app.state.session import SessionState

ENDED_TITLE = "Your access to {name}'s portal has ended"
NONE_TITLE = "You don't have access to a patient's portal right now"
ENDED_TEXT = ("{name} or the office has ended your access. If you think this is a mistake, "
              "ask {name} to send you a new invitation from Manage Users, or call the office at "
              f"{get_settings().office_phone}.")
NONE_TEXT = ("To get access again, ask the patient you help to send you a new invitation from "
             f"Manage Users in their portal, or call the office at {get_settings().office_phone}.")
STILL_OPEN = "You can still open:"


@dataclasses.dataclass
class AccessChoice:
    """A portal this person can still open: a button."""

    id: str = ""
    label: str = ""


class AccessState(SessionState):
    title: str = ""
    text: str = ""
    choices: list[AccessChoice] = []
    loaded: bool = False

    async def load(self):
        got = await self._own(lambda db, v: (v.user.is_staff, tab_access.choices(db, v.user)),
                              what="portal choices")
        if got.left:
            return
        is_staff, choices = got.value if got.ok else (False, [])
        if is_staff:
            self._go(routes.ADMIN)
            return
        name = self.ended_patient_name
        self.title = ENDED_TITLE.format(name=name) if name else NONE_TITLE
        self.text = ENDED_TEXT.format(name=name) if name else NONE_TEXT
        self.choices = [
            AccessChoice(id=str(c.id), label="Open your own record" if c.relation == "self"
                         else f"Open {c.name}'s portal")
            for c in choices
        ]
        self.loaded = True
