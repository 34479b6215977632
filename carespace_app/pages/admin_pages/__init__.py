"""The admin page for the office staff: one module per section, registered here."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.state.admin_appointments import AdminAppointmentsState
from carespace_app.state.admin_audit import AdminAuditState
from carespace_app.state.admin_checkins import AdminCheckinsState
from carespace_app.state.admin_labs import AdminLabsState
from carespace_app.state.admin_messages import AdminMessagesState
from carespace_app.state.admin_office import AdminOfficeState
from carespace_app.state.admin_outbox import AdminOutboxState
from carespace_app.state.admin_patient import AdminPatientState
from carespace_app.state.admin_patients import AdminPatientsState
from carespace_app.state.admin_resources import AdminResourcesState
from carespace_app.state.admin_staff import AdminStaffState
from carespace_app.pages.admin_pages.audit_log import audit_log_page
from carespace_app.pages.admin_pages.messages import messages_page
from carespace_app.pages.admin_pages.office_settings import office_settings_page
from carespace_app.pages.admin_pages.outbox import outbox_page
from carespace_app.pages.admin_pages.patient_detail import patient_detail_page
from carespace_app.pages.admin_pages.patients import patients_page
from carespace_app.pages.admin_pages.resources import resources_page
from carespace_app.pages.admin_pages.staff import staff_page

TITLE = "{} · Admin · CareSpace"


def register(app: rx.App) -> None:
    app.add_page(patients_page, route=routes.ADMIN, title=TITLE.format("Patients"),
                 on_load=AdminPatientsState.load)
    app.add_page(patient_detail_page, route=routes.ADMIN_PATIENT, title=TITLE.format("Patient"),
                 on_load=[AdminPatientState.load, AdminCheckinsState.load, AdminAppointmentsState.load,
                          AdminLabsState.load])
    app.add_page(messages_page, route=routes.ADMIN_MESSAGES, title=TITLE.format("Messages"),
                 on_load=AdminMessagesState.load)
    app.add_page(resources_page, route=routes.ADMIN_RESOURCES, title=TITLE.format("Resources"),
                 on_load=AdminResourcesState.load)
    app.add_page(outbox_page, route=routes.ADMIN_OUTBOX, title=TITLE.format("Outbox"),
                 on_load=AdminOutboxState.load)
    app.add_page(audit_log_page, route=routes.ADMIN_AUDIT, title=TITLE.format("Audit log"),
                 on_load=AdminAuditState.load)
    app.add_page(staff_page, route=routes.ADMIN_STAFF, title=TITLE.format("Staff"),
                 on_load=AdminStaffState.load)
    app.add_page(office_settings_page, route=routes.ADMIN_OFFICE,
                 title=TITLE.format("Office settings"), on_load=AdminOfficeState.load)
