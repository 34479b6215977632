"""Admin › Patients: search the records and create a new one."""
from __future__ import annotations

import dataclasses

import reflex as rx

from carespace_app import routes
from carespace_app.clock import utcnow
from carespace_app.services.records import patients
from carespace_app.timefmt import day
from carespace_app.state.admin import AdminState
from carespace_app.state.session import form_errors

PAGE_SIZE = 20
PATIENT_FIELDS = ("mrn", "first_name", "last_name", "date_of_birth", "email", "phone", "language")


def blank_errors() -> dict[str, str]:
    return {name: "" for name in PATIENT_FIELDS}


def patient_form_values(form: dict) -> dict:
    """The record's fields from a submitted form; a date the service can't read stays None."""
    born = patients.parse_date_of_birth(str(form.get("date_of_birth", "")))
    return dict(mrn=str(form.get("mrn", "")), first_name=str(form.get("first_name", "")),
                last_name=str(form.get("last_name", "")), date_of_birth=born,
                email=str(form.get("email", "")), phone=str(form.get("phone", "")),
                language=str(form.get("language", "en")))


def _search_page(query: str, offset: int):
    return lambda db, v: patients.search_patients(
        db, v.user, query, offset=offset, limit=PAGE_SIZE, clock=utcnow, client_ip=v.client_ip)


@dataclasses.dataclass
class PatientRow:
    id: str = ""
    mrn: str = ""
    name: str = ""
    dob: str = ""
    email: str = ""
    phone: str = ""


class AdminPatientsState(AdminState):
    query: str = ""
    results: list[PatientRow] = []
    offset: int = 0
    has_more: bool = False
    searched: bool = False
    errors: dict[str, str] = blank_errors()
    form_error: str = ""
    busy: bool = False

    def _show(self, found, query: str):
        if not found.ok:
            return self._flash("error", found.error)
        page = found.value
        self.query, self.offset, self.has_more, self.searched = query, page.offset, page.has_more, True
        self.results = [PatientRow(id=str(p.id), mrn=p.mrn, name=f"{p.last_name}, {p.first_name}",
                                   dob=day(p.date_of_birth), email=p.email, phone=p.phone or "")
                        for p in page.items]

    async def load(self):
        got = await self._open_section(what="patient search")
        if got.left:
            return
        self.errors = blank_errors()
        self.form_error = ""
        self.busy = False
        await self._search(self.query, 0)

    async def _search(self, query: str, offset: int):
        found = await self._office(_search_page(query, offset), what="patient search")
        if found.left:
            return
        return self._show(found, query)

    async def search(self, form: dict):
        return await self._search(str(form.get("query", ""))[:200], 0)

    async def next_page(self):
        return await self._search(self.query, self.offset + PAGE_SIZE)

    async def previous_page(self):
        return await self._search(self.query, max(0, self.offset - PAGE_SIZE))

    @rx.event
    async def create_patient(self, form: dict):
        if self.busy:
            return
        values = patient_form_values(form)
        self.busy = True
        yield
        made = await self._office(lambda db, v: patients.create_patient(
            db, v.user, **values, clock=utcnow, client_ip=v.client_ip).id, what="create patient")
        self.busy = False
        if made.left:
            return
        self.errors, self.form_error = form_errors(made, blank_errors())
        if not made.ok:
            return
        self._flash("success", "Patient record created.")
        yield rx.redirect(f"{routes.ADMIN_PATIENT}?id={made.value}")
