"""The admin page's frame and the small pieces its sections share.

Denser than the portal (tables, smaller gaps) but the same components, labels
and focus styles; at 768 px the navigation wraps and tables scroll in their box.
"""
from __future__ import annotations

from typing import Callable

import reflex as rx

from carespace_app import routes
from carespace_app.components.shell import signed_in_hooks
from carespace_app.components.ui import ACCENT, MAX_WIDTH, brand
from carespace_app.state.session import SessionState

SECTIONS = [
    ("Patients", routes.ADMIN, "users"),
    ("Messages", routes.ADMIN_MESSAGES, "mail"),
    ("Resources", routes.ADMIN_RESOURCES, "book-open"),
    ("Outbox", routes.ADMIN_OUTBOX, "send"),
    ("Audit log", routes.ADMIN_AUDIT, "scroll-text"),
    ("Office settings", routes.ADMIN_OFFICE, "clock"),
]
STAFF_SECTION = ("Staff", routes.ADMIN_STAFF, "id-card")


def _nav_link(label: str, href: str, icon: str, active: str) -> rx.Component:
    is_active = label == active
    return rx.link(
        rx.hstack(rx.icon(icon, size=18, aria_hidden="true"), rx.text(label, size="3"),
                  spacing="2", align="center"),
        href=href, underline="none", aria_current="page" if is_active else None,
        class_name="cs-tab" + (" cs-tab-active" if is_active else ""),
    )


def admin_nav(active: str) -> rx.Component:
    return rx.el.nav(
        rx.hstack(*[_nav_link(*s, active) for s in SECTIONS],
                  rx.cond(SessionState.is_admin, _nav_link(*STAFF_SECTION, active)),
                  spacing="1", wrap="wrap"),
        aria_label="Admin sections", class_name="cs-tabs",
    )


def admin_shell(active: str, *children: rx.Component) -> rx.Component:
    header = rx.el.header(
        rx.hstack(
            rx.link(brand(), href=routes.ADMIN, underline="none", color="inherit"),
            rx.cond(SessionState.is_staff, rx.badge("Office", size="2")), rx.spacer(),
            rx.text(SessionState.user_name, size="3", class_name="cs-name"),
            # The staff member's own account: password, email, which emails they get.
            rx.link("Settings", href=routes.SETTINGS, size="3", class_name="cs-tap-link"),
            # A plain link to the sign-out route (which ends the session on the server):
            # it works even when clicked before the page has finished loading.
            rx.button(rx.el.a("Sign out", href=routes.AUTH_SIGN_OUT, reload_document=True), as_child=True,
                      variant="soft", size="3"),
            align="center", width="100%", max_width=MAX_WIDTH, margin_x="auto", spacing="3",
            padding_x="1rem", padding_y="0.5rem", wrap="wrap",
        ),
        rx.cond(SessionState.is_staff,
                rx.box(admin_nav(active), max_width=MAX_WIDTH, margin_x="auto", padding_x="1rem")),
        class_name="cs-header",
    )
    return rx.box(
        *signed_in_hooks(),
        header,
        rx.el.main(
            rx.cond(
                SessionState.signed_in & SessionState.is_staff,
                rx.vstack(*children, spacing="4", width="100%", align="stretch"),
                rx.cond(SessionState.office_only, office_only_notice(),
                        rx.center(rx.spinner(size="3"), padding="3rem")),
            ),
            max_width=MAX_WIDTH, margin_x="auto", padding="1rem", width="100%", id="main",
            class_name="cs-admin",
        ),
        min_height="100vh", background=rx.color("gray", 1), data_accent=ACCENT,
    )


OFFICE_ONLY_TITLE = "This page is for the office staff"
OFFICE_ONLY_TEXT = ("The admin pages are where the practice's staff manage patients. Your own "
                    "portal is still open to you.")


def office_only_notice() -> rx.Component:
    """A patient or caregiver who opened /admin: they stay signed in and are shown the way back."""
    return rx.card(
        rx.vstack(
            rx.heading(OFFICE_ONLY_TITLE, size="6", as_="h1"),
            rx.text(OFFICE_ONLY_TEXT, size="3"),
            rx.button(rx.el.a("Go to your portal", href=routes.HOME), as_child=True, size="3",
                      min_height="44px"),
            spacing="3", align="start",
        ),
        width="100%",
    )


def section(title: str, *children: rx.Component, **props) -> rx.Component:
    return rx.card(rx.vstack(rx.heading(title, size="5", as_="h2"), *children, spacing="3",
                             width="100%", align="stretch"), width="100%", **props)


def data_table(headers: list[str], items, row: Callable, empty: str) -> rx.Component:
    """A table that scrolls sideways inside its own box, with a friendly empty state."""
    return rx.cond(
        items.length() > 0,
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
                rx.table.body(rx.foreach(items, row)),
                variant="surface", size="1", width="100%",
            ),
            class_name="cs-table-wrap cs-scroll", tab_index=0, role="region",
            aria_label=", ".join(h for h in headers if h),
        ),
        rx.text(empty, size="3", color_scheme="gray"),
    )


def select_field(label: str, field_id: str, options, default=None, name: str | None = None,
                 error=None, **props) -> rx.Component:
    """A native select: labelled, keyboard friendly, and submitted with its form."""
    from carespace_app.components.ui import field

    control = rx.el.select(
        rx.foreach(options, lambda o: rx.el.option(o, value=o)) if isinstance(options, rx.Var)
        else [rx.el.option(o, value=o) for o in options],
        id=field_id, name=name or field_id, default_value=default, class_name="cs-select", **props,
    )
    return field(label, control, field_id, error=error)


def pager(state) -> rx.Component:
    return rx.hstack(
        rx.button("Previous page", on_click=state.previous_page, disabled=state.offset == 0,
                  variant="soft", size="2"),
        rx.button("Next page", on_click=state.next_page, disabled=~state.has_more,
                  variant="soft", size="2"),
        spacing="2",
    )


def small_button(text, **props) -> rx.Component:
    return rx.button(text, size="2", variant=props.pop("variant", "soft"), **props)
