"""The portal's frame: header (practice, whose portal, the name menu) and the tabs."""
from __future__ import annotations

import reflex as rx

from carespace_app import routes
from carespace_app.services.permissions import scopes
from carespace_app.state.portal import PortalState
from carespace_app.state.session import SessionState
from carespace_app.components.flash import flash_toast
from carespace_app import i18n
from carespace_app.components.i18n import language_switch, language_sync, t, t_rich
from carespace_app.i18n import N_
from carespace_app.components.idle import idle_guard
from carespace_app.components.navigate import full_page_navigate
from carespace_app.components.ui import ACCENT, MAX_WIDTH, brand

TABS = [
    (N_("Home"), routes.HOME, "house"),
    (N_("Messages"), routes.MESSAGES, "mail"),
    (N_("Appointments"), routes.APPOINTMENTS, "calendar"),
    (N_("Labs"), routes.LABS, "flask-conical"),
    (N_("Resources"), routes.RESOURCES, "book-open"),
    (N_("Help"), routes.HELP, "circle-help"),
]
MANAGE_USERS_TAB = (N_("Manage Users"), routes.MANAGE_USERS, "users")
# The area of the portal each tab opens (issue #17: a caregiver's access may leave it out).
TAB_AREAS = {
    "Home": scopes.AREA_HOME,
    "Messages": scopes.AREA_MESSAGES,
    "Appointments": scopes.AREA_APPOINTMENTS,
    "Labs": scopes.AREA_LABS,
    "Resources": scopes.AREA_RESOURCES,
}


def shown_for(area: str, component: rx.Component, *, keep_place: bool = True) -> rx.Component:
    """``component`` unless the viewer's access leaves ``area`` out (the server refuses it
    anyway; this only keeps out of sight what would be refused).

    An area some access leaves out is not shown until the page header has said whose access
    the tab shows (``signed_in`` comes with it: a full page load paints before it): a limited
    caregiver must not see the Messages tab appear and vanish. Until then it keeps its place,
    invisible (not seen, focused, clicked or read out), so the tabs beside it don't move
    under a finger when it appears (``keep_place=False``: in a closed menu, nothing moves)."""
    hidden = rx.cond(SessionState.hidden_areas.contains(area), rx.fragment(), component)
    if area in scopes.EVERY_SCOPE_AREAS:
        return hidden
    waiting = (rx.box(component, style={"display": "contents", "visibility": "hidden"})
               if keep_place else rx.fragment())
    return rx.cond(SessionState.signed_in, hidden, waiting)


def _for_tab(label: str, component: rx.Component, *, keep_place: bool = True) -> rx.Component:
    area = TAB_AREAS.get(label)
    return shown_for(area, component, keep_place=keep_place) if area else component
# The phone's page menu (pages/help.py tells people to tap it by this name).
MENU_LABEL = N_("Menu")


def tab_extra(label: str) -> rx.Component | None:
    """The unread count beside "Messages" (words for screen readers, not colour alone)."""
    if label != "Messages":
        return None
    return rx.cond(PortalState.unread_messages > 0,
                   rx.badge(PortalState.unread_messages,
                            rx.el.span(" ", t("unread"), class_name="cs-sr-only"),
                            color_scheme="teal", variant="solid", class_name="cs-tab-badge"))


def _tab_link(label: str, href: str, icon: str, active: str) -> rx.Component:
    is_active = label == active
    parts = [rx.icon(icon, size=18, aria_hidden="true"), rx.text(t(label), size="3")]
    extra = tab_extra(label)
    if extra is not None:
        parts.append(extra)
    return rx.link(
        rx.hstack(*parts, spacing="2", align="center"),
        href=href,
        class_name="cs-tab" + (" cs-tab-active" if is_active else ""),
        aria_current="page" if is_active else None,
        underline="none",
    )


def _tabs(active: str) -> rx.Component:
    links = [_for_tab(label, _tab_link(label, href, icon, active)) for label, href, icon in TABS]
    manage = _tab_link(*MANAGE_USERS_TAB, active)
    return rx.el.nav(
        rx.hstack(*links, rx.cond(SessionState.relation == "self", manage),
                  spacing="1", wrap="wrap"),
        aria_label=t("Portal sections"),
        class_name="cs-tabs cs-desktop",
    )


def _phone_menu(active: str) -> rx.Component:
    items = [_for_tab(label, rx.menu.item(t(label), tab_extra(label) or rx.fragment(),
                                          on_select=rx.redirect(href)), keep_place=False)
             for label, href, _icon in TABS]
    return rx.box(
        rx.menu.root(
            rx.menu.trigger(
                # The word "Menu" stays visible at every width: an icon alone is a puzzle
                # (Help tells a phone user to "tap Menu").
                rx.button(rx.icon("menu", aria_hidden="true"), rx.text(t(MENU_LABEL)), variant="soft",
                          size="3", aria_label=t("Menu: {page}",
                                                 page=lambda lang: i18n.gettext(lang, active))),
            ),
            rx.menu.content(
                *items,
                rx.cond(SessionState.relation == "self",
                        rx.menu.item(t("Manage Users"), on_select=rx.redirect(routes.MANAGE_USERS))),
            ),
        ),
        class_name="cs-phone",
    )


def _name_menu() -> rx.Component:
    # The person's name is the account menu's visible label at every width (a long name
    # is cut short with an ellipsis; the accessible name keeps it whole).
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(rx.icon("circle-user", aria_hidden="true"),
                      rx.text(SessionState.user_name, class_name="cs-name"),
                      rx.icon("chevron-down", size=16, aria_hidden="true"),
                      variant="ghost", size="3", class_name="cs-account",
                      aria_label=t("Account menu for {name}", name=SessionState.user_name)),
        ),
        rx.menu.content(
            rx.menu.item(t("Settings"), on_select=rx.redirect(routes.SETTINGS)),
            rx.cond(SessionState.relation == "self",
                    rx.menu.item(t("Who viewed my record"), on_select=rx.redirect(routes.RECORD_ACTIVITY))),
            # The patient's and every caregiver's with full access (issue #16: caregivers
            # download for the patient).
            shown_for(scopes.AREA_RECORD,
                      rx.menu.item(t("Download my record"), on_select=rx.redirect(routes.RECORD)),
                      keep_place=False),
            rx.menu.separator(),
            rx.menu.item(t("Sign out"), on_select=SessionState.sign_out),
        ),
    )


def _patient_banner() -> rx.Component:
    """Whose portal this is: always visible to a caregiver, with a switcher when several."""
    return rx.cond(
        SessionState.relation == "caregiver",
        rx.box(
            rx.hstack(
                rx.icon("eye", size=18, aria_hidden="true"),
                rx.text(t_rich("You are viewing {name}'s portal.",
                               name=rx.text.strong(SessionState.patient_name)), size="3"),
                rx.cond(SessionState.patient_choices.length() > 1, _switcher()),
                align="center", spacing="2", wrap="wrap",
            ),
            class_name="cs-viewing",
            role="status",
        ),
        rx.cond(
            SessionState.relation == "staff",
            # "View as patient" from the admin page: say so, and the way back.
            rx.box(
                rx.hstack(
                    rx.icon("eye", size=18, aria_hidden="true"),
                    rx.text(t_rich("You are viewing {name}'s portal as the office. It is "
                                   "read-only: forms are turned off.",
                                   name=rx.text.strong(SessionState.patient_name)), size="3"),
                    rx.button(t("Back to the admin page"), on_click=SessionState.back_to_admin,
                              size="3", variant="outline", min_height="44px"),
                    align="center", spacing="2", wrap="wrap",
                ),
                class_name="cs-viewing",
                role="status",
            ),
            rx.cond(SessionState.patient_choices.length() > 1,
                    rx.box(rx.hstack(rx.text(t("Your record"), size="3"), _switcher(), align="center",
                                     spacing="2", wrap="wrap"),
                           class_name="cs-viewing")),
        ),
    )


def _switcher() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(rx.button(t("Switch patient"), variant="outline", size="2", min_height="44px")),
        rx.menu.content(
            rx.foreach(SessionState.patient_choices,
                       lambda p: rx.menu.item(p.label, on_select=SessionState.switch_patient(p.id))),
        ),
    )


READ_ONLY_NOTE = N_("Read-only: the office can't send or change anything from a patient's portal.")


def read_only_note() -> rx.Component:
    """Beside each form of the portal while the office views it."""
    return rx.cond(SessionState.view_as,
                   rx.text(t(READ_ONLY_NOTE), size="3", color_scheme="gray", role="note"))


def signed_in_hooks() -> list[rx.Component]:
    """What every signed-in frame (portal and admin) needs: navigation, idle guard, toasts."""
    return [full_page_navigate(url=SessionState.navigate_to, origin=SessionState.navigate_from),
            idle_guard(), flash_toast(), language_sync()]


def _page_or_notice(area: str | None, children: tuple) -> rx.Component:
    """The page, or (a caregiver's access leaving its area out) the notice in its place."""
    page = rx.vstack(_patient_banner(), *children, spacing="5", width="100%", align="stretch")
    if area is None:
        return page
    notice = rx.vstack(
        _patient_banner(),
        rx.callout(SessionState.blocked_notice, icon="lock", color_scheme="gray", size="3",
                   role="status", data_testid="outside-scope"),
        rx.link(t("Go to Home"), href=routes.HOME, size="3", class_name="cs-link-button",
                underline="none"),
        spacing="5", width="100%", align="stretch",
    )
    return rx.cond(SessionState.blocked_area == area, notice, page)


def portal_page(active: str, *children: rx.Component, area: str | None = None) -> rx.Component:
    """``area``: the portal area the page shows (scopes.AREA_*); by default its tab's."""
    area = area or TAB_AREAS.get(active)
    header = rx.el.header(
        rx.hstack(
            rx.link(brand(), href=routes.HOME, underline="none", color="inherit"),
            rx.spacer(),
            # On a phone these go on their own row under the brand (assets/carespace.css).
            rx.hstack(_phone_menu(active), language_switch(compact=True, class_name="cs-lang-compact"),
                      _name_menu(), align="center", spacing="3",
                      class_name="cs-header-actions"),
            align="center", width="100%", max_width=MAX_WIDTH, margin_x="auto", spacing="3",
            padding_x="1rem", padding_y="0.5rem", wrap="wrap",
        ),
        rx.box(_tabs(active), max_width=MAX_WIDTH, margin_x="auto", padding_x="1rem"),
        class_name="cs-header",
    )
    return rx.box(
        *signed_in_hooks(),
        header,
        rx.el.main(
            rx.cond(
                SessionState.signed_in,
                _page_or_notice(area, children),
                rx.center(rx.spinner(size="3"), padding="3rem"),
            ),
            max_width=MAX_WIDTH, margin_x="auto", padding="1rem", width="100%",
            id="main",
        ),
        min_height="100vh",
        background=rx.color("gray", 1),
        data_accent=ACCENT,
    )
