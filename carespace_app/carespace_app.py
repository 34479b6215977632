"""Wires the pages, the HTTP routes, the security headers and the background jobs."""
from __future__ import annotations

import logging

import reflex as rx

from carespace_app import log_safety, routes
from carespace_app.config import get_settings
from carespace_app.components.i18n import t
from carespace_app.i18n import N_
from carespace_app.frontend_errors import log_frontend_error
from carespace_app.http import backend_routes, security_headers
from carespace_app.jobs import start_background_jobs
from carespace_app.pages import access, admin_pages, people, records
from carespace_app.pages import shared_record
from carespace_app.pages.public import forgot_password_page, register_page, reset_password_page, sign_in_page
from carespace_app.state.session import SessionState
from carespace_app.event_budget import EventBudgetMiddleware
from carespace_app.state.tab_guard import TabGuard
from carespace_app.state.auth import SignInState
from carespace_app.state.password_reset import ForgotPasswordState, ResetPasswordState
from carespace_app.state.register import RegisterState

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
log_safety.install()  # every log line one line, bounded, whoever supplied its text
log = logging.getLogger("carespace")


def calm_error(exception: Exception):
    """Any error no handler caught: logged for us, a plain next step for the user.

    Never the exception's text: it could name a table, a value or a secret. The
    message is shown through a state event (rx.toast would be eval'd, which our CSP
    forbids).
    """
    log.error("unhandled error in an event handler", exc_info=exception)
    return SessionState.show_problem()


app = rx.App(
    stylesheets=["/carespace.css"],
    api_transformer=[backend_routes(), security_headers],
    html_lang="en",
    head_components=[rx.el.meta(name="viewport", content="width=device-width, initial-scale=1")],
    backend_exception_handler=calm_error,
    frontend_exception_handler=log_frontend_error,
)

# Before any event or hydration: first the flood budget (a dropped event touches nothing),
# then the tab's binding to its current person and patient.
app.add_middleware(EventBudgetMiddleware())
app.add_middleware(TabGuard())

app.add_page(sign_in_page, route=routes.SIGN_IN, title=t(N_("Sign in · CareSpace")), on_load=SignInState.load)
app.add_page(register_page, route=routes.REGISTER, title=t(N_("Create Password · CareSpace")),
             on_load=RegisterState.load)
app.add_page(forgot_password_page, route=routes.FORGOT_PASSWORD, title=t(N_("Forgot Password · CareSpace")),
             on_load=ForgotPasswordState.load)
app.add_page(reset_password_page, route=routes.RESET_PASSWORD, title=t(N_("Reset password · CareSpace")),
             on_load=ResetPasswordState.load)
# Each area registers its own pages (one module per area keeps merges apart).
records.register(app)
access.register(app)
people.register(app)
admin_pages.register(app)
shared_record.register(app)  # /shared: a share link, no sign-in (issue #16)

if get_settings().run_background_jobs:
    app.register_lifespan_task(start_background_jobs)
