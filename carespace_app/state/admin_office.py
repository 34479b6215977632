"""Admin › Office settings: the business hours, holidays, after-hours number, red-flag
phrases and the default staff member per message category (records/practice_settings.py).

Any staff member may change them (the service checks and audits); the page shows the
rules in force, defaults included, so saving it unchanged stores exactly what applies.
"""
from __future__ import annotations

import dataclasses

import reflex as rx

from carespace_app.clock import utcnow
from carespace_app.config import get_settings
from carespace_app.models import MESSAGE_CATEGORIES
from carespace_app.services.records import practice_settings as office
from carespace_app.state.admin import AdminState
from carespace_app.state.session import form_errors

FIELDS = (*(f"{day}_{part}" for day in office.DAYS for part in ("opens", "closes")),
          "holidays", "red_flags", "after_hours_phone",
          *(f"route_{i}" for i in range(len(MESSAGE_CATEGORIES))))
TEXT_MAX = 10_000


def _blank() -> dict[str, str]:
    return {name: "" for name in FIELDS}


@dataclasses.dataclass
class DayRow:
    key: str = ""  # "mon"
    name: str = ""  # "Monday"
    opens: str = ""  # "08:00", "" when closed
    closes: str = ""


@dataclasses.dataclass
class RouteRow:
    field: str = ""  # "route_0"
    category: str = ""
    chosen: str = ""  # a staff member's id, "" for nobody


@dataclasses.dataclass
class StaffOption:
    id: str = ""
    name: str = ""


def _form(form: dict) -> office.SettingsForm:
    def text(name: str) -> str:
        value = form.get(name, "")
        return value[:TEXT_MAX] if isinstance(value, str) else ""
    return office.SettingsForm(
        opens=tuple(text(f"{day}_opens") for day in office.DAYS),
        closes=tuple(text(f"{day}_closes") for day in office.DAYS),
        holidays=text("holidays"), red_flags=text("red_flags"),
        after_hours_phone=text("after_hours_phone"),
        routing={c: text(f"route_{i}") for i, c in enumerate(MESSAGE_CATEGORIES)})


class AdminOfficeState(AdminState):
    days: list[DayRow] = []
    holidays: str = ""
    red_flags: str = ""
    after_hours_phone: str = ""
    office_phone: str = ""
    routes: list[RouteRow] = []
    staff: list[StaffOption] = []
    errors: dict[str, str] = _blank()
    form_error: str = ""
    # A new version shows the fields afresh (what was saved, as stored).
    form_version: int = 0
    saving: bool = False

    def _show(self, rules: office.PracticeRules, staff: list) -> None:
        self.days = [DayRow(key=day, name=name,
                            opens=office.time_text(span[0]) if span else "",
                            closes=office.time_text(span[1]) if span else "")
                     for day, name, span in zip(office.DAYS, office.DAY_NAMES, rules.hours)]
        self.holidays = "\n".join(d.isoformat() for d in sorted(rules.holidays))
        self.red_flags = "\n".join(rules.red_flags)
        self.after_hours_phone = rules.after_hours_phone
        self.office_phone = get_settings().office_phone
        self.routes = [RouteRow(field=f"route_{i}", category=c,
                                chosen=str(rules.routing.get(c, "")))
                       for i, c in enumerate(MESSAGE_CATEGORIES)]
        self.staff = [StaffOption(id=str(m.id), name=m.name) for m in staff]
        self.form_version += 1

    async def load(self):
        self.saving = False
        got = await self._open_section(lambda db, v: office.for_office(db, v.user, clock=utcnow),
                                       what="office settings")
        if got.left:
            return
        self.errors, self.form_error = _blank(), ""
        if not got.ok:
            return self._flash("error", got.error)
        self._show(*got.value)

    @rx.event
    async def save(self, form: dict):
        if self.saving:
            return
        form = form if isinstance(form, dict) else {}
        typed = _form(form)
        self.saving = True
        yield
        saved = await self._office(lambda db, v: (
            office.save(db, v.user, typed, clock=utcnow), office.active_staff(db)),
            what="save office settings")
        self.saving = False
        if saved.left:
            return
        self.errors, self.form_error = form_errors(saved, _blank())
        if not saved.ok:
            # The fields keep what was typed (the form is not redrawn); focus the wrong one.
            if saved.field in self.errors:
                yield rx.set_focus(saved.field)
            return
        self._show(*saved.value)
        self._flash("success", office.SAVED)
