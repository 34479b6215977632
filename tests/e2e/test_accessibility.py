"""Accessibility: axe-core on every page we can reach, at desktop and at 375 px, and the
sign-in form by keyboard alone.

Serious and critical violations fail the test; the report lists every one with the
page it was on, so a failure says where to look.
"""
from __future__ import annotations

import os
import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from carespace_app.demo import DEMO_PASSWORD, DOMAIN
from carespace_app.models import User

from .harness import PHONE, link_in
from .people import (Person, hydrated, make_patient, make_staff, open_patient_page, sign_in,
                     sign_out)
from tests.factories import turn_on_two_step
from tests.security.live.attack import server_db

BLOCKING = ("serious", "critical")
DEMO_PATIENT = Person(email=f"rosa.alvarez@{DOMAIN}", password=DEMO_PASSWORD)
DEMO_ADMIN = Person(email=f"dana@{DOMAIN}", password=DEMO_PASSWORD)
DEMO_ROSA = Person(email="", password="", first="Rosa", last="Alvarez", mrn="DEMO-0001")
PORTAL_PAGES = ["/home", "/messages", "/appointments", "/labs", "/resources", "/help",
                "/manage-users", "/settings", "/record-activity", "/checkin", "/checkin?view=history",
                "/my-record"]
# Pages other areas of the app build: checked and reported, but their fixes belong there.

_axe = Axe()


@pytest.fixture(scope="module")
def demo(server):
    server.cli("seed-demo")
    return server


def _blocking(page: Page) -> list[str]:
    results = _axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in BLOCKING:
            targets = [" ".join(map(str, node.get("target", []))) + " -- " + node.get("failureSummary", "")[:200]
                       for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {targets}")
    return found


def _settled(page: Page) -> None:
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    page.wait_for_timeout(300)  # let the last delta paint


def _is_missing(page: Page) -> bool:
    """A route another part of the app hasn't built yet (Reflex's 404 page)."""
    not_found = page.get_by_text("404: Page not found")
    expect(page.get_by_role("heading", level=1).first.or_(not_found)).to_be_visible()
    return not_found.count() > 0


def _check_pages(page: Page, server, report: dict, missing: list) -> None:
    # A dialog caught mid fade-in has half-transparent text that axe rightly calls faint.
    page.emulate_media(reduced_motion="reduce")
    invited = make_patient(server, first="Axel", last="Check")
    register_link = link_in(server.mailbox.wait_for(invited.email, "invitation"), "/register")
    for name, path in [("sign in", "/"), ("register", register_link),
                       ("forgot password", "/forgot-password")]:
        page.goto(path)
        _settled(page)
        report[name] = _blocking(page)

    sign_in(page, DEMO_PATIENT)
    for path in PORTAL_PAGES:
        page.goto(path)
        if _is_missing(page):
            missing.append(path)
            continue
        _settled(page)
        report[path] = _blocking(page)
        if path == "/settings":
            page.get_by_role("button", name="Change email address or password").click()
            expect(page.get_by_role("dialog")).to_be_visible()
            page.wait_for_timeout(400)
            report["/settings: Email tab"] = _blocking(page)
            page.get_by_role("dialog").get_by_role("tab", name="Password").click()
            report["/settings: Password tab"] = _blocking(page)
            page.keyboard.press("Escape")
            # Two-step sign-in's set-up (issue #17): the QR code, the key, the code field.
            page.get_by_role("button", name="Turn on two-step sign-in").click()
            expect(page.get_by_test_id("two-step-key")).to_be_visible()
            report["/settings: two-step set-up"] = _blocking(page)
            page.get_by_role("button", name="Cancel").click()
        if path == "/manage-users":
            page.get_by_role("button", name=re.compile("Revoke access for")).first.click()
            expect(page.get_by_role("alertdialog")).to_be_visible()
            page.wait_for_timeout(400)
            report["/manage-users: revoke dialog"] = _blocking(page)
            page.get_by_role("button", name="Keep access").click()
            # Issue #17: a person's "Change access" form, open.
            page.get_by_test_id("authorized-user").first.get_by_text("Change access",
                                                                      exact=True).click()
            report["/manage-users: change access"] = _blocking(page)
    sign_out(page)

    sign_in(page, DEMO_ADMIN, lands_on=r"/admin/?$")
    _settled(page)
    report["/admin"] = _blocking(page)
    # A patient's page, with the check-ins section and its history open (issue #15).
    open_patient_page(page, DEMO_ROSA)
    page.get_by_role("button", name="Show check-in history").click()
    expect(page.get_by_role("img", name=re.compile("^Chart of "))).to_be_visible()
    report["/admin/patient (check-ins)"] = _blocking(page)


def _assert_clean(report: dict, width: str, missing: list) -> None:
    print(f"axe {width}: {len(report)} views checked; not reachable: {missing}")
    assert not missing, f"pages that should exist were not found: {missing}"
    problems = [f"{where}: {v}" for where, found in report.items() for v in found]
    assert not problems, "axe found serious or critical problems:\n" + "\n".join(problems)


# axe checks the rendered markup, which the database behind it does not change: the
# two full sweeps run in the SQLite pass only, to keep CI's second pass shorter.
once = pytest.mark.skipif(bool(os.environ.get("CARESPACE_TEST_DATABASE_URL")),
                          reason="axe sweeps run in the SQLite pass (same markup on PostgreSQL)")


@once
def test_every_page_at_desktop_width(demo, page: Page):
    report: dict[str, list[str]] = {}
    missing: list[str] = []
    _check_pages(page, demo, report, missing)
    _assert_clean(report, "desktop", missing)


@once
def test_every_page_at_phone_width(demo, phone_page: Page):
    phone_page.set_default_timeout(20_000)
    report: dict[str, list[str]] = {}
    missing: list[str] = []
    _check_pages(phone_page, demo, report, missing)
    _assert_clean(report, "375 px", missing)


@once
def test_sign_in_and_register_in_spanish_at_phone_width(demo, browser):
    """The signed-out pages a Spanish-speaking family meets first (issue #17), and the second
    step's code screen, as a browser asking for Spanish shows them at 375 px."""
    context = browser.new_context(base_url=demo.base_url, locale="es-MX", **PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.emulate_media(reduced_motion="reduce")
    report: dict[str, list[str]] = {}
    invited = make_patient(demo, first="Ana", last="Revisa")
    register_link = link_in(demo.mailbox.wait_for(invited.email, "invitation"), "/register")
    for name, path, heading in [("sign in (es)", "/", "Inicie sesión en CareSpace"),
                                ("register (es)", register_link, "Cree su contraseña de CareSpace"),
                                ("forgot password (es)", "/forgot-password", "¿Olvidó su contraseña?")]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
        expect(page.locator("html")).to_have_attribute("lang", "es")
        page.wait_for_timeout(300)
        report[name] = _blocking(page)
    # The second step's screen: a person with two-step sign-in on, after the password (the
    # key is sealed with this process's secret, not the server's: only the screen is looked at).
    staff = make_staff(demo, name="Lucía Dospasos")
    with server_db(demo) as engine, Session(engine) as db:
        turn_on_two_step(db, db.exec(select(User).where(User.email == staff.email)).one())
    page.goto("/")
    page.get_by_label("Correo electrónico").fill(staff.email)
    page.get_by_label("Contraseña").fill(staff.password)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page.get_by_label("Código de 6 dígitos")).to_be_visible(timeout=30_000)
    page.wait_for_timeout(300)
    report["two-step code (es)"] = _blocking(page)
    context.close()
    _assert_clean(report, "375 px, Spanish", [])


@once
def test_the_check_in_and_two_step_set_up_in_spanish_at_phone_width(demo, phone_page: Page):
    """The symptom check-in a Spanish-speaking patient answers, and Settings › Two-step
    sign-in's set-up (the QR code, the key, the code field), switched to Spanish in the
    portal's header, at 375 px (issue #17); switched back after, as she had it."""
    page = phone_page
    page.set_default_timeout(20_000)
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, DEMO_PATIENT)
    page.goto("/checkin")
    _settled(page)
    switch = page.get_by_test_id("language-switch").get_by_role("button", name="Español")
    hydrated(page, switch)
    switch.click()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    try:
        expect(page.get_by_role("heading", level=1, name="Control de síntomas")).to_be_visible()
        page.wait_for_timeout(300)
        report = {"/checkin (es)": _blocking(page)}
        page.goto("/settings")
        expect(page.get_by_role("heading", level=1, name="Configuración")).to_be_visible()
        page.get_by_role("button", name="Activar el inicio de sesión en dos pasos").click()
        expect(page.get_by_test_id("two-step-key")).to_be_visible()
        expect(page.get_by_label("Código de 6 dígitos")).to_be_visible()
        page.wait_for_timeout(300)
        report["/settings: two-step set-up (es)"] = _blocking(page)
        page.get_by_role("button", name="Cancelar").click()
    finally:  # the demo patient reads English in the other tests
        back = page.get_by_test_id("language-switch").get_by_role("button", name="English")
        hydrated(page, back)
        back.click()
        expect(page.locator("html")).to_have_attribute("lang", "en")
    _assert_clean(report, "375 px, Spanish", [])


def test_sign_in_by_keyboard_alone_with_visible_focus(demo, page: Page):
    page.goto("/")
    _settled(page)
    expect(page.get_by_label("Email address")).to_be_visible()  # the form comes with the state
    page.locator("body").click(position={"x": 5, "y": 5})
    reached = []
    for _ in range(8):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && (document.activeElement.id || "
                                "document.activeElement.textContent)")
        reached.append(focused)
        if focused == "email":
            break
    assert "email" in reached, f"Tab never reached the email field: {reached}"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "the focused field shows no outline"
    page.keyboard.type(DEMO_PATIENT.email)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(DEMO_PATIENT.password)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)


@once
def test_manage_users_in_spanish_at_phone_width(demo, browser):
    """Manage Users (issue #17) after the demo patient switches to Spanish: the scope choices,
    the people's rows and the forms in Spanish, at 375 px. The switch is saved to the person:
    switched back at the end."""
    context = browser.new_context(base_url=demo.base_url, **PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.emulate_media(reduced_motion="reduce")
    sign_in(page, DEMO_PATIENT)
    page.goto("/manage-users")
    _settled(page)
    hydrated(page, page.get_by_role("button", name="Español"))
    page.get_by_role("button", name="Español").click()
    expect(page.get_by_role("heading", level=1, name="Administrar usuarios")).to_be_visible()
    page.reload()  # the people's rows, as the server writes them for a Spanish speaker
    expect(page.get_by_role("heading", level=1, name="Administrar usuarios")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_text("Acceso completo", exact=True).first).to_be_visible()
    page.wait_for_timeout(300)
    report = {"/manage-users (es)": _blocking(page)}
    hydrated(page, page.get_by_role("button", name="English"))
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1, name="Manage Users")).to_be_visible()
    context.close()
    _assert_clean(report, "375 px, Spanish", [])
