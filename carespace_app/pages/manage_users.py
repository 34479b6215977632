"""Manage Users: who the patient trusts with their portal."""
from __future__ import annotations

import reflex as rx

from carespace_app import i18n
from carespace_app.components.i18n import t
from carespace_app.components.shell import portal_page, read_only_note
from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.models import SCOPE_APPOINTMENTS, SCOPE_APPOINTMENTS_LABS, SCOPE_FULL
from carespace_app.i18n import N_
from carespace_app.policy import ACCESS_END_NOTICE_BEFORE, INVITATION_TTL
from carespace_app.services.permissions import scopes
from carespace_app.state.manage_users import CODE_BEFORE_GRANT
from carespace_app.state.manage_users import ManageUsersState as S

FULL_ACCESS = N_("With Full access, the person you add will have full access to your portal, "
                 "including all medical records and messages; or choose Limited access below. "
                 "They'll get an email with a link that works for {time}. {code_note}")
FULL_ACCESS_PARAMS = {"time": i18n.duration(INVITATION_TTL),
                      "code_note": lambda lang: i18n.gettext(lang, CODE_BEFORE_GRANT)}
SCOPE_LEGEND = N_("What can they see?")
ENDS_LABEL = N_("Access ends (optional)")
ENDS_HINT = N_("Their access ends at the start of this day, and you'll get an email "
               "{time} before. Leave it empty for no end date.")
CHANGE_ACCESS = N_("Change access")
SAVE_ACCESS = N_("Save access")
# The order people read the choices in: the widest first.
SCOPE_ORDER = (SCOPE_FULL, SCOPE_APPOINTMENTS_LABS, SCOPE_APPOINTMENTS)


def _scope_choices(checked) -> rx.Component:
    """The three choices as native radios (an uncontrolled form sends the checked one), each
    with the sentence of what the person will see; ``checked``: a scope or a var of one."""
    def choice(scope: str) -> rx.Component:
        return rx.el.label(
            rx.el.input(type="radio", name="scope", value=scope, default_checked=checked == scope,
                        class_name="cs-radio"),
            rx.vstack(rx.text(t(scopes.SCOPE_CHOICES[scope]), size="3", weight="bold"),
                      rx.text(t(scopes.SCOPE_EXPLAINED[scope]), size="2", color_scheme="gray"),
                      spacing="0", align="start"),
            class_name="cs-radio-target",
        )
    return rx.el.fieldset(
        rx.el.legend(t(SCOPE_LEGEND), class_name="cs-label"),
        rx.vstack(*[choice(scope) for scope in SCOPE_ORDER], spacing="2"),
        class_name="cs-fieldset",
    )


def _ends_field(field_id: str, default) -> rx.Component:
    return field(t(ENDS_LABEL), rx.input(id=field_id, name="ends_on", type="date", size="3",
                                         default_value=default, width="100%", max_width="14rem"),
                 field_id, hint=t(ENDS_HINT, time=i18n.duration(ACCESS_END_NOTICE_BEFORE)))


def _grant_form() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading(t("Give someone access"), size="5", as_="h2"),
            rx.callout(t(FULL_ACCESS, **FULL_ACCESS_PARAMS), icon="info", color_scheme="amber", size="3"),
            error_callout(S.grant_error),
            rx.form(
                rx.vstack(
                    field(t("Name"), text_input("name", auto_complete="off", required=True,
                                             max_length=200), "name"),
                    field(t("Email"), text_input("email", type="email", auto_complete="off",
                                              required=True), "email"),
                    _scope_choices(SCOPE_FULL),
                    _ends_field("ends_on", ""),
                    # Which filling-in of the form this is: a double tap sends it once.
                    rx.el.input(type="hidden", name="form_key", default_value=S.form_key.to_string()),
                    primary_button(t("Grant access"), type="submit", disabled=S.view_as,
                                   loading=S.busy),
                    read_only_note(),
                    spacing="4", width="100%", align="start",
                ),
                on_submit=S.grant,
                key=S.form_key,
                width="100%",
            ),
            rx.cond(S.grant_notice != "",
                    rx.callout(S.grant_notice, icon="mail", color_scheme="green", role="status")),
            spacing="4", width="100%", align="stretch",
        ),
        size="3",
    )


def _revoke_dialog(user) -> rx.Component:
    return confirm_dialog(
        rx.button(t("Revoke access"), color_scheme="red", variant="soft", size="3",
                  aria_label=t("Revoke access for {email}", email=user.email), disabled=S.view_as),
        t("Revoke access for {name}?", name=user.name),
        t("{name} ({email}) will no longer be able to open your portal, starting right away. "
          "This is permanent: to give them access again, you would grant access again and "
          "they would need a new invitation.", name=user.name, email=user.email),
        keep=t("Keep access"), confirm=t("Yes, revoke access"), on_confirm=S.revoke(user.grant_id))


def _change_form(user) -> rx.Component:
    """"Change access": what they see and until when (a native disclosure: no event to open)."""
    return rx.el.details(
        rx.el.summary(t(CHANGE_ACCESS), class_name="cs-summary",
                      aria_label=t("Change access for {email}", email=user.email)),
        rx.form(
            rx.vstack(
                _scope_choices(user.scope),
                _ends_field("ends-" + user.grant_id, user.ends_on),
                rx.el.input(type="hidden", name="grant_id", value=user.grant_id),
                rx.cond(S.change_grant == user.grant_id, error_callout(S.change_error)),
                primary_button(t(SAVE_ACCESS), type="submit", disabled=S.view_as),
                spacing="3", align="start", width="100%",
            ),
            on_submit=S.change_access,
            width="100%",
        ),
        class_name="cs-details",
    )


def _user_card(user) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(user.name, size="4", weight="bold"),
                rx.badge(user.status_label, size="2",
                         color_scheme=rx.match(user.status, ("active", "green"), ("invited", "blue"),
                                               ("revoked", "gray"), "amber")),
                spacing="3", align="center", wrap="wrap",
            ),
            rx.hstack(
                rx.text(user.email, size="3", class_name="cs-break"),
                rx.cond(user.can_revoke, _revoke_dialog(user)),
                spacing="3", align="center", wrap="wrap",
            ),
            rx.text(user.note, size="3", color_scheme="gray"),
            rx.cond(user.can_change,
                    rx.text(rx.text.strong(t("What they see: ")), user.scope_label, ". ", user.ends_note,
                            size="3", data_testid="access-terms")),
            rx.cond(user.code_note != "",
                    rx.text(user.code_note, size="3", weight="bold", data_testid="access-code")),
            rx.cond(user.can_resend,
                    rx.button(t("Send new link"), variant="outline", size="3",
                              aria_label=t("Send new link to {email}", email=user.email), disabled=S.view_as,
                              on_click=S.send_new_link(user.grant_id))),
            rx.cond(user.can_change, _change_form(user)),
            spacing="2", align="start", width="100%",
        ),
        data_testid="authorized-user",
        width="100%",
    )


def manage_users_page() -> rx.Component:
    return portal_page(
        "Manage Users",
        rx.heading(t("Manage Users"), size="7", as_="h1"),
        rx.cond(
            S.allowed,
            rx.vstack(
                rx.text(t("Choose who you trust to see your CareSpace portal: family, friends or "
                          "caregivers."), size="3"),
                _grant_form(),
                rx.heading(t("Authorized users"), size="5", as_="h2"),
                error_callout(S.list_error),
                rx.cond(
                    S.users.length() > 0,
                    rx.vstack(rx.foreach(S.users, _user_card), spacing="3", width="100%"),
                    rx.cond(S.loaded,
                            rx.text(t("No one else has access yet. Add someone with Grant access above."),
                                    size="3", color_scheme="gray")),
                ),
                spacing="4", width="100%", align="stretch",
            ),
            rx.callout(t("Only the patient can choose who has access to their portal."), icon="lock",
                       color_scheme="gray"),
        ),
    )
