"""/access: whose portal this tab can show, after access ended or when there is none.

A tab never falls through to another patient: when a caregiver's access to the
patient a tab showed ends, the tab is cleared and sent here; the person chooses.
"""
from __future__ import annotations

import dataclasses

from carespace_app import routes
from carespace_app.config import get_settings
from carespace_app.i18n import N_
from carespace_app.services.permissions import tab_access
from carespace_app.state.session import RELOAD_ON_LANGUAGE, SessionState

ENDED_TITLE = N_("Your access to {name}'s portal has ended")
NONE_TITLE = N_("You don't have access to a patient's portal right now")
ENDED_TEXT = N_("{name} or the office has ended your access. If you think this is a mistake, "
                "ask {name} to send you a new invitation from Manage Users, or call the office "
                "at {phone}.")
NONE_TEXT = N_("To get access again, ask the patient you help to send you a new invitation "
               "from Manage Users in their portal, or call the office at {phone}.")
STILL_OPEN = N_("You can still open:")
OPEN_OWN = N_("Open your own record")
OPEN_THEIRS = N_("Open {name}'s portal")


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
        phone = get_settings().office_phone
        self.title = self._tr(ENDED_TITLE, name=name) if name else self._tr(NONE_TITLE)
        self.text = (self._tr(ENDED_TEXT, name=name, phone=phone) if name
                     else self._tr(NONE_TEXT, phone=phone))
        self.choices = [
            AccessChoice(id=str(c.id), label=self._tr(OPEN_OWN) if c.relation == "self"
                         else self._tr(OPEN_THEIRS, name=c.name))
            for c in choices
        ]
        self.loaded = True


RELOAD_ON_LANGUAGE[routes.ACCESS] = AccessState.load  # no form: its sentences follow the switch
