"""Who viewed my record: every look at and change to the patient's record, newest first."""
from __future__ import annotations

import reflex as rx

from carespace_app.components.i18n import t
from carespace_app.components.shell import portal_page
from carespace_app.i18n import N_
from carespace_app.state.info import RecordActivityState as S

INTRO = N_("Every time someone opens or changes your record: you, the people you gave access "
           "to, and the office. If something looks wrong, call the office.")
GROUPED = N_("Your own visits in a row are grouped into one line; everyone else's are listed "
             "one by one, in bold.")


def _entry(entry) -> rx.Component:
    # Others stand out: the patient's own lines are plain, anyone else's in bold.
    who = rx.cond(entry.mine, rx.text(entry.who, as_="span"),
                  rx.text(entry.who, as_="span", weight="bold"))
    return rx.table.row(
        rx.table.cell(entry.when),
        rx.table.cell(who),
        rx.table.cell(entry.what),
    )


def record_activity_page() -> rx.Component:
    table = rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(
                rx.table.column_header_cell(t("When"), scope="col"),
                rx.table.column_header_cell(t("Who"), scope="col"),
                rx.table.column_header_cell(t("What"), scope="col"),
            )),
            rx.table.body(rx.foreach(S.entries, _entry)),
            size="2", width="100%",
        ),
        class_name="cs-table-wrap",
    )
    return portal_page(
        "Who viewed my record",
        rx.heading(t("Who viewed my record"), size="7", as_="h1"),
        rx.cond(
            S.allowed,
            rx.vstack(
                rx.text(t(INTRO), size="3"),
                rx.text(t(GROUPED), size="3"),
                rx.cond(
                    S.entries.length() > 0,
                    table,
                    rx.cond(S.loaded, rx.text(t("Nothing to show yet."), size="3", color_scheme="gray")),
                ),
                rx.hstack(
                    rx.cond(S.offset > 0, rx.button(t("Newer"), variant="outline", size="3",
                                                    on_click=S.newer)),
                    rx.cond(S.has_more, rx.button(t("Older"), variant="outline", size="3",
                                                  on_click=S.older)),
                    spacing="3",
                ),
                spacing="4", width="100%", align="stretch",
            ),
            rx.callout(t("Only the patient can see who viewed their record."), icon="lock",
                       color_scheme="gray"),
        ),
    )
