"""Admin › Resources: the links on the patients' Resources tab."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.ui import confirm_dialog, error_callout, field, primary_button, text_input
from carespace_app.state.admin_resources import AdminResourcesState as S
from carespace_app.pages.admin_pages.layout import admin_shell, data_table, section, small_button


def _form(prefix: str, values, on_submit, button: str, extra=None) -> rx.Component:
    def one(label, name, **props):
        return field(label, text_input(f"{prefix}{name}", name=name,
                                       default_value=getattr(values, name) if values is not None else "", **props),
                     f"{prefix}{name}", error=S.errors[name])

    return rx.form(
        rx.vstack(
            one("Title", "title", required=True),
            one("Link", "url", type="url", required=True, placeholder="https://"),
            one("Description", "description"),
            rx.hstack(primary_button(button, type="submit", loading=S.busy), extra or rx.fragment(),
                      spacing="3"),
            spacing="3", width="100%", align="start",
        ),
        on_submit=on_submit, key=S.form_version, width="100%",
    )


def _delete_dialog(r) -> rx.Component:
    return confirm_dialog(
        small_button("Delete", color_scheme="red", aria_label="Delete " + r.title),
        ("Delete the link “", r.title, "”?"),
        "Patients no longer see it on their Resources tab. To show it again, you would add it again.",
        keep="Keep link", confirm="Yes, delete link", on_confirm=S.delete_link(r.id))


def _row(r) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text.strong(r.title), rx.text(r.description, size="2", color_scheme="gray")),
        rx.table.cell(rx.link(r.url, href=r.url, is_external=True, rel="noopener noreferrer")),
        rx.table.cell(rx.hstack(
            small_button("Move up", on_click=S.move_link(r.id, "up"), disabled=r.first,
                         aria_label="Move " + r.title + " up"),
            small_button("Move down", on_click=S.move_link(r.id, "down"), disabled=r.last,
                         aria_label="Move " + r.title + " down"),
            small_button("Edit", on_click=S.start_edit(r.id), aria_label="Edit " + r.title),
            _delete_dialog(r),
            spacing="2", wrap="wrap",
        )),
    )


def resources_page() -> rx.Component:
    return admin_shell(
        "Resources",
        rx.heading("Resources", size="7", as_="h1"),
        error_callout(S.form_error),
        rx.cond(S.editing.is_not_none(),
                section("Edit link", _form("edit_", S.editing, S.save_link, "Save link",
                                           small_button("Stop editing", on_click=S.stop_edit,
                                                        type="button")))),
        section("Links patients see",
                data_table(["Title", "Link", ""], S.links, _row,
                           "No links yet. Add the first one below.")),
        section("Add a link", _form("new_", None, S.add_link, "Add link")),
    )
