"""Help: the practice's own FAQ and troubleshooting, with the office phone."""
from __future__ import annotations

import reflex as rx

import re

from carespace_app import i18n, routes
from carespace_app.components.i18n import t, t_rich
from carespace_app.i18n import N_
from carespace_app.components.shell import MENU_LABEL, portal_page
from carespace_app.components.ui import office_phone_link
from carespace_app.config import get_settings
from carespace_app.policy import INVITATION_TTL, MIN_LENGTH

# Where things are, as the header shows them at every width (components/shell.py): the
# tabs in a row on a computer, behind the "Menu" button on a phone; the person's name
# (their account menu) at the top right.
FINDING_YOUR_WAY = N_(
    "The tabs at the top of every page take you to Home, Messages, Appointments, Labs, "
    "Resources and Help. On a phone, tap {menu} at the top of the page to see them. "
    "Settings and Sign out are under your name at the top of the page.")
CHANGE_PASSWORD = N_(
    "Select your name at the top of the page, then Settings. Then select \u201cChange email "
    "address or password\u201d. Select the Password tab in the new window to change your "
    "password.")


# Language access: said in both languages whatever the switch says (the Spanish is the
# catalogue's translation of this sentence).
LANGUAGE_HELP = N_("Language help is available. Call us at {phone}.")


def language_help() -> rx.Component:
    """The notice that language help is available, in English and in Spanish."""
    def line(lang: str) -> rx.Component:
        before, _, after = i18n.gettext(lang, LANGUAGE_HELP).partition("{phone}")
        return rx.text(before, office_phone_link(), after, size="3", lang=lang)

    return rx.callout.root(
        rx.callout.icon(rx.icon("languages", aria_hidden="true")),
        rx.vstack(line("en"), line("es"), spacing="1"),
        color_scheme="teal", size="2", data_testid="language-help",
    )


def _section(title: str, *body: rx.Component) -> rx.Component:
    """``title``: the English heading (its msgid); the region's id is made from it."""
    # Named by its heading: a region people (and screen readers) can jump to.
    heading_id = "help-" + re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return rx.el.section(
        rx.vstack(rx.heading(t(title), size="5", as_="h2", id=heading_id), *body, spacing="2",
                  align="start"),
        class_name="cs-help-section",
        aria_labelledby=heading_id,
    )


def _tab_link(text, href: str) -> rx.Component:
    """A tab named inside a sentence, as a link big enough to tap."""
    return rx.link(text, href=href, class_name="cs-inline-link")


def _steps(*steps) -> rx.Component:
    return rx.el.ol(*[rx.el.li(rx.text(s, size="3")) for s in steps], class_name="cs-steps")


def _qa(question, *answer) -> rx.Component:
    return rx.vstack(rx.heading(question, size="4", as_="h3"), rx.text(*answer, size="3"),
                     spacing="1", align="start")


def help_page() -> rx.Component:
    return portal_page(
        N_("Help"),
        rx.heading(t("Help"), size="7", as_="h1"),
        rx.callout(rx.text(t_rich("Need a person? Call the office at {phone}. For a medical "
                                  "emergency, call 9-1-1.", phone=office_phone_link()),
                           size="3"), icon="phone", color_scheme="teal"),
        language_help(),
        _section(N_("Finding your way"),
                 rx.text(t(FINDING_YOUR_WAY, menu=lambda lang: i18n.gettext(lang, MENU_LABEL)),
                         size="3")),
        _section(
            N_("How to register for CareSpace"),
            rx.text(t("A direct invitation link is required to register for the CareSpace patient "
                      "portal. This invitation is sent directly from the doctor's office to the "
                      "patient's email address on file."), size="3"),
            _steps(t("Look for a registration invitation email from {address}.",
                     address=get_settings().mail_from_address),
                   t("Click the registration link in the email (check your spam folder if you "
                     "don't see it)."),
                   t("Create a password and confirm your date of birth."),
                   t("Agree to the terms of service and click \u201cCreate Password\u201d.")),
        ),
        _section(
            N_("Troubleshooting"),
            rx.text(t("You must register within {time} of the date your registration email was "
                      "sent or the link will expire. If your link has expired, please contact "
                      "your physician's office or the user who granted you access to their "
                      "portal. Do not forward the registration email to a different account; "
                      "the registration link won't work if forwarded.",
                      time=i18n.duration(INVITATION_TTL)), size="3"),
        ),
        _section(
            N_("Using secure messaging"),
            rx.text(t("CareSpace allows you to send non-urgent secure messages to your doctor's "
                      "office at any time. Messages will be answered by staff during normal "
                      "business hours. If you have an urgent request, please call the office "
                      "directly. If you have a medical emergency, call 9-1-1 immediately."),
                    size="3"),
            _steps(t("Open Messages and select \u201cNew message\u201d in the upper-right corner."),
                   t("Select the message category."),
                   t("Include a subject line and message for your provider team."),
                   t("Select \u201cSend message\u201d.")),
        ),
        _section(N_("Viewing appointments"),
                 rx.text(t_rich("From the {tab} tab, you can view upcoming office visits, lab "
                                "services and more.",
                                tab=_tab_link(t("Appointments"), routes.APPOINTMENTS)),
                         size="3")),
        _section(N_("Viewing lab results"),
                 rx.text(t_rich("From the {tab} tab, you can view lab reports as well as lab "
                                "history.", tab=_tab_link(t("Labs"), routes.LABS)), size="3")),
        _section(
            N_("Granting access to family or caregivers"),
            rx.text(t_rich("You can authorize someone you trust to view your CareSpace account "
                           "and records. By granting access, authorized users (friends, family, "
                           "caregivers) will have full access to your patient portal, including "
                           "all medical records and messages. Go to {tab} to grant access.",
                           tab=_tab_link(t("Manage Users"), routes.MANAGE_USERS)), size="3"),
        ),
        _section(
            N_("How to change your password"),
            rx.text(t(CHANGE_PASSWORD), size="3"),
        ),
        _section(N_("Helpful resources"),
                 rx.text(t_rich("Visit the {tab} tab to find links to the National Cancer "
                                "Institute, American Cancer Society, and CancerCare.",
                                tab=_tab_link(t("Resources"), routes.RESOURCES)), size="3")),
        _section(
            N_("Frequently asked questions"),
            _qa(t("What if I didn't receive the registration email?"),
                t_rich("Please call our office at {phone} to confirm the email address on file. "
                       "If your invitation link has expired, request a new registration link "
                       "from your care team. Do not forward the original registration email: "
                       "invitation links are invalid if sent to an alternate email address.",
                       phone=office_phone_link())),
            _qa(t("What are the password requirements?"),
                t("Minimum {n} characters, with at least one uppercase letter, one lowercase "
                  "letter, one number, and one special character.", n=MIN_LENGTH)),
            _qa(t("What happens if I forgot my password or am having trouble signing in?"),
                t("Click \u201cForgot Password\u201d on the sign-in page, or ask a trusted "
                  "caregiver for help.")),
            _qa(t("Can I use CareSpace on my phone?"),
                t("Yes. There is no app for CareSpace: use Safari (iOS) or Chrome (Android) to "
                  "sign in with your phone's browser.")),
            _qa(t("How do I revoke access for a caregiver?"),
                t("Go to Manage Users and select \u201cRevoke access\u201d beside the user's "
                  "email. Note: this action is permanent.")),
            _qa(t("Still having trouble?"),
                t_rich("You can contact our office directly at {phone} for help.",
                       phone=office_phone_link())),
        ),
    )
