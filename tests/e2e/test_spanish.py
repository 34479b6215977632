"""CareSpace in Spanish (issue #17), at 375 px in a browser whose language is Mexican
Spanish: the sign-in page speaks Spanish on the first visit; the office records a
patient's preferred language as Spanish and invites her; the invitation arrives in
Spanish; she registers from its link in Spanish (the password rules too) and lands in the
portal; the switch changes to English and back, and the choice follows her through
signing out and in again."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from carespace_app.policy import MIN_LENGTH

from .harness import PHONE, link_in
from .people import PASSWORD, choose_in_account_menu, choose_in_menu, open_page, unique
from .phone import assert_fits_phone
from .portal_people import wait_for_hydration


@pytest.fixture
def spanish_phone(browser, server):
    context = browser.new_context(base_url=server.base_url, locale="es-MX",
                                  timezone_id="America/Chicago", **PHONE)
    page = context.new_page()
    page.set_default_timeout(20_000)
    yield page
    context.close()


def _sign_in(page: Page, email: str, *, email_label: str, password_label: str, button: str) -> None:
    open_page(page, "/")
    wait_for_hydration(page)
    page.get_by_label(email_label).fill(email)
    page.get_by_label(password_label).fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)


def test_a_spanish_speaking_family_registers_and_keeps_its_language(server, spanish_phone: Page):
    page = spanish_phone

    # A first visit: the browser asks for Spanish, the page answers in Spanish.
    open_page(page, "/")
    expect(page.get_by_role("heading", name="Inicie sesión en CareSpace")).to_be_visible()
    expect(page.get_by_label("Correo electrónico")).to_be_visible()
    expect(page.get_by_role("button", name="Iniciar sesión")).to_be_visible()
    expect(page.get_by_role("button", name="English")).to_have_attribute("lang", "en")
    assert page.get_by_role("button", name="English").bounding_box()["height"] >= 44
    expect(page.locator("html")).to_have_attribute("lang", "es")
    assert_fits_phone(page)

    # The office records her preferred language and invites her: the email is in Spanish.
    mrn, email = unique("MRN"), f"{unique('rosa')}@example.com"
    server.cli("create-patient", "--mrn", mrn, "--first", "Rosa", "--last", "Alvarez",
               "--dob", "1961-05-02", "--email", email, "--language", "es")
    server.cli("invite", "--mrn", mrn)
    mail = server.mailbox.wait_for(email, "invitación")
    assert mail.subject == "Su invitación a CareSpace"
    assert "Hola, Rosa:" in mail.body and "Este enlace vence en 4 días" in mail.body
    assert "Hello" not in mail.body

    # Registration from the link, in Spanish: the rules tick in Spanish as she types.
    page.goto(link_in(mail, "/register"))
    expect(page.get_by_role("heading", name="Cree su contraseña de CareSpace")).to_be_visible()
    wait_for_hydration(page)
    page.get_by_label("Correo electrónico").fill(email)
    password = page.get_by_label("Contraseña", exact=True)
    password.fill("corta")
    expect(page.locator("li[data-met='no']", has_text=f"Al menos {MIN_LENGTH} caracteres")).to_be_visible()
    expect(page.locator("li[data-met='yes']", has_text="Una letra minúscula")).to_be_visible()
    password.fill(PASSWORD)
    expect(page.locator("li[data-met='yes']", has_text=f"Al menos {MIN_LENGTH} caracteres")).to_be_visible()
    page.get_by_label("Confirme la contraseña").fill("Otra-Cosa-Distinta-7!")
    page.get_by_label("Fecha de nacimiento").fill("1961-05-02")
    page.get_by_role("checkbox", name="Acepto los términos del servicio").check()
    page.get_by_role("button", name="Crear contraseña").click()
    expect(page.get_by_role("alert").filter(has_text="Las dos contraseñas no coinciden.")).to_be_visible()
    page.get_by_label("Confirme la contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Crear contraseña").click()
    expect(page).to_have_url(re.compile(r"/home/?$"), timeout=30_000)
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_title("Inicio · CareSpace")
    assert_fits_phone(page)

    # The header's switch offers the other language: English at once, saved to her; still
    # English after signing out and in.
    switch = page.get_by_test_id("language-switch")
    assert switch.get_by_role("button").bounding_box()["height"] >= 44
    switch.get_by_role("button", name="English").click()
    expect(switch.get_by_role("button", name="Español")).to_have_attribute("lang", "es")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    choose_in_account_menu(page, "Sign out")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
    _sign_in(page, email, email_label="Email address", password_label="Password", button="Sign in")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    # And back to Spanish: the sign-in page after signing out speaks it again.
    page.get_by_test_id("language-switch").get_by_role("button", name="Español").click()
    expect(page.get_by_test_id("language-switch").get_by_role("button", name="English")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    # The portal's frame speaks Spanish too: the account menu and its "Sign out".
    choose_in_menu(page, page.get_by_role("button", name=re.compile(r"Menú de la cuenta de \S")),
                   "Cerrar sesión")
    expect(page.get_by_role("heading", name="Inicie sesión en CareSpace")).to_be_visible()
    expect(page.get_by_text("Cerró su sesión.")).to_be_visible()
    _sign_in(page, email, email_label="Correo electrónico", password_label="Contraseña",
             button="Iniciar sesión")
    expect(page.locator("html")).to_have_attribute("lang", "es")


def test_the_switch_on_the_sign_in_page_changes_the_text_at_once(server, spanish_phone: Page):
    page = spanish_phone
    open_page(page, "/forgot-password")
    wait_for_hydration(page)
    expect(page.get_by_role("heading", name="¿Olvidó su contraseña?")).to_be_visible()
    expect(page).to_have_title("¿Olvidó su contraseña? · CareSpace")  # what a screen reader says first
    page.get_by_role("button", name="Enviar enlace para restablecer").click()  # empty: refused
    expect(page.get_by_text("Escriba el correo electrónico que usa para CareSpace.")).to_be_visible()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Forgot Password")).to_be_visible()
    expect(page).to_have_title("Forgot Password · CareSpace")
    expect(page.get_by_role("button", name="Send reset link")).to_be_visible()
    # Remembered by this browser: a new page load stays English.
    open_page(page, "/")
    expect(page.get_by_role("heading", name="Sign in to CareSpace")).to_be_visible()
