"""Helpers for the people stories: a second browser, granting access from Manage Users."""
from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from .harness import Server
from .people import PASSWORD, Person, choose_in_account_menu, unique


def new_page(browser: Browser, server: Server, **context_args) -> Page:
    """Another person's browser (its own cookies), closed with page.context.close()."""
    page = browser.new_context(base_url=server.base_url, locale="en-US",
                               timezone_id="America/Chicago", **context_args).new_page()
    page.set_default_timeout(20_000)
    return page


def caregiver(first: str = "Sam", last: str = "Helper") -> Person:
    return Person(email=f"{unique(first.lower())}@example.net", password=PASSWORD, first=first,
                  last=last)


ACCESS_CODE = re.compile(r"this access code: (\d{3} \d{3})\.")


def grant_access(page: Page, person: Person) -> str:
    """The signed-in patient gives ``person`` access from Manage Users, and tells them the
    access code the page shows (kept on ``person`` under the patient's name); returns it."""
    page.goto("/manage-users")
    expect(page.get_by_role("heading", name="Manage Users", level=1)).to_be_visible()
    page.get_by_label("Name").fill(person.name)
    page.get_by_label("Email", exact=True).fill(person.email)
    page.get_by_role("button", name="Grant access").click()
    notice = page.get_by_role("status").filter(has_text=f"invitation to {person.email}")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(ACCESS_CODE)
    code = ACCESS_CODE.search(notice.inner_text()).group(1)
    person.access_codes[patient_shown(page)] = code
    return code


def patient_shown(page: Page) -> str:
    """Who is signed in, as the account menu names them."""
    menu = page.get_by_role("button", name=re.compile(r"Account menu for \S"))
    return (menu.get_attribute("aria-label") or "").removeprefix("Account menu for ").strip()


def user_card(page: Page, person: Person):
    return page.get_by_test_id("authorized-user").filter(has_text=person.email)


def open_menu_item(page: Page, item: str) -> None:
    choose_in_account_menu(page, item)


def wait_for_hydration(page: Page) -> None:
    """Wait until React owns the page's form: typing into server-rendered HTML before
    hydration is lost when React takes over (and an empty required field blocks submit)."""
    page.wait_for_function(
        "() => { const f = document.querySelector('form');"
        " return !!f && Object.keys(f).some(k => k.startsWith('__reactProps')); }")
